import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openLimiterStore } from '../../src/btcturk/common/limiter-setup.ts';
import { budgetPathFor } from '../../src/btcturk/common/sqlite-limiter-store.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { startReportProcess } from '../helpers/report-process.ts';
import { overspentWindows } from './helpers.ts';

// Without Redis, processes on one machine that share a SQLite store share the budget through the
// budget file beside it: two processes hammering it together never overspend a window.

const FIXTURE = fileURLToPath(new URL('./fixtures/sqlite-hammer.ts', import.meta.url));
const WINDOWS = [
  { limit: 5, periodMs: 200 },
  { limit: 18, periodMs: 1_000 },
];

function child(t: TestContext, args: string[]) {
  return startReportProcess(t, FIXTURE, args, 'budget process');
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-budget-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('shared budget in SQLite', () => {
  it('two processes on one budget file never overspend a window', async (t) => {
    const path = budgetPathFor(join(tempDir(t), 'btcbot.db'));
    const procs = [
      child(t, [path, JSON.stringify(WINDOWS), '2500']),
      child(t, [path, JSON.stringify(WINDOWS), '2500']),
    ];
    for (const p of procs) assert.equal((await p.next<{ event: string }>()).event, 'ready');
    for (const p of procs) p.child.stdin.write('go\n');
    const reports = await Promise.all(procs.map((p) => p.next<{ event: string; grants: number[] }>()));
    const [a, b] = reports;
    assert.ok(a && b);
    assert.ok(a.grants.length > 0 && b.grants.length > 0, 'both processes were granted slots');
    const all = [...a.grants, ...b.grants];
    assert.deepEqual(overspentWindows(all, WINDOWS), []);
    // Either alone would have taken the whole budget: they shared it rather than each having one.
    assert.ok(all.length <= 18 * 4, `${all.length} grants in 2.5 s against 18 a second`);
  });

  it('is chosen for a SQLite store without Redis; PostgreSQL in a cluster without Redis is refused', async (t) => {
    const db = join(tempDir(t), 'btcbot.db');
    const chosen = await openLimiterStore({ db, apiKey: 'k' });
    t.after(() => chosen.close());
    assert.equal(chosen.kind, 'sqlite');
    assert.match(chosen.scope, /btcbot\.db\.budget/);
    const alone = await openLimiterStore({ db: 'postgres://bot@127.0.0.1/btcbot', apiKey: 'k' });
    assert.equal(alone.kind, 'process');
    await assert.rejects(
      openLimiterStore({ db: 'postgres://bot:pw@127.0.0.1/btcbot', apiKey: 'k', cluster: true }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /--redis-url/);
        assert.doesNotMatch(error.message, /pw/);
        return true;
      },
    );
  });
});
