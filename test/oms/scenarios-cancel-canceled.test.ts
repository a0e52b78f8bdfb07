import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { StoredOrder } from '../../src/ports/store.ts';
import { loginFrame, WsClient } from '../sim/helpers.ts';
import { deletes, restingBuy, rig, until, wireLog, type Rig } from './sim-helpers.ts';

// Since about November 2024 BTCTurk answers a cancel of an order it has already canceled with the
// plain success reply ({"success":true,"message":"SUCCESS","code":0}, btcturk-wire README) — and no
// 452 follows, because the order left the book long before. The OMS never waits for that event: it
// settles such an order from what REST shows (the cancel's confirmation lookups, or reconciliation).

async function resting(r: Rig): Promise<StoredOrder> {
  const order = await restingBuy(r);
  assert.equal(order.state, 'OPEN');
  assert.ok(order.exchangeOrderId);
  return order;
}

/** A socket logged in as our account, closed when the test ends: it sees every 452 the simulator sends for our orders. */
async function privateStream(t: TestContext, r: Rig): Promise<WsClient> {
  const client = await WsClient.connect(r.sim.wsUrl);
  t.after(() => {
    client.close();
  });
  client.send(loginFrame(r.sim.apiKey, r.sim.apiSecret));
  const login = await client.nextOfType(114);
  assert.equal(login[1].ok, true);
  return client;
}

const deletesOf = (client: WsClient, exchangeOrderId: string): number =>
  client.texts.filter((text) => text.startsWith('[452,') && text.includes(`"id":${exchangeOrderId},`)).length;

const eventTrail = async (r: Rig, orderId: string): Promise<string[]> =>
  (await r.store.orderEvents(orderId)).map((e) => `${e.type}:${e.toState}`);

/** One cancel request, one CANCELED status, nothing more; and a reconciliation that agrees. */
async function assertCanceledOnce(r: Rig, orderId: string): Promise<void> {
  assert.deepEqual(await eventTrail(r, orderId), [
    'journaled:PENDING_SUBMIT',
    'sent:SUBMITTED',
    'acked:OPEN',
    'cancel-requested:PENDING_CANCEL',
    'venue-status:CANCELED',
  ]);
  const report = await r.oms.reconcile();
  assert.deepEqual(report.divergences, []);
  assert.ok(report.clean, JSON.stringify(report));
}

