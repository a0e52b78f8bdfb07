import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Dec } from '../../src/domain/decimal.ts';
import { fillKey } from '../../src/domain/reports.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { BTCBOT_BIN } from '../helpers/cli.ts';

// The real `btcbot` binary as a child process, as a user runs it: its stdout read line by line
// while it runs, signals sent to it, its exit awaited.

export interface BotProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  stderr(): string;
  /** The first stdout line matching `pattern` (waiting for it). */
  waitFor(pattern: RegExp, guardMs?: number): Promise<string>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnBot(
  args: readonly string[],
  env: Record<string, string> = {},
  killAfterMs = 120_000,
): BotProcess {
  const child = spawn(process.execPath, [BTCBOT_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let errors = '';
  child.stdout.on('data', (chunk: Buffer) => {
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    errors += chunk.toString('utf8');
  });
  // A guard so a hung child never outlives the test run.
  const guard = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (partial !== '') lines.push(partial);
      resolve({ code, signal });
    });
  });
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    child,
    lines,
    stderr: () => errors,
    exit,
    async waitFor(pattern, guardMs = 60_000) {
      const deadline = performance.now() + guardMs;
      for (;;) {
        const found = lines.find((line) => pattern.test(line));
        if (found !== undefined) return found;
        if (exited || performance.now() > deadline)
          throw new Error(
            `no stdout line matched ${String(pattern)}${exited ? ' before the process exited' : ` within ${guardMs} ms`}\n` +
              `stdout:\n${lines.join('\n')}\nstderr (tail):\n${errors.slice(-3000)}`,
          );
        await sleep(50);
      }
    },
  };
}

/** Runs `btcbot …` to its end. */
export async function runBot(
  args: readonly string[],
  env: Record<string, string> = {},
  killAfterMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bot = spawnBot(args, env, killAfterMs);
  const { code } = await bot.exit;
  return { code, stdout: bot.lines.join('\n'), stderr: bot.stderr() };
}

export interface SimProcess {
  readonly rest: string;
  readonly ws: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  /** What POSTs under /sim/ must send as `Authorization: Bearer` (the listening line's adminToken). */
  readonly adminToken: string;
  stop(): Promise<void>;
}

/** `btcbot sim` as its own process, ready when it printed its listening line. */
export async function startSimProcess(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<SimProcess> {
  // Stopped by the test's own after-hook; the guard only catches a simulator a crashed test left
  // behind, and must outlast a describe block that shares one simulator on a loaded machine.
  const sim = spawnBot(['sim', '--port', '0', ...args], env, 600_000);
  const line = await sim.waitFor(/"event":"listening"/, 30_000);
  const ready = JSON.parse(line) as {
    rest: string;
    ws: string;
    apiKey: string;
    apiSecret: string;
    adminToken: string;
  };
  return {
    ...ready,
    stop: async () => {
      sim.child.kill('SIGTERM');
      await sim.exit;
    },
  };
}

export interface SimOrderJson {
  readonly id: string;
  readonly accountId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly status: 'open' | 'partially_filled' | 'filled' | 'canceled';
  readonly filled: string;
  readonly quantity: string;
}

export interface SimFillJson {
  readonly tradeId: string;
  readonly orderId: string;
  readonly accountId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly price: string;
  readonly quantity: string;
  readonly fee: string;
  readonly tax: string;
  readonly feeAsset: string;
}

export interface SimStateJson {
  readonly orders: readonly SimOrderJson[];
  readonly fills: readonly SimFillJson[];
  readonly balances: Readonly<Record<string, readonly { asset: string; free: string; locked: string }[]>>;
}

export async function simState(rest: string): Promise<SimStateJson> {
  const response = await fetch(`${rest}/sim/state`);
  return (await response.json()) as SimStateJson;
}

/** `btcbot run` armed for live mode on BTCTRY and ETHTRY with the store at `db`, plus `more`. */
export function liveRunArgs(db: string, ...more: string[]): string[] {
  return ['run', '--mode', 'live', '--live', '--symbols', 'BTCTRY,ETHTRY', '--db', db, ...more];
}

/** The environment that points btcbot at a simulator process and acknowledges live mode. */
export function liveEnv(sim: SimProcess): Record<string, string> {
  return {
    BTCTURK_BASE_URL: sim.rest,
    BTCTURK_WS_URL: sim.ws,
    BTCTURK_API_KEY: sim.apiKey,
    BTCTURK_API_SECRET: sim.apiSecret,
    BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
  };
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-run-'));
  t.after(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export const STATUS_OF_STATE: Readonly<Record<string, string>> = {
  open: 'OPEN',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
};

/**
 * The store and the simulator agree: every simulator order of the account appears exactly once in
 * the store under its client id, with the simulator's id, status and filled quantity; no client id
 * was used twice; the store's only other orders were refused before they were placed; and the
 * store counted exactly the simulator's fills.
 */
export async function expectStoreAgrees(
  storePath: string,
  truth: SimStateJson,
  accountId: string,
): Promise<{ orders: StoredOrder[]; fills: number }> {
  const store = await openSqliteStoreReader({ path: storePath });
  try {
    const ours = truth.orders.filter((o) => o.accountId === accountId);
    const clientIds = ours.map((o) => o.clientOrderId ?? '(none)');
    assert.equal(new Set(clientIds).size, clientIds.length, 'a client order id was sent twice');
    const orders = await store.orders({});
    const byClientId = new Map<string, StoredOrder[]>();
    for (const order of orders)
      byClientId.set(order.clientOrderId ?? '', [
        ...(byClientId.get(order.clientOrderId ?? '') ?? []),
        order,
      ]);
    for (const o of ours) {
      const local = byClientId.get(o.clientOrderId ?? '') ?? [];
      assert.equal(
        local.length,
        1,
        `simulator order ${o.id} (${o.clientOrderId ?? '-'}) is stored ${local.length} times`,
      );
      const [stored] = local as [StoredOrder];
      assert.deepEqual(
        [stored.exchangeOrderId, stored.state, stored.filledQuantity.toFixed()],
        [o.id, STATUS_OF_STATE[o.status], new Dec(o.filled).toFixed()],
        `order ${o.clientOrderId ?? '-'}: store vs simulator`,
      );
    }
    const placed = new Set(ours.map((o) => o.clientOrderId));
    for (const order of orders.filter((o) => !placed.has(o.clientOrderId)))
      assert.deepEqual(
        [order.state, order.exchangeOrderId],
        ['REJECTED', null],
        `order ${order.clientOrderId ?? order.id} is in the store but not on the simulator`,
      );
    const fills = await store.fills();
    assert.deepEqual(
      fills.map((f) => fillKey(f)).sort(),
      truth.fills
        .filter((f) => f.accountId === accountId)
        .map((f) => fillKey({ tradeId: f.tradeId, exchangeOrderId: f.orderId }))
        .sort(),
      'the store counted other fills than the simulator made',
    );
    assert.ok(
      fills.every((f) => f.orderId !== null),
      'every fill is linked to its order',
    );
    return { orders, fills: fills.length };
  } finally {
    await store.close();
  }
}
