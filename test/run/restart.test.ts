import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import {
  expectStoreAgrees,
  liveEnv,
  liveRunArgs,
  runBot,
  simState,
  spawnBot,
  startSimProcess,
  tempDir,
  type BotProcess,
  type SimOrderJson,
  type SimProcess,
} from './helpers.ts';

// A restart after a crash, as a user meets it: the real binary in live mode against `btcbot sim`
// in its own process, SIGKILLed while an order's reply is outstanding, then started again on the
// same database. The symbol with the crash-left order waits for it to be resolved and says so;
// the other symbol trades as soon as its own reconciliation is clean. No timing is asserted (the
// figures are bench/restart.ts's): only what waits for what. RESTART_SEED replays a failure.

const ACCOUNT = 'account-1';
const SEED = Number(process.env.RESTART_SEED ?? 41);
const PREFIX = 'rs';
/** Where the crash leaves an order in flight, and the symbol that must not wait for it. */
const CRASHED = 'BTCTRY';
const OTHER = 'ETHTRY';

function killOnExit(t: { after(fn: () => void): void }, bot: BotProcess): void {
  t.after(() => {
    if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
  });
}

async function setFaults(sim: SimProcess, faults: Record<string, number | null>): Promise<void> {
  const response = await fetch(`${sim.rest}/sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sim.adminToken}` },
    body: JSON.stringify(faults),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Polls `check` every 50 ms for up to `ms`. */
async function eventually(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    assert.ok(performance.now() < deadline, `timed out waiting: ${what} (seed ${SEED})`);
    await sleep(50);
  }
}

interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly component?: string;
  readonly symbol?: string;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

/** The orders of the store at `path` whose outcome is not known. */
async function unresolvedIn(path: string): Promise<StoredOrder[]> {
  const store = await openSqliteStoreReader({ path });
  try {
    return (await store.activeOrders()).filter(
      (o) => o.state === 'UNKNOWN' || o.state === 'SUBMITTED' || o.state === 'PENDING_SUBMIT',
    );
  } finally {
    await store.close();
  }
}

