import type { Decimal } from 'decimal.js';
import { Dec, toDec } from './decimal.ts';

export type OrderMethod = 'limit' | 'market' | 'stoplimit' | 'stopmarket';
export type Side = 'buy' | 'sell';

/** Trading rules of one pair, as the exchange states them. */
export interface SymbolRules {
  readonly symbol: string; // "BTCTRY"
  readonly base: string; // numerator, "BTC"
  readonly quote: string; // denominator, "TRY"
  readonly status: string; // "TRADING" when orders are accepted
  readonly quantityScale: number; // decimals allowed in a quantity
  readonly priceScale: number; // decimals allowed in a price
  readonly tickSize: Decimal;
  readonly minPrice: Decimal | null;
  readonly maxPrice: Decimal | null;
  readonly minExchangeValue: Decimal | null; // minimum order value in the quote currency
  readonly minQuantity: Decimal | null;
  readonly maxQuantity: Decimal | null;
  readonly orderMethods: readonly OrderMethod[];
}

/** A partial view of rules, where a field that a source left out or sent as null is absent. */
export type PartialRules = { [K in keyof SymbolRules]?: SymbolRules[K] | null | undefined };

/**
 * Layers rule sources in order. A later source overrides an earlier one only with a present,
 * non-null value: BTCTurk sends `"minAmount": null` next to values stated elsewhere, and a null must
 * never erase what another field or source already said.
 */
export function mergeRules(...sources: PartialRules[]): PartialRules {
  const out: Record<string, unknown> = {};
  for (const source of sources) {
    for (const [key, value] of Object.entries(source) as [string, unknown][]) {
      if (value !== null && value !== undefined) out[key] = value;
    }
  }
  return out;
}

export class RulesError extends Error {
  constructor(
    readonly symbol: string,
    readonly field: string,
  ) {
    super(`symbol ${symbol}: trading rule "${field}" is missing from the exchange info`);
    this.name = 'RulesError';
  }
}

/** Completes merged rules; a rule no source stated is an error naming it, never a silent default. */
export function completeRules(partial: PartialRules): SymbolRules {
  const symbol = partial.symbol ?? '?';
  const need = <K extends keyof SymbolRules>(key: K): NonNullable<SymbolRules[K]> => {
    const value: unknown = partial[key];
    if (value === null || value === undefined) throw new RulesError(symbol, key);
    return value as NonNullable<SymbolRules[K]>;
  };
  const priceScale = need('priceScale');
  return {
    symbol: need('symbol'),
    base: need('base'),
    quote: need('quote'),
    status: need('status'),
    quantityScale: need('quantityScale'),
    priceScale,
    // Without a tick filter the price scale alone bounds the price grid.
    tickSize: partial.tickSize ?? new Dec(1).div(new Dec(10).pow(priceScale)),
    minPrice: partial.minPrice ?? null,
    maxPrice: partial.maxPrice ?? null,
    minExchangeValue: partial.minExchangeValue ?? null,
    minQuantity: partial.minQuantity ?? null,
    maxQuantity: partial.maxQuantity ?? null,
    orderMethods: partial.orderMethods ?? ['limit', 'market'],
  };
}

/**
 * Puts a price on the exchange's grid without worsening it for the user: a buy never pays more
 * than asked (rounds down), a sell never receives less (rounds up).
 */
export function quantizePrice(rules: SymbolRules, side: Side, price: Decimal.Value): Decimal {
  const p = toDec(price, 'price');
  const rounding = side === 'buy' ? Dec.ROUND_FLOOR : Dec.ROUND_CEIL;
  const onTick = p.div(rules.tickSize).toDecimalPlaces(0, rounding).mul(rules.tickSize);
  return onTick.toDecimalPlaces(rules.priceScale, rounding);
}

/** Cuts a quantity to the allowed scale; it never rounds up, so an order is never oversized. */
export function quantizeQuantity(rules: SymbolRules, quantity: Decimal.Value): Decimal {
  return toDec(quantity, 'quantity').toDecimalPlaces(rules.quantityScale, Dec.ROUND_DOWN);
}
