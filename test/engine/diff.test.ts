import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import type { OrderState, Side } from '../../src/domain/orders.ts';
import { diffCost, diffOrders, type OrderDiff } from '../../src/engine/diff.ts';
import type { QuoteTolerance, RestingOrder, WantedOrder } from '../../src/strategies/types.ts';

const FC_SEED = Number(process.env.FC_SEED ?? 11);
const TOL: QuoteTolerance = { requoteThresholdBps: 5, quantityTolerancePct: 20 };

let ids = 0;
function rest(
  tag: string | null,
  side: Side,
  price: string,
  quantityLeft = '0.01',
  state: OrderState = 'OPEN',
  symbol = 'BTCTRY',
): RestingOrder {
  ids += 1;
  return {
    clientOrderId: `c${ids}`,
    symbol,
    side,
    price: new Dec(price),
    quantityLeft: new Dec(quantityLeft),
    state,
    tag,
  };
}
function want(tag: string, side: Side, price: string, quantity = '0.01', symbol = 'BTCTRY'): WantedOrder {
  return { symbol, side, price: new Dec(price), quantity: new Dec(quantity), tag };
}
const ids_ = (orders: readonly RestingOrder[]) => orders.map((o) => o.clientOrderId);
const tags = (orders: readonly WantedOrder[]) => orders.map((o) => o.tag);

function summary(diff: OrderDiff) {
  return {
    keeps: diff.keeps.map((k) => `${k.resting.clientOrderId}->${k.wanted.tag}`),
    replaces: diff.replaces.map((r) => `${r.resting.clientOrderId}->${r.wanted.tag}`),
    cancels: ids_(diff.cancels),
    submits: tags(diff.submits),
    waiting: tags(diff.waiting),
    inFlight: ids_(diff.inFlight),
  };
}
const EMPTY = { keeps: [], replaces: [], cancels: [], submits: [], waiting: [], inFlight: [] };

