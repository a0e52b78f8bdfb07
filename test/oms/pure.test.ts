import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { FillReport } from '../../src/domain/reports.ts';
import { accountFills, AccountingError } from '../../src/oms/accounting.ts';
import { assessHealth, DEFAULT_ESCALATION_POLICY, type Health } from '../../src/oms/escalation.ts';
import { refusalReason, type AdmissionInput } from '../../src/oms/gates.ts';
import { KeyedQueue } from '../../src/oms/keyed-queue.ts';
import { replacementSize } from '../../src/oms/remainder.ts';
import { rulesSource } from '../../src/oms/rules.ts';
import { completeRules, type SymbolRules } from '../../src/domain/symbols.ts';
import type { ExchangeInfo } from '../../src/domain/reports.ts';

// The OMS's small pure decisions: accounting, the escalation ladder, admission, per-symbol order,
// what a replacement can still carry.

let trade = 0;
function fill(
  side: 'buy' | 'sell',
  quantity: string,
  price: string,
  fee = '0',
  over: Partial<FillReport> = {},
): FillReport {
  trade += 1;
  return {
    tradeId: String(1_000 + trade),
    exchangeOrderId: '1',
    clientOrderId: null,
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    side,
    price: new Dec(price),
    quantity: new Dec(quantity),
    fee: new Dec(fee),
    tax: new Dec(0),
    feeAsset: 'TRY',
    timestamp: trade,
    ...over,
  };
}

describe('accounting', () => {
  it('a round trip realises the price move less fee and tax, in the quote currency', () => {
    const p = accountFills([
      fill('buy', '0.5', '100', '0.04', { tax: new Dec('0.002') }),
      fill('buy', '0.5', '110', '0.044'),
      fill('sell', '1', '120', '0.096'),
    ]).get('BTCTRY');
    assert.ok(p);
    assert.equal(p.quantity.toFixed(), '0');
    assert.equal(p.averagePrice, null);
    assert.equal(p.grossRealised.toFixed(), '15'); // 1 × (120 − 105)
    assert.equal(p.costs.toFixed(), '0.182');
    assert.equal(p.realised.toFixed(), '14.818');
    assert.equal(p.fillCount, 3);
  });

  it('a partial close keeps the average; a flip opens the rest at the fill price', () => {
    const partial = accountFills([fill('buy', '2', '100'), fill('sell', '0.5', '90')]).get('BTCTRY');
    assert.equal(partial?.quantity.toFixed(), '1.5');
    assert.equal(partial.averagePrice?.toFixed(), '100');
    assert.equal(partial.realised.toFixed(), '-5');
    const flipped = accountFills([fill('buy', '1', '100'), fill('sell', '3', '130')]).get('BTCTRY');
    assert.equal(flipped?.quantity.toFixed(), '-2');
    assert.equal(flipped.averagePrice?.toFixed(), '130');
    assert.equal(flipped.realised.toFixed(), '30');
  });

  it('orders fills by time whatever order they arrive in, and values a base-asset fee at the fill price', () => {
    const late = fill('sell', '1', '120', '0.001', { feeAsset: 'BTC', timestamp: 50 });
    const early = fill('buy', '1', '100', '0', { timestamp: 10 });
    const p = accountFills([late, early]).get('BTCTRY');
    assert.equal(p?.grossRealised.toFixed(), '20');
    assert.equal(p.costs.toFixed(), '0.12');
    assert.throws(() => accountFills([fill('buy', '1', '1', '1', { feeAsset: 'USDT' })]), AccountingError);
  });
});

const healthy: Health = {
  consecutiveFailures: 0,
  lastFailure: null,
  divergentForMs: null,
  divergence: null,
  unresolvedForMs: null,
  unresolved: null,
};

describe('escalation ladder', () => {
  const policy = DEFAULT_ESCALATION_POLICY;
  it('stays NORMAL while healthy and below every threshold', () => {
    assert.deepEqual(assessHealth(policy, healthy), { level: 'NORMAL', reason: null });
    assert.equal(
      assessHealth(policy, { ...healthy, consecutiveFailures: policy.failuresToReduce - 1 }).level,
      'NORMAL',
    );
  });

  it('steps to REDUCE_ONLY, then HALTED, naming the worst problem', () => {
    const failing = { ...healthy, consecutiveFailures: policy.failuresToReduce, lastFailure: 'HTTP 503' };
    const reduce = assessHealth(policy, failing);
    assert.equal(reduce.level, 'REDUCE_ONLY');
    assert.match(reduce.reason ?? '', /failed 3 times in a row \(last: HTTP 503\)/);
    const halt = assessHealth(policy, {
      ...failing,
      divergentForMs: policy.divergenceHaltMs,
      divergence: 'resting here as OPEN, but the exchange shows no such order',
    });
    assert.equal(halt.level, 'HALTED');
    assert.match(halt.reason ?? '', /diverged .* shows no such order/);
    assert.equal(
      assessHealth(policy, { ...healthy, unresolvedForMs: policy.unresolvedReduceMs, unresolved: 'order 1' })
        .level,
      'REDUCE_ONLY',
    );
  });
});

