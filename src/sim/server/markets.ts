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

/** The most pairs `pairCount` lists (BTCTurk lists about 380). */
export const MAX_SIM_PAIRS = 1_000;

// Price profiles the synthetic pairs cycle through, so a many-pairs listing has the spread of scales
// and ticks a real one has (a 0.5 TRY token on a 0.0001 grid to a 45,000 TRY coin on a 1 TRY grid).
const SYNTHETIC_PROFILES = [
  { quantityScale: 0, priceScale: 4, tick: '0.0001', maxPrice: '100', mid: '0.5', volatility: 0.0008 },
  { quantityScale: 2, priceScale: 2, tick: '0.01', maxPrice: '10000', mid: '25', volatility: 0.0006 },
  { quantityScale: 4, priceScale: 1, tick: '0.1', maxPrice: '100000', mid: '900', volatility: 0.0006 },
  { quantityScale: 8, priceScale: 0, tick: '1', maxPrice: '10000000', mid: '45000', volatility: 0.0005 },
] as const;

/**
 * `count` listed pairs: the built-in ones first (BTCTRY, ETHTRY, …), then synthetic TRY pairs
 * `SYN007TRY`, `SYN008TRY`, … up to `count`, for measuring a client that follows a whole exchange's
 * worth of pairs. A count outside 1–MAX_SIM_PAIRS is a ConfigError naming `setting`.
 */
export function simPairsByCount(count: number, setting = 'pairs'): SimPair[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SIM_PAIRS)
    throw new ConfigError(
      setting,
      `expected a whole number of pairs from 1 to ${MAX_SIM_PAIRS}, got ${count}`,
    );
  const builtIn = [...CATALOG.values()].slice(0, count);
  const synthetic: SimPair[] = [];
  for (let pairId = builtIn.length + 1; pairId <= count; pairId++) {
    const profile = SYNTHETIC_PROFILES[pairId % SYNTHETIC_PROFILES.length] ?? SYNTHETIC_PROFILES[0];
    const base = `SYN${String(pairId).padStart(3, '0')}`;
    const symbol = `${base}TRY`;
    synthetic.push({
      pairId,
      config: {
        symbol,
        rules: {
          symbol,
          base,
          quote: 'TRY',
          status: 'TRADING',
          quantityScale: profile.quantityScale,
          priceScale: profile.priceScale,
          tickSize: new Dec(profile.tick),
          minPrice: new Dec(profile.tick),
          maxPrice: new Dec(profile.maxPrice),
          minExchangeValue: new Dec(100),
          minQuantity: null,
          maxQuantity: null,
          orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'],
        },
        initialMid: new Dec(profile.mid),
        volatility: profile.volatility,
      },
    });
  }
  return [...builtIn, ...synthetic];
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
