import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyEngineStats } from '../../src/engine/engine.ts';
import type { DashboardSnapshot } from '../../src/ops/dashboard/model.ts';
import { INDEX_HTML } from '../../src/ops/dashboard/page.ts';
import { startDashboard } from '../../src/ops/dashboard/server.ts';
import { LiveDashboardSource, StoreDashboardSource, type LiveBot } from '../../src/ops/dashboard/sources.ts';
import type { Store } from '../../src/ports/store.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore, openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { manualClock, tempDir } from '../store/helpers.ts';
import { PLANTED_SECRET, raw, seededStore, T0 } from './fixture.ts';

// The dashboard's Cluster section (issue #12 item 3): the processes sharing a store, their pairs
// with lease epochs, last heartbeat and budget use, read as `btcbot status --cluster` reads them.

const AT = T0 + 100_000;
const NOW = AT + 5_000;

type T = { after(fn: () => Promise<void> | void): void };

/** The seeded store, then shared by two processes in cluster mode, through the real lease store API. */
async function sharedStore(t: T): Promise<{ path: string; a: Store }> {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const clock = manualClock(AT);
  const a = await openSqliteStore({ path, clock, cluster: { holder: 'proc-a' } });
  const b = await openSqliteStore({ path, clock, cluster: { holder: 'proc-b' } });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const la = leasesOf(a);
  const lb = leasesOf(b);
  assert.ok(la && lb);
  const btc = await la.acquireLease('BTCTRY', 60_000);
  assert.ok(btc.ok);
  assert.ok((await lb.acquireLease('ETHTRY', 60_000)).ok);
  const xrp = await la.acquireLease('XRPTRY', 60_000);
  assert.ok(xrp.ok);
  await la.releaseLease('XRPTRY', xrp.lease.epoch);
  await la.reportProcess({
    host: 'host-a',
    pid: 101,
    startedAt: T0,
    leaseMs: 60_000,
    symbols: ['BTCTRY'],
    budget: { ordersPerMinute: 120, used: 7 },
  });
  // proc-b's lease time is short: five seconds after its heartbeat it no longer counts as alive.
  await lb.reportProcess({
    host: 'host-b',
    pid: 202,
    startedAt: T0,
    leaseMs: 1_000,
    symbols: ['ETHTRY'],
    budget: null,
  });
  return { path, a };
}

function assertCluster(s: DashboardSnapshot): void {
  assert.ok(s.cluster, 'a store with process rows shows the Cluster section');
  assert.equal(s.cluster.at, NOW);
  assert.deepEqual(
    s.cluster.processes.map((p) => [
      p.id,
      `${p.host}/${p.pid}`,
      p.alive,
      p.pairs.map((x) => `${x.symbol}@${x.epoch}`),
      s.at - p.heartbeatAt,
      p.budget,
    ]),
    [
      ['proc-a', 'host-a/101', true, ['BTCTRY@1'], 5_000, { ordersPerMinute: 120, used: 7 }],
      ['proc-b', 'host-b/202', false, ['ETHTRY@1'], 5_000, null],
    ],
  );
  assert.deepEqual(s.cluster.unheld, [{ symbol: 'XRPTRY', holder: 'proc-a', epoch: 1 }]);
  assert.ok(!JSON.stringify(s).includes(PLANTED_SECRET));
}

test('store only (`btcbot dashboard --db`): /api/snapshot carries the cluster rows', async (t) => {
  const { path } = await sharedStore(t);
  const reader = await openSqliteStoreReader({ path });
  const dashboard = await startDashboard({
    host: '127.0.0.1',
    port: 0,
    token: undefined,
    source: new StoreDashboardSource(reader, { canControl: false, now: () => NOW }),
    control: null,
    intervalMs: 50,
  });
  t.after(async () => {
    await dashboard.close();
    await reader.close();
  });
  const response = await raw(`http://127.0.0.1:${dashboard.port}/api/snapshot`);
  assert.equal(response.status, 200);
  const snapshot = JSON.parse(response.body) as DashboardSnapshot;
  assert.equal(snapshot.source, 'store');
  assertCluster(snapshot);
  assert.match(INDEX_HTML, /<section id="cluster" hidden>/);
  assert.match(INDEX_HTML, /<table id="cluster-processes">/);
});

test('live source: a running process sees the same cluster rows', async (t) => {
  const { a } = await sharedStore(t);
  const bot: LiveBot = {
    mode: 'paper',
    symbols: ['BTCTRY'],
    engine: {
      stats: emptyEngineStats,
      waiting: () => [],
      budgetUse: () => ({ used: 0, limit: 120 }),
      valuation: () => Promise.resolve(null),
    },
    market: { top: () => null },
    lastReconciliation: () => null,
    target: () => null,
  };
  const snapshot = await new LiveDashboardSource(a, bot, { canControl: true, now: () => NOW }).snapshot();
  assert.equal(snapshot.source, 'live');
  assertCluster(snapshot);
});

test('a store no process shares in cluster mode has no Cluster section', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const reader = await openSqliteStoreReader({ path });
  t.after(() => reader.close());
  const snapshot = await new StoreDashboardSource(reader, { canControl: false }).snapshot();
  assert.equal(snapshot.cluster, null);
});