describe('diffOrders', () => {
  it('keeps a resting order within the price threshold and quantity tolerance', () => {
    const r = rest('a', 'buy', '1000000', '0.009'); // 10% less left than wanted
    // 500 on 1,000,300 is 4.998 bps
    const diff = diffOrders([want('a', 'buy', '1000300')], [r], TOL);
    assert.deepEqual(summary(diff), { ...EMPTY, keeps: [`${r.clientOrderId}->a`] });
  });

  it('replaces an order of the same slot whose price moved beyond the threshold', () => {
    const r = rest('a', 'sell', '1000000');
    const diff = diffOrders([want('a', 'sell', '1000600')], [r], TOL); // 6 bps
    assert.deepEqual(summary(diff), { ...EMPTY, replaces: [`${r.clientOrderId}->a`] });
  });

  it('replaces a partly filled order whose quantity left is beyond the tolerance', () => {
    const r = rest('a', 'buy', '1000000', '0.007', 'PARTIALLY_FILLED');
    const diff = diffOrders([want('a', 'buy', '1000000')], [r], TOL);
    assert.deepEqual(summary(diff), { ...EMPTY, replaces: [`${r.clientOrderId}->a`] });
  });

  it('cancels what nothing wants and submits what nothing serves', () => {
    const r = rest('gone', 'buy', '1000000');
    const diff = diffOrders([want('new', 'sell', '1010000')], [r], TOL);
    assert.deepEqual(summary(diff), { ...EMPTY, cancels: [r.clientOrderId], submits: ['new'] });
  });

  it('cancels and submits (not replaces) when a slot changes side or symbol', () => {
    const side = rest('a', 'buy', '1000000');
    const symbol = rest('b', 'buy', '1000000');
    const diff = diffOrders(
      [want('a', 'sell', '1000000'), want('b', 'buy', '1000000', '0.01', 'ETHTRY')],
      [side, symbol],
      TOL,
    );
    assert.deepEqual(summary(diff), {
      ...EMPTY,
      cancels: [side.clientOrderId, symbol.clientOrderId],
      submits: ['a', 'b'],
    });
  });

  it('keeps the closest of several orders in one slot and cancels the rest', () => {
    const far = rest('a', 'buy', '999990');
    const near = rest('a', 'buy', '1000000');
    const diff = diffOrders([want('a', 'buy', '1000001')], [far, near], TOL);
    assert.deepEqual(summary(diff), {
      ...EMPTY,
      keeps: [`${near.clientOrderId}->a`],
      cancels: [far.clientOrderId],
    });
  });

  for (const state of ['PENDING_SUBMIT', 'SUBMITTED', 'UNKNOWN', 'PENDING_CANCEL'] as const) {
    it(`never touches an order in ${state}, and its slot waits for it`, () => {
      const busy = rest('a', 'buy', '1000000', '0.01', state);
      const unwanted = rest('b', 'sell', '1100000', '0.01', state);
      const diff = diffOrders([want('a', 'buy', '1200000')], [busy, unwanted], TOL);
      assert.deepEqual(summary(diff), {
        ...EMPTY,
        waiting: ['a'],
        inFlight: [busy.clientOrderId, unwanted.clientOrderId],
      });
    });
  }

  it('holds back new orders on the symbol and side of an in-flight order whose slot is unknown', () => {
    const unknown = rest(null, 'buy', '1000000', '0.01', 'UNKNOWN');
    const diff = diffOrders([want('bid', 'buy', '990000'), want('ask', 'sell', '1010000')], [unknown], TOL);
    assert.deepEqual(summary(diff), {
      ...EMPTY,
      waiting: ['bid'],
      submits: ['ask'],
      inFlight: [unknown.clientOrderId],
    });
  });

  it('cancels a settled order of a slot that waits on an in-flight one, rather than replacing it', () => {
    const pending = rest('a', 'buy', '1000000', '0.01', 'PENDING_SUBMIT');
    const stale = rest('a', 'buy', '900000');
    const diff = diffOrders([want('a', 'buy', '1000000')], [pending, stale], TOL);
    assert.deepEqual(summary(diff), {
      ...EMPTY,
      cancels: [stale.clientOrderId],
      waiting: ['a'],
      inFlight: [pending.clientOrderId],
    });
  });

  it('adopts an untagged order that fits a free slot and cancels untagged ones that fit none', () => {
    const fits = rest(null, 'buy', '1000000');
    const misfit = rest(null, 'buy', '800000');
    const diff = diffOrders([want('a', 'buy', '1000100')], [fits, misfit], TOL);
    assert.deepEqual(summary(diff), {
      ...EMPTY,
      keeps: [`${fits.clientOrderId}->a`],
      cancels: [misfit.clientOrderId],
    });
  });

  it('ignores orders that are already over', () => {
    const done = ['FILLED', 'CANCELED', 'REJECTED'] as const;
    const diff = diffOrders(
      [],
      done.map((s) => rest('a', 'buy', '1', '1', s)),
      TOL,
    );
    assert.deepEqual(summary(diff), EMPTY);
  });

  it('refuses two wanted orders for one slot', () => {
    assert.throws(
      () => diffOrders([want('a', 'buy', '1'), want('a', 'sell', '2')], [], TOL),
      /two orders for the slot "a"/,
    );
  });

  describe('with a rate budget', () => {
    const resting = [
      rest('x1', 'buy', '1'),
      rest('x2', 'buy', '1'),
      rest('x3', 'buy', '1'),
      rest('r1', 'buy', '1000000'),
      rest('r2', 'buy', '1000000'),
    ];
    const wanted = [
      want('r1', 'buy', '900000'),
      want('r2', 'buy', '900000'),
      want('s1', 'sell', '1100000'),
      want('s2', 'sell', '1100000'),
    ];
    const run = (ordersAvailable: number) => diffOrders(wanted, resting, TOL, { ordersAvailable });

    it('sends cancels, then replaces, then submits, deferring the rest in that order', () => {
      const diff = run(6); // 3 cancels + 1 replace (2) = 5; the next replace needs 2
      assert.deepEqual(ids_(diff.cancels), ids_(resting.slice(0, 3)));
      assert.deepEqual(
        diff.replaces.map((r) => r.wanted.tag),
        ['r1'],
      );
      assert.deepEqual(
        diff.deferred.replaces.map((r) => r.wanted.tag),
        ['r2'],
      );
      // One request is left, but a submit never jumps ahead of a deferred replace.
      assert.deepEqual(tags(diff.submits), []);
      assert.deepEqual(tags(diff.deferred.submits), ['s1', 's2']);
      assert.equal(diffCost(diff), 5);
    });

    it('defers cancels only when even they do not fit', () => {
      const diff = run(2);
      assert.equal(diff.cancels.length, 2);
      assert.equal(diff.deferred.cancels.length, 1);
      assert.equal(diff.deferred.replaces.length, 2);
      assert.equal(diff.deferred.submits.length, 2);
      assert.equal(diffCost(run(0)), 0);
    });

    it('defers nothing when the budget covers everything', () => {
      const diff = run(9);
      assert.equal(diffCost(diff), 9);
      assert.deepEqual(diff.deferred, { cancels: [], replaces: [], submits: [] });
    });
  });
});

