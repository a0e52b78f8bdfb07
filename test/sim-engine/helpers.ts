import assert from 'node:assert/strict';
import type { Decimal } from 'decimal.js';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import {
  SimRejection,
  type PlaceOrderInput,
  type SimEngine,
  type SimEvent,
  type SimMarketConfig,
} from '../../src/sim/engine/api.ts';
import { createSimEngine } from '../../src/sim/engine/index.ts';

export const d = (value: string | number): Decimal => new Dec(value);

export const FEES = { makerFeeRate: d('0.0008'), takerFeeRate: d('0.0016'), taxRate: d('0.05') };

export interface FakeClock extends Clock {
  advance(ms: number): void;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let t = start;
  return {
    now: () => t,
    monotonic: () => t,
    sleep: () => Promise.resolve(),
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A BTCTRY-like pair with round numbers: integer prices, 8 quantity decimals, 100 TRY minimum. */
export function testMarket(rules: Partial<SymbolRules> = {}, initialMid = '1000'): SimMarketConfig {
  const full: SymbolRules = {
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    status: 'TRADING',
    quantityScale: 8,
    priceScale: 0,
    tickSize: d(1),
    minPrice: d(1),
    maxPrice: d(10_000_000),
    minExchangeValue: d(100),
    minQuantity: null,
    maxQuantity: null,
    orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'],
    ...rules,
  };
  return { symbol: full.symbol, rules: full, initialMid: d(initialMid), volatility: 0.001 };
}

export interface Harness {
  readonly engine: SimEngine;
  readonly clock: FakeClock;
  readonly events: SimEvent[];
}

export function harness(options: { markets?: SimMarketConfig[]; seed?: number } = {}): Harness {
  const clock = fakeClock();
  const engine = createSimEngine({
    clock,
    random: seededRandom(options.seed ?? 1),
    markets: options.markets ?? [testMarket()],
    ...FEES,
  });
  const events: SimEvent[] = [];
  engine.subscribe((e) => events.push(e));
  return { engine, clock, events };
}

export function limit(
  accountId: string,
  side: 'buy' | 'sell',
  price: string | number,
  quantity: string | number,
  more: Partial<PlaceOrderInput> = {},
): PlaceOrderInput {
  return {
    accountId,
    symbol: 'BTCTRY',
    side,
    method: 'limit',
    price: d(price),
    quantity: d(quantity),
    ...more,
  };
}

export function market(accountId: string, side: 'buy' | 'sell', quantity: string | number): PlaceOrderInput {
  return { accountId, symbol: 'BTCTRY', side, method: 'market', quantity: d(quantity) };
}

/** free/locked of one asset as plain text, "0" for an asset never touched. */
export function holding(
  engine: SimEngine,
  accountId: string,
  asset: string,
): { free: string; locked: string } {
  const b = engine.balances(accountId).find((x) => x.asset === asset);
  return { free: b?.free.toFixed() ?? '0', locked: b?.locked.toFixed() ?? '0' };
}

export function rejects(fn: () => unknown, venueMessage: string, code: number): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof SimRejection, `expected a SimRejection, got ${String(error)}`);
    assert.equal(error.venueMessage, venueMessage);
    assert.equal(error.code, code);
    assert.equal(error.httpStatus, 400);
    return true;
  });
}

/** Decimals as text, so streams and states compare exactly (Decimal's toJSON is its string). */
export function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}
