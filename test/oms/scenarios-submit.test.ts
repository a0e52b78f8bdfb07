import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { SubmitIntent } from '../../src/oms/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { posts, rig, SYMBOL, until, wireLog } from './sim-helpers.ts';

// scenarios.md, Submit: each fault switched on in the simulator, the OMS driving the real adapter
// over HTTP. "No re-send" is checked on the wire, "exactly one order" in the simulator's ground truth.

const QTY = '0.001';

function buyAt(price: Dec, intentId = 'intent-1'): SubmitIntent {
  return { symbol: SYMBOL, side: 'buy', method: 'limit', quantity: new Dec(QTY), price, intentId };
}

async function eventTypes(store: Store, orderId: string): Promise<string[]> {
  return (await store.orderEvents(orderId)).map((e) => e.type);
}

describe('submit scenarios against the simulator', () => {
  it('S1: accepted but the reply is lost: resolved by client id to OPEN, one exchange order, no re-send', async (t) => {
    const r = await rig(t, { seed: 101 });
    const wire = wireLog(t);
    await r.oms.start();
    r.sim.setFault('timeout-after-accept', 1);
    const order = await r.oms.submit(buyAt(r.insidePrice('buy')));
    r.sim.setFault('timeout-after-accept', null);
    assert.equal(order.state, 'OPEN');
    assert.deepEqual(await eventTypes(r.store, order.id), [
      'journaled',
      'sent',
      'send-ambiguous',
      'venue-status',
    ]);
    assert.equal(posts(wire).length, 1);
    const placed = r.ourOrders();
    assert.equal(placed.length, 1);
    assert.equal(placed[0]?.clientOrderId, order.clientOrderId);
    assert.equal(order.exchangeOrderId, placed[0].id);
  });

  it('S2: reset before the request is read: resolved as never placed; the intent goes again under a new client id', async (t) => {
    const r = await rig(t, { seed: 102 });
    const wire = wireLog(t);
    await r.oms.start();
    r.sim.setFault('reset-before-accept', 1);
    const pending = r.oms.submit({ ...buyAt(r.insidePrice('buy')), attempts: 2 });
    await until(
      'the first POST was reset',
      () => posts(wire).length === 1 && wire.every((w) => w.method !== 'POST' || w.status === undefined),
    );
    await until('the first order is UNKNOWN', async () => (await r.store.orders())[0]?.state === 'UNKNOWN');
    r.sim.setFault('reset-before-accept', null);
    const order = await pending;
    assert.equal(order.state, 'OPEN');
    const all = await r.store.orders();
    assert.equal(all.length, 2);
    const first = all.find((o) => o.id !== order.id);
    assert.equal(first?.state, 'REJECTED');
    assert.match(first.stateReason ?? '', /never placed/);
    assert.notEqual(first.clientOrderId, order.clientOrderId);
    assert.equal(r.ourOrders().length, 1);
    assert.equal(posts(wire).length, 2);
  });

  it('S3: 5xx on the POST and the order was not placed: resolved as never placed after lookup; no duplicate', async (t) => {
    const r = await rig(t, { seed: 103 });
    const wire = wireLog(t);
    await r.oms.start();
    r.sim.setFault('error-5xx', 1);
    const pending = r.oms.submit(buyAt(r.insidePrice('buy')));
    await until('the order is UNKNOWN', async () => (await r.store.orders())[0]?.state === 'UNKNOWN');
    r.sim.setFault('error-5xx', null); // lookups work again; the POST is not repeated
    const order = await pending;
    assert.equal(order.state, 'REJECTED');
    assert.deepEqual(await eventTypes(r.store, order.id), [
      'journaled',
      'sent',
      'send-ambiguous',
      'resolved-not-found',
    ]);
    assert.equal(posts(wire).length, 1);
    assert.equal(r.ourOrders().length, 0);
  });

  it('S4: 5xx on the POST but the order was placed: resolved to the placed order; no duplicate', async (t) => {
    const r = await rig(t, { seed: 104, faults: { 'error-5xx-after-accept': 1 } });
    const wire = wireLog(t);
    await r.oms.start();
    const order = await r.oms.submit(buyAt(r.insidePrice('buy')));
    assert.equal(order.state, 'OPEN');
    assert.equal(posts(wire).length, 1);
    assert.equal(posts(wire)[0]?.status, 500);
    assert.deepEqual(
      r.ourOrders().map((o) => o.clientOrderId),
      [order.clientOrderId],
    );
  });

  it("S5: HTTP 200 with success:false: a definitive rejection with BTCTurk's code; nothing resting", async (t) => {
    const r = await rig(t, { seed: 105, faults: { 'reply-200-failure': 1 } });
    const wire = wireLog(t);
    await r.oms.start();
    const before = wire.length;
    const order = await r.oms.submit(buyAt(r.insidePrice('buy')));
    assert.equal(order.state, 'REJECTED');
    assert.match(order.stateReason ?? '', /code 1120 FAILED_LIMIT_ORDER/);
    assert.deepEqual(await eventTypes(r.store, order.id), ['journaled', 'sent', 'rejected']);
    assert.equal(r.ourOrders().length, 0);
    assert.deepEqual(
      wire
        .slice(before)
        .filter((w) => w.path.startsWith('/api/v1/'))
        .map((w) => w.method),
      ['POST'],
      'nothing but the one POST: no lookup after a definitive answer',
    );
  });

  it('S6: 429 with Retry-After on the POST: nothing placed; the next attempt waits the full Retry-After', async (t) => {
    const r = await rig(t, { seed: 106, exchange: { deadlineMs: 800 } });
    const wire = wireLog(t);
    await r.oms.start();
    r.sim.setFault('rate-limit-storm', 1);
    const refused = await r.oms.submit(buyAt(r.insidePrice('buy')));
    r.sim.setFault('rate-limit-storm', null);
    assert.equal(refused.state, 'REJECTED');
    assert.match(refused.stateReason ?? '', /429/);
    assert.equal(r.ourOrders().length, 0);
    const limited = posts(wire).filter((w) => w.status === 429);
    const last = limited.at(-1);
    assert.ok(last?.retryAfterMs !== undefined, 'the 429 carried a Retry-After');
    // Still inside the Retry-After: the limiter refuses locally, the OMS waits it out, then re-sends.
    const placed = await r.oms.submit({ ...buyAt(r.insidePrice('buy'), 'intent-2'), attempts: 2 });
    assert.equal(placed.state, 'OPEN');
    const after = posts(wire).slice(posts(wire).indexOf(last) + 1);
    assert.deepEqual(
      after.map((w) => w.status),
      [200],
      'the next attempt was refused again: it did not wait',
    );
    assert.ok(
      (after[0]?.sentAt ?? 0) >= last.sentAt + last.retryAfterMs - 50,
      'sent before the Retry-After ran out',
    );
    assert.notEqual(placed.clientOrderId, refused.clientOrderId);
  });

  it('S7: the order shows only after a delay: UNKNOWN until seen, then OPEN under the same record; no second order', async (t) => {
    const r = await rig(t, {
      seed: 107,
      faults: { 'timeout-after-accept': 1, 'visibility-delay-ms': 1_200 },
      oms: { timings: { notFoundAfterMs: 4_000, lookupBaseMs: 40, lookupCapMs: 200 } },
    });
    const wire = wireLog(t);
    await r.oms.start();
    const order = await r.oms.submit(buyAt(r.insidePrice('buy')));
    assert.equal(order.state, 'OPEN');
    const events = await r.store.orderEvents(order.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['journaled', 'sent', 'send-ambiguous', 'venue-status'],
    );
    const sent = events[1]?.at ?? 0;
    assert.ok((events[3]?.at ?? 0) - sent >= 1_200, 'resolved before the order could be visible');
    const lookups = wire.filter((w) => w.method === 'GET' && w.path.startsWith('/api/v1/openOrders'));
    assert.ok(lookups.length >= 2, 'it looked more than once while the order was invisible');
    assert.equal(posts(wire).length, 1);
    assert.equal(r.ourOrders().length, 1);
    assert.equal((await r.store.orders()).length, 1);
  });

  it('S8: the order filled before we could look: resolved to FILLED with its fills', async (t) => {
    const r = await rig(t, { seed: 108, faults: { 'timeout-after-accept': 1 } });
    await r.oms.start();
    const order = await r.oms.submit(buyAt(r.crossingPrice('buy')));
    assert.equal(order.state, 'FILLED');
    assert.equal(order.filledQuantity.toFixed(), QTY);
    const simFills = r.sim.groundTruth().fills.filter((f) => f.orderId === order.exchangeOrderId);
    const stored = await r.store.fills({ orderId: order.id });
    assert.ok(simFills.length > 0);
    assert.deepEqual(stored.map((f) => f.tradeId).sort(), simFills.map((f) => f.tradeId).sort());
    assert.equal(r.ourOrders()[0]?.status, 'filled');
    assert.equal(r.ourOrders().length, 1);
  });

  it('S9: lookups fail for longer than the bound: REDUCE_ONLY, then HALTED, with a reason; nothing guessed', async (t) => {
    const alerts: string[] = [];
    const r = await rig(t, {
      seed: 109,
      exchange: { deadlineMs: 500 },
      oms: {
        escalation: { unresolvedReduceMs: 1_000, unresolvedHaltMs: 2_000 },
        onAlert: (a) => alerts.push(`${a.level}: ${a.reason}`),
      },
    });
    await r.oms.start();
    r.sim.setFault('error-5xx', 1);
    const order = await r.oms.submit(buyAt(r.insidePrice('buy')));
    assert.equal(order.state, 'UNKNOWN');
    assert.equal((await r.store.escalation()).level, 'REDUCE_ONLY');
    await until('HALTED', async () => {
      await r.oms.reconcile({ resolve: false });
      return (await r.store.escalation()).level === 'HALTED';
    });
    assert.equal((await r.store.killSwitch()).on, true);
    assert.equal((await r.store.order(order.id))?.state, 'UNKNOWN', 'the outcome was guessed');
    assert.equal(alerts.length, 2);
    assert.match(alerts[0] ?? '', /^REDUCE_ONLY: an order has been unresolved/);
    assert.match(alerts[1] ?? '', /^HALTED: /);
    r.sim.setFault('error-5xx', null);
    await r.oms.reconcile();
    assert.equal((await r.store.order(order.id))?.state, 'REJECTED');
    assert.equal((await r.store.escalation()).level, 'HALTED', 'the ladder stepped back up by itself');
  });

  it('S10: two intents while the first is UNKNOWN: the second waits; order of effects preserved', async (t) => {
    const r = await rig(t, {
      seed: 110,
      faults: { 'visibility-delay-ms': 800 },
      oms: { timings: { notFoundAfterMs: 3_000, lookupBaseMs: 40, lookupCapMs: 200 } },
    });
    const wire = wireLog(t);
    await r.oms.start();
    r.sim.setFault('timeout-after-accept', 1);
    const price = r.insidePrice('buy');
    const first = r.oms.submit(buyAt(price, 'first'));
    // Cleared only once the simulator has held the reply (the POST being out is not yet its being handled).
    await until('the first POST is held', () => r.sim.faultHits()['timeout-after-accept'] === 1);
    r.sim.setFault('timeout-after-accept', null);
    const second = r.oms.submit(buyAt(price.sub(1), 'second'));
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.state, 'OPEN');
    assert.equal(b.state, 'OPEN');
    const resolvedAt =
      (await r.store.orderEvents(a.id)).find((e) => e.type === 'venue-status')?.at ?? Infinity;
    const journaledAt = (await r.store.orderEvents(b.id))[0]?.at ?? -Infinity;
    assert.ok(journaledAt >= resolvedAt, 'the second intent was journaled while the first was unresolved');
    assert.deepEqual(
      r.ourOrders().map((o) => o.clientOrderId),
      [a.clientOrderId, b.clientOrderId],
    );
    assert.equal(posts(wire).length, 2);
  });

  it('a market buy (sized in TRY by BTCTurk) is refused before it leaves: REJECTED with the reason, nothing placed', async (t) => {
    const r = await rig(t, { seed: 111 });
    const wire = wireLog(t);
    await r.oms.start();
    const order = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'market',
      quantity: new Dec(QTY),
    });
    assert.equal(order.state, 'REJECTED');
    assert.match(order.stateReason ?? '', /market buy is sized in the quote currency .* place a limit buy/);
    assert.equal(posts(wire).length, 0);
    assert.deepEqual(r.ourOrders(), []);
  });
});