describe('cancel of an order the exchange already canceled (success reply, no 452)', () => {
  it('CC1: canceled on another path first: our DELETE is answered 200 SUCCESS, no 452 follows, the lookup settles CANCELED', async (t) => {
    const r = await rig(t, { seed: 211 });
    const wire = wireLog(t);
    const order = await resting(r);
    const id = order.exchangeOrderId ?? '';
    const stream = await privateStream(t, r);
    r.sim.engine.requestCancel(r.sim.accountId, id);
    r.sim.engine.completeCancel(id);
    await stream.barrier();
    assert.equal(deletesOf(stream, id), 1, 'the exchange’s own cancel sent its 452');

    const result = await r.oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'canceled');
    assert.equal(result.order.state, 'CANCELED');
    assert.deepEqual(
      deletes(wire).map((d) => d.status),
      [200],
      'one DELETE, answered with success rather than a refusal',
    );
    await stream.barrier();
    assert.equal(deletesOf(stream, id), 1, 'no 452 follows the cancel of an already-canceled order');

    assert.equal((await r.store.order(order.id))?.state, 'CANCELED');
    await assertCanceledOnce(r, order.id);
    const stats = r.oms.stats();
    assert.equal(stats.divergences, 0);
    assert.equal(stats.cancelsConfirmed, 1);
    assert.equal(stats.cancelsPending, 0);
  });

  it('CC2: canceled twice: the first is left PENDING_CANCEL, the second is answered SUCCESS and settles CANCELED', async (t) => {
    const r = await rig(t, {
      seed: 212,
      faults: { 'cancel-delay-ms': 600 },
      oms: { timings: { cancelConfirmMs: 100, cancelAttempts: 1 } },
    });
    const wire = wireLog(t);
    const order = await resting(r);
    const id = order.exchangeOrderId ?? '';
    const stream = await privateStream(t, r);

    const first = await r.oms.cancel({ orderId: order.id });
    assert.equal(first.outcome, 'pending');
    assert.equal(first.order.state, 'PENDING_CANCEL');
    await until('the simulator completes the first cancel', () =>
      r.ourOrders().some((o) => o.id === id && o.status === 'canceled'),
    );
    await stream.barrier();
    assert.equal(deletesOf(stream, id), 1, 'the first cancel’s 452');

    const second = await r.oms.cancel({ orderId: order.id });
    assert.equal(second.outcome, 'canceled');
    assert.equal(second.order.state, 'CANCELED');
    assert.deepEqual(
      deletes(wire).map((d) => d.status),
      [200, 200],
      'the repeated cancel is a success, not an error',
    );
    await stream.barrier();
    assert.equal(deletesOf(stream, id), 1, 'the second cancel brings no 452');
    await assertCanceledOnce(r, order.id);
    assert.equal(r.oms.stats().divergences, 0);
  });

  it('CC3: canceled twice by another client while we hold it OPEN: reconciliation settles CANCELED, no DELETE of ours', async (t) => {
    const r = await rig(t, { seed: 213 });
    const wire = wireLog(t);
    const order = await resting(r);
    const id = order.exchangeOrderId ?? '';
    await r.exchange.cancelOrder(id);
    await until('the simulator completes the cancel', () =>
      r.ourOrders().some((o) => o.id === id && o.status === 'canceled'),
    );
    // The adapter takes the repeat's success reply (no data) as accepted, not as a failure.
    await r.exchange.cancelOrder(id);
    assert.deepEqual(
      deletes(wire).map((d) => d.status),
      [200, 200],
    );
    assert.equal((await r.store.order(order.id))?.state, 'OPEN', 'nothing told the OMS yet');

    const report = await r.oms.reconcile();
    assert.equal((await r.store.order(order.id))?.state, 'CANCELED');
    assert.deepEqual(report.divergences, []);
    assert.ok(report.clean, JSON.stringify(report));
    assert.equal(deletes(wire).length, 2, 'reconciliation sent no cancel of its own');
    assert.equal(r.oms.stats().divergences, 0);
    assert.deepEqual(await eventTrail(r, order.id), [
      'journaled:PENDING_SUBMIT',
      'sent:SUBMITTED',
      'acked:OPEN',
      'venue-status:CANCELED',
    ]);
  });
});

describe('a pushed cancel nobody asked for is read again over REST before it is believed', () => {
  it('UC1: the stream says canceled while REST shows the order resting: REST wins, the order stays OPEN', async (t) => {
    const r = await rig(t, { seed: 214 });
    const order = await resting(r);
    const report = await r.exchange.order(order.exchangeOrderId ?? '');
    assert.equal(report.status, 'open');
    // Half of an update whose insert (451) never came: the delete alone reads as a cancel.
    await r.oms.onOrderReport({ ...report, status: 'canceled' });
    assert.equal((await r.store.order(order.id))?.state, 'OPEN', 'a resting order is still tracked');
    assert.equal(r.oms.stats().unaskedCancelChecks, 1);
    assert.equal(r.oms.stats().unaskedCancelsContradicted, 1);
    const report2 = await r.oms.reconcile();
    assert.equal(report2.divergences.length, 0, JSON.stringify(report2.divergences));
  });

  it('UC2: canceled by hand elsewhere: REST agrees, the order is CANCELED after one check', async (t) => {
    const r = await rig(t, { seed: 215 });
    const order = await resting(r);
    const id = order.exchangeOrderId ?? '';
    r.sim.engine.requestCancel(r.sim.accountId, id);
    r.sim.engine.completeCancel(id);
    await r.oms.onOrderReport(await r.exchange.order(id));
    assert.equal((await r.store.order(order.id))?.state, 'CANCELED');
    assert.equal(r.oms.stats().unaskedCancelChecks, 1);
    assert.equal(r.oms.stats().unaskedCancelsContradicted, 0);
  });
});
