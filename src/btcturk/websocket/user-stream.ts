import type { EventQueue, OrderUpdateEvent, UserStream, UserStreamEvent } from '../../ports/user-stream.ts';
import type { BtcturkWsClient } from './client.ts';
import type { WsMessage } from './messages.ts';
import { BoundedQueue } from './queue.ts';

// The account's private events from the BTCTurk socket (ports/user-stream.ts). They flow once the
// login succeeds, with no subscription. A `resync` event marks every point after which events may
// be missing: a login on a replacement connection (the gap while it was down) or a full queue.
//
// BTCTurk sends no 453 (order update) in practice: an update runs as a delete and an insert, so an
// order whose numLeft changed arrives as a 452 then a 451 for the same order id, and a cancel's
// final result is a 452 alone. Read raw, every partial fill would look like a cancel followed by a
// new order. So a 452 is held for `deleteHoldMs`: a 451 for the same order within the hold makes
// the pair ONE `updated` event (built from the 451: the order as it stands now); a 452 still alone
// when the hold ends is the order leaving the book — `updated` with nothing left when numLeft is 0
// (it filled), otherwise `deleted` (the port's "final result of a cancel").
//
// ASSUMPTION (BTCTurk): the 451 of an update follows its 452 within `deleteHoldMs` (default 300 ms).
// Staff describe the pair as one delete-and-insert operation, so the two frames should leave
// together; the window only has to absorb network and event-loop jitter between them. A 451 that
// comes later than that, after its 452 already went out as `deleted`, is still delivered (as
// `updated`) and followed by a `resync`: the order may already stand canceled in the store, and the
// reconciliation the resync starts reads it from the exchange and reports the contradiction.
// ASSUMPTION (BTCTurk): an order that left the book because it filled is announced by a 452 with
// numLeft 0 and no 451 (the simulator does the same; no real capture shows it); a 452 alone with
// numLeft above 0 is a cancel's (or an expiry's) final result. Should BTCTurk instead send a filled
// order's 452 with the numLeft it had before the last fill, the order is first taken as canceled;
// its fills still count (a canceled order keeps counting late fills) and a venue status of FILLED,
// from a REST reading, still moves it to FILLED (domain/lifecycle.ts).
// ASSUMPTION (BTCTurk): the 451 of an update carries the order after the update (its numLeft).
//
// Order ids of 0 (an all-zero 451 seen on a socket that never logged in) never reach this class:
// messages.ts drops 423/441/451/452/453 events with id 0.

/** A 452 waits this long for the 451 that would make it an update. */
export const DEFAULT_DELETE_HOLD_MS = 300;

/** Order ids whose lone 452 went out as `deleted`, remembered to catch a 451 that came too late. */
const RECENT_DELETES = 1_024;

export interface BtcturkUserStreamOptions {
  /**
   * How long an order delete (452) is held for an insert (451) of the same order, which together
   * are one update. Default 300 ms; 0 still waits for the frames already in flight (one timer turn).
   */
  readonly deleteHoldMs?: number;
}

const USER_KINDS: ReadonlySet<WsMessage['kind']> = new Set(['fill', 'order-match', 'order', 'balances']);

function isUserEvent(message: WsMessage): message is Extract<WsMessage, UserStreamEvent> {
  return USER_KINDS.has(message.kind);
}

/** What a 452 means when no 451 followed it: the order left the book, filled or canceled. */
function loneDelete(event: OrderUpdateEvent): OrderUpdateEvent {
  return event.leftQuantity.lte(0) ? { ...event, change: 'updated' } : event;
}

interface Held {
  readonly event: OrderUpdateEvent;
  readonly timer: NodeJS.Timeout;
}

/**
 * Turns one listener's raw order events (451/452/453 as `inserted`/`deleted`/`updated`) into the
 * port's meaning. Events reach `emit` in arrival order per order id; a held 452 delays nothing
 * but later events of its own order.
 */
class DeleteInsertMerger {
  readonly #held = new Map<string, Held>();
  /** Insertion-ordered, so the oldest id is the first one evicted. */
  readonly #recentDeletes = new Set<string>();

  constructor(
    private readonly holdMs: number,
    private readonly emit: (event: UserStreamEvent) => void,
    /** Reports an error thrown by `emit` from the hold timer, where nobody else would catch it. */
    private readonly onTimerError: (error: unknown) => void,
  ) {}

