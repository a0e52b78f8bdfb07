import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { deletes, posts, restingBuy, rig, until, wireLog, type Rig } from './sim-helpers.ts';

// scenarios.md, Replace (R4 and R5, the crashes, are in crash-points.test.ts: they need a real
// process to kill).

const resting = (r: Rig, quantity = '0.001'): Promise<StoredOrder> => restingBuy(r, quantity, 'quote-1');

describe('replace scenarios against the simulator', () => {
  it('R1: safe mode: old canceled and confirmed, then the new order placed for the quantity still wanted', async (t) => {
    const r = await rig(t, { seed: 301 });
    const old = await resting(r);
    const price = (old.price ?? new Dec(0)).sub(5);
    const result = await r.oms.replace(old.id, { price });
    assert.equal(result.txn.step, 'done');
    assert.equal(result.txn.outcome, 'replaced');
    assert.equal(result.old.state, 'CANCELED');
    const replacement = result.replacement;
    assert.equal(replacement?.state, 'OPEN');
    assert.equal(replacement.quantity.toFixed(), '0.001');
    assert.equal(replacement.price?.toFixed(), price.toFixed());
    assert.equal(replacement.replaceOf, old.id);
    assert.equal(replacement.intentId, 'quote-1');
    assert.equal(replacement.clientOrderId, result.txn.newClientOrderId);
    const [simOld, simNew] = r.ourOrders();
    assert.equal(simOld?.status, 'canceled');
    assert.equal(simNew?.status, 'open');
    assert.ok(simNew.createdAt >= simOld.updatedAt, 'the new order rested before the old one left');
  });

  it('R2: the old order partially fills during the cancel: the new order is smaller by what filled', async (t) => {
    const r = await rig(t, { seed: 302, faults: { 'cancel-delay-ms': 500 } });
    const wire = wireLog(t);
    const old = await resting(r);
    const replace = r.oms.replace(old.id, { price: (old.price ?? new Dec(0)).sub(5) });
    await until('the DELETE is out', () => deletes(wire).length === 1);
    r.hit('sell', '0.0004', old.price ?? new Dec(0));
    const result = await replace;
    assert.equal(result.txn.outcome, 'replaced');
    assert.equal(result.old.filledQuantity.toFixed(), '0.0004');
    assert.equal(result.replacement?.quantity.toFixed(), '0.0006');
    assert.equal(r.ourOrders()[1]?.quantity.toFixed(), '0.0006');
  });

  it('R2, below the minimum: what the cancel leaves is worth less than the exchange takes: nothing left to replace', async (t) => {
    const r = await rig(t, { seed: 312, faults: { 'cancel-delay-ms': 500 } });
    const wire = wireLog(t);
    const old = await resting(r);
    const price = old.price ?? new Dec(0);
    // Leave half the minimum order value (100 TRY) resting: a real order the exchange would refuse.
    const left = new Dec(50).div(price).toDecimalPlaces(8, Dec.ROUND_DOWN);
    const before = posts(wire).length;
    const replace = r.oms.replace(old.id, { price: price.sub(5) });
    await until('the DELETE is out', () => deletes(wire).length === 1);
    r.hit('sell', old.quantity.sub(left).toFixed(), price);
    const result = await replace;
    assert.equal(result.txn.step, 'done');
    assert.equal(result.txn.outcome, 'nothing-left');
    assert.match(
      result.txn.reason ?? '',
      new RegExp(
        `^${left.toFixed()} BTC left is worth .* TRY at ${price.sub(5).toFixed()}, below the exchange's minimum order value 100 TRY$`,
      ),
    );
    assert.equal(result.old.state, 'CANCELED');
    assert.equal(result.old.filledQuantity.toFixed(), old.quantity.sub(left).toFixed());
    assert.equal(result.replacement, null);
    assert.equal(posts(wire).length, before, 'a replacement was sent');
    assert.equal(r.ourOrders().length, 1);
    assert.deepEqual(await r.store.openReplaces(), []);
  });

  it('R2, kill switch: switched on while the cancel was out: the replacement is not placed', async (t) => {
    const r = await rig(t, { seed: 313, faults: { 'cancel-delay-ms': 500 } });
    const wire = wireLog(t);
    const old = await resting(r);
    const before = posts(wire).length;
    const replace = r.oms.replace(old.id, { price: (old.price ?? new Dec(0)).sub(5) });
    await until('the DELETE is out', () => deletes(wire).length === 1);
    await r.store.setKillSwitch(true, 'operator');
    const result = await replace;
    assert.equal(result.txn.outcome, 'aborted');
    assert.match(
      result.txn.reason ?? '',
      /^the kill switch is on \(operator\): the replacement was not placed$/,
    );
    assert.equal(result.old.state, 'CANCELED');
    assert.equal(result.replacement, null);
    assert.equal(posts(wire).length, before);
  });

  it('R3: the old order fully fills during the cancel: no new order', async (t) => {
    const r = await rig(t, { seed: 303, faults: { 'cancel-delay-ms': 500 } });
    const wire = wireLog(t);
    const old = await resting(r);
    const before = posts(wire).length;
    const replace = r.oms.replace(old.id, { price: (old.price ?? new Dec(0)).sub(5) });
    await until('the DELETE is out', () => deletes(wire).length === 1);
    r.hit('sell', '0.001', old.price ?? new Dec(0));
    const result = await replace;
    assert.equal(result.txn.outcome, 'nothing-left');
    assert.equal(result.old.state, 'FILLED');
    assert.equal(result.replacement, null);
    assert.equal(posts(wire).length, before);
    assert.equal(r.ourOrders().length, 1);
  });

  it('R6: fast mode without risk budget for both resting falls back to safe mode, with a reason', async (t) => {
    const asked: string[] = [];
    const r = await rig(t, {
      seed: 306,
      oms: {
        riskBudget: (old, replacement) => {
          asked.push(`${old.quantity.toFixed()}→${replacement.quantity.toFixed()}`);
          return false;
        },
      },
    });
    const old = await resting(r);
    const result = await r.oms.replace(old.id, { price: (old.price ?? new Dec(0)).sub(5), mode: 'fast' });
    assert.deepEqual(asked, ['0.001→0.001']);
    assert.equal(result.txn.mode, 'safe');
    assert.match(result.txn.reason ?? '', /fell back to safe: the risk budget does not allow/);
    assert.equal(result.txn.outcome, 'replaced');
    const [simOld, simNew] = r.ourOrders();
    assert.ok((simNew?.createdAt ?? 0) >= (simOld?.updatedAt ?? Infinity), 'new placed before the old left');

    const budgeted = r.newOms({ riskBudget: () => true });
    await budgeted.start();
    const fast = await budgeted.replace(result.replacement?.id ?? '', {
      price: (old.price ?? new Dec(0)).sub(9),
      mode: 'fast',
    });
    assert.equal(fast.txn.mode, 'fast');
    assert.equal(fast.txn.outcome, 'replaced');
    assert.equal(fast.old.state, 'CANCELED');
    const newest = r.ourOrders().at(-1);
    assert.ok(
      (newest?.createdAt ?? Infinity) <= (r.ourOrders()[1]?.updatedAt ?? 0),
      'fast mode placed the new order first',
    );
  });
});
