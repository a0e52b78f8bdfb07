import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import type { ClusterView } from '../../src/ops/leases/cluster-status.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../store/helpers.ts';

// `btcbot status --cluster` beside two running processes of a shared store (as a user runs it).

it('status --cluster lists every process with its pairs, epochs, heartbeat and budget', async (t) => {
  const path = join(tempDir(t), 'shared.db');
  const a = await openSqliteStore({ path, cluster: { holder: 'proc-a' } });
  const b = await openSqliteStore({ path, cluster: { holder: 'proc-b' } });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const la = leasesOf(a);
  const lb = leasesOf(b);
  assert.ok(la && lb);
  assert.ok((await la.acquireLease('BTCTRY', 60_000)).ok);
  assert.ok((await lb.acquireLease('ETHTRY', 60_000)).ok);
  const report = { host: 'h', pid: 7, startedAt: Date.now(), leaseMs: 60_000, budget: null };
  await la.reportProcess({ ...report, symbols: ['BTCTRY'], budget: { ordersPerMinute: 120 } });
  await lb.reportProcess({ ...report, symbols: ['ETHTRY'] });

  const json = await runCli(['status', '--cluster', '--json', '--db', path]);
  assert.equal(json.code, 0, json.stderr);
  const view = JSON.parse(json.stdout) as ClusterView;
  assert.deepEqual(
    view.processes.map((p) => [p.id, p.alive, p.pairs.map((x) => `${x.symbol}@${x.epoch}`), p.budget]),
    [
      ['proc-a', true, ['BTCTRY@1'], { ordersPerMinute: 120 }],
      ['proc-b', true, ['ETHTRY@1'], null],
    ],
  );

  const text = await runCli(['status', '--cluster', '--db', path]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /proc-a \(pid 7 on h\): pairs BTCTRY@1; heartbeat .*budget ordersPerMinute 120/);
  assert.match(text.stdout, /proc-b \(pid 7 on h\): pairs ETHTRY@1/);
});
