import type { Decimal } from 'decimal.js';
import { Dec, ZERO } from '../domain/decimal.ts';
import type { FillReport } from '../domain/reports.ts';
import type { PositionPnl } from '../oms/accounting.ts';

// The account valued in one currency: holdings at their marks (equity), and the bot's own result
// from its fills (realised on average cost with fees deducted, unrealised at the marks). Positions
// and realised profit come from the execution core's accounting; this adds what needs marks.

export interface SymbolPnl {
  readonly symbol: string;
  readonly base: string;
  /** The bot's own net position from its fills (not the wallet's holding). */
  readonly quantity: Decimal;
  readonly averagePrice: Decimal | null;
  /** The price the position is valued at; null while the symbol has none. */
  readonly mark: Decimal | null;
  readonly realised: Decimal;
  readonly unrealised: Decimal;
  readonly fees: Decimal;
  readonly fillCount: number;
}

export interface Valuation {
  readonly currency: string;
  /** Cash plus every held asset that has a mark, valued at it. */
  readonly equity: Decimal;
  readonly cash: Decimal;
  /** Assets held that no mark values (left out of the equity). */
  readonly unvalued: readonly string[];
  readonly realised: Decimal;
  readonly unrealised: Decimal;
  readonly fees: Decimal;
  readonly symbols: readonly SymbolPnl[];
}

/** (mark − average price) × quantity: what closing the position at the mark would realise, before costs. */
export function unrealisedPnl(position: PositionPnl, mark: Decimal | null): Decimal {
  if (mark === null || position.averagePrice === null || position.quantity.isZero()) return ZERO;
  return mark.sub(position.averagePrice).mul(position.quantity);
}

function add(holdings: Map<string, Decimal>, asset: string, amount: Decimal): void {
  holdings.set(asset, (holdings.get(asset) ?? ZERO).add(amount));
}

/** Holdings per asset after the fills: each moves base against quote and pays its fee and tax. */
export function holdingsAfterFills(
  start: ReadonlyMap<string, Decimal>,
  fills: readonly FillReport[],
): Map<string, Decimal> {
  const out = new Map(start);
  for (const fill of fills) {
    const notional = fill.price.mul(fill.quantity);
    const sign = fill.side === 'buy' ? 1 : -1;
    add(out, fill.base, fill.quantity.mul(sign));
    add(out, fill.quote, notional.mul(-sign));
    add(out, fill.feeAsset, fill.fee.add(fill.tax).neg());
  }
  return out;
}

export interface Pair {
  readonly base: string;
  readonly quote: string;
}

/** Asset prices in `currency` from symbol marks: BTCTRY's mark prices BTC when the currency is TRY. */
function assetPrices(
  pairs: ReadonlyMap<string, Pair>,
  marks: ReadonlyMap<string, Decimal>,
  currency: string,
): Map<string, Decimal> {
  const out = new Map<string, Decimal>([[currency, new Dec(1)]]);
  for (const [symbol, pair] of pairs) {
    const mark = marks.get(symbol);
    if (mark !== undefined && pair.quote === currency) out.set(pair.base, mark);
  }
  return out;
}

export interface PortfolioInput {
  readonly currency: string;
  /** Total (free + locked) per asset. */
  readonly holdings: ReadonlyMap<string, Decimal>;
  /** The bot's positions by symbol, from `accountFills`. */
  readonly positions: ReadonlyMap<string, PositionPnl>;
  /** Price per symbol (the mid), in its quote currency. */
  readonly marks: ReadonlyMap<string, Decimal>;
  /** Base and quote of every marked symbol, so a held asset the bot never traded is valued too. */
  readonly pairs: ReadonlyMap<string, Pair>;
}

/** Values the holdings at the marks, and the bot's positions against them. */
export function valuePortfolio(input: PortfolioInput): Valuation {
  const { currency, holdings, positions, marks, pairs } = input;
  const prices = assetPrices(pairs, marks, currency);
  let equity = ZERO;
  const unvalued: string[] = [];
  for (const [asset, amount] of holdings) {
    const price = prices.get(asset);
    if (price === undefined) {
      if (!amount.isZero()) unvalued.push(asset);
    } else equity = equity.add(amount.mul(price));
  }
  let realised = ZERO;
  let unrealised = ZERO;
  let fees = ZERO;
  const symbols: SymbolPnl[] = [];
  for (const position of positions.values()) {
    const mark = marks.get(position.symbol) ?? null;
    const open = unrealisedPnl(position, mark);
    realised = realised.add(position.realised);
    unrealised = unrealised.add(open);
    fees = fees.add(position.costs);
    symbols.push({
      symbol: position.symbol,
      base: position.base,
      quantity: position.quantity,
      averagePrice: position.averagePrice,
      mark,
      realised: position.realised,
      unrealised: open,
      fees: position.costs,
      fillCount: position.fillCount,
    });
  }
  return {
    currency,
    equity,
    cash: holdings.get(currency) ?? ZERO,
    unvalued: unvalued.sort(),
    realised,
    unrealised,
    fees,
    symbols: symbols.sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
  };
}
