// `npm run bench restart`: how soon a bot restarted after a crash trades again. The real binary in
// live mode against `btcbot sim` in its own process; each round SIGKILLs the bot once it has
// traded and starts it again on the same database, timing from the spawn (wall clock) to:
// its banner (process start-up), its first summary line, its first order (the simulator's ground
// truth: the order's creation time there) and, with a crash-left UNKNOWN order, the first order on
// that order's symbol (which must first wait out the lookups that settle it).
//
// Two series: "clean" (the kill leaves nothing unresolved) and "unknown" (an order journaled and
// marked sent just before the kill, as the crash point submit.after-sent-mark leaves it, which
// never reached the exchange: the restart must resolve it — past the 15 s visibility horizon, as
// never placed — before BTCTRY may trade; ETHTRY need not wait). Medians over RESTART_RUNS rounds
// (default 5). Figures, not gates: the machines are shared and noisy.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { newClientOrderId } from '../src/domain/client-ids.ts';
import { Dec } from '../src/domain/decimal.ts';
import { processRandom } from '../src/domain/random.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';
import { median } from './support/figures.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'btcbot.js');
const RUNS = Number(process.env.RESTART_RUNS ?? 5);
const SEED = Number(process.env.RESTART_SEED ?? 5);
const ACCOUNT = 'account-1';
const SYMBOLS = ['BTCTRY', 'ETHTRY'] as const;
const CRASHED = 'BTCTRY';
const PREFIX = 'bb';

interface Proc {
  readonly child: ChildProcess;
  readonly spawnedAt: number;
  /** stdout lines with the wall-clock ms they were read at. */
  readonly lines: { at: number; text: string }[];
  readonly exit: Promise<void>;
}

function start(args: readonly string[], env: Record<string, string> = {}): Proc {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const lines: { at: number; text: string }[] = [];
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const at = Date.now();
    partial += chunk.toString('utf8');
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const text of parts) lines.push({ at, text });
  });
  const exit = new Promise<void>((resolve) => {
    child.on('close', () => {
      resolve();
    });
  });
  return { child, spawnedAt, lines, exit };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`bench restart: timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface SimOrder {
  readonly id: string;
  readonly accountId: string;
  readonly symbol: string;
  readonly createdAt: number;
}

/** Journals an order on `symbol` and marks it sent, as a crash right after the sent mark leaves it. */
async function leaveUnknown(db: string): Promise<void> {
  const store = await openSqliteStore({ path: db });
  try {
    const order = await store.journalOrder({
      clientOrderId: newClientOrderId(PREFIX, processRandom()),
      symbol: CRASHED,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.0001'),
      price: new Dec('1000000'),
      intentId: 'bench:crash-left',
      strategy: 'bench',
    });
    await store.applyEvent(order.id, { type: 'sent' });
  } finally {
    await store.close();
  }
}

interface Round {
  readonly banner: number;
  /** From the banner (the process is up, its settings read) to the first order: the bot's own wait. */
  readonly bannerToOrder: number;
  readonly firstSummary: number;
  readonly firstWaiting: number;
  readonly firstOrder: number;
  readonly crashedFirstOrder: number;
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-bench-restart-'));
  const sim = start(['sim', '--port', '0', '--seed', String(SEED), '--speed', '3']);
  try {
    const listening = await until('the simulator', () =>
      sim.lines.find((l) => l.text.includes('"event":"listening"')),
    );
    const info = JSON.parse(listening.text) as {
      rest: string;
      ws: string;
      apiKey: string;
      apiSecret: string;
    };
    const env = {
      BTCTURK_BASE_URL: info.rest,
      BTCTURK_WS_URL: info.ws,
      BTCTURK_API_KEY: info.apiKey,
      BTCTURK_API_SECRET: info.apiSecret,
      BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
    };
    const orders = async (): Promise<SimOrder[]> => {
      const response = await fetch(`${info.rest}/sim/state`);
      const state = (await response.json()) as { orders: SimOrder[] };
      return state.orders.filter((o) => o.accountId === ACCOUNT);
    };

    const series = async (name: 'clean' | 'unknown'): Promise<Round[]> => {
      const db = join(dir, `${name}.db`);
      // Quotes moved on every restart (a new spread each time), so every round wants new orders.
      const args = (round: number) => [
        'run',
        '--mode',
        'live',
        '--live',
        '--symbols',
        SYMBOLS.join(','),
        '--db',
        db,
        '--param',
        `spreadBps=${round % 2 === 0 ? 300 : 200}`,
        '--param',
        'requoteThresholdBps=50',
      ];
      const rounds: Round[] = [];
      for (let round = 0; round <= RUNS; round += 1) {
        if (round > 0 && name === 'unknown') await leaveUnknown(db);
        const known = new Set((await orders()).map((o) => o.id));
        const bot = start(args(round), env);
        const placed = await until(
          'the first order on every symbol',
          async () => {
            const fresh = (await orders()).filter((o) => !known.has(o.id));
            return SYMBOLS.every((s) => fresh.some((o) => o.symbol === s)) ? fresh : undefined;
          },
          90_000,
        );
        const summary = await until('a summary line', () =>
          bot.lines.find((l) => /^\[\d+s\] equity/.test(l.text)),
        );
        bot.child.kill('SIGKILL');
        await bot.exit;
        if (round === 0) continue; // the first start has nothing to restart from
        const since = (at: number | undefined) => (at === undefined ? NaN : at - bot.spawnedAt);
        const first = Math.min(...placed.map((o) => o.createdAt));
        const crashed = Math.min(...placed.filter((o) => o.symbol === CRASHED).map((o) => o.createdAt));
        const banner = since(bot.lines.find((l) => l.text.startsWith('btcbot live mode'))?.at);
        rounds.push({
          banner,
          bannerToOrder: since(first) - banner,
          firstSummary: since(summary.at),
          firstWaiting: since(bot.lines.find((l) => / waiting to trade: /.test(l.text))?.at),
          firstOrder: since(first),
          crashedFirstOrder: since(crashed),
        });
      }
      return rounds;
    };

    const out: Record<string, number | string> = { rounds: RUNS, seed: SEED };
    for (const name of ['clean', 'unknown'] as const) {
      const rounds = await series(name);
      const figure = (key: keyof Round) => Math.round(median(rounds.map((r) => r[key])));
      out[`${name}: start→banner ms (median)`] = figure('banner');
      out[`${name}: start→first waiting line ms (median)`] = figure('firstWaiting');
      out[`${name}: start→first summary line ms (median)`] = figure('firstSummary');
      out[`${name}: start→first order ms (median)`] = figure('firstOrder');
      out[`${name}: banner→first order ms (median)`] = figure('bannerToOrder');
      out[`${name}: start→first ${CRASHED} order ms (median)`] = figure('crashedFirstOrder');
      out[`${name}: start→first order ms (worst)`] = Math.round(Math.max(...rounds.map((r) => r.firstOrder)));
    }
    return out;
  } finally {
    sim.child.kill('SIGTERM');
    await sim.exit;
    rmSync(dir, { recursive: true, force: true });
  }
}