// Generated books: a few slots on two symbols, prices near each other so keeps, replaces and
// adoptions all occur.
const SLOTS = ['s0', 's1', 's2', 's3', 's4', 's5'];
const arbSide = fc.constantFrom<Side>('buy', 'sell');
const arbSymbol = fc.constantFrom('BTCTRY', 'ETHTRY');
const arbPrice = fc.integer({ min: 99_900, max: 100_100 }).map((p) => new Dec(p));
const arbQty = fc.integer({ min: 1, max: 20 }).map((q) => new Dec(q).div(1000));
const arbWanted = fc.uniqueArray(fc.constantFrom(...SLOTS), { maxLength: SLOTS.length }).chain((slots) =>
  fc.tuple(
    ...slots.map((tag) =>
      fc.record({
        symbol: arbSymbol,
        side: arbSide,
        price: arbPrice,
        quantity: arbQty,
        tag: fc.constant(tag),
      }),
    ),
  ),
);
const arbResting = (states: readonly OrderState[]) =>
  fc
    .array(
      fc.record({
        symbol: arbSymbol,
        side: arbSide,
        price: arbPrice,
        quantityLeft: arbQty,
        state: fc.constantFrom(...states),
        tag: fc.option(fc.constantFrom(...SLOTS, 'other'), { nil: null }),
      }),
      { maxLength: 10 },
    )
    .map((rows) => rows.map((row, i): RestingOrder => ({ ...row, clientOrderId: `r${i}` })));
const arbTolerance = fc.record({
  requoteThresholdBps: fc.integer({ min: 0, max: 20 }),
  quantityTolerancePct: fc.integer({ min: 0, max: 50 }),
});

function within(r: RestingOrder, w: WantedOrder, t: QuoteTolerance): boolean {
  return (
    r.symbol === w.symbol &&
    r.side === w.side &&
    r.price.sub(w.price).abs().mul(10_000).lte(w.price.mul(t.requoteThresholdBps)) &&
    r.quantityLeft.sub(w.quantity).abs().mul(100).lte(w.quantity.mul(t.quantityTolerancePct))
  );
}
const key = (o: { symbol: string; side: string; price: Dec; tag: string | null }, qty: Dec) =>
  `${o.tag}|${o.symbol}|${o.side}|${o.price.toFixed()}|${qty.toFixed()}`;

