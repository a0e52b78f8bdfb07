import type { Decimal } from 'decimal.js';
import type { OrderMethod, Side, SymbolRules } from '../../domain/symbols.ts';
import type { SimOrder, SimOrderStatus } from './api.ts';
import { takerBuyFactor, worstBuyFactor, type FeeSchedule } from './fees.ts';

/** The engine's mutable view of an order; the outside only ever sees `snapshot` copies. */
export interface OrderRecord {
  readonly id: string;
  readonly accountId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly price: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly quantity: Decimal;
  filled: Decimal;
  status: SimOrderStatus;
  cancelRequested: boolean;
  readonly createdAt: number;
  updatedAt: number;
  /** Which asset the order holds and how much of it is still held: released exactly when it ends. */
  readonly lockAsset: string;
  locked: Decimal;
}

export function isOpen(order: OrderRecord): boolean {
  return order.status === 'open' || order.status === 'partially_filled';
}

export function isStop(method: OrderMethod): boolean {
  return method === 'stoplimit' || method === 'stopmarket';
}

export function isMarketLike(method: OrderMethod): boolean {
  return method === 'market' || method === 'stopmarket';
}

/** BTCTurk reads a market buy's quantity as the quote amount to spend; stop-market buys turn into one. */
export function spendsQuote(side: Side, method: OrderMethod): boolean {
  return side === 'buy' && isMarketLike(method);
}

export function remaining(order: OrderRecord): Decimal {
  return order.quantity.minus(order.filled);
}

export interface Lock {
  readonly asset: string;
  readonly amount: Decimal;
}

/**
 * What an order must hold while it lives: a sell holds its base quantity; a buy holds the quote it
 * could spend, fee and tax included, at the worst rate it can be charged.
 */
export function requiredLock(
  rules: SymbolRules,
  fees: FeeSchedule,
  order: { side: Side; method: OrderMethod; quantity: Decimal; price: Decimal | null },
): Lock {
  if (order.side === 'sell') return { asset: rules.base, amount: order.quantity };
  if (spendsQuote(order.side, order.method))
    return { asset: rules.quote, amount: order.quantity.mul(takerBuyFactor(fees)) };
  if (order.price === null) throw new Error(`a ${order.method} buy needs a price to compute its lock`);
  return { asset: rules.quote, amount: order.price.mul(order.quantity).mul(worstBuyFactor(fees)) };
}

export function snapshot(order: OrderRecord): SimOrder {
  return {
    id: order.id,
    accountId: order.accountId,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    price: order.price,
    stopPrice: order.stopPrice,
    quantity: order.quantity,
    filled: order.filled,
    status: order.status,
    cancelRequested: order.cancelRequested,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}
