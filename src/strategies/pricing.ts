import type { Decimal } from 'decimal.js';
import { Dec } from '../domain/decimal.ts';
import { orderViolations, type Side } from '../domain/orders.ts';
import { quantizePrice, quantizeQuantity, type SymbolRules } from '../domain/symbols.ts';
import type { MarketView, WantedOrder } from './types.ts';

// Price and size arithmetic shared by strategies: every result is on the exchange's grid, rounded
// in the user's favour, and never crosses the book.

const BPS_PER_UNIT = new Dec(10_000);

/** `price` moved by `bps` basis points (negative moves it down). */
export function shiftBps(price: Decimal, bps: Decimal.Value): Decimal {
  return price.mul(BPS_PER_UNIT.add(bps)).div(BPS_PER_UNIT);
}

/** Distance between two prices in basis points of `reference`. */
export function distanceBps(price: Decimal, reference: Decimal): Decimal {
  return price.sub(reference).abs().mul(BPS_PER_UNIT).div(reference);
}

/** The mid of a two-sided, uncrossed book; null otherwise (nothing sound to quote around). */
export function midPrice(market: MarketView): Decimal | null {
  const { bestBid, bestAsk } = market;
  if (bestBid === null || bestAsk === null || bestBid.gte(bestAsk) || bestBid.lte(0)) return null;
  return bestBid.add(bestAsk).div(2);
}

/**
 * Puts a limit price on the grid (a buy rounds down, a sell up) and keeps it resting: a bid at
 * least one tick under the best ask, an ask at least one tick over the best bid. Null when no
 * positive price remains.
 */
export function passivePrice(
  rules: SymbolRules,
  side: Side,
  raw: Decimal,
  market: MarketView,
): Decimal | null {
  let bounded = raw;
  if (side === 'buy' && market.bestAsk !== null) bounded = Dec.min(raw, market.bestAsk.sub(rules.tickSize));
  if (side === 'sell' && market.bestBid !== null) bounded = Dec.max(raw, market.bestBid.add(rules.tickSize));
  const price = quantizePrice(rules, side, bounded);
  return price.gt(0) ? price : null;
}

/** A base quantity cut to the exchange's scale and maximum (never rounded up). */
export function fitQuantity(rules: SymbolRules, quantity: Decimal): Decimal {
  const capped = rules.maxQuantity ? Dec.min(quantity, rules.maxQuantity) : quantity;
  return quantizeQuantity(rules, capped);
}

/** True when the exchange would accept the order as a limit order (minimums, price band, status). */
export function placeable(rules: SymbolRules, order: WantedOrder): boolean {
  const request = {
    symbol: order.symbol,
    side: order.side,
    price: order.price,
    quantity: order.quantity,
    method: 'limit' as const,
    clientOrderId: 'placeable-check',
  };
  return orderViolations(rules, request).length === 0;
}
