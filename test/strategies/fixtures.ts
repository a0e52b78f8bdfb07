import { Dec } from '../../src/domain/decimal.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import type {
  BalanceView,
  MarketView,
  PositionView,
  RestingOrder,
  StrategySnapshot,
} from '../../src/strategies/types.ts';

export const d = (value: string | number) => new Dec(value);

/** BTCTRY as BTCTurk states it: whole-lira tick, 8 quantity decimals, 100 TRY minimum. */
export const BTCTRY: SymbolRules = {
  symbol: 'BTCTRY',
  base: 'BTC',
  quote: 'TRY',
  status: 'TRADING',
  quantityScale: 8,
  priceScale: 0,
  tickSize: d(1),
  minPrice: d(1),
  maxPrice: d(100_000_000),
  minExchangeValue: d(100),
  minQuantity: null,
  maxQuantity: null,
  orderMethods: ['limit', 'market'],
};

/** A pair with a fractional tick, to catch rounding on a coarse grid. */
export const ETHTRY: SymbolRules = {
  ...BTCTRY,
  symbol: 'ETHTRY',
  base: 'ETH',
  quantityScale: 4,
  priceScale: 1,
  tickSize: d('0.5'),
};

export function market(
  bid: string | null,
  ask: string | null,
  status: MarketView['status'] = 'live',
): MarketView {
  return { bestBid: bid === null ? null : d(bid), bestAsk: ask === null ? null : d(ask), status };
}

export interface SnapshotParts {
  readonly markets?: Record<string, MarketView>;
  readonly balances?: Record<string, readonly [free: string, locked: string]>;
  readonly positions?: Record<string, string>;
  readonly resting?: RestingOrder[];
  readonly rules?: SymbolRules[];
}

export function snapshot(parts: SnapshotParts): StrategySnapshot {
  const rules = parts.rules ?? [BTCTRY, ETHTRY];
  return {
    now: 1_700_000_000_000,
    rules: new Map(rules.map((r) => [r.symbol, r])),
    markets: new Map(Object.entries(parts.markets ?? {})),
    balances: new Map(
      Object.entries(parts.balances ?? {}).map(([asset, [free, locked]]): [string, BalanceView] => [
        asset,
        { free: d(free), locked: d(locked) },
      ]),
    ),
    positions: new Map(
      Object.entries(parts.positions ?? {}).map(([symbol, base]): [string, PositionView] => [
        symbol,
        { base: d(base), avgCost: null },
      ]),
    ),
    resting: parts.resting ?? [],
  };
}
