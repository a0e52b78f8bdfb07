import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import { ConfigError } from '../../domain/errors.ts';
import { quantizeQuantity } from '../../domain/symbols.ts';
import type { SimMarketConfig } from '../engine/api.ts';
import { defaultMarkets } from '../engine/index.ts';

// The pairs the simulator can list (the engine's default markets) and what only the wire format
// needs besides: a pair id (exchangeinfo, ticker `order`, WS `PId`) and the currency rows.

export interface SimPair {
  readonly pairId: number;
  readonly config: SimMarketConfig;
}

export interface SimCurrency {
  readonly id: number;
  readonly symbol: string;
  readonly name: string;
  readonly precision: number;
  readonly type: 'FIAT' | 'CRYPTO';
}

const FIAT_PRECISION = 2;
const CRYPTO_PRECISION = 8;
const CURRENCY_NAMES: Readonly<Record<string, string>> = {
  TRY: 'Türk Lirası',
  BTC: 'Bitcoin',
  ETH: 'Ethereum',
  USDT: 'Tether',
  AVAX: 'Avalanche',
  XRP: 'Ripple',
  SOL: 'Solana',
};

/** An account that states no balances starts with this much quote currency and this value of each base. */
const DEFAULT_QUOTE_BALANCE = new Dec('1000000');
const DEFAULT_BASE_VALUE = new Dec('1000000');

const CATALOG: ReadonlyMap<string, SimPair> = new Map(
  defaultMarkets().map((config, index) => [config.symbol, { pairId: index + 1, config }] as const),
);

export const SIM_SYMBOLS: readonly string[] = [...CATALOG.keys()];
export const DEFAULT_SIM_SYMBOLS: readonly string[] = ['BTCTRY', 'ETHTRY'];

/** The listed pairs for `symbols`; an unknown symbol is a ConfigError naming it and the known ones. */
export function simPairs(symbols: readonly string[]): SimPair[] {
  if (symbols.length === 0) throw new ConfigError('symbols', 'list at least one symbol');
  const pairs = symbols.map((raw) => {
    const pair = CATALOG.get(raw.trim().toUpperCase());
    if (!pair)
      throw new ConfigError(
        'symbols',
        `the simulator does not list "${raw}"; it lists ${SIM_SYMBOLS.join(', ')}`,
      );
    return pair;
  });
  return [...new Map(pairs.map((pair) => [pair.config.symbol, pair])).values()];
}

function isFiat(asset: string): boolean {
  return asset === 'TRY';
}

export function currencyPrecision(asset: string): number {
  return isFiat(asset) ? FIAT_PRECISION : CRYPTO_PRECISION;
}

export function currencyName(asset: string): string {
  return CURRENCY_NAMES[asset] ?? asset;
}

export function currenciesOf(pairs: readonly SimPair[]): SimCurrency[] {
  const assets = [...new Set(pairs.flatMap((pair) => [pair.config.rules.quote, pair.config.rules.base]))];
  return assets.map((symbol, index) => ({
    id: index + 1,
    symbol,
    name: currencyName(symbol),
    precision: currencyPrecision(symbol),
    type: isFiat(symbol) ? 'FIAT' : 'CRYPTO',
  }));
}

/** Starting balances of an account that states none: quote currency plus a like value of every base. */
export function defaultBalances(pairs: readonly SimPair[]): Record<string, Decimal> {
  const balances: Record<string, Decimal> = {};
  for (const { config } of pairs) {
    balances[config.rules.quote] = DEFAULT_QUOTE_BALANCE;
    balances[config.rules.base] = quantizeQuantity(config.rules, DEFAULT_BASE_VALUE.div(config.initialMid));
  }
  return balances;
}
