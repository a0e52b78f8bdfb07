import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  liveEnv,
  liveRunArgs,
  runBot,
  spawnBot,
  startSimProcess,
  tempDir,
  type SimProcess,
} from '../run/helpers.ts';

// Issue 11, item 8: how `btcbot run` (live mode, the real binary against `btcbot sim` in its own
// process) tells the operator about orders a risk gate holds back. A refusal is logged once per
// slot while its gate and reason hold: the amounts and prices in the reason move with the market
// and do not make it a new refusal. Before the first balance read succeeds the balance gate says
// the balances are not read yet, never "only 0 free".

const ADMIN_TOKEN = 'run-refusals-admin-token';
const BALANCES_PATH = '/api/v1/users/balances';

interface HeldBack {
  readonly symbol: string;
  readonly slot: string;
  readonly gate: string;
  readonly reason: string;
}

/** The engine's "order held back" log lines (pino JSON on stderr), in order. */
function heldBack(stderr: string): HeldBack[] {
  const found: HeldBack[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string } & Partial<HeldBack>;
    if (entry.msg !== 'order held back') continue;
    found.push({
      symbol: String(entry.symbol),
      slot: String(entry.slot),
      gate: String(entry.gate),
      reason: String(entry.reason),
    });
  }
  return found;
}

/** A refusal as the operator reads it: its gate and its words, whatever the figures. */
function shape(refusal: HeldBack): string {
  return `${refusal.gate}: ${refusal.reason.replace(/\d+(?:\.\d+)?/g, '#')}`;
}

/** The simulator's best bid and ask on BTCTRY, as its public ticker shows them. */
async function touch(sim: SimProcess): Promise<string> {
  const res = await fetch(`${sim.rest}/api/v2/ticker?pairSymbol=BTCTRY`);
  const body = (await res.json()) as { data: { bid: unknown; ask: unknown }[] };
  const [row] = body.data;
  assert.ok(row, 'no BTCTRY ticker');
  return `${String(row.bid)}/${String(row.ask)}`;
}

/**
 * A pass-through proxy in front of the simulator's REST API that answers the balance read with
 * 503 while `failBalances` holds; every other request goes through untouched.
 */
async function balanceBlockingProxy(
  target: string,
): Promise<{ url: string; failBalances: boolean; balanceReads: number; close(): Promise<void> }> {
  const upstream = new URL(target);
  const state = { failBalances: true, balanceReads: 0 };
  const server: Server = createServer((req, res) => {
    if ((req.url ?? '').startsWith(BALANCES_PATH)) {
      state.balanceReads += 1;
      if (state.failBalances) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ success: false, message: 'SERVICE_UNAVAILABLE', code: 503 }));
        return;
      }
    }
    const forward = request(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
      },
      (reply) => {
        res.writeHead(reply.statusCode ?? 502, reply.headers);
        reply.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  });
}

describe('btcbot run (live mode): orders held back by a risk gate, as the operator is told', () => {
  let sim: SimProcess;
  before(async () => {
    // 100 TRY: every bid of the market maker needs more than that, so the balance gate refuses
    // the same slots on every evaluation, with figures that move with the market.
    sim = await startSimProcess([
      '--seed',
      '71',
      '--speed',
      '3',
      '--symbols',
      'BTCTRY,ETHTRY',
      '--balances',
      'TRY=100,BTC=0.0001,ETH=0.001',
      '--admin-token',
      ADMIN_TOKEN,
    ]);
  });
  after(async () => {
    await sim.stop();
  });

  it('refusals logged once per slot: the same gate and reason with new figures is not logged again', async (t) => {
    const db = join(tempDir(t), 'refusals.db');
    const touchBefore = await touch(sim);
    const res = await runBot(liveRunArgs(db, '--duration', '15s'), liveEnv(sim), 90_000);
    // The market moved while the gate refused: the reasons' prices and amounts changed (else
    // this test could not tell a refusal logged once per slot from one logged once per figure).
    assert.notEqual(await touch(sim), touchBefore, 'the simulated market did not move');
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr.slice(-3000)}`);

    // The gate refused over and over: the final summary counts every refusal.
    const counted = /^ {2}held back by gate: .*\bbalance (\d+)/m.exec(res.stdout);
    assert.ok(counted, `no balance refusals counted in the summary\n${res.stdout}`);
    const refusals = Number(counted[1]);
    assert.ok(refusals >= 20, `the balance gate refused only ${refusals} times\n${res.stdout}`);

    const logged = heldBack(res.stderr).filter((r) => r.gate === 'balance');
    assert.ok(logged.length > 0, `no balance refusal logged\n${res.stderr.slice(-3000)}`);
    // Per slot, a line only when its gate or its words (figures aside) changed.
    const bySlot = new Map<string, HeldBack[]>();
    for (const r of heldBack(res.stderr)) bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
    for (const [slot, lines] of bySlot) {
      for (let i = 1; i < lines.length; i += 1)
        assert.notEqual(
          shape(lines[i] as HeldBack),
          shape(lines[i - 1] as HeldBack),
          `slot ${slot}: the same refusal logged again\n${lines.map((l) => `${l.gate}: ${l.reason}`).join('\n')}`,
        );
    }
    assert.ok(
      logged.length < refusals,
      `${logged.length} refusal lines for ${refusals} refusals: logged on every pass`,
    );
  });

  it('balances not read yet: the balance gate says so before the first read succeeds, never "only 0 free"', async (t) => {
    const db = join(tempDir(t), 'unread.db');
    const proxy = await balanceBlockingProxy(sim.rest);
    t.after(() => proxy.close());
    const bot = spawnBot(liveRunArgs(db), { ...liveEnv(sim), BTCTURK_BASE_URL: proxy.url }, 90_000);
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    await bot.waitFor(/^start-up reconciliation: clean/);

    // The first balance read is still being retried (every try answered 503) while the symbols
    // are reconciled and have books: the engine evaluates, and the balance gate refuses the
    // market maker's orders on both pairs. A few more seconds of evaluations, then the balances are let through (the stop
    // reads them again) and the bot is stopped.
    const balanceRefused = () => heldBack(bot.stderr()).filter((r) => r.gate === 'balance');
    const deadline = performance.now() + 30_000;
    while (balanceRefused().length < 2 && performance.now() < deadline) await sleep(100);
    await sleep(3000);
    const readsFailed = proxy.balanceReads;
    proxy.failBalances = false;
    bot.child.kill('SIGTERM');
    const { code } = await bot.exit;
    const stdout = bot.lines.join('\n');
    const stderr = bot.stderr();
    assert.equal(code, 0, `${stdout}\n${stderr.slice(-3000)}`);
    assert.ok(readsFailed > 0, 'the bot never tried to read its balances');
    assert.match(stdout, /^ {2}held back by gate: .*\bbalance \d+/m);

    const refused = balanceRefused();
    assert.ok(refused.length > 0, `no balance refusal logged\n${stdout}\n${stderr.slice(-3000)}`);
    for (const r of refused)
      assert.equal(r.reason, 'balances not read yet (the first read is still being retried)', r.slot);
    assert.doesNotMatch(stderr, /only 0 free/);
    assert.doesNotMatch(stdout, /only 0 free/);
  });
});
