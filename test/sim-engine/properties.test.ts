import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import {
  SimRejection,
  type PlaceOrderInput,
  type SimEngine,
  type SimOrder,
} from '../../src/sim/engine/api.ts';
import { FEES, d, harness, testMarket } from './helpers.ts';

// Random order flows against the engine, with the synthetic market stepping in between. After every
// operation the books must balance: funds conserved per asset, nothing negative, every lock
// explained by the open orders that hold it, nothing overfilled, no crossed book.

const ACCOUNTS = ['u0', 'u1', 'u2'] as const;
const MID = 1000;

type Op =
  | {
      kind: 'limit' | 'stoplimit';
      account: number;
      side: 'buy' | 'sell';
      ticks: number;
      stopTicks: number;
      qty: number;
    }
  | {
      kind: 'market' | 'stopmarket';
      account: number;
      side: 'buy' | 'sell';
      stopTicks: number;
      amount: number;
    }
  | { kind: 'request' | 'complete' | 'cancel'; account: number; pick: number }
  | { kind: 'step' };

const side = fc.constantFrom('buy' as const, 'sell' as const);
const account = fc.integer({ min: 0, max: ACCOUNTS.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('limit' as const),
      account,
      side,
      ticks: fc.integer({ min: -15, max: 15 }),
      stopTicks: fc.constant(0),
      qty: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stoplimit' as const),
      account,
      side,
      ticks: fc.integer({ min: -15, max: 15 }),
      stopTicks: fc.integer({ min: 1, max: 6 }),
      qty: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('market' as const),
      account,
      side,
      stopTicks: fc.constant(0),
      amount: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('stopmarket' as const),
      account,
      side,
      stopTicks: fc.integer({ min: 1, max: 6 }),
      amount: fc.integer({ min: 1, max: 400 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constantFrom('request' as const, 'complete' as const, 'cancel' as const),
      account,
      pick: fc.nat(),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'step' as const }) },
);

function reference(engine: SimEngine): number {
  const book = engine.book('BTCTRY', 1);
  const bid = book.bids[0]?.price.toNumber();
  const ask = book.asks[0]?.price.toNumber();
  return bid !== undefined && ask !== undefined ? Math.round((bid + ask) / 2) : MID;
}

function apply(engine: SimEngine, op: Op): void {
  if (op.kind === 'step') {
    engine.stepMarket();
    return;
  }
  const accountId = ACCOUNTS[op.account] ?? 'u0';
  if ('pick' in op) {
    const open = engine.openOrders(accountId);
    // Half the time aim at a partially filled order: canceling those is where locks could leak.
    const partial = open.find((o) => o.status === 'partially_filled');
    const target = op.pick % 2 === 0 && partial ? partial : open[op.pick % Math.max(open.length, 1)];
    if (target === undefined) return;
    if (op.kind !== 'complete') engine.requestCancel(accountId, target.id);
    if (op.kind !== 'request') engine.completeCancel(target.id);
    return;
  }
  const ref = reference(engine);
  const stopDirection = op.side === 'buy' ? 1 : -1;
  const base = { accountId, symbol: 'BTCTRY', side: op.side };
  let input: PlaceOrderInput;
  if ('qty' in op) {
    input = {
      ...base,
      method: op.kind,
      price: d(ref + op.ticks),
      quantity: d(op.qty).div(20),
      stopPrice: op.kind === 'stoplimit' ? d(ref + stopDirection * op.stopTicks) : null,
    };
  } else {
    // a market buy spends quote (TRY), a sell gives base
    const quantity = op.side === 'buy' ? d(op.amount).mul(10) : d(op.amount).div(100);
    input = {
      ...base,
      method: op.kind,
      quantity,
      stopPrice: op.kind === 'stopmarket' ? d(ref + stopDirection * op.stopTicks) : null,
    };
  }
  engine.placeOrder(input);
}

const worstBuy = new Dec(1).plus(Dec.max(FEES.makerFeeRate, FEES.takerFeeRate).mul(FEES.taxRate.plus(1)));
const takerBuy = new Dec(1).plus(FEES.takerFeeRate.mul(FEES.taxRate.plus(1)));

/** What an open order must hold, computed from its public snapshot alone. */
function expectedLock(o: SimOrder): { asset: string; amount: Decimal } {
  const left = o.quantity.minus(o.filled);
  if (o.side === 'sell') return { asset: 'BTC', amount: left };
  if (o.method === 'stopmarket') return { asset: 'TRY', amount: o.quantity.mul(takerBuy) };
  assert.ok(o.price, `open ${o.method} buy ${o.id} has no price`);
  return { asset: 'TRY', amount: left.mul(o.price).mul(worstBuy) };
}

