import { decText } from '../domain/decimal.ts';
import type { OrderBookSnapshot } from '../domain/reports.ts';
import type { FeedBookDiff, FeedBookSnapshot } from '../ports/market-feed.ts';
import { OrderBook, type BookApplyResult } from './book.ts';

// The decisions around one symbol's book, free of I/O: what each feed event does to the book, when
// the book must be resynced, and how new its data is. A full snapshot always restarts the sequence.
// A periodic full book (the `orderbook` channel) at the book's own change set is compared level for
// level; a disagreement is counted and the full book replaces the local one. One that is ahead
// means change sets were missed, so it is adopted; one that is behind is ignored.

export type BookSource = 'stream' | 'rest';

export interface KeeperOutcome {
  /** The book is invalid: ask the feed for a fresh snapshot. */
  readonly resync: boolean;
  /** The best bid or ask (price or quantity) changed. */
  readonly topChanged: boolean;
}

export interface KeeperCounts {
  gaps: number;
  crossed: number;
  malformed: number; // unreadable frames or levels, negative quantities
  mismatches: number; // periodic full book disagreed with the local book
  snapshots: number;
  diffs: number;
  restBooks: number;
}

const UNCHANGED: KeeperOutcome = { resync: false, topChanged: false };

export class BookKeeper {
  readonly book: OrderBook;
  /** Monotonic ms when the data in the book was last known current; null before any. */
  lastDataAt: number | null = null;
  source: BookSource | null = null;
  /** Why the book was last invalidated, naming the values. */
  lastProblem: string | null = null;
  /** Monotonic ms the book became unusable (invalid), null while it is usable. */
  invalidSince: number | null = null;
  readonly counts: KeeperCounts = {
    gaps: 0,
    crossed: 0,
    malformed: 0,
    mismatches: 0,
    snapshots: 0,
    diffs: 0,
    restBooks: 0,
  };

  constructor(
    readonly symbol: string,
    priceScale = 0,
  ) {
    this.book = new OrderBook(symbol, priceScale);
  }

  /** True when the book's levels can be read and acted on (subject to their age). */
  get usable(): boolean {
    return this.book.valid;
  }

  onSnapshot(snapshot: FeedBookSnapshot, at: number): KeeperOutcome {
    const book = this.book;
    const current = book.valid ? book.changeSet : null;
    if (snapshot.periodic && current !== null) {
      if (snapshot.changeSet < current) return UNCHANGED;
      if (snapshot.changeSet === current) {
        const difference = book.difference(snapshot);
        if (difference === null) {
          this.lastDataAt = at; // the exchange just confirmed the book as current
          return UNCHANGED;
        }
        this.counts.mismatches++;
        this.lastProblem = `${this.symbol}: the full book of change set ${current} differs from the local one: ${difference}`;
      }
    }
    this.counts.snapshots++;
    return this.load(() => book.reset(snapshot), 'stream', at);
  }

  onDiff(diff: FeedBookDiff, at: number): KeeperOutcome {
    this.counts.diffs++;
    const bid = this.book.bestBid();
    const ask = this.book.bestAsk();
    const result = this.book.applyDiff(diff);
    if (result === 'applied') {
      this.lastDataAt = at;
      // Levels are immutable: a different object at the top is a changed price or quantity.
      return { resync: false, topChanged: this.book.bestBid() !== bid || this.book.bestAsk() !== ask };
    }
    if (result === 'stale' || result === 'not-ready') return UNCHANGED;
    return this.failed(result, at);
  }

  /** A book frame of this symbol could not be read: what it changed is unknown. */
  onUnreadable(reason: string, at: number): KeeperOutcome {
    this.book.invalidate(`${this.symbol}: a book frame could not be read: ${reason}`);
    return this.failed('malformed', at);
  }

  /**
   * A book fetched over REST when the stream cannot provide one. `requestedAt` (monotonic, when the
   * request left) dates it: the book is at least that new. Ignored while the stream keeps the book.
   */
  onRestBook(snapshot: OrderBookSnapshot, requestedAt: number): KeeperOutcome {
    if (this.book.valid && this.book.changeSet !== null) return UNCHANGED;
    if (this.lastDataAt !== null && this.lastDataAt > requestedAt) return UNCHANGED;
    this.counts.restBooks++;
    const text = (levels: OrderBookSnapshot['bids']) =>
      levels.map((level) => ({ price: decText(level.price), quantity: decText(level.quantity) }));
    return this.load(
      () => this.book.reset({ changeSet: null, bids: text(snapshot.bids), asks: text(snapshot.asks) }),
      'rest',
      requestedAt,
    );
  }

  /** The stream that sequenced the book is gone; its levels age from here. */
  onStreamLost(): void {
    this.book.detach();
  }

  private load(reset: () => BookApplyResult, source: BookSource, at: number): KeeperOutcome {
    const bid = this.book.bestBid();
    const ask = this.book.bestAsk();
    const result = reset();
    if (result !== 'applied') return this.failed(result, at);
    this.source = source;
    this.lastDataAt = at;
    this.invalidSince = null;
    return { resync: false, topChanged: this.book.bestBid() !== bid || this.book.bestAsk() !== ask };
  }

  private failed(result: BookApplyResult, at: number): KeeperOutcome {
    if (result === 'gap') this.counts.gaps++;
    else if (result === 'crossed') this.counts.crossed++;
    else if (result === 'negative' || result === 'malformed') this.counts.malformed++;
    this.lastProblem = this.book.problem;
    this.invalidSince ??= at;
    return { resync: true, topChanged: true };
  }
}
