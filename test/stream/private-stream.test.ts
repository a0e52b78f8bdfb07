import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decimal } from 'decimal.js';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { Side } from '../../src/domain/orders.ts';
import { DEFAULT_TIMINGS } from '../../src/oms/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { FAST_TIMINGS, PREFIX, SYMBOL, until } from '../oms/sim-helpers.ts';
import { orderReads, streamRig, tradeIds, type StreamRig } from './stream-rig.ts';

// The private order stream as the running bot uses it: fills and cancel confirmations reach the
// store through the socket, with REST polling off; a socket cut while orders fill is covered by
// the reconciliation its `resync` starts; every fill is counted once whichever way it came.

const CONTINUOUS = { lookbackMs: DEFAULT_TIMINGS.continuousLookbackMs };

function place(
  r: StreamRig,
  side: Side,
  quantity: string,
  price: Decimal,
  slot: string,
): Promise<StoredOrder> {
  return r.oms.submit({
    symbol: SYMBOL,
    side,
    method: 'limit',
    quantity: new Dec(quantity),
    price,
    intentId: slot,
    strategy: 'hold',
  });
}

async function stored(r: StreamRig, order: StoredOrder): Promise<StoredOrder> {
  const now = await r.store.order(order.id);
  assert.ok(now, `order ${order.id} is in the store`);
  return now;
}

function simOrder(r: StreamRig, order: StoredOrder) {
  const found = r.ourOrders().find((o) => o.id === order.exchangeOrderId);
  assert.ok(found, `the simulator holds order ${order.exchangeOrderId ?? '(no exchange id)'}`);
  return found;
}

/** The store's fills are the simulator's, trade for trade: none missing, none twice. */
async function assertFillsMatchTruth(r: StreamRig): Promise<void> {
  const fills = await r.store.fills();
  assert.deepEqual(tradeIds(fills), tradeIds(r.truthFills()));
  const stats = r.oms.stats();
  assert.equal(stats.fillsNew, fills.length, 'each stored fill was counted new once');
  assert.equal(stats.fillsUnlinked, 0, 'every fill found its order');
  assert.equal(stats.divergences, 0, 'no event contradicted the store');
}