  order(event: OrderUpdateEvent): void {
    const id = event.exchangeOrderId;
    const held = this.#held.get(id);
    if (held && event.change === 'inserted') {
      // The 452 + 451 pair: one update, as the 451 shows the order now.
      clearTimeout(held.timer);
      this.#held.delete(id);
      this.emit({ ...event, change: 'updated' });
      return;
    }
    // Anything else about an order with a held 452 comes after it: settle the 452 first.
    if (held) this.#settle(id);
    if (event.change === 'deleted') {
      this.#hold(event);
      return;
    }
    if (event.change === 'inserted' && this.#recentDeletes.delete(id)) {
      // Its 452 already went out as a cancel: this 451 makes that an update, told too late. The
      // resync concerns this order alone, so other orders' held 452s stay held (settling them now
      // could turn their own updates, whose 451s are in flight, into false cancels).
      this.emit({ ...event, change: 'updated' });
      this.emit({
        kind: 'resync',
        reason: `order ${id}: its insert (451) came more than ${this.holdMs} ms after its delete (452), which was already taken as a cancel`,
      });
      return;
    }
    this.emit(event);
  }

  /** Settles every held 452 as a lone one, oldest first: on a login and on a stop. */
  flush(): void {
    for (const id of [...this.#held.keys()]) this.#settle(id);
  }

  /**
   * Forgets every held 452 without a word: after a lost connection each one may be half of an
   * update whose 451 is gone, and taking it as a cancel would leave a resting order marked CANCELED.
   * The resync that follows reads every order's state over REST instead.
   */
  discard(): void {
    for (const held of this.#held.values()) clearTimeout(held.timer);
    this.#held.clear();
  }

  #hold(event: OrderUpdateEvent): void {
    const id = event.exchangeOrderId;
    // A plain setTimeout: this class has no injected Clock (the client keeps its own private), and
    // the hold is a short wait for frames already in flight, not a schedule worth replaying. Tests
    // drive it with node:test's mock timers.
    const timer = setTimeout(() => {
      try {
        this.#settle(id);
      } catch (error) {
        this.onTimerError(error);
      }
    }, this.holdMs);
    // A pending hold must not keep a finished process alive; stop() flushes what is held.
    timer.unref();
    this.#held.set(id, { event, timer });
  }

  #settle(id: string): void {
    const held = this.#held.get(id);
    if (!held) return;
    clearTimeout(held.timer);
    this.#held.delete(id);
    const settled = loneDelete(held.event);
    if (settled.change === 'deleted') this.#remember(id);
    this.emit(settled);
  }

  #remember(id: string): void {
    this.#recentDeletes.delete(id);
    this.#recentDeletes.add(id);
    if (this.#recentDeletes.size > RECENT_DELETES) {
      const oldest = this.#recentDeletes.values().next();
      if (oldest.done !== true) this.#recentDeletes.delete(oldest.value);
    }
  }
}

export class BtcturkUserStream implements UserStream {
  readonly #deleteHoldMs: number;

  constructor(
    private readonly client: BtcturkWsClient,
    options: BtcturkUserStreamOptions = {},
  ) {
    const holdMs = options.deleteHoldMs ?? DEFAULT_DELETE_HOLD_MS;
    if (!Number.isFinite(holdMs) || holdMs < 0)
      throw new RangeError(`deleteHoldMs must be a number of milliseconds of 0 or more, got ${holdMs}`);
    this.#deleteHoldMs = holdMs;
  }

  /** Called synchronously per event; the returned detach settles any held 452 first. */
  onUserEvent(listener: (event: UserStreamEvent) => void): () => void {
    let lostSince: string | null = null;
    const merger = new DeleteInsertMerger(this.#deleteHoldMs, listener, (error) => {
      // The hold timer is the one place a listener's error would escape as an uncaught exception;
      // it is reported the way the client reports its own listeners' errors.
      try {
        this.client.emit('problem', {
          kind: 'listener-failed',
          message: `a private event listener threw: ${error instanceof Error ? error.message : String(error)}`,
        });
      } catch {
        // A failing problem listener has nowhere left to report to.
      }
    });
    const onMessage = (message: WsMessage): void => {
      if (isUserEvent(message)) {
        if (message.kind === 'order') merger.order(message);
        else listener(message);
      } else if (message.kind === 'login-result' && message.ok) {
        merger.flush();
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
      // A held 452 cannot be told apart from half an update any more (its 451 may be lost with the
      // connection): it is dropped, and the resync the next login brings settles its order from REST.
      merger.discard();
      lostSince ??= reason;
    };
    this.client.on('message', onMessage);
    this.client.on('disconnected', onDisconnected);
    return () => {
      this.client.off('message', onMessage);
      this.client.off('disconnected', onDisconnected);
      merger.flush();
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
