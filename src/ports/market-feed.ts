import type { PublicTrade, Ticker } from '../domain/reports.ts';

// A streaming source of market data, as the market layer sees it: books as a sequenced snapshot
// followed by change sets, public trades and tickers. Prices and quantities stay the exchange's
// exact decimal text here, so the book can key levels without parsing a Decimal per row; the book
// makes Decimals when a caller reads a level.

/** A price level in exact decimal text ("3400000.00", "0.12500000"). */
export interface BookLevelText {
  readonly price: string;
  readonly quantity: string;
}

/**
 * One row of a change set: `quantity` is the level's new total (never a delta); `remove` drops the
 * level whatever `quantity` says (BTCTurk's CP 3 carries the old, non-zero amount).
 */
export interface BookLevelChange extends BookLevelText {
  readonly remove: boolean;
}

/**
 * A full book at change set `changeSet`. `periodic`: re-sent on a timer to cross-check a book kept
 * from change sets; otherwise it opens (or re-opens, after a resync) a stream of change sets.
 * `changeSet` counts per subscription: a periodic book's belongs to its own channel and is never
 * comparable with the change sets' (BTCTurk's two channels sit at an arbitrary offset).
 */
export interface FeedBookSnapshot {
  readonly kind: 'book-snapshot';
  readonly symbol: string;
  readonly changeSet: number;
  readonly periodic: boolean;
  readonly bids: readonly BookLevelText[]; // best first
  readonly asks: readonly BookLevelText[]; // best first
}

/** The change set following `changeSet - 1`. */
export interface FeedBookDiff {
  readonly kind: 'book-diff';
  readonly symbol: string;
  readonly changeSet: number;
  readonly bids: readonly BookLevelChange[];
  readonly asks: readonly BookLevelChange[];
}

export type MarketFeedEvent =
  | FeedBookSnapshot
  | FeedBookDiff
  | { readonly kind: 'trade'; readonly trade: PublicTrade }
  | { readonly kind: 'trades'; readonly symbol: string; readonly trades: readonly PublicTrade[] } // recent, on subscribe
  | { readonly kind: 'ticker'; readonly ticker: Ticker }
  /**
   * A book frame for `symbol` that could not be read: the book can no longer be trusted.
   * `cause`: `unknown-change-kind` when a row's CP is not one BTCTurk sends (0, 1, 3), else `unreadable`.
   */
  | {
      readonly kind: 'book-unreadable';
      readonly symbol: string;
      readonly reason: string;
      readonly cause: BookProblemCause;
    };

export type BookProblemCause = 'unknown-change-kind' | 'unreadable';

/** What the market layer wants streamed for one symbol. */
export interface FeedStreams {
  readonly book: boolean; // snapshot + change sets
  readonly periodicBook: boolean; // full books for cross-checking
  readonly trades: boolean;
  readonly ticker: boolean;
}

export interface MarketFeedListener {
  /** Called synchronously per event; `receivedAt` is the monotonic time the frame arrived. */
  event(event: MarketFeedEvent, receivedAt: number): void;
  /** The connection is lost: books fed from it are stale from now on. */
  disconnected(reason: string): void;
  /** A new connection delivers again after a loss; every stream was re-requested. */
  reconnected(): void;
}

export interface FeedConnectionCounts {
  readonly connects: number; // connect attempts
  readonly reconnects: number; // connections opened after the first
}

export interface MarketFeed {
  readonly connected: boolean;
  connectionCounts(): FeedConnectionCounts;
  listen(listener: MarketFeedListener): () => void;
  watch(symbol: string, streams: FeedStreams): void;
  unwatch(symbol: string): void;
  /** Asks for a fresh snapshot of the symbol's book (after a gap or an inconsistent book). */
  resyncBook(symbol: string): void;
  /**
   * Monotonic ms when the connection last proved alive (any frame, a server ping, a pong to ours);
   * null while none is open. BTCTurk sends nothing for a book that does not change, so a book kept
   * from an intact subscription is current as of this moment, not only as of its last frame.
   */
  lastAliveAt(): number | null;
}
