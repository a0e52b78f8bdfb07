import type { EscalationLevel } from '../../ports/store.ts';

// What the running bot hands the alert evaluator on every tick: its own figures, read from their
// owners (the store, the execution core, the market data, the engine). Counters are the process's
// own (they restart at 0 with it): the evaluator keeps their windows in the store, not the process.

export type MarketDataStatus = 'live' | 'fallback' | 'stale';

export interface AlertFill {
  readonly tradeId: string;
  readonly exchangeOrderId: string;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  /** Decimal texts: money is never a float, here either. */
  readonly price: string;
  readonly quantity: string;
  readonly fee: string;
  readonly feeAsset: string;
  /** When the store recorded it (ms): the digest's cursor. */
  readonly recordedAt: number;
}

export interface AlertFigures {
  /** When this process started (ms): a counter seen from another start has restarted at 0. */
  readonly startedAt: number;
  readonly escalation: { readonly level: EscalationLevel; readonly reason: string };
  /** Our orders in UNKNOWN, with when they went UNKNOWN (ms). */
  readonly unknownOrders: readonly {
    readonly orderId: string;
    readonly symbol: string;
    readonly since: number;
  }[];
  /** HTTP 429 answers received since the process started, every endpoint group together. */
  readonly rateLimited: number;
  readonly marketData: readonly {
    readonly symbol: string;
    readonly status: MarketDataStatus;
    readonly dataAgeMs: number | null;
  }[];
  /** Reconciliation passes since the process started, those that failed, and divergences found. */
  readonly reconcile: { readonly runs: number; readonly failures: number; readonly divergences: number };
  /** The latest valuation and its running peak (decimal texts); null while there is none. */
  readonly equity: { readonly equity: string; readonly peak: string; readonly currency: string } | null;
  /** The private WebSocket stream's login; null in a mode without one. */
  readonly privateStream: { readonly loginRefusals: number; readonly loggedIn: boolean } | null;
  /** When the engine loop last completed an evaluation (ms); null before the first. */
  readonly lastLoopAt: number | null;
  /** Fills the store recorded since the digest's cursor (see `fillsCursor`), in any order. */
  readonly fills: readonly AlertFill[];
}