describe('admission', () => {
  const base: AdmissionInput = {
    ready: true,
    killSwitch: { on: false, reason: null, at: null },
    level: 'NORMAL',
    side: 'buy',
    quantity: new Dec(1),
    position: new Dec(0),
    reducingResting: new Dec(0),
  };
  it('admits in NORMAL and refuses before start-up reconciliation, with the kill switch, or when HALTED', () => {
    assert.equal(refusalReason(base), null);
    assert.match(refusalReason({ ...base, ready: false }) ?? '', /reconciliation/);
    assert.match(
      refusalReason({ ...base, killSwitch: { on: true, reason: 'ops', at: 1 } }) ?? '',
      /kill switch is on \(ops\)/,
    );
    assert.match(refusalReason({ ...base, level: 'HALTED' }) ?? '', /HALTED/);
  });
  it('in REDUCE_ONLY admits only what reduces the position, counting resting reducers', () => {
    const long = { ...base, level: 'REDUCE_ONLY' as const, position: new Dec(2) };
    assert.notEqual(refusalReason(long), null);
    assert.equal(refusalReason({ ...long, side: 'sell', quantity: new Dec(2) }), null);
    assert.notEqual(
      refusalReason({ ...long, side: 'sell', quantity: new Dec('1.5'), reducingResting: new Dec(1) }),
      null,
    );
    assert.equal(refusalReason({ ...base, level: 'REDUCE_ONLY', position: new Dec(-1), side: 'buy' }), null);
  });
});

describe('keyed queue', () => {
  it('runs work for one key in call order, other keys alongside, and survives a failure', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const step = (name: string, ms: number) => () =>
      new Promise<string>((resolve) =>
        setTimeout(() => {
          log.push(name);
          resolve(name);
        }, ms),
      );
    const failing = queue.run('A', () => Promise.reject(new Error('boom')));
    const a1 = queue.run('A', step('a1', 20));
    const b1 = queue.run('B', step('b1', 1));
    const a2 = queue.run('A', step('a2', 1));
    await assert.rejects(failing, /boom/);
    assert.deepEqual(await Promise.all([a1, b1, a2]), ['a1', 'b1', 'a2']);
    assert.deepEqual(log, ['b1', 'a1', 'a2']);
    assert.equal(queue.busy('A'), false);
  });
});

describe('replacement size', () => {
  const rules = (over: Partial<SymbolRules> = {}): SymbolRules =>
    completeRules({
      symbol: 'BTCTRY',
      base: 'BTC',
      quote: 'TRY',
      status: 'TRADING',
      quantityScale: 8,
      priceScale: 0,
      minExchangeValue: new Dec(100),
      ...over,
    });
  const size = (left: string, price: string | null, r: SymbolRules | undefined = rules()) =>
    replacementSize(new Dec(left), price === null ? null : new Dec(price), r);
  const quantity = (remainder: ReturnType<typeof size>) =>
    'quantity' in remainder ? remainder.quantity.toFixed() : `nothing: ${remainder.nothingLeft}`;

  it('carries what is left when the exchange would take it', () => {
    assert.equal(quantity(size('0.0006', '2500000')), '0.0006');
    assert.equal(quantity(size('0.00004', '2500000')), '0.00004'); // exactly 100 TRY
    assert.equal(quantity(size('0.5', null)), '0.5'); // no price: the value minimum cannot be judged
    const unruled = replacementSize(new Dec('0.000000001'), new Dec('2500000'), undefined);
    assert.equal(quantity(unruled), '0.000000001', 'without rules the exchange is the judge');
  });

  it('leaves nothing when what is left is used up, rounds to zero, or is below a minimum', () => {
    assert.match(quantity(size('0', '2500000')), /^nothing: the old order filled all that was wanted/);
    assert.match(
      quantity(size('0.000000004', '2500000')),
      /^nothing: 0\.000000004 BTC left rounds to 0 at the pair's 8 decimals$/,
    );
    assert.match(
      quantity(size('0.00003', '2500000')),
      /^nothing: 0\.00003 BTC left is worth 75 TRY at 2500000, below the exchange's minimum order value 100 TRY$/,
    );
    assert.match(
      quantity(size('0.004', '2500000', rules({ minQuantity: new Dec('0.01') }))),
      /^nothing: 0\.004 BTC left is below the exchange's minimum quantity 0\.01$/,
    );
  });

  it('cuts what is left to the quantity scale, never up', () => {
    assert.equal(quantity(size('1.23456789', '100', rules({ quantityScale: 2 }))), '1.23');
  });
});

describe('rules source', () => {
  const info = (symbols: string[]): ExchangeInfo => ({
    serverTime: null,
    symbols: symbols.map((symbol) =>
      completeRules({
        symbol,
        base: symbol.slice(0, 3),
        quote: 'TRY',
        status: 'TRADING',
        quantityScale: 8,
        priceScale: 0,
      }),
    ),
  });

  it('uses the rules given, reads the exchange once for a missing symbol, and again only after a failure', async () => {
    const given = info(['BTCTRY']).symbols[0] as SymbolRules;
    let reads = 0;
    let fail = true;
    const source = rulesSource(
      {
        exchangeInfo: () => {
          reads += 1;
          if (fail) return Promise.reject(new Error('exchange info unavailable'));
          return Promise.resolve(info(['BTCTRY', 'ETHTRY']));
        },
      },
      new Map([['BTCTRY', given]]),
    );
    assert.equal(await source('BTCTRY'), given);
    assert.equal(reads, 0);
    await assert.rejects(source('ETHTRY'), /exchange info unavailable/);
    fail = false;
    assert.equal((await source('ETHTRY'))?.symbol, 'ETHTRY');
    assert.equal(await source('XRPTRY'), undefined);
    assert.equal(await source('BTCTRY'), given, 'the rules given were replaced by those read');
    assert.equal(reads, 2);
  });
});
