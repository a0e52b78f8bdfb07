import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import {
  liveEnv,
  liveRunArgs,
  runBot,
  spawnBot,
  startSimProcess,
  tempDir,
  type BotProcess,
  type SimProcess,
} from '../run/helpers.ts';

// Issue 11, item 8: `btcbot run` as an operator meets it, the real binary against `btcbot sim` in
// its own process: fill counts that carry over a restart as positions do, the 10-second order cap
// shown when it holds orders, no silence after "stopping", a second Ctrl-C that exits 130 in every
// mode, and a taken metrics port or an unreachable Redis named as settings (exit 2), not a stack.

const ADMIN_TOKEN = 'run-operator-admin-token';
const STACK = /\n\s+at .+:\d+:\d+\)?\n/;

async function setFaults(sim: SimProcess, faults: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${sim.rest}/sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(faults),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Ctrl-C once the bot trades, and again while it stops: the exit code. */
async function doubleInterrupt(bot: BotProcess): Promise<number | null> {
  await bot.waitFor(/ready to trade/, 90_000);
  bot.child.kill('SIGINT');
  await bot.waitFor(/^stopping: SIGINT$/, 30_000);
  bot.child.kill('SIGINT');
  const { code } = await bot.exit;
  return code;
}

describe('btcbot run (live mode) against btcbot sim, as an operator sees it', () => {
  let sim: SimProcess;
  before(async () => {
    sim = await startSimProcess([
      '--seed',
      '41',
      '--symbols',
      'BTCTRY,ETHTRY',
      '--speed',
      '3',
      '--admin-token',
      ADMIN_TOKEN,
    ]);
  });
  after(async () => {
    await sim.stop();
  });

  it('fills carry over a restart as positions do; the 10-second cap and each stop step are shown', async (t) => {
    const db = join(tempDir(t), 'bot.db');
    const env = liveEnv(sim);
    // A fill of ours in the store before the bot starts: an earlier session's.
    const market = await runCli(
      ['order', 'buy', 'BTCTRY', '--market', '--quote-amount', '1500', '--db', db],
      env,
    );
    assert.equal(market.code, 0, market.stderr);
    const before = JSON.parse((await runCli(['status', '--db', db, '--json'])).stdout) as { fills: number };
    assert.ok(before.fills > 0);

    // Slow replies make the start-up reconciliation and the stop take seconds.
    await setFaults(sim, { 'latency-ms': 300 });
    t.after(() => setFaults(sim, { 'latency-ms': 0 }));
    const res = await runBot(liveRunArgs(db, '--duration', '16s', '--orders-per-minute', '12'), env, 180_000);
    assert.equal(res.code, 0, res.stderr.slice(-3000));
    const lines = res.stdout.split('\n');

    // A summary line at once, while the start-up reconciliation still runs, counting the earlier fills.
    const first = lines.findIndex((l) => /^\[0s\] /.test(l));
    const startup = lines.findIndex((l) => l.startsWith('start-up reconciliation:'));
    assert.ok(first >= 0 && startup > first, res.stdout);
    assert.match(
      lines[first] ?? '',
      new RegExp(`\\| fills ${before.fills} `),
      'fills restart at 0 after a restart',
    );

    // Twelve requests a minute allow two per 10 seconds: that cap is what holds orders, and is said.
    assert.ok(
      lines.some((l) => /budget \d+\/12 \(10-second cap \d+\/2: holding (orders|replaces)\)/.test(l)),
      res.stdout,
    );

    // No silence after "stopping": each step says what it waits for.
    const stopping = lines.indexOf('stopping: duration reached');
    const stopped = lines.findIndex((l) => l.startsWith('stopped ('));
    assert.ok(stopping >= 0 && stopped > stopping, res.stdout);
    const steps = lines.slice(stopping + 1, stopped);
    assert.ok(
      steps.some((l) => /^stopping: waiting for /.test(l)),
      steps.join('\n'),
    );
    assert.ok(
      steps.some((l) => /^stopping: final reconciliation/.test(l)),
      steps.join('\n'),
    );

    // The final count is the store's, and the positions' fills add up to it.
    const after = JSON.parse((await runCli(['status', '--db', db, '--json'])).stdout) as { fills: number };
    const final = /^ {2}fills: (\d+)/m.exec(res.stdout);
    assert.equal(Number(final?.[1]), after.fills, res.stdout);
    const perSymbol = [...res.stdout.matchAll(/^ {2}[A-Z]+TRY: position .* (\d+) fills$/gm)].map((m) =>
      Number(m[1]),
    );
    assert.equal(
      perSymbol.reduce((a, b) => a + b, 0),
      after.fills,
      res.stdout,
    );

    // `status` in words: prices at the pair's scale and money at two places, never a raw quotient;
    // the holdings the bot started with, so that a move of equity is explained.
    const status = await runCli(['status', '--db', db]);
    assert.equal(status.code, 0, status.stderr);
    assert.doesNotMatch(status.stdout, /\d\.\d{9,}/, status.stdout);
    assert.match(
      status.stdout,
      /^ {2}started at \S+ with \d+\.\d\d TRY \(cash \d+\.\d\d, holdings \d+\.\d\d at the mid\)/m,
    );
    const exact = JSON.parse((await runCli(['status', '--db', db, '--json'])).stdout) as {
      positions: { averagePrice: string | null }[];
      startingEquity: { equity: string } | null;
    };
    assert.ok(exact.startingEquity !== null);
    assert.ok(
      exact.positions.some((p) => (p.averagePrice ?? '').length > 12),
      'the exact value stays in --json',
    );
  });

  it('a second Ctrl-C while it stops exits 130 at once', async (t) => {
    await setFaults(sim, { 'latency-ms': 500 });
    t.after(() => setFaults(sim, { 'latency-ms': 0 }));
    const bot = spawnBot(liveRunArgs(join(tempDir(t), 'bot.db')), liveEnv(sim), 180_000);
    assert.equal(await doubleInterrupt(bot), 130, bot.lines.join('\n'));
    assert.ok(bot.lines.some((l) => /SIGINT again: exiting at once/.test(l)));
  });

  it('an unreachable Redis is named as --redis-url (password hidden), exit 2', async (t) => {
    const res = await runBot(
      liveRunArgs(
        join(tempDir(t), 'bot.db'),
        '--redis-url',
        'redis://:hunter2secret@127.0.0.1:1',
        '--duration',
        '5s',
      ),
      liveEnv(sim),
    );
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /configuration error: --redis-url: could not connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/,
    );
    assert.ok(!res.stderr.includes('hunter2secret'));
    assert.doesNotMatch(res.stderr, STACK);
  });
});

describe('btcbot run (paper mode)', () => {
  let taken: Server;
  let port = 0;
  before(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  after(() => {
    taken.close();
  });

  it('a metrics port in use is named as --metrics-port, exit 2', async (t) => {
    const res = await runBot([
      'run',
      '--db',
      join(tempDir(t), 'bot.db'),
      '--metrics-port',
      String(port),
      '--duration',
      '5s',
    ]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(`configuration error: --metrics-port: port ${port} on 127\\.0\\.0\\.1 is in use`),
    );
    assert.doesNotMatch(res.stderr, STACK);
  });

  it('a second Ctrl-C while it stops exits 130 at once', async (t) => {
    const bot = spawnBot(['run', '--db', join(tempDir(t), 'bot.db'), '--seed', '5'], {}, 180_000);
    assert.equal(await doubleInterrupt(bot), 130, bot.lines.join('\n'));
  });
});