describe('private order stream against the simulator', () => {
  it('a fill of a resting order reaches the store through the socket, and a later poll does not count it again', async (t) => {
    const r = await streamRig(t, { seed: 401 });
    const price = r.insidePrice('sell');
    const order = await place(r, 'sell', '0.002', price, 'hold:ask');
    assert.equal(order.state, 'OPEN');
    const readsBefore = orderReads(r.wire).length;

    r.hit('buy', '0.0008', price);
    await until(
      'the partial fill in the store',
      async () => (await stored(r, order)).state === 'PARTIALLY_FILLED',
    );
    r.hit('buy', '0.0012', price);
    await until('the order filled in the store', async () => (await stored(r, order)).state === 'FILLED');
    await until('both fills in the store', async () => (await r.store.fills()).length === 2);

    assert.equal(
      orderReads(r.wire).length,
      readsBefore,
      'nothing was polled: it all came through the socket',
    );
    const fills = await r.store.fills({ orderId: order.id });
    assert.deepEqual(
      fills.map((f) => f.source),
      ['stream', 'stream'],
    );
    assert.equal(r.truthFills().length, 2);
    await assertFillsMatchTruth(r);
    const filled = await stored(r, order);
    assert.ok(filled.filledQuantity.eq(simOrder(r, order).filled), 'filled quantity is the simulator’s');
    assert.ok(filled.filledQuantity.eq('0.002'));

    // A reconciliation reads the same fills back over REST: seen again, counted once.
    const duplicatesBefore = r.oms.stats().fillsDuplicate;
    const report = await r.oms.reconcile(CONTINUOUS);
    assert.ok(report.clean, JSON.stringify(report));
    assert.ok(orderReads(r.wire).length > readsBefore, 'the reconciliation did read over REST');
    assert.equal(
      r.oms.stats().fillsDuplicate - duplicatesBefore,
      2,
      'both fills were read again as duplicates',
    );
    await assertFillsMatchTruth(r);
    const after = await stored(r, order);
    assert.equal(after.state, 'FILLED');
    assert.ok(after.filledQuantity.eq(simOrder(r, order).filled));
    assert.deepEqual(
      (await r.store.fills()).map((f) => f.source),
      ['stream', 'stream'],
    );
    const engine = r.engine.stats();
    assert.equal(engine.streamFills, 2);
    assert.equal(engine.submits + engine.cancels + engine.replaces, 0, 'the engine itself sent nothing');
  });

  it('a cancel is confirmed by the order-delete event on the socket, with no polling after the request', async (t) => {
    const r = await streamRig(t, {
      seed: 402,
      // The cancel completes 1.5 s after it is accepted; the OMS looks once, then leaves it pending.
      faults: { 'cancel-delay-ms': 1_500 },
      oms: { timings: { ...FAST_TIMINGS, cancelConfirmMs: 0, cancelAttempts: 1 } },
    });
    const order = await place(r, 'buy', '0.001', r.insidePrice('buy'), 'hold:bid');
    assert.equal(order.state, 'OPEN');

    const result = await r.oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'pending', 'the exchange had not completed the cancel yet');
    assert.equal(result.order.state, 'PENDING_CANCEL');
    assert.equal(simOrder(r, order).status, 'open', 'the simulator still holds it');
    const readsAfterCancel = orderReads(r.wire).length;
    const eventsAfterCancel = r.events.length;

    await until('the order canceled in the store', async () => (await stored(r, order)).state === 'CANCELED');
    assert.equal(orderReads(r.wire).length, readsAfterCancel, 'no REST read settled the cancel');
    const deleted = r.events
      .slice(eventsAfterCancel)
      .find(
        (e) => e.kind === 'order' && e.change === 'deleted' && e.exchangeOrderId === order.exchangeOrderId,
      );
    assert.ok(deleted, 'the socket delivered the order-delete event');
    assert.equal(simOrder(r, order).status, 'canceled');
    await assertFillsMatchTruth(r);
    assert.deepEqual(await r.store.fills(), []);
  });

  it('fills while the socket is cut are recovered by the reconciliation its resync starts, each counted once', async (t) => {
    const r = await streamRig(t, { seed: 403 });
    const ask = r.insidePrice('sell');
    const a = await place(r, 'sell', '0.001', ask.sub(2), 'hold:ask:0');
    const b = await place(r, 'sell', '0.001', ask.sub(1), 'hold:ask:1');
    const c = await place(r, 'sell', '0.001', ask, 'hold:ask:2');
    const d = await place(r, 'buy', '0.001', r.insidePrice('buy'), 'hold:bid:0');
    for (const o of [a, b, c, d]) assert.equal(o.state, 'OPEN');

    // Connected: a partial fill comes through the socket.
    r.hit('buy', '0.0004', ask.sub(2));
    await until('the first fill in the store', async () => (await r.store.fills()).length === 1);

    // The simulator drops the connection; while the client is down, A and B fill and D partly.
    const gapTradeIds: string[] = [];
    let readsInGap = -1;
    r.client.once('disconnected', () => {
      r.sim.setFault('ws-drop-every', null);
      readsInGap = orderReads(r.wire).length;
      const before = r.truthFills().length;
      r.hit('buy', '0.0016', ask.sub(1));
      r.hit('sell', '0.0005', d.price ?? new Dec(0));
      gapTradeIds.push(
        ...r
          .truthFills()
          .slice(before)
          .map((f) => f.tradeId),
      );
    });
    // The moment the stream asks for its resync, D's rest fills: the socket (logged in again) and
    // the reconciliation the resync starts both see that fill; it must still be counted once.
    let racing: string | undefined;
    const detach = r.userStream.onUserEvent((event) => {
      if (event.kind !== 'resync' || racing !== undefined) return;
      const before = r.truthFills().length;
      r.hit('sell', '0.0005', d.price ?? new Dec(0));
      racing = r.truthFills()[before]?.tradeId;
    });
    t.after(detach);
    r.sim.setFault('ws-drop-every', '100ms');
    await r.loggedIn(2);
    assert.equal(gapTradeIds.length, 3, 'three fills happened while the socket was down');
    assert.ok(racing !== undefined, 'the stream asked for a resync after the new login');

    await until('the gap fills in the store', async () => (await r.store.fills()).length === 5);
    await until('the gap orders settled', async () => {
      const states = await Promise.all([a, b, d].map(async (o) => (await stored(r, o)).state));
      return states.every((state) => state === 'FILLED');
    });
    assert.ok(orderReads(r.wire).length > readsInGap, 'the gap was covered over REST');
    assert.ok(r.engine.stats().resyncs >= 1);
    // Lets the resync's pass finish (passes on a symbol run one at a time) before the stream goes on.
    assert.ok((await r.oms.reconcile(CONTINUOUS)).clean);

    // Connected again: C fills through the new socket.
    r.hit('buy', '0.001', ask);
    await until('C filled in the store', async () => (await stored(r, c)).state === 'FILLED');
    await until('every fill in the store', async () => (await r.store.fills()).length === 6);

    // A later reconciliation reads all of it again and counts nothing twice.
    assert.ok((await r.oms.reconcile(CONTINUOUS)).clean);
    assert.equal(r.truthFills().length, 6);
    await assertFillsMatchTruth(r);
    const fills = await r.store.fills();
    t.diagnostic(
      `sources: ${fills.map((f) => `${f.tradeId === racing ? 'racing ' : ''}${f.source}`).join(', ')}`,
    );
    for (const fill of fills) {
      if (fill.tradeId === racing) continue; // whichever of the two came first
      const inGap = gapTradeIds.includes(fill.tradeId);
      assert.ok(
        inGap ? fill.source === 'poll' || fill.source === 'reconcile' : fill.source === 'stream',
        `trade ${fill.tradeId} (${inGap ? 'in the gap' : 'while connected'}) came by ${fill.source}`,
      );
    }
    for (const o of [a, b, c, d])
      assert.ok(
        (await stored(r, o)).filledQuantity.eq(simOrder(r, o).filled),
        `order ${o.id}: filled quantity is the simulator's`,
      );
    const engine = r.engine.stats();
    assert.equal(engine.submits + engine.cancels + engine.replaces, 0, 'the engine itself sent nothing');
  });
  it('a self-match through the socket: one trade id, a fill for each of our two orders, both kept', async (t) => {
    const r = await streamRig(t, { seed: 411 });
    const price = r.insidePrice('buy');
    const buy = await place(r, 'buy', '0.001', price, 'hold:bid');
    assert.equal(buy.state, 'OPEN');
    // Our own sell from outside this process (same account, our prefix) takes the resting buy.
    const outside = await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
      clientOrderId: newClientOrderId(PREFIX, seededRandom(78)),
    });
    const truth = r.truthFills();
    assert.equal(truth.length, 2);
    assert.equal(truth[0]?.tradeId, truth[1]?.tradeId, 'the exchange reports one trade id for both sides');

    await until('both fills in the store', async () => (await r.store.fills()).length === 2);
    await until('the buy filled in the store', async () => (await stored(r, buy)).state === 'FILLED');
    await until(
      'the outside sell adopted and filled',
      async () => (await r.store.orderByExchangeId(outside.exchangeOrderId))?.state === 'FILLED',
    );
    const fills = await r.store.fills();
    assert.deepEqual(
      fills.map((f) => [f.exchangeOrderId, f.source]).sort(),
      [
        [buy.exchangeOrderId, 'stream'],
        [outside.exchangeOrderId, 'stream'],
      ].sort(),
    );
    assert.deepEqual(tradeIds(fills), tradeIds(truth));

    const duplicatesBefore = r.oms.stats().fillsDuplicate;
    const report = await r.oms.reconcile(CONTINUOUS);
    assert.ok(report.clean, JSON.stringify(report));
    assert.deepEqual(report.divergences, []);
    assert.equal(
      r.oms.stats().fillsDuplicate - duplicatesBefore,
      2,
      'both sides read again, each a duplicate',
    );
    assert.equal((await r.store.fills()).length, 2);
    for (const id of [buy.exchangeOrderId, outside.exchangeOrderId]) {
      const order = await r.store.orderByExchangeId(id ?? '');
      assert.equal(order?.state, 'FILLED');
      assert.equal(order.filledQuantity.toFixed(), '0.001');
      assert.equal((await r.store.fills({ orderId: order.id })).length, 1);
    }
    assert.equal(r.oms.stats().divergences, 0);
  });
});