function totals(engine: SimEngine): Map<string, string> {
  const sums = new Map<string, Decimal>();
  for (const balances of Object.values(engine.groundTruth().balances))
    for (const b of balances)
      sums.set(b.asset, (sums.get(b.asset) ?? new Dec(0)).plus(b.free).plus(b.locked));
  return new Map([...sums].map(([asset, sum]) => [asset, sum.toFixed()]));
}

function checkInvariants(engine: SimEngine, initial: Map<string, string>, after: string): void {
  const truth = engine.groundTruth();
  // (a) conservation, exact
  assert.deepEqual(totals(engine), initial, `funds not conserved after ${after}`);

  // (b) nothing negative; (c) locked equals what the open orders hold
  const held = new Map<string, Decimal>();
  for (const o of truth.orders) {
    // (d) never overfilled
    assert.ok(
      o.filled.gte(0) && o.filled.lte(o.quantity),
      `order ${o.id} filled ${o.filled.toFixed()} of ${o.quantity.toFixed()}`,
    );
    if (o.status !== 'open' && o.status !== 'partially_filled') continue;
    const lock = expectedLock(o);
    const key = `${o.accountId}/${lock.asset}`;
    held.set(key, (held.get(key) ?? new Dec(0)).plus(lock.amount));
  }
  for (const [accountId, balances] of Object.entries(truth.balances)) {
    for (const b of balances) {
      assert.ok(
        !b.free.isNegative() && !b.locked.isNegative(),
        `${accountId} ${b.asset} negative after ${after}`,
      );
      const expected = held.get(`${accountId}/${b.asset}`) ?? new Dec(0);
      assert.equal(
        b.locked.toFixed(),
        expected.toFixed(),
        `${accountId} ${b.asset} locked vs open orders after ${after}`,
      );
    }
  }

  // fills add up to each order's filled amount (quote spent for market buys)
  const fromFills = new Map<string, Decimal>();
  const byId = new Map(truth.orders.map((o) => [o.id, o]));
  for (const f of truth.fills) {
    const o = byId.get(f.orderId);
    assert.ok(o, `fill ${f.tradeId} for unknown order ${f.orderId}`);
    const amount =
      o.side === 'buy' && (o.method === 'market' || o.method === 'stopmarket')
        ? f.price.mul(f.quantity)
        : f.quantity;
    fromFills.set(o.id, (fromFills.get(o.id) ?? new Dec(0)).plus(amount));
  }
  for (const o of truth.orders)
    assert.equal((fromFills.get(o.id) ?? new Dec(0)).toFixed(), o.filled.toFixed(), `order ${o.id} fills`);

  // (e) the book is never crossed after a matching pass
  const book = engine.book('BTCTRY', 1);
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  if (bid && ask) assert.ok(bid.lt(ask), `book crossed after ${after}: ${bid.toFixed()} >= ${ask.toFixed()}`);
}

describe('engine invariants over random order flows', () => {
  it('conserves funds, never goes negative, explains every lock, never overfills, never crosses', () => {
    // What the flows exercised, so a generator that only produced refusals would fail the test.
    const seen = { accepted: 0, userFills: 0, stopFills: 0, canceledAfterFill: 0 };
    const users: ReadonlySet<string> = new Set(ACCOUNTS);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(opArb, { minLength: 20, maxLength: 60, size: 'max' }),
        (seed, ops) => {
          const { engine, clock } = harness({
            seed,
            markets: [testMarket({ quantityScale: 4, minExchangeValue: d(10) }, String(MID))],
          });
          for (const id of ACCOUNTS) engine.createAccount(id, { TRY: d(100_000), BTC: d(100) });
          engine.stepMarket();
          const initial = totals(engine);
          checkInvariants(engine, initial, 'the first step');
          ops.forEach((op, i) => {
            clock.advance(250);
            try {
              apply(engine, op);
              if (op.kind !== 'step') seen.accepted++;
            } catch (error) {
              if (!(error instanceof SimRejection)) throw error;
            }
            checkInvariants(engine, initial, `op ${i} ${JSON.stringify(op)}`);
          });
          const truth = engine.groundTruth();
          const mine = truth.orders.filter((o) => users.has(o.accountId));
          seen.userFills += truth.fills.filter((f) => users.has(f.accountId)).length;
          seen.stopFills += mine.filter((o) => o.method.startsWith('stop') && o.filled.gt(0)).length;
          seen.canceledAfterFill += mine.filter((o) => o.status === 'canceled' && o.filled.gt(0)).length;
        },
      ),
      { numRuns: 60, seed: 20_240_611 },
    );
    for (const [what, count] of Object.entries(seen))
      assert.ok(count >= 10, `the flows exercised too few ${what}: ${count}`);
  });
});
