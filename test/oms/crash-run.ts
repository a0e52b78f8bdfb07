import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import type { Decimal } from 'decimal.js';
import { Dec } from '../../src/domain/decimal.ts';
import type { CrashPoint } from '../../src/oms/crash-points.ts';
import type { ReplaceTxn, StoreReader } from '../../src/ports/store.ts';
import type { SimOrder } from '../../src/sim/engine/api.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { compareBothWays, type TwoWayDivergence } from './crash-check.ts';
import type { DriverDone } from './crash-driver.ts';
import {
  CRASH_PREFIX,
  CRASH_SYMBOL,
  POINT_CASES,
  type CrashScenario,
  type ExchangeBefore,
} from './crash-scenarios.ts';

// One crash/restart run of the harness: a simulator, a bot process (crash-driver.ts) killed by
// SIGKILL at one crash point, a check of what that left on the exchange, a counterparty trading
// against whatever rests while the bot is down, then a second process on the same database that
// may only reconcile, and the store compared with the simulator's ground truth. Returns what was
// found; `problems` is empty when the run passed.

const DRIVER_SOURCE = fileURLToPath(new URL('./crash-driver.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CrashRunResult {
  readonly point: CrashPoint;
  readonly seed: number;
  readonly scenario: CrashScenario;
  /** Every way the run failed; empty: passed. */
  readonly problems: readonly string[];
  readonly divergence: TwoWayDivergence | null;
  /** What the exchange held of ours when the process died. */
  readonly exchangeBefore: string;
  readonly restartPasses: number;
  /** How the replace ended (replace scenarios), else '-'. */
  readonly outcome: string;
  readonly ms: number;
}

interface ProcessRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Every replace transaction in the database (the store reads them one id at a time). */
async function replacesIn(store: StoreReader, path: string): Promise<ReplaceTxn[]> {
  const db = new Database(path, { readonly: true });
  let ids: string[];
  try {
    ids = (db.prepare('SELECT id FROM replace_txns ORDER BY created_at').all() as { id: string }[]).map(
      (row) => row.id,
    );
  } finally {
    db.close();
  }
  const txns: ReplaceTxn[] = [];
  for (const id of ids) {
    const txn = await store.replace(id);
    if (txn) txns.push(txn);
  }
  return txns;
}

let driverCommand: Promise<string[]> | undefined;

/**
 * How the driver is started: bundled once by esbuild (node starts it in about a third of the time
 * tsx needs: startup dominates a run), or through tsx when esbuild is not there. The bundle lives
 * under node_modules/.cache so its packages resolve from the project's node_modules.
 */
export function driverArgs(): Promise<string[]> {
  driverCommand ??= (async () => {
    if (process.env.CRASH_DRIVER_TSX === '1') return ['--import', 'tsx', DRIVER_SOURCE];
    try {
      const { build } = await import('esbuild');
      const cache = join(ROOT, 'node_modules', '.cache', 'btcbot-crash');
      mkdirSync(cache, { recursive: true });
      const dir = mkdtempSync(join(cache, 'driver-'));
      const outfile = join(dir, 'crash-driver.mjs');
      await build({
        entryPoints: [DRIVER_SOURCE],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        logLevel: 'silent',
      });
      process.once('exit', () => {
        rmSync(dir, { recursive: true, force: true });
      });
      return [outfile];
    } catch {
      return ['--import', 'tsx', DRIVER_SOURCE];
    }
  })();
  return driverCommand;
}

async function runDriver(sim: RunningSimulator, env: Record<string, string>): Promise<ProcessRun> {
  const args = await driverArgs();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        BTCTURK_BASE_URL: sim.restUrl,
        BTCTURK_API_KEY: sim.apiKey,
        BTCTURK_API_SECRET: sim.apiSecret,
        SIM_ADMIN_TOKEN: sim.adminToken,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 90_000,
      killSignal: 'SIGKILL',
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

const RESTING = new Set<SimOrder['status']>(['open', 'partially_filled']);

function ours(sim: RunningSimulator): SimOrder[] {
  return sim.groundTruth().orders.filter((o) => o.accountId === sim.accountId);
}

function describeOrders(orders: readonly SimOrder[]): string {
  if (orders.length === 0) return 'no order';
  return orders
    .map((o) => `${o.clientOrderId ?? o.id} ${o.status} ${o.filled.toFixed()}/${o.quantity.toFixed()}`)
    .join('; ');
}

function meets(orders: readonly SimOrder[], want: ExchangeBefore): boolean {
  if (orders.length !== want.orders) return false;
  const resting = orders.filter((o) => RESTING.has(o.status)).length;
  if (want.resting !== undefined && resting !== want.resting) return false;
  if (want.filled === true && !orders.some((o) => o.filled.gt(0))) return false;
  return true;
}

function wantText(want: ExchangeBefore): string {
  const parts = [`${want.orders} order(s)`];
  if (want.resting !== undefined) parts.push(`${want.resting} resting`);
  if (want.filled === true) parts.push('some executed');
  return parts.join(', ');
}

/**
 * The exchange's view once its own asynchronous work is done: an accepted cancel leaves the book
 * `cancel-delay-ms` later, so the check waits (bounded) for the expected picture before it fails.
 */
async function exchangeSettles(sim: RunningSimulator, want: ExchangeBefore): Promise<SimOrder[]> {
  const until = Date.now() + 3_000;
  for (;;) {
    const orders = ours(sim);
    if (meets(orders, want) || Date.now() >= until) return orders;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function lastJson(stdout: string): DriverDone | null {
  const line = stdout.trim().split('\n').at(-1);
  if (line === undefined || line === '') return null;
  try {
    return JSON.parse(line) as DriverDone;
  } catch {
    return null;
  }
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** Price for the scenario's first order: resting one tick above the best bid, or crossing the best ask. */
function firstPrice(sim: RunningSimulator, scenario: CrashScenario): Decimal {
  const book = sim.engine.book(CRASH_SYMBOL, 1);
  const bestBid = book.bids[0]?.price;
  const bestAsk = book.asks[0]?.price;
  if (!bestBid || !bestAsk) throw new Error(`the simulator's ${CRASH_SYMBOL} book is empty`);
  return scenario === 'unknown' ? bestAsk : bestBid.add(1);
}

export async function runCrashPoint(point: CrashPoint, seed: number): Promise<CrashRunResult> {
  const started = Date.now();
  const { scenario, before } = POINT_CASES[point];
  const problems: string[] = [];
  let divergence: TwoWayDivergence | null = null;
  let exchangeBefore = '-';
  let restartPasses = 0;
  let outcome = '-';
  const sim = await startSimulator({ seed, autoMarket: false });
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-crash-'));
  try {
    const price = firstPrice(sim, scenario);
    const common = {
      CRASH_DB: join(dir, 'bot.db'),
      CRASH_SCENARIO: scenario,
      CRASH_PRICE: price.toFixed(),
      CRASH_SEED: String(seed),
    };

    const crashed = await runDriver(sim, { ...common, CRASH_RUN: '1', BTCBOT_CRASH_AT: point });
    if (crashed.signal !== 'SIGKILL' || !crashed.stderr.includes(`crash point ${point} reached`)) {
      problems.push(
        `the driver did not die at ${point} (exit ${crashed.code ?? crashed.signal ?? '-'}):\n${tail(crashed.stderr)}\n${tail(crashed.stdout, 3)}`,
      );
      return result();
    }

    // What the crash left on the exchange, before anything restarts.
    const left = await exchangeSettles(sim, before);
    exchangeBefore = describeOrders(left);
    if (!meets(left, before))
      problems.push(`at the crash the exchange should hold ${wantText(before)}, it holds: ${exchangeBefore}`);

    // While the bot is down, the market trades against whatever it left resting.
    const counterparty = sim.openAccount({ balances: { TRY: '100000000', BTC: '10' } }).accountId;
    sim.engine.placeOrder({
      accountId: counterparty,
      symbol: CRASH_SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.0003'),
      price,
    });

    const restarted = await runDriver(sim, { ...common, CRASH_RUN: '2' });
    const done = lastJson(restarted.stdout);
    restartPasses = done?.passes ?? 0;
    if (restarted.code !== 0 || done === null) {
      problems.push(
        `the restarted driver failed (exit ${restarted.code ?? restarted.signal ?? '-'}):\n${tail(restarted.stderr)}`,
      );
      return result();
    }
    if (!done.clean)
      problems.push(`the last reconciliation after the restart is not clean: ${JSON.stringify(done.report)}`);
    if (!done.settled)
      problems.push(
        `reconciliation alone did not finish the work: still waiting on ${done.waitingOn.join(', ')}`,
      );

    const store = await openSqliteStoreReader({ path: common.CRASH_DB });
    try {
      divergence = await compareBothWays(store, sim.groundTruth(), sim.accountId, CRASH_PREFIX);
      if (divergence.total > 0) {
        const { duplicates, lost, fillMismatches, stateMismatches, phantom, unsettled } = divergence;
        problems.push(
          `store vs exchange (both ways): ${duplicates} duplicate, ${lost} lost, ${phantom} phantom, ` +
            `${unsettled} unsettled, ${fillMismatches} fill and ${stateMismatches} state mismatches:\n` +
            divergence.details.join('\n'),
        );
      }
      const exchangeOrders = ours(sim);
      const placed = (await store.orders()).filter(
        (o) => o.origin !== 'foreign' && o.exchangeOrderId !== null,
      );
      if (placed.length !== exchangeOrders.length)
        problems.push(
          `the store holds ${placed.length} placed order(s), the exchange ${exchangeOrders.length}: ${describeOrders(exchangeOrders)}`,
        );
      const resting = exchangeOrders.filter((o) => RESTING.has(o.status));
      if (scenario === 'cancel' && resting.length > 0)
        problems.push(`the cancel was not finished: ${describeOrders(resting)} still rests`);
      if (scenario === 'replace-safe' || scenario === 'replace-fast') {
        const txns = await replacesIn(store, common.CRASH_DB);
        const txn = txns[0];
        outcome = txn ? `${txn.step}${txn.outcome === null ? '' : ` ${txn.outcome}`}` : 'no replace';
        const want = POINT_CASES[point].outcome ?? 'replaced';
        if (txns.length !== 1 || txn?.step !== 'done' || txn.outcome !== want)
          problems.push(
            `the replace should end done ${want}; the store holds ${txns.length} replace(s): ` +
              txns.map((t) => `${t.mode} ${t.step} ${t.outcome ?? '-'} (${t.reason ?? '-'})`).join('; '),
          );
        const old = txn ? await store.order(txn.oldOrderId) : undefined;
        const replacement = txn?.newOrderId ? await store.order(txn.newOrderId) : undefined;
        const oldThere = exchangeOrders.find((o) => o.id === old?.exchangeOrderId);
        const newThere = exchangeOrders.find((o) => o.id === replacement?.exchangeOrderId);
        const oldMayRest = want === 'aborted' && scenario === 'replace-fast';
        if (oldThere && RESTING.has(oldThere.status) && !oldMayRest)
          problems.push(`the replaced order still rests: ${describeOrders([oldThere])}`);
        if (want === 'replaced' && !newThere)
          problems.push('the replace ended replaced, the exchange has no replacement');
        if (want === 'aborted' && newThere)
          problems.push(
            `the replace ended aborted, yet its replacement is on the exchange: ${describeOrders([newThere])}`,
          );
        if (exchangeOrders.length > 2)
          problems.push(`more than two orders for one replace: ${describeOrders(exchangeOrders)}`);
        if (resting.length > 1)
          problems.push(`more than one order rests after the replace: ${describeOrders(resting)}`);
      }
    } finally {
      await store.close();
    }
    return result();
  } finally {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  function result(): CrashRunResult {
    return {
      point,
      seed,
      scenario,
      problems,
      divergence,
      exchangeBefore,
      restartPasses,
      outcome,
      ms: Date.now() - started,
    };
  }
}