describe('btcbot run --mode live: a restart after a crash', () => {
  it('trades on each symbol once that symbol is reconciled clean, and says what it waits for', async (t) => {
    const sim = await startSimProcess(['--seed', String(SEED), '--speed', '3']);
    t.after(() => sim.stop());
    const env = liveEnv(sim);
    const db = join(tempDir(t), 'restart.db');
    const ours = async (): Promise<SimOrderJson[]> =>
      (await simState(sim.rest)).orders.filter(
        (o) => o.accountId === ACCOUNT && (o.clientOrderId ?? '').startsWith(`${PREFIX}-`),
      );
    const resting = (orders: readonly SimOrderJson[], symbol: string) =>
      orders.filter((o) => o.symbol === symbol && (o.status === 'open' || o.status === 'partially_filled'));

    // First run: wide quotes that are not requoted, so nothing is in flight unless we make it so.
    const first = spawnBot(
      liveRunArgs(db, '--prefix', PREFIX, '--param', 'spreadBps=1000', '--param', 'requoteThresholdBps=400'),
      env,
    );
    killOnExit(t, first);
    await eventually(
      'the first run quotes both symbols',
      async () => {
        const now = await ours();
        return resting(now, CRASHED).length > 0 && resting(now, OTHER).length > 0;
      },
      60_000,
    );

    // The crash, with an order whose outcome is unknown: the kill switch holds new orders back
    // while one BTCTRY quote is canceled behind the bot's back; order writes then fail with a reset
    // connection (the bot cannot know whether the order was placed); the switch goes off, the bot
    // sends the quote's replacement, cannot tell its outcome, and is killed while it looks it up.
    const cli = async (...args: string[]) => {
      const done = await runBot([...args, '--db', db], {});
      assert.equal(done.code, 0, done.stderr);
    };
    await cli('kill-switch', 'on', '--reason', 'restart test');
    await sleep(1_500); // the engine reads the switch at every evaluation (at least once a second)
    const before = new Set((await ours()).map((o) => o.id));
    const [victim] = resting(await ours(), CRASHED);
    assert.ok(victim);
    const outsider = new BtcturkExchange({
      baseUrl: sim.rest,
      credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    });
    t.after(() => outsider.close());
    await outsider.cancelOrder(victim.id);
    await eventually('the bot holds its replacement back', () =>
      Promise.resolve(first.stderr().includes('"gate":"kill-switch"')),
    );
    await setFaults(sim, { 'reset-before-accept': 1 });
    await cli('kill-switch', 'off', '--reason', 'restart test');
    await eventually('the bot sends an order whose outcome it cannot know', () =>
      Promise.resolve(first.stderr().includes('submit outcome unknown')),
    );
    first.child.kill('SIGKILL');
    await first.exit;
    await setFaults(sim, { 'reset-before-accept': null });
    assert.deepEqual(
      (await ours()).filter((o) => !before.has(o.id)),
      [],
      'the order left unknown reached the simulator',
    );
    const unknown = await unresolvedIn(db);
    assert.deepEqual(
      unknown.map((o) => o.symbol),
      [CRASHED],
      `the crash left ${unknown.length} unresolved orders (seed ${SEED})`,
    );

    // The restart: tighter quotes, so every symbol wants new orders as soon as it may trade (and
    // not so tight that one symbol's requotes use up the order budget the other needs).
    const startedAt = Date.now();
    const second = spawnBot(
      liveRunArgs(
        db,
        '--prefix',
        PREFIX,
        '--param',
        'spreadBps=200',
        '--param',
        'requoteThresholdBps=50',
        '--cancel-on-exit',
      ),
      { ...env, BTCBOT_LOG_LEVEL: 'info' },
    );
    killOnExit(t, second);
    await second.waitFor(/^\[[\d.]+s\] waiting to trade: .*reconciliation \(/, 30_000);
    await second.waitFor(
      new RegExp(
        `^\\[[\\d.]+s\\] waiting to trade: .*${CRASHED}: reconciliation \\(resolving 1 unresolved order`,
      ),
      30_000,
    );
    // The other symbol does not wait for that lookup: it is ready and places orders meanwhile.
    await second.waitFor(new RegExp(`^${OTHER}: ready to trade `), 30_000);
    const placedOn = async (symbol: string) =>
      (await ours()).some((o) => o.symbol === symbol && !before.has(o.id));
    await eventually(`${OTHER} trades while ${CRASHED} still resolves`, () => placedOn(OTHER));
    assert.ok(
      !second.lines.some((line) => line.startsWith(`${CRASHED}: ready to trade`)),
      `${CRASHED} was ready before its crash-left order was resolved`,
    );
    // Past the visibility horizon the crash-left order is concluded never placed: the symbol may trade.
    const ready = await second.waitFor(new RegExp(`^${CRASHED}: ready to trade `), 30_000);
    assert.match(ready, /\(waited for reconciliation \([^)]*resolving 1 unresolved order/);
    await eventually(`${CRASHED} trades once resolved`, () => placedOn(CRASHED));

    second.child.kill('SIGINT');
    const { code } = await second.exit;
    const stdout = second.lines.join('\n');
    assert.equal(code, 0, `${stdout}\n${second.stderr().slice(-3000)}`);
    assert.match(stdout, /^start-up reconciliation: clean$/m);
    assert.match(stdout, /final reconciliation: clean/);
    // A summary line from the start, naming what each symbol waits for.
    assert.match(second.lines.find((l) => /^\[\d+s\] equity/.test(l)) ?? '', /\| waiting: BTCTRY: /);

    // Ordering, by the bot's own clock: no order of the restart on a symbol before that symbol
    // was reconciled clean and said ready.
    const logs = logLines(second.stderr());
    const store = await openSqliteStoreReader({ path: db });
    try {
      const placed = (await store.orders({})).filter((o) => o.createdAt >= startedAt && o.origin === 'local');
      for (const symbol of [CRASHED, OTHER]) {
        const clean = logs.find((l) => l.msg.startsWith('symbol reconciled clean') && l.symbol === symbol);
        const said = logs.find(
          (l) => l.component === 'start-up' && l.msg.startsWith(`${symbol}: ready to trade`),
        );
        assert.ok(clean && said, `no reconciled/ready log for ${symbol}`);
        const firstOrder = Math.min(...placed.filter((o) => o.symbol === symbol).map((o) => o.createdAt));
        assert.ok(Number.isFinite(firstOrder), `the restart placed nothing on ${symbol}`);
        assert.ok(clean.time <= said.time, `${symbol}: ready said before it was reconciled clean`);
        assert.ok(
          firstOrder >= clean.time,
          `${symbol}: an order was journaled ${clean.time - firstOrder} ms before the symbol was reconciled clean`,
        );
      }
      // The crash-left order was settled (never placed), and only then did its symbol trade; the
      // other symbol traded before that: it did not wait for another symbol's lookups.
      const [crashLeft] = unknown;
      assert.ok(crashLeft);
      assert.equal((await store.order(crashLeft.id))?.state, 'REJECTED');
      const otherFirst = Math.min(...placed.filter((o) => o.symbol === OTHER).map((o) => o.createdAt));
      const crashedClean = logs.find(
        (l) => l.msg.startsWith('symbol reconciled clean') && l.symbol === CRASHED,
      );
      assert.ok(crashedClean && otherFirst < crashedClean.time, `${OTHER} waited for ${CRASHED}'s lookups`);
    } finally {
      await store.close();
    }
    await expectStoreAgrees(db, await simState(sim.rest), ACCOUNT);
  });
});