describe('diffOrders properties', () => {
  it('applied with an unlimited budget, yields exactly the wanted set, modulo orders kept within the threshold', () => {
    fc.assert(
      fc.property(
        arbWanted,
        arbResting(['OPEN', 'PARTIALLY_FILLED']),
        arbTolerance,
        (wanted, resting, tol) => {
          const diff = diffOrders(wanted, resting, tol);
          assert.deepEqual(
            [diff.waiting, diff.inFlight, diff.deferred],
            [[], [], { cancels: [], replaces: [], submits: [] }],
          );
          // Apply: cancels and replaced orders leave, replacements and submits arrive, kept ones stay.
          const book = new Map(resting.map((r) => [r.clientOrderId, key(r, r.quantityLeft)]));
          for (const r of diff.cancels)
            assert.ok(book.delete(r.clientOrderId), `canceled twice or unknown: ${r.clientOrderId}`);
          for (const { resting: r, wanted: w } of diff.replaces) {
            assert.equal(r.tag, w.tag);
            assert.ok(r.symbol === w.symbol && r.side === w.side, 'a replace keeps symbol and side');
            assert.ok(book.delete(r.clientOrderId), `replaced twice or unknown: ${r.clientOrderId}`);
            book.set(`new:${w.tag}`, key(w, w.quantity));
          }
          for (const w of diff.submits) book.set(`new:${w.tag}`, key(w, w.quantity));
          // Modulo kept orders: each stands for the wanted order it is within tolerance of.
          for (const { resting: r, wanted: w } of diff.keeps) {
            assert.ok(within(r, w, tol), `kept ${r.clientOrderId} is not within tolerance of ${w.tag}`);
            assert.ok(r.tag === w.tag || r.tag === null, `kept ${r.clientOrderId} belongs to another slot`);
            assert.equal(
              book.get(r.clientOrderId),
              key(r, r.quantityLeft),
              `kept ${r.clientOrderId} was also acted on`,
            );
            book.set(r.clientOrderId, key(w, w.quantity));
          }
          assert.deepEqual([...book.values()].sort(), wanted.map((w) => key(w, w.quantity)).sort());
        },
      ),
      { seed: FC_SEED, numRuns: 400 },
    );
  });

  it('never acts on an in-flight order or its slot, and never spends more than the budget', () => {
    const states: OrderState[] = [
      'OPEN',
      'PARTIALLY_FILLED',
      'PENDING_SUBMIT',
      'SUBMITTED',
      'UNKNOWN',
      'PENDING_CANCEL',
    ];
    fc.assert(
      fc.property(
        arbWanted,
        arbResting(states),
        arbTolerance,
        fc.integer({ min: 0, max: 12 }),
        (wanted, resting, tol, budget) => {
          const full = diffOrders(wanted, resting, tol);
          const cut = diffOrders(wanted, resting, tol, { ordersAvailable: budget });
          const flying = resting.filter((r) => !['OPEN', 'PARTIALLY_FILLED'].includes(r.state));
          const acted = [
            ...cut.cancels,
            ...cut.replaces.map((r) => r.resting),
            ...cut.keeps.map((k) => k.resting),
          ];
          for (const r of flying)
            assert.ok(!acted.includes(r), `in-flight ${r.clientOrderId} (${r.state}) acted on`);
          const newOrders = [...cut.submits, ...cut.replaces.map((r) => r.wanted)];
          for (const w of newOrders)
            assert.ok(
              !flying.some(
                (r) => r.tag === w.tag || (r.tag === null && r.symbol === w.symbol && r.side === w.side),
              ),
              `new order for slot ${w.tag} while an in-flight order may serve it`,
            );
          assert.ok(diffCost(cut) <= budget);
          // The budget only splits the actions into sent and deferred.
          assert.deepEqual(
            [
              [...cut.cancels, ...cut.deferred.cancels],
              [...cut.replaces, ...cut.deferred.replaces],
              [...cut.submits, ...cut.deferred.submits],
            ],
            [full.cancels, full.replaces, full.submits],
          );
        },
      ),
      { seed: FC_SEED, numRuns: 400 },
    );
  });
});
