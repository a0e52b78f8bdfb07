import type { Clock } from '../../src/domain/clock.ts';
import type {
  FeedConnectionCounts,
  FeedStreams,
  MarketFeed,
  MarketFeedEvent,
  MarketFeedListener,
} from '../../src/ports/market-feed.ts';

// Test doubles for the market layer: a clock that moves only when told, and a feed the test drives.

interface Sleeper {
  readonly at: number;
  readonly resolve: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  monotonic(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const sleeper = { at: this.time + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(new Error('aborted'));
      });
    });
  }

  /** Moves time forward in steps of at most `stepMs`, waking sleepers and letting their work run. */
  async advance(ms: number, stepMs = 10): Promise<void> {
    const end = this.time + ms;
    while (this.time < end) {
      this.time = Math.min(end, this.time + stepMs);
      const due = this.sleepers.filter((s) => s.at <= this.time);
      this.sleepers = this.sleepers.filter((s) => s.at > this.time);
      for (const s of due) s.resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

export class FakeFeed implements MarketFeed {
  connected = true;
  readonly watched = new Map<string, FeedStreams>();
  readonly resyncs: string[] = [];
  counts: FeedConnectionCounts = { connects: 1, reconnects: 0 };
  /** What `lastAliveAt` answers: set it to play a connection proving itself alive. */
  aliveAt: number | null = null;
  private listeners: MarketFeedListener[] = [];

  lastAliveAt(): number | null {
    return this.connected ? this.aliveAt : null;
  }

  connectionCounts(): FeedConnectionCounts {
    return this.counts;
  }

  listen(listener: MarketFeedListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  watch(symbol: string, streams: FeedStreams): void {
    this.watched.set(symbol, streams);
  }

  unwatch(symbol: string): void {
    this.watched.delete(symbol);
  }

  resyncBook(symbol: string): void {
    this.resyncs.push(symbol);
  }

  deliver(event: MarketFeedEvent, receivedAt: number): void {
    for (const l of this.listeners) l.event(event, receivedAt);
  }

  drop(reason = 'test drop'): void {
    this.connected = false;
    for (const l of this.listeners) l.disconnected(reason);
  }

  restore(): void {
    this.connected = true;
    this.counts = { connects: this.counts.connects + 1, reconnects: this.counts.reconnects + 1 };
    for (const l of this.listeners) l.reconnected();
  }
}
