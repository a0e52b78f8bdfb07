import type { Decimal } from 'decimal.js';
import { decText } from '../domain/decimal.ts';
import { quantizeQuantity, type SymbolRules } from '../domain/symbols.ts';

// What a replacement can still carry once the old order is gone. Pure: the replacer measures what
// is left (wanted less what filled during the cancel), this decides whether it is an order at all.

export type Remainder =
  | { readonly quantity: Decimal }
  /** Nothing the exchange would take is left: the replace ends here, without a new order. */
  | { readonly nothingLeft: string };

/**
 * The replacement's quantity — what is left, cut to the quantity scale — or why nothing is left to
 * place: it is used up, rounds to zero, or is below the exchange's minimum quantity or order value
 * at `price`. Without rules the exchange's check is the only one.
 */
export function replacementSize(
  left: Decimal,
  price: Decimal | null,
  rules: SymbolRules | undefined,
): Remainder {
  if (left.lte(0)) return { nothingLeft: 'the old order filled all that was wanted before it left the book' };
  if (rules === undefined) return { quantity: left };
  const quantity = quantizeQuantity(rules, left);
  const what = `${decText(left)} ${rules.base} left`;
  if (quantity.lte(0))
    return { nothingLeft: `${what} rounds to 0 at the pair's ${rules.quantityScale} decimals` };
  if (rules.minQuantity !== null && quantity.lt(rules.minQuantity))
    return {
      nothingLeft: `${what} is below the exchange's minimum quantity ${decText(rules.minQuantity)}`,
    };
  if (rules.minExchangeValue !== null && price !== null) {
    const value = quantity.mul(price);
    if (value.lt(rules.minExchangeValue))
      return {
        nothingLeft:
          `${what} is worth ${decText(value)} ${rules.quote} at ${decText(price)}, below the exchange's ` +
          `minimum order value ${decText(rules.minExchangeValue)} ${rules.quote}`,
      };
  }
  return { quantity };
}
