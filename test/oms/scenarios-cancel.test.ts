import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { accountFills } from '../../src/oms/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { deletes, restingBuy, rig, SYMBOL, until, wireLog, type Rig } from './sim-helpers.ts';

// scenarios.md, Cancel. BTCTurk cancels asynchronously: the simulator completes an accepted cancel
// `cancel-delay-ms` later, and the order keeps matching until then.

async function resting(r: Rig, quantity = '0.001'): Promise<StoredOrder> {
  const order = await restingBuy(r, quantity);
  assert.equal(order.state, 'OPEN');
  return order;
}

describe('cancel scenarios against the simulator', () => {
  it('C1: accepted, completes later: PENDING_CANCEL until the exchange shows it gone, then CANCELED', async (t) => {
    const r = await rig(t, {
      seed: 201,
      faults: { 'cancel-delay-ms': 700 },
      oms: { timings: { cancelConfirmMs: 200, cancelAttempts: 1 } },
    });
    const order = await resting(r);
    const first = await r.oms.cancel({ orderId: order.id });
    assert.equal(first.outcome, 'pending');
    assert.equal(first.order.state, 'PENDING_CANCEL');
    assert.equal(r.ourOrders()[0]?.status, 'open', 'the exchange still holds it');
    await until('the simulator completes the cancel', () => r.ourOrders()[0]?.status === 'canceled');
    await r.oms.reconcile();
    const done = await r.store.order(order.id);
    assert.equal(done?.state, 'CANCELED');
    assert.deepEqual(
      (await r.store.orderEvents(order.id)).map((e) => `${e.type}:${e.toState}`),
      [
        'journaled:PENDING_SUBMIT',
        'sent:SUBMITTED',
        'acked:OPEN',
        'cancel-requested:PENDING_CANCEL',
        'venue-status:CANCELED',
      ],
    );
  });

  it('C2: the cancel reply is lost: resolved by lookup to CANCELED; a cancel that never arrived is sent again', async (t) => {
    const r = await rig(t, { seed: 202 });
    const wire = wireLog(t);
    const lost = await resting(r);
    r.sim.setFault('timeout-after-accept', 1);
    const result = await r.oms.cancel({ orderId: lost.id });
    r.sim.setFault('timeout-after-accept', null);
    assert.equal(result.outcome, 'canceled');
    assert.equal(deletes(wire).length, 1);

    const second = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('buy'),
    });
    r.sim.setFault('reset-before-accept', 1);
    const pending = r.oms.cancel({ exchangeOrderId: second.exchangeOrderId ?? '' });
    // Cleared only once the simulator has struck (the DELETE being out is not yet its being handled).
    await until('the first DELETE was reset', () => r.sim.faultHits()['reset-before-accept'] === 1);
    r.sim.setFault('reset-before-accept', null);
    const retried = await pending;
    assert.equal(retried.outcome, 'canceled');
    assert.equal(deletes(wire).length, 3, 'the reset cancel was sent again once');
    assert.equal(r.ourOrders().find((o) => o.id === second.exchangeOrderId)?.status, 'canceled');
  });

  it('C3: the order fills while the cancel is in flight: every fill counted, final state from the exchange', async (t) => {
    const r = await rig(t, { seed: 203, faults: { 'cancel-delay-ms': 500 } });
    const wire = wireLog(t);
    const partly = await resting(r);
    const price = partly.price ?? new Dec(0);
    const cancel = r.oms.cancel({ orderId: partly.id });
    await until('the DELETE is out', () => deletes(wire).length === 1);
    r.hit('sell', '0.0004', price);
    const result = await cancel;
    assert.equal(result.outcome, 'canceled');
    assert.equal(result.order.state, 'CANCELED');
    assert.equal(result.order.filledQuantity.toFixed(), '0.0004');

    const whole = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
    });
    const second = r.oms.cancel({ orderId: whole.id });
    await until('the second DELETE is out', () => deletes(wire).length === 2);
    r.hit('sell', '0.001', price);
    const filled = await second;
    assert.equal(filled.outcome, 'filled');
    assert.equal(filled.order.filledQuantity.toFixed(), '0.001');
    const truth = r.sim.groundTruth().fills.filter((f) => f.accountId === r.sim.accountId);
    assert.deepEqual(
      (await r.store.fills()).map((f) => f.tradeId).sort(),
      truth.map((f) => f.tradeId).sort(),
    );
  });

  it('C4: cancel of an order already gone: settled by lookup (filled, or canceled), one request, no error loop', async (t) => {
    const r = await rig(t, { seed: 204 });
    const wire = wireLog(t);
    const order = await resting(r);
    r.hit('sell', '0.001', order.price ?? new Dec(0));
    const filled = await r.oms.cancel({ orderId: order.id });
    assert.equal(filled.outcome, 'filled');
    assert.equal(filled.order.filledQuantity.toFixed(), '0.001');

    const other = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('buy'),
    });
    r.sim.engine.requestCancel(r.sim.accountId, other.exchangeOrderId ?? '');
    r.sim.engine.completeCancel(other.exchangeOrderId ?? '');
    const canceled = await r.oms.cancel({ orderId: other.id });
    assert.equal(canceled.outcome, 'canceled');
    // The filled one is refused, the canceled one answered with success (BTCTurk since late 2024):
    // either way the outcome came from a lookup, and no cancel was sent twice.
    assert.equal(deletes(wire).length, 2, 'one DELETE per cancel, neither repeated');
    assert.equal(r.oms.stats().cancelsConfirmed, 2);
  });

  it('C5: a fill arrives after the order is CANCELED: counted; position and PnL correct', async (t) => {
    const r = await rig(t, { seed: 205 });
    const order = await resting(r);
    r.hit('sell', '0.0004', order.price ?? new Dec(0));
    r.sim.engine.requestCancel(r.sim.accountId, order.exchangeOrderId ?? '');
    r.sim.engine.completeCancel(order.exchangeOrderId ?? '');
    // The stream's order-delete event overtakes the trade: the order is closed before its fill is known.
    await r.oms.onOrderReport(await r.exchange.order(order.exchangeOrderId ?? ''));
    const closed = await r.store.order(order.id);
    assert.equal(closed?.state, 'CANCELED');
    assert.equal(closed.filledQuantity.toFixed(), '0');

    await r.oms.reconcile({ resolve: false });
    const after = await r.store.order(order.id);
    assert.equal(after?.state, 'CANCELED');
    assert.equal(after.filledQuantity.toFixed(), '0.0004');
    await r.oms.reconcile({ resolve: false });
    const fills = await r.store.fills({ orderId: order.id });
    assert.equal(fills.length, 1, 'the late fill was counted twice');
    const [simFill] = r.sim.groundTruth().fills.filter((f) => f.accountId === r.sim.accountId);
    assert.ok(simFill);
    const position = accountFills(fills).get(SYMBOL);
    assert.equal(position?.quantity.toFixed(), '0.0004');
    assert.equal(position.averagePrice?.toFixed(), simFill.price.toFixed());
    assert.equal(position.realised.toFixed(), simFill.fee.add(simFill.tax).neg().toFixed());
    assert.equal((await r.store.positions(SYMBOL))[0]?.net.toFixed(), '0.0004');
  });
});
