// The contract between the simulator's matching engine (src/sim/engine) and its network face
// (src/sim/server). The engine is pure and synchronous: no I/O, no timers; time comes from an
// injected Clock and randomness from an injected Random, so a run replays from its seed.
import type { Decimal } from 'decimal.js';
import type { Clock } from '../../domain/clock.ts';
import type { RefusalReason } from '../../domain/errors.ts';
import type { Random } from '../../domain/random.ts';
import type { OrderMethod, Side, SymbolRules } from '../../domain/symbols.ts';

export type SimOrderStatus = 'open' | 'partially_filled' | 'filled' | 'canceled';

export interface SimOrder {
  readonly id: string; // decimal digits, strictly increasing
  readonly accountId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly price: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly quantity: Decimal;
  /** Same unit as quantity: base, except a market buy's quote amount spent. */
  readonly filled: Decimal;
  readonly status: SimOrderStatus;
  readonly cancelRequested: boolean; // an asynchronous cancel was accepted and has not completed
  readonly createdAt: number; // ms, simulator clock
  readonly updatedAt: number;
}

export interface SimFill {
  readonly tradeId: string; // digits, above 2^53
  readonly orderId: string;
  readonly clientOrderId: string | null;
  readonly accountId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly fee: Decimal; // positive, in feeAsset
  readonly tax: Decimal; // positive, in feeAsset
  readonly feeAsset: string;
  readonly maker: boolean;
  readonly timestamp: number;
}

export interface SimPublicTrade {
  readonly tradeId: string;
  readonly symbol: string;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly takerSide: Side;
  readonly timestamp: number;
}

export interface SimBalance {
  readonly asset: string;
  readonly free: Decimal;
  readonly locked: Decimal;
}

export interface SimBookLevel {
  readonly price: Decimal;
  readonly quantity: Decimal;
}

export interface SimBook {
  readonly symbol: string;
  readonly timestamp: number;
  readonly bids: readonly SimBookLevel[]; // best first
  readonly asks: readonly SimBookLevel[]; // best first
}

export interface SimTicker {
  readonly symbol: string;
  readonly timestamp: number;
  readonly last: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly open: Decimal; // first price of the rolling day
  readonly volume: Decimal;
  readonly average: Decimal;
  readonly bid: Decimal | null;
  readonly ask: Decimal | null;
  readonly bidSize: Decimal | null;
  readonly askSize: Decimal | null;
}

export interface PlaceOrderInput {
  readonly accountId: string;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  /** Base-asset amount; for a market buy, BTCTurk reads `quantity` as the quote amount to spend. */
  readonly quantity: Decimal;
  readonly price?: Decimal | null | undefined;
  readonly stopPrice?: Decimal | null | undefined;
  readonly clientOrderId?: string | null | undefined;
}

/**
 * A refusal exactly as BTCTurk words it: numeric code (0 when BTCTurk has none), message string, HTTP
 * status. `detail` (optional) explains the refusal with the offending value, for logs and tests only:
 * the wire carries venueMessage and code. `reason` says what it means without the venue's words.
 */
export class SimRejection extends Error {
  constructor(
    readonly venueMessage: string,
    readonly code: number,
    readonly httpStatus: number,
    detail?: string,
    /** What the refusal means, venue-neutral: what an in-process user (dry-run mode) reports. */
    readonly reason: RefusalReason = 'other',
  ) {
    super(`${venueMessage} (${code})${detail === undefined ? '' : `: ${detail}`}`);
    this.name = 'SimRejection';
  }
}

/** A price level's new total on one side after a change set; quantity 0 removes the level. */
export interface SimLevelChange {
  readonly side: Side; // 'buy' = bids
  readonly price: Decimal;
  readonly quantity: Decimal;
}

