import type { Decimal } from 'decimal.js';
import { Dec, ZERO } from '../domain/decimal.ts';
import { compareFills, type FillReport } from '../domain/reports.ts';

// Positions and realised profit per symbol from fills, in the quote currency, on average cost.
// Fees and tax are costs the moment they are paid, so they enter the realised result at once.

export interface PositionPnl {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Net base quantity: positive long, negative short. */
  readonly quantity: Decimal;
  /** Average entry price of the open quantity, null when flat. */
  readonly averagePrice: Decimal | null;
  /** Price moves on closed quantity, before costs. */
  readonly grossRealised: Decimal;
  /** Fee plus tax, in the quote currency. */
  readonly costs: Decimal;
  /** grossRealised − costs. */
  readonly realised: Decimal;
  readonly fillCount: number;
}

export class AccountingError extends Error {
  constructor(fill: FillReport) {
    super(
      `fill ${fill.tradeId} on ${fill.symbol} charges its fee in ${fill.feeAsset}, neither ${fill.base} nor ` +
        `${fill.quote}: convert it before accounting`,
    );
    this.name = 'AccountingError';
  }
}

/** Fee and tax in the quote currency; a fee taken in the base asset is valued at the fill's price. */
export function quoteCosts(fill: FillReport): Decimal {
  const cost = fill.fee.add(fill.tax);
  if (fill.feeAsset === fill.quote) return cost;
  if (fill.feeAsset === fill.base) return cost.mul(fill.price);
  throw new AccountingError(fill);
}

function flat(fill: FillReport): PositionPnl {
  return {
    symbol: fill.symbol,
    base: fill.base,
    quote: fill.quote,
    quantity: ZERO,
    averagePrice: null,
    grossRealised: ZERO,
    costs: ZERO,
    realised: ZERO,
    fillCount: 0,
  };
}

/** The position after one more fill. */
export function applyFill(position: PositionPnl, fill: FillReport): PositionPnl {
  const signed = fill.side === 'buy' ? fill.quantity : fill.quantity.neg();
  const held = position.quantity;
  const average = position.averagePrice ?? fill.price;
  let quantity: Decimal;
  let averagePrice: Decimal | null;
  let gross = position.grossRealised;
  if (held.isZero() || held.isNegative() === signed.isNegative()) {
    // Adding to the position (or opening it): the average moves toward the fill's price.
    quantity = held.add(signed);
    averagePrice = held.abs().mul(average).add(fill.quantity.mul(fill.price)).div(quantity.abs());
  } else {
    const closing = Dec.min(fill.quantity, held.abs());
    const direction = held.isNegative() ? -1 : 1;
    gross = gross.add(fill.price.sub(average).mul(closing).mul(direction));
    quantity = held.add(signed);
    // What is left open keeps its average; a flip opens the remainder at this fill's price.
    averagePrice = quantity.isZero()
      ? null
      : quantity.isNegative() === held.isNegative()
        ? average
        : fill.price;
  }
  const costs = position.costs.add(quoteCosts(fill));
  return {
    ...position,
    quantity,
    averagePrice,
    grossRealised: gross,
    costs,
    realised: gross.sub(costs),
    fillCount: position.fillCount + 1,
  };
}

/** Positions per symbol from fills in the order they happened (sorted here by time, then trade id, then order id). */
export function accountFills(fills: readonly FillReport[]): Map<string, PositionPnl> {
  const ordered = [...fills].sort(compareFills);
  const out = new Map<string, PositionPnl>();
  for (const fill of ordered) out.set(fill.symbol, applyFill(out.get(fill.symbol) ?? flat(fill), fill));
  return out;
}
