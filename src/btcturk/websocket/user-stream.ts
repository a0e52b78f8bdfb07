import type { EventQueue, UserStream, UserStreamEvent } from '../../ports/user-stream.ts';
import type { BtcturkWsClient } from './client.ts';
import type { WsMessage } from './messages.ts';
import { BoundedQueue } from './queue.ts';

// The account's private events from the BTCTurk socket (ports/user-stream.ts). They flow once the
// login succeeds, with no subscription. A `resync` event marks every point after which events may
// be missing: a login on a replacement connection (the gap while it was down) or a full queue.

const USER_KINDS: ReadonlySet<WsMessage['kind']> = new Set(['fill', 'order-match', 'order', 'balances']);

function isUserEvent(message: WsMessage): message is Extract<WsMessage, UserStreamEvent> {
  return USER_KINDS.has(message.kind);
}

export class BtcturkUserStream implements UserStream {
  constructor(private readonly client: BtcturkWsClient) {}

  onUserEvent(listener: (event: UserStreamEvent) => void): () => void {
    let lostSince: string | null = null;
    const onMessage = (message: WsMessage): void => {
      if (isUserEvent(message)) {
        listener(message);
      } else if (message.kind === 'login-result' && message.ok) {
        listener({ kind: 'logged-in' });
        if (lostSince !== null)
          listener({
            kind: 'resync',
            reason: `the connection was lost (${lostSince}); events in between are missing`,
          });
        lostSince = null;
      }
    };
    const onDisconnected = (reason: string): void => {
      lostSince ??= reason;
    };
    this.client.on('message', onMessage);
    this.client.on('disconnected', onDisconnected);
    return () => {
      this.client.off('message', onMessage);
      this.client.off('disconnected', onDisconnected);
    };
  }

  userEvents(capacity: number): EventQueue<UserStreamEvent> {
    let stop = (): void => undefined;
    const queue = new BoundedQueue<UserStreamEvent>(
      capacity,
      (dropped) => ({ kind: 'resync', reason: `the event queue overflowed: ${dropped} events were dropped` }),
      () => {
        stop();
      },
    );
    stop = this.onUserEvent((event) => {
      queue.push(event);
    });
    return queue;
  }
}
