import type { Decimal } from 'decimal.js';
import type { OrderMethod, Side } from '../domain/orders.ts';
import type { BalanceReport, FillReport } from '../domain/reports.ts';

// The account's private event stream (orders, executions, balances), venue-neutral. It is a fast
// path only: the execution core must still reconcile over REST after `reconnected` or `overflow`,
// because events sent while the connection was down, or dropped by a full queue, are gone.

/**
 * An order's change as the exchange pushes it. `inserted`: a new order on the book. `updated`: its
 * remaining quantity changed; `leftQuantity` 0 means it left the book filled. `deleted`: the final
 * result of a cancel (or expiry) — never a fill. Adapters translate their venue's wire into these
 * meanings (BTCTurk sends an update as a delete then an insert; its adapter merges the pair).
 */
export interface OrderUpdateEvent {
  readonly kind: 'order';
  readonly change: 'inserted' | 'updated' | 'deleted';
  readonly exchangeOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod | null; // null when the exchange's code is unknown
  readonly price: Decimal | null; // null for orders without one (market)
  readonly quantity: Decimal; // original
  readonly leftQuantity: Decimal; // still resting
}

/**
 * One of our orders matched; the execution itself arrives as a `fill`. `symbol` is null when the
 * exchange named the pair only by its id (`pairId`): resolve the order by `exchangeOrderId`.
 * `timestamp` is null when the event carries none (BTCTurk's older 441 shape).
 */
export interface OrderMatchEvent {
  readonly kind: 'order-match';
  readonly exchangeOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string | null;
  readonly pairId: number | null;
  readonly side: Side;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly timestamp: number | null;
}

export type UserStreamEvent =
  | { readonly kind: 'fill'; readonly fill: FillReport }
  | OrderMatchEvent
  | OrderUpdateEvent
  | { readonly kind: 'balances'; readonly balances: readonly BalanceReport[] }
  /** Logged in: private events flow from now on. */
  | { readonly kind: 'logged-in' }
  /** Events may have been missed (connection lost, queue overflow): reconcile over REST. */
  | { readonly kind: 'resync'; readonly reason: string };

/** A bounded buffer between a synchronous producer and an async consumer. */
export interface EventQueue<T> extends AsyncIterable<T> {
  /** The next event; waits while the queue is empty. Resolves `undefined` once closed. */
  next(): Promise<T | undefined>;
  readonly size: number;
  close(): void;
}

export interface UserStream {
  /** Called synchronously per event. */
  onUserEvent(listener: (event: UserStreamEvent) => void): () => void;
  /**
   * A queue of user events holding at most `capacity`. On overflow the backlog is dropped and a
   * single `resync` event takes its place: nothing is skipped without the consumer knowing.
   */
  userEvents(capacity: number): EventQueue<UserStreamEvent>;
}
