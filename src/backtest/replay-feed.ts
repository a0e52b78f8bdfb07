import { parseFrame } from '../btcturk/websocket/messages.ts';
import type { Clock } from '../domain/clock.ts';
import type {
  FeedConnectionCounts,
  FeedStreams,
  MarketFeed,
  MarketFeedEvent,
  MarketFeedListener,
} from '../ports/market-feed.ts';
import type { RecordedEvent } from '../record/format.ts';

// The recorded stream as a MarketFeed: each recorded WebSocket frame goes through the BTCTurk
// adapter's own parser (parseFrame) and reaches the market data service as the live socket's
// events would, stamped with the virtual clock. Connection markers become disconnects and
// reconnects. While connected the feed counts as alive at every instant (the live socket's pings
// are not recorded, and a quiet book is as current as the connection). A resync the service asks
// for cannot be answered by a recording: the next recorded snapshot (the recording bot's own
// resync, or a reconnect's) brings the book back.

function symbolOf(event: MarketFeedEvent): string {
  switch (event.kind) {
    case 'trade':
      return event.trade.symbol;
    case 'ticker':
      return event.ticker.symbol;
    default:
      return event.symbol;
  }
}

export interface ReplayFeedStats {
  readonly frames: number;
  readonly unreadable: number;
  readonly resyncsAsked: number;
}

export class ReplayFeed implements MarketFeed {
  readonly #clock: Clock;
  readonly #listeners = new Set<MarketFeedListener>();
  readonly #watched = new Map<string, FeedStreams>();
  #connected = true;
  #connects = 1;
  #reconnects = 0;
  #stats = { frames: 0, unreadable: 0, resyncsAsked: 0 };

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get connected(): boolean {
    return this.#connected;
  }

  stats(): ReplayFeedStats {
    return { ...this.#stats };
  }

  connectionCounts(): FeedConnectionCounts {
    return { connects: this.#connects, reconnects: this.#reconnects };
  }

  listen(listener: MarketFeedListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  watch(symbol: string, streams: FeedStreams): void {
    this.#watched.set(symbol, streams);
  }

  unwatch(symbol: string): void {
    this.#watched.delete(symbol);
  }

  resyncBook(): void {
    this.#stats.resyncsAsked++;
  }

  lastAliveAt(): number | null {
    return this.#connected ? this.#clock.monotonic() : null;
  }

  /** The market events of one recorded frame (empty for frames that carry none). */
  static eventsOf(event: RecordedEvent): MarketFeedEvent[] {
    if (event.k !== 'frame') return [];
    const parsed = parseFrame(event.d, event.t);
    if (!parsed.ok)
      return parsed.symbol === null
        ? []
        : [{ kind: 'book-unreadable', symbol: parsed.symbol, reason: parsed.reason, cause: parsed.cause }];
    const out: MarketFeedEvent[] = [];
    for (const message of parsed.messages)
      switch (message.kind) {
        case 'book-snapshot':
        case 'book-diff':
        case 'book-unreadable':
        case 'trade':
        case 'trades':
        case 'ticker':
          out.push(message);
          break;
        default:
          break;
      }
    return out;
  }

  /** Whether the service watches the event's stream. */
  wants(event: MarketFeedEvent): boolean {
    const streams = this.#watched.get(symbolOf(event));
    if (streams === undefined) return false;
    switch (event.kind) {
      case 'book-snapshot':
        return event.periodic ? streams.periodicBook : streams.book;
      case 'book-diff':
      case 'book-unreadable':
        return streams.book;
      case 'trade':
      case 'trades':
        return streams.trades;
      case 'ticker':
        return streams.ticker;
    }
  }

  /**
   * Delivers market events of a recorded frame to the listeners (those the service watches);
   * returns how many were delivered.
   */
  deliver(events: readonly MarketFeedEvent[]): number {
    let delivered = 0;
    for (const event of events) {
      if (!this.wants(event)) continue;
      if (event.kind === 'book-unreadable') this.#stats.unreadable++;
      this.#stats.frames++;
      delivered++;
      const at = this.#clock.monotonic();
      for (const listener of this.#listeners) listener.event(event, at);
    }
    return delivered;
  }

  /** A recorded connection marker. */
  marker(event: RecordedEvent): void {
    if (event.k === 'disconnect' && this.#connected) {
      this.#connected = false;
      for (const listener of this.#listeners) listener.disconnected(event.reason ?? 'recorded disconnect');
    } else if (event.k === 'connect' && !this.#connected) {
      this.#connected = true;
      this.#connects++;
      this.#reconnects++;
      for (const listener of this.#listeners) listener.reconnected();
    }
  }
}