export type SimEvent =
  | { readonly type: 'order-inserted'; readonly order: SimOrder }
  | { readonly type: 'order-updated'; readonly order: SimOrder }
  | { readonly type: 'order-deleted'; readonly order: SimOrder } // a cancel's final result
  | { readonly type: 'fill'; readonly fill: SimFill }
  | { readonly type: 'trade'; readonly trade: SimPublicTrade }
  | { readonly type: 'balance'; readonly accountId: string; readonly balances: readonly SimBalance[] }
  | { readonly type: 'book'; readonly symbol: string; readonly changes: readonly SimLevelChange[] };

/** A slice of the markets, by configuration index: those with index mod `of` equal to `part`. */
export interface MarketShare {
  readonly part: number;
  readonly of: number;
}

export interface SimMarketConfig {
  readonly symbol: string;
  readonly rules: SymbolRules;
  readonly initialMid: Decimal;
  readonly volatility: number; // per-step relative sigma of the random-walk mid
}

export interface SimEngineOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly markets: readonly SimMarketConfig[];
  readonly makerFeeRate: Decimal; // e.g. 0.0008
  readonly takerFeeRate: Decimal; // e.g. 0.0016
  readonly taxRate: Decimal; // BTCTurk charges a tax (BSMV) on the fee, e.g. 0.05 of the fee
}

export interface OrderFilter {
  readonly symbol?: string | undefined;
  readonly fromOrderId?: string | undefined;
  readonly startTime?: number | undefined;
  readonly endTime?: number | undefined;
  readonly page?: number | undefined;
  readonly limit?: number | undefined;
}

export interface FillFilter {
  readonly symbol?: string | undefined;
  readonly orderId?: string | undefined;
  readonly startTime?: number | undefined;
  readonly endTime?: number | undefined;
}

/**
 * What the engine holds. Every order and fill of a user account, from the start. The internal
 * accounts' (isInternalAccount: the synthetic participants) orders only while open, with their
 * fills; closed ones are forgotten so a long run's memory stays bounded. The latest public trades
 * (RECENT_TRADES_KEPT per market), in trade id order.
 */
export interface SimGroundTruth {
  readonly orders: readonly SimOrder[]; // ascending id
  readonly fills: readonly SimFill[]; // time order
  readonly trades: readonly SimPublicTrade[];
  readonly balances: Readonly<Record<string, readonly SimBalance[]>>; // by account id
}

export interface SimEngine {
  readonly markets: readonly SimMarketConfig[];
  createAccount(accountId: string, balances: Readonly<Record<string, Decimal>>): void;
  /** Validates exactly as BTCTurk (codes and messages of btcturk-api.md §6), locks funds, matches. */
  placeOrder(input: PlaceOrderInput): SimOrder;
  /** Accepts a cancel (asynchronous on BTCTurk); the order keeps resting until completeCancel. */
  requestCancel(accountId: string, orderId: string): SimOrder;
  /** Takes the order off the book, releases its funds, emits order-deleted. No-op if it filled meanwhile. */
  completeCancel(orderId: string): SimOrder | undefined;
  order(accountId: string, orderId: string): SimOrder | undefined;
  openOrders(accountId: string, symbol?: string): SimOrder[];
  /**
   * With fromOrderId: orders with id >= it, oldest first (a forward cursor). Without: newest first,
   * so page 1 always holds the latest orders. page counts from 1; limit defaults to 100, at most 1000.
   */
  allOrders(accountId: string, filter: OrderFilter): SimOrder[];
  fills(accountId: string, filter: FillFilter): SimFill[];
  balances(accountId: string): SimBalance[];
  book(symbol: string, depth: number): SimBook;
  /** Rolling-24h statistics at minute granularity (see DAY_BUCKET_MS). */
  ticker(symbol: string): SimTicker;
  /** Newest first; at most RECENT_TRADES_KEPT (far above BTCTurk's 50). */
  recentTrades(symbol: string, count: number): SimPublicTrade[];
  /**
   * The synthetic participants act once: the mid walks, quotes refresh, some take liquidity. With
   * `share`, only the markets whose index mod `share.of` is `share.part` act (many pairs, spread).
   */
  stepMarket(share?: MarketShare): void;
  subscribe(listener: (event: SimEvent) => void): () => void;
  groundTruth(): SimGroundTruth;
}
