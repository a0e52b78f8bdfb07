import type { Decimal } from 'decimal.js';
import type { OrderState, Side } from '../domain/orders.ts';
import type { SymbolRules } from '../domain/symbols.ts';

// What a strategy sees and what it answers. A strategy is a pure function of a snapshot: it says
// which orders it wants resting, and the engine's diff turns that into cancels, replaces and submits.

/**
 * `live`: streamed and fresh. `fallback`: fresh, but kept over REST. `stale`: too old to act on —
 * a strategy wants nothing on a stale symbol, so the diff cancels its quotes there.
 */
export type DataStatus = 'live' | 'fallback' | 'stale';

/** Top of book for one symbol; a side is null while the book has no level on it. */
export interface MarketView {
  readonly bestBid: Decimal | null;
  readonly bestAsk: Decimal | null;
  readonly status: DataStatus;
}

export interface BalanceView {
  readonly free: Decimal; // already excludes what open orders lock
  readonly locked: Decimal;
}

export interface PositionView {
  readonly base: Decimal; // base quantity held for the symbol
  readonly avgCost: Decimal | null; // quote per base; null while flat
}

/** One of our orders on the exchange, as the execution core knows it. */
export interface RestingOrder {
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: Decimal;
  readonly quantityLeft: Decimal;
  readonly state: OrderState;
  /** The quote slot it serves; null when unknown (e.g. adopted after a restart). */
  readonly tag: string | null;
}

export interface StrategySnapshot {
  readonly now: number; // ms
  readonly rules: ReadonlyMap<string, SymbolRules>; // by symbol
  readonly markets: ReadonlyMap<string, MarketView>; // by symbol
  readonly balances: ReadonlyMap<string, BalanceView>; // by asset
  readonly positions: ReadonlyMap<string, PositionView>; // by symbol
  readonly resting: readonly RestingOrder[];
}

/** A limit order the strategy wants resting. `tag` names its quote slot, e.g. `mm:BTCTRY:bid:0`. */
export interface WantedOrder {
  readonly symbol: string;
  readonly side: Side;
  readonly price: Decimal; // on the exchange's grid
  readonly quantity: Decimal; // base, on the exchange's grid
  readonly tag: string;
}

/** How far a resting order may be from the wanted one and still be kept rather than replaced. */
export interface QuoteTolerance {
  /** Price distance, in basis points of the wanted price. */
  readonly requoteThresholdBps: number;
  /** Quantity-left distance, in percent of the wanted quantity. */
  readonly quantityTolerancePct: number;
}

export interface Strategy {
  readonly name: string;
  readonly tolerance: QuoteTolerance;
  /**
   * True when `want` decides each symbol from that symbol's own entries alone (its market, rules
   * and position; not `now`, the balances, the resting orders or another symbol), answers symbol
   * by symbol in the order of `snapshot.markets`, and its tags name their symbol: the engine then
   * asks it only about the symbols whose entries changed (src/engine/engine.ts).
   */
  readonly perSymbol?: boolean | undefined;
  /**
   * The symbols whose market data `want` reads, when that is only some of those run (a rebalance
   * reads its assets' pairs alone): a book change or a trade on another symbol then starts no
   * evaluation (the timer, status changes and private events still do). Undefined: every symbol.
   */
  readonly reads?: ReadonlySet<string> | undefined;
  want(snapshot: StrategySnapshot): WantedOrder[];
}

export interface StrategyDefinition {
  readonly name: string;
  readonly summary: string;
  /** Validates raw parameters (throws a ConfigError naming the strategy) and builds the strategy. */
  create(params: unknown): Strategy;
  /** Every parameter with its default and meaning, for help texts. */
  parameters(): ParameterDoc[];
}

export interface ParameterDoc {
  readonly name: string;
  readonly description: string;
  readonly default: unknown; // undefined: no default
}
