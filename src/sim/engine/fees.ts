import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';

/** Maker/taker rates on a fill's quote value, and the tax (BSMV) charged on top of the fee. */
export interface FeeSchedule {
  readonly maker: Decimal;
  readonly taker: Decimal;
  readonly taxRate: Decimal;
}

export interface Charge {
  readonly fee: Decimal;
  readonly tax: Decimal;
}

export function feeSchedule(maker: Decimal, taker: Decimal, taxRate: Decimal): FeeSchedule {
  for (const [name, rate] of [
    ['makerFeeRate', maker],
    ['takerFeeRate', taker],
    ['taxRate', taxRate],
  ] as const) {
    if (!rate.isFinite() || rate.isNegative() || rate.gte(1))
      throw new RangeError(`${name} ${rate.toFixed()} must be in [0, 1)`);
  }
  // Dec carries 40 digits, enough to keep every fee and balance exact (no rounding, so conserved).
  return { maker: new Dec(maker), taker: new Dec(taker), taxRate: new Dec(taxRate) };
}

/** Fee and tax on a fill's quote value, exact: nothing is rounded, so nothing leaks. */
export function charge(notional: Decimal, rate: Decimal, taxRate: Decimal): Charge {
  const fee = notional.mul(rate);
  return { fee, tax: fee.mul(taxRate) };
}

/**
 * What one unit of notional can cost a limit buy at most: whether it ends maker or taker is only
 * known when it fills, so the lock covers the dearer rate with its tax.
 */
export function worstBuyFactor(fees: FeeSchedule): Decimal {
  return new Dec(1).plus(Dec.max(fees.maker, fees.taker).mul(fees.taxRate.plus(1)));
}

/** What one unit of notional costs a market buy: it is always the taker. */
export function takerBuyFactor(fees: FeeSchedule): Decimal {
  return new Dec(1).plus(fees.taker.mul(fees.taxRate.plus(1)));
}
