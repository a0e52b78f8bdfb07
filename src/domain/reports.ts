import type { Decimal } from 'decimal.js';
import type { OrderMethod, Side, SymbolRules } from './symbols.ts';

// Venue-neutral reports: the adapter turns the exchange's wire format into these and nothing above
// the adapter sees anything else. Ids are strings (BTCTurk trade ids exceed 2^53).

export interface ExchangeInfo {
  readonly serverTime: number | null;
  readonly symbols: readonly SymbolRules[];
}

/** The exchange's view of an order's status. */
export type VenueOrderStatus = 'open' | 'partially_filled' | 'filled' | 'canceled';

export interface OrderStatusReport {
  readonly exchangeOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly price: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly quantity: Decimal; // original
  readonly leftQuantity: Decimal | null; // still resting, when the exchange says
  /**
   * A buy sized in the quote currency (a market buy): `quantity` and `leftQuantity` are not base
   * amounts (the venue states them in the quote, or not reliably), so they say nothing about its
   * fills. Its base quantity is what its fills bring; its status says when it is done.
   */
  readonly quoteSized?: boolean | undefined;
  readonly status: VenueOrderStatus;
  readonly createdAt: number | null; // ms; null when the exchange sends 0
  readonly updatedAt: number | null;
}

/** Acknowledgement of a placed order. */
export interface OrderAck {
  readonly exchangeOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly price: Decimal | null;
  readonly quantity: Decimal;
  readonly createdAt: number | null;
}

/** One execution of one of our orders. Amounts are positive; the side says the direction. */
export interface FillReport {
  readonly tradeId: string;
  readonly exchangeOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string; // "BTCTRY"
  readonly base: string;
  readonly quote: string;
  readonly side: Side;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly fee: Decimal; // positive cost, in feeAsset
  readonly tax: Decimal; // positive cost, in feeAsset
  readonly feeAsset: string;
  readonly timestamp: number;
}

/**
 * A fill's identity: (trade id, exchange order id). When two orders of one account meet (a
 * self-match) the exchange reports one trade id for both sides, so the trade id alone would make the
 * second side look like a duplicate of the first.
 */
export function fillKey(fill: Pick<FillReport, 'tradeId' | 'exchangeOrderId'>): string {
  return `${fill.tradeId}/${fill.exchangeOrderId}`;
}

/** Numeric id strings (beyond 2^53) in numeric order: shorter first, then by digits. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** The order fills happened in: by time, then trade id, then exchange order id (both sides of a self-match). */
export function compareFills(
  a: Pick<FillReport, 'timestamp' | 'tradeId' | 'exchangeOrderId'>,
  b: Pick<FillReport, 'timestamp' | 'tradeId' | 'exchangeOrderId'>,
): number {
  return (
    a.timestamp - b.timestamp ||
    compareIds(a.tradeId, b.tradeId) ||
    compareIds(a.exchangeOrderId, b.exchangeOrderId)
  );
}

export interface BalanceReport {
  readonly asset: string;
  readonly total: Decimal;
  readonly free: Decimal;
  readonly locked: Decimal;
}

export interface BookLevel {
  readonly price: Decimal;
  readonly quantity: Decimal;
}

export interface OrderBookSnapshot {
  readonly symbol: string;
  readonly timestamp: number;
  readonly bids: readonly BookLevel[]; // best first
  readonly asks: readonly BookLevel[]; // best first
}

export interface Ticker {
  readonly symbol: string;
  readonly timestamp: number;
  readonly last: Decimal;
  readonly bid: Decimal;
  readonly ask: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly open: Decimal;
  readonly volume: Decimal;
}

export interface PublicTrade {
  readonly tradeId: string;
  readonly symbol: string;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly side: Side; // the taker's side
  readonly timestamp: number;
}
