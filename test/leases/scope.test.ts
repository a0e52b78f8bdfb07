import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { EngineOms } from '../../src/engine/engine.ts';
import { clusterHooks, clusterOms, NOT_LEASED, scopedStore } from '../../src/ops/leases/scope.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { fillReport, newOrder } from '../store/helpers.ts';

// The views a cluster process works through: only its own symbols.

it('the scoped store lists active orders and open replaces of owned symbols only', async (t) => {
  const store = await openSqliteStore({ path: ':memory:' });
  t.after(() => store.close());
  const mine = await store.journalOrder(newOrder({ symbol: 'BTCTRY' }), { sent: true });
  const theirs = await store.journalOrder(newOrder({ symbol: 'ETHTRY' }), { sent: true });
  for (const [order, id] of [
    [mine, 'x1'],
    [theirs, 'x2'],
  ] as const)
    assert.ok((await store.applyEvent(order.id, { type: 'acked', exchangeOrderId: id })).ok);
  for (const [order, client] of [
    [mine, 'r1'],
    [theirs, 'r2'],
  ] as const)
    assert.ok(
      (
        await store.beginReplace({
          oldOrderId: order.id,
          newClientOrderId: client,
          wantedQuantity: new Dec('1'),
          newPrice: null,
          newStopPrice: null,
          mode: 'safe',
        })
      ).ok,
    );
  const owned = new Set(['BTCTRY']);
  const scoped = scopedStore(store, (s) => owned.has(s));
  assert.deepEqual(
    (await scoped.activeOrders()).map((o) => o.id),
    [mine.id],
  );
  assert.deepEqual(await scoped.activeOrders('ETHTRY'), []);
  assert.deepEqual(
    (await scoped.openReplaces()).map((r) => r.oldOrderId),
    [mine.id],
  );
  assert.equal((await scoped.order(theirs.id))?.id, theirs.id, 'by id: read through');
  owned.add('ETHTRY');
  assert.equal((await scoped.activeOrders()).length, 2, 'follows what the process owns now');
});

it('the cluster OMS is ready, takes submits and handles events only for symbols it holds', async () => {
  const calls: string[] = [];
  const inner: EngineOms = {
    ready: true,
    readyFor: () => true,
    waitingFor: () => null,
    submit: (intent) => {
      calls.push(`submit ${intent.symbol}`);
      return Promise.reject(new Error('not under test'));
    },
    cancel: () => Promise.reject(new Error('not under test')),
    replace: () => Promise.reject(new Error('not under test')),
    onFill: (fill) => {
      calls.push(`fill ${fill.symbol}`);
      return Promise.resolve();
    },
    onOrderReport: () => Promise.resolve(),
    reconcile: () => Promise.reject(new Error('not under test')),
  };
  const held = new Set(['BTCTRY']);
  const oms = clusterOms(inner, { holds: (s) => held.has(s) }, (s) => held.has(s), 5);
  assert.equal(oms.readyFor('BTCTRY'), true);
  assert.equal(oms.readyFor('ETHTRY'), false);
  assert.deepEqual(oms.waitingFor('ETHTRY'), { reason: NOT_LEASED, since: 5 });
  await assert.rejects(
    oms.submit({ symbol: 'ETHTRY', side: 'buy', method: 'limit', quantity: new Dec('1') }),
    /holds its lease/,
  );
  await oms.onFill(fillReport({ tradeId: 't1', symbol: 'ETHTRY' }));
  await oms.onFill(fillReport({ tradeId: 't2', symbol: 'BTCTRY' }));
  assert.deepEqual(calls, ['fill BTCTRY']);
});

it('hooks: a taken symbol is reconciled until clean; a lost one still held is cancelled', async () => {
  const calls: string[] = [];
  let passes = 0;
  const hooks = clusterHooks({
    oms: {
      reconcile: () => {
        passes += 1;
        calls.push('reconcile');
        return Promise.resolve({} as never);
      },
      readyFor: () => passes >= 2,
      cancelAll: (symbol) => {
        calls.push(`cancel ${symbol ?? 'all'}`);
        return Promise.resolve([]);
      },
    },
  });
  await hooks.onAcquired('BTCTRY');
  await hooks.onLost('BTCTRY', { reason: 'r', stillHeld: true, stopping: false });
  await hooks.onLost('ETHTRY', { reason: 'moved on', stillHeld: false, stopping: false });
  assert.deepEqual(calls, ['reconcile', 'reconcile', 'cancel BTCTRY']);
  passes = -10;
  await assert.rejects(hooks.onAcquired('XRPTRY'), /did not reconcile clean in 3 passes/);
});
