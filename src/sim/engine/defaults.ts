import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import type { SymbolRules } from '../../domain/symbols.ts';
import type { SimMarketConfig } from './api.ts';

/** BTCTurk's standard tier: maker 0.08%, taker 0.16%, and BSMV tax of 5% on the fee. */
export const DEFAULT_FEES: {
  readonly makerFeeRate: Decimal;
  readonly takerFeeRate: Decimal;
  readonly taxRate: Decimal;
} = {
  makerFeeRate: new Dec('0.0008'),
  takerFeeRate: new Dec('0.0016'),
  taxRate: new Dec('0.05'),
};

interface PairSpec {
  readonly base: string;
  readonly quantityScale: number;
  readonly priceScale: number;
  readonly tick: string;
  readonly maxPrice: string;
  readonly mid: string;
  readonly volatility: number;
}

function tryQuotedPair(spec: PairSpec): SimMarketConfig {
  const symbol = `${spec.base}TRY`;
  const rules: SymbolRules = {
    symbol,
    base: spec.base,
    quote: 'TRY',
    status: 'TRADING',
    quantityScale: spec.quantityScale,
    priceScale: spec.priceScale,
    tickSize: new Dec(spec.tick),
    minPrice: new Dec(spec.tick),
    maxPrice: new Dec(spec.maxPrice),
    minExchangeValue: new Dec(100),
    // BTCTurk states no lot filter: quantity is bounded by its scale and the minimum order value.
    minQuantity: null,
    maxQuantity: null,
    orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'],
  };
  return { symbol, rules, initialMid: new Dec(spec.mid), volatility: spec.volatility };
}

/** A believable TRY market for `btcbot sim` and paper trading: BTCTurk-like scales, ticks and limits. */
export function defaultMarkets(): SimMarketConfig[] {
  return [
    {
      base: 'BTC',
      quantityScale: 8,
      priceScale: 0,
      tick: '1',
      maxPrice: '100000000',
      mid: '3500000',
      volatility: 0.0004,
    },
    {
      base: 'ETH',
      quantityScale: 8,
      priceScale: 0,
      tick: '1',
      maxPrice: '10000000',
      mid: '120000',
      volatility: 0.0005,
    },
    {
      base: 'USDT',
      quantityScale: 2,
      priceScale: 2,
      tick: '0.01',
      maxPrice: '1000',
      mid: '40',
      volatility: 0.0001,
    },
    {
      base: 'AVAX',
      quantityScale: 4,
      priceScale: 1,
      tick: '0.1',
      maxPrice: '100000',
      mid: '1000',
      volatility: 0.0007,
    },
    {
      base: 'XRP',
      quantityScale: 2,
      priceScale: 3,
      tick: '0.001',
      maxPrice: '10000',
      mid: '90',
      volatility: 0.0007,
    },
    {
      base: 'SOL',
      quantityScale: 4,
      priceScale: 0,
      tick: '1',
      maxPrice: '1000000',
      mid: '6000',
      volatility: 0.0007,
    },
  ].map(tryQuotedPair);
}
