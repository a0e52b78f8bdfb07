// Book levels are keyed by the price as a whole number of 10^-scale units ("3400000.50" at scale 2
// → 340000050), computed from the decimal text digit by digit, never through a binary float. Such a
// key is exact while it stays below 2^53 (at scale 8: prices up to 90 million), compares with one
// machine instruction, and keyText writes it back as a price of the same value. Decimal keys would
// make every tree comparison an object comparison, which is what this avoids.

export const MAX_KEY_SCALE = 12;

const DOT = 46;
const ZERO = 48;
const NINE = 57;

/**
 * `text` as a count of 10^-scale units, or NaN when it is not a plain non-negative decimal, needs
 * more than `scale` decimals (non-zero digits past them), or the count would not be exact.
 */
export function scaledInteger(text: string, scale: number): number {
  const length = text.length;
  if (length === 0) return Number.NaN;
  let value = 0;
  let digits = 0;
  let fraction = -1; // decimals read so far; -1 before the dot
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (fraction >= 0) return Number.NaN;
      fraction = 0;
      continue;
    }
    if (c < ZERO || c > NINE) return Number.NaN;
    digits++;
    if (fraction >= 0) {
      if (fraction >= scale) {
        if (c !== ZERO) return Number.NaN;
        continue;
      }
      fraction++;
    }
    value = value * 10 + (c - ZERO);
  }
  if (digits === 0) return Number.NaN;
  const missing = scale - Math.max(fraction, 0);
  if (missing > 0) value *= 10 ** missing;
  return value <= Number.MAX_SAFE_INTEGER ? value : Number.NaN;
}

/**
 * The price a key stands for, as plain decimal text with `scale` decimals (340000050 at scale 2 →
 * "3400000.50"): the inverse of scaledInteger up to trailing zeros. Keys are whole numbers below
 * 2^53, which String() writes as plain digits.
 */
export function keyText(key: number, scale: number): string {
  if (scale === 0) return String(key);
  const digits = String(key).padStart(scale + 1, '0');
  return `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** Decimals that carry a non-zero digit ("1.2500" → 2), or -1 when the text is not a plain decimal. */
export function significantDecimals(text: string): number {
  const match = /^\d*(?:\.(\d*))?$/.exec(text);
  if (match === null || !/\d/.test(text)) return -1;
  return (match[1] ?? '').replace(/0+$/, '').length;
}

/** True when the decimal text is zero ("0", "0.000", ".0"). Only digits and a dot are expected. */
export function isZeroText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== ZERO && c !== DOT) return false;
  }
  return true;
}

/** True when the text starts with a minus sign: an amount that no book can hold. */
export function isNegativeText(text: string): boolean {
  return text.charCodeAt(0) === 45;
}
