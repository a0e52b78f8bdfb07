import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms } from '../../src/oms/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { submitRestingBuy } from './resting-order.ts';
import { FAST_TIMINGS, posts, PREFIX, restingBuy, rig, SYMBOL, wireLog } from './sim-helpers.ts';

// scenarios.md, Restart and reconciliation (X1 is crash-points.test.ts; X6, the store lock, is in
// oms-commands.test.ts, where a second process can open the database).

function tempDb(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-oms-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return join(dir, 'bot.db');
}

describe('restart and reconciliation scenarios against the simulator', () => {
  it('X2: an order of ours the restored database does not know is adopted with its fills, never placed again', async (t) => {
    const path = tempDb(t);
    const backup = `${path}.backup`;
    const r = await rig(t, { seed: 402, storePath: path });
    await r.oms.start();
    await r.store.close(); // a backup taken now knows nothing of what follows
    copyFileSync(path, backup);

    const store = await openSqliteStore({ path });
    const oms = new Oms({
      store,
      exchange: r.exchange,
      prefix: PREFIX,
      symbols: [SYMBOL],
      timings: FAST_TIMINGS,
      random: seededRandom(2),
    });
    await oms.start();
    const order = await submitRestingBuy(oms, r);
    r.hit('sell', '0.0003', order.price ?? new Dec(0));
    await store.close();

    copyFileSync(backup, path); // the database is restored from the older copy
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    const restored = await openSqliteStore({ path });
    t.after(() => restored.close());
    const wire = wireLog(t);
    const restarted = new Oms({
      store: restored,
      exchange: r.exchange,
      prefix: PREFIX,
      symbols: [SYMBOL],
      timings: FAST_TIMINGS,
    });
    const report = await restarted.start();
    assert.equal(report.clean, true, JSON.stringify(report));
    assert.equal(report.actions.adopt, 1);
    const adopted = await restored.orderByClientId(order.clientOrderId ?? '');
    assert.equal(adopted?.origin, 'adopted');
    assert.equal(adopted.state, 'PARTIALLY_FILLED');
    assert.equal(adopted.filledQuantity.toFixed(), '0.0003');
    assert.equal((await restored.fills({ orderId: adopted.id })).length, 1);
    const again = await restarted.reconcile();
    assert.equal(again.actions.adopt, undefined);
    assert.equal(posts(wire).length, 0, 'the adopted order was placed again');
    assert.equal(r.ourOrders().length, 1);
  });

  it('X3: an order without our prefix is reported foreign and left alone', async (t) => {
    const r = await rig(t, { seed: 403 });
    const wire = wireLog(t);
    const byHand = await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('buy').sub(20),
      clientOrderId: 'my-manual-order',
    });
    const report = await r.oms.start();
    assert.equal(report.actions.foreign, 1);
    assert.equal(r.oms.stats().foreign, 1);
    const stored = await r.store.orderByExchangeId(byHand.exchangeOrderId);
    assert.equal(stored?.origin, 'foreign');
    const results = await r.oms.cancelAll();
    assert.deepEqual(results, []);
    assert.equal(wire.filter((w) => w.method === 'DELETE').length, 0);
    assert.equal(r.ourOrders()[0]?.status, 'open');
  });

  it('X4: fills missed while down are fetched from the cursor and counted once', async (t) => {
    const path = tempDb(t);
    const r = await rig(t, { seed: 404, storePath: path });
    const order = await restingBuy(r);
    r.hit('sell', '0.0002', order.price ?? new Dec(0));
    await r.oms.reconcile();
    const cursor = await r.store.fillCursor(SYMBOL);
    assert.ok(cursor);
    await r.store.close(); // down

    r.hit('sell', '0.0003', order.price ?? new Dec(0));
    r.hit('sell', '0.0001', order.price ?? new Dec(0));

    const store = await openSqliteStore({ path });
    t.after(() => store.close());
    const oms = new Oms({
      store,
      exchange: r.exchange,
      prefix: PREFIX,
      symbols: [SYMBOL],
      timings: FAST_TIMINGS,
    });
    await oms.start();
    await oms.reconcile();
    const after = await store.order(order.id);
    assert.equal(after?.filledQuantity.toFixed(), '0.0006');
    assert.equal(after.state, 'PARTIALLY_FILLED');
    const truth = r.sim.groundTruth().fills.filter((f) => f.accountId === r.sim.accountId);
    const fills = await store.fills();
    assert.equal(fills.length, 3);
    assert.deepEqual(fills.map((f) => f.tradeId).sort(), truth.map((f) => f.tradeId).sort());
    assert.ok(((await store.fillCursor(SYMBOL))?.timestamp ?? 0) >= cursor.timestamp);
    assert.ok(
      oms.stats().fillsDuplicate > 0,
      'the overlap re-read fills it already had: they were not counted again',
    );
  });

  it('X5: reconciliation that keeps failing is counted, surfaced and escalated; no silent continue', async (t) => {
    const alerts: string[] = [];
    const r = await rig(t, {
      seed: 405,
      exchange: { deadlineMs: 300 },
      oms: { escalation: { failuresToReduce: 2, failuresToHalt: 4 }, onAlert: (a) => alerts.push(a.level) },
    });
    await r.oms.start();
    r.sim.setFault('error-5xx', 1);
    const levels: string[] = [];
    for (let pass = 1; pass <= 4; pass += 1) {
      const report = await r.oms.reconcile({ resolve: false });
      assert.equal(report.clean, false);
      assert.match(report.failures[0] ?? '', /^BTCTRY: .*HTTP 50[03]/);
      levels.push(report.escalation.level);
    }
    assert.deepEqual(levels, ['NORMAL', 'REDUCE_ONLY', 'REDUCE_ONLY', 'HALTED']);
    assert.deepEqual(alerts, ['REDUCE_ONLY', 'HALTED']);
    assert.equal(r.oms.stats().reconcileFailures, 4);
    const escalation = await r.store.escalation();
    assert.match(escalation.reason ?? '', /reconciliation failed 4 times in a row/);
    assert.equal((await r.store.killSwitch()).on, true);
    r.sim.setFault('error-5xx', null);
    await assert.rejects(submitRestingBuy(r.oms, r), /kill switch is on/);
  });

  it('start-up recovery: a journaled order never sent is refused, and nothing goes out before the pass is clean', async (t) => {
    const r = await rig(t, { seed: 406 });
    const wire = wireLog(t);
    const journaled = await r.store.journalOrder({
      clientOrderId: newClientOrderId(PREFIX, seededRandom(1)),
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: r.insidePrice('buy'),
    });
    const report = await r.oms.start();
    assert.equal(report.clean, true);
    assert.equal(report.actions['never-sent'], 1);
    assert.equal((await r.store.order(journaled.id))?.state, 'REJECTED');
    assert.equal(posts(wire).length, 0);
  });
});
