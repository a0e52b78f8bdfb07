import { Decimal } from 'decimal.js';

// Money is never a binary float: every price, amount and fee is a Decimal from parse to storage.
// 40 significant digits covers BTCTurk's scales (≤ 8 decimals) on amounts far beyond any balance.
export const Dec = Decimal.clone({
  precision: 40,
  rounding: Decimal.ROUND_HALF_EVEN,
  toExpNeg: -30,
  toExpPos: 40,
});
export type Dec = Decimal;

const DECIMAL_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

export class DecimalParseError extends Error {
  constructor(
    readonly field: string,
    readonly value: unknown,
  ) {
    super(`${field}: expected a decimal number, got ${JSON.stringify(value)}`);
    this.name = 'DecimalParseError';
  }
}

/** Parses a decimal from text (or a finite JSON number, which some endpoints send) without float arithmetic. */
export function toDec(value: unknown, field = 'value'): Decimal {
  if (value instanceof Decimal) return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (!DECIMAL_TEXT.test(text)) throw new DecimalParseError(field, value);
    return new Dec(text);
  }
  if (typeof value === 'number' && Number.isFinite(value)) return new Dec(String(value));
  throw new DecimalParseError(field, value);
}

export const ZERO: Decimal = new Dec(0);

/** Plain decimal text with no exponent, trailing zeros kept only as far as `places` asks. */
export function decText(value: Decimal, places?: number): string {
  return places === undefined ? value.toFixed() : value.toFixed(places);
}
