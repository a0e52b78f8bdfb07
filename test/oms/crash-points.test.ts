import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Dec } from '../../src/domain/decimal.ts';
import { CRASH_POINTS, type CrashPoint } from '../../src/oms/index.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { assertConverged, compareWithTruth } from './crash-check.ts';

// X1 (and R4, R5): a real bot process is killed with SIGKILL at every named crash point of submit,
// cancel and replace, then started again on the same database against the same simulator. After
// its restart and reconciliation: no intent placed twice, nothing lost, every fill counted once, and
// the store equals the simulator's ground truth. CRASH_SEEDS="1,2,3" widens the run.

const DRIVER = fileURLToPath(new URL('./crash-driver.ts', import.meta.url));
const SEEDS = (process.env.CRASH_SEEDS ?? '1,2').split(',').map(Number);
const PREFIX = 'crash';

const SCENARIO_OF: Readonly<Record<CrashPoint, 'submit' | 'cancel' | 'replace'>> = {
  'submit.after-journal': 'submit',
  'submit.after-sent-mark': 'submit',
  'submit.after-post': 'submit',
  'submit.after-reply': 'submit',
  'cancel.after-request': 'cancel',
  'cancel.after-reply': 'cancel',
  'replace.after-cancel-sent': 'replace',
  'replace.after-cancel-confirmed': 'replace',
  'replace.after-new-sent': 'replace',
  'replace.after-new-reply': 'replace',
};
const SCENARIO_ID: Partial<Record<CrashPoint, string>> = {
  'replace.after-cancel-sent': 'R4',
  'replace.after-new-sent': 'R5',
};

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runDriver(sim: RunningSimulator, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', DRIVER], {
      env: {
        PATH: process.env.PATH ?? '',
        BTCTURK_BASE_URL: sim.restUrl,
        BTCTURK_API_KEY: sim.apiKey,
        BTCTURK_API_SECRET: sim.apiSecret,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const tried: string[] = [];
after(() => {
  process.stderr.write(
    `crash harness: ${CRASH_POINTS.length} crash points × ${SEEDS.length} seeds = ${tried.length} crash/restart runs ` +
      `(seeds ${SEEDS.join(',')})\n`,
  );
});

describe('crash points (X1): SIGKILL at every step boundary, then restart on the same database', () => {
  for (const seed of SEEDS)
    for (const point of CRASH_POINTS) {
      const scenario = SCENARIO_OF[point];
      const id = SCENARIO_ID[point] ? `${SCENARIO_ID[point]}, X1` : 'X1';
      it(`${id}: ${scenario} killed at ${point} (seed ${seed}) restarts with 0 duplicates, 0 lost, fills once`, async (t) => {
        const sim = await startSimulator({ seed, autoMarket: false });
        const dir = mkdtempSync(join(tmpdir(), 'btcbot-crash-'));
        t.after(async () => {
          await sim.stop();
          rmSync(dir, { recursive: true, force: true });
        });
        const bestBid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
        assert.ok(bestBid);
        const price = bestBid.add(1);
        const common = {
          CRASH_DB: join(dir, 'bot.db'),
          CRASH_SCENARIO: scenario,
          CRASH_PRICE: price.toFixed(),
          CRASH_SEED: String(seed),
        };

        const crashed = await runDriver(sim, { ...common, CRASH_RUN: '1', BTCBOT_CRASH_AT: point });
        assert.equal(crashed.signal, 'SIGKILL', `the driver did not die at ${point}: ${crashed.stderr}`);
        tried.push(`${point}@${seed}`);

        // While it was down, the market traded against whatever it left resting.
        const counterparty = sim.openAccount({ balances: { TRY: '100000000', BTC: '10' } }).accountId;
        sim.engine.placeOrder({
          accountId: counterparty,
          symbol: 'BTCTRY',
          side: 'sell',
          method: 'limit',
          quantity: new Dec('0.0003'),
          price,
        });

        const restarted = await runDriver(sim, { ...common, CRASH_RUN: '2' });
        assert.equal(restarted.code, 0, `the restarted driver failed: ${restarted.stderr}`);
        const done = JSON.parse(restarted.stdout.trim().split('\n').at(-1) ?? '{}') as { clean?: boolean };
        assert.equal(done.clean, true, restarted.stdout);

        const store = await openSqliteStoreReader({ path: common.CRASH_DB });
        try {
          const divergence = await compareWithTruth(store, sim.groundTruth(), sim.accountId, PREFIX);
          assertConverged(divergence, `${point} seed ${seed}`);
          const placed = (await store.orders()).filter(
            (o) => o.origin !== 'foreign' && o.exchangeOrderId !== null,
          );
          if (scenario === 'replace') assert.ok(placed.filter((o) => o.replaceOf !== null).length <= 1);
          assert.equal(
            sim.groundTruth().orders.filter((o) => o.accountId === sim.accountId).length,
            placed.length,
          );
        } finally {
          await store.close();
        }
      });
    }
});
