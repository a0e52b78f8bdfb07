import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import {
  expectStoreAgrees,
  liveEnv,
  liveRunArgs,
  simState,
  spawnBot,
  startSimProcess,
  tempDir,
} from './helpers.ts';

// Live mode against `btcbot sim` with a WebSocket private key that is valid base64 but wrong: the
// server refuses the private stream's login. The bot must say so (with the server's reason),
// count it, and carry on trading, its fills and order states read over REST: the store agrees with
// the simulator's ground truth, and no fill came by socket. And a socket that drops: faster
// polling while it is down, the normal pace once a login succeeds again.

const ACCOUNT = 'account-1';
// Valid base64 of 32 bytes, just not the account's key.
const WRONG_WS_KEY = Buffer.alloc(32, 7).toString('base64');

describe('btcbot run --mode live without its private stream', () => {
  it('keeps trading on REST polling, says so in its summary line and counts the refusal', async (t) => {
    const sim = await startSimProcess(['--seed', '23', '--speed', '3']);
    t.after(() => sim.stop());
    const db = join(tempDir(t), 'refused.db');
    const bot = spawnBot(liveRunArgs(db, '--duration', '25s', '--cancel-on-exit', '--metrics-port', '0'), {
      ...liveEnv(sim),
      BTCTURK_WS_PRIVATE_KEY: WRONG_WS_KEY,
    });
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    const url = /http:\/\/\S+/.exec(await bot.waitFor(/^ {2}metrics: http/))?.[0] ?? '';
    await bot.waitFor(
      /^private stream: login refused \(Unauthorized - Invalid Signature\); polling REST every 5 s until a login succeeds$/,
    );
    const summary = await bot.waitFor(/^\[\d+s\] equity .*\| private stream: /);
    assert.match(
      summary,
      / \| private stream: login refused \(Unauthorized - Invalid Signature\); polling REST every 5 s$/,
    );

    // Scraped while it runs: the refusal is counted and the stream shows as not logged in.
    let metrics = '';
    for (let scrape = 0; scrape < 40; scrape += 1) {
      metrics = await (await fetch(url)).text();
      if (/^btcbot_ws_login_refusals_total [1-9]\d*$/m.test(metrics)) break;
      await sleep(250);
    }
    assert.match(metrics, /^btcbot_ws_login_refusals_total [1-9]\d*$/m);
    assert.match(metrics, /^btcbot_ws_logged_in 0$/m);

    const { code } = await bot.exit;
    const stdout = bot.lines.join('\n');
    const stderr = bot.stderr();
    assert.equal(code, 0, `${stdout}\n${stderr.slice(-3000)}`);
    assert.match(stdout, /^start-up reconciliation: clean$/m);
    assert.match(stdout, /final reconciliation: clean/);
    assert.match(
      stdout,
      /^ {2}private stream: login refused [1-9]\d* times? \(Unauthorized - Invalid Signature\); fills and order states polled over REST every 5 s$/m,
    );
    for (const secret of [WRONG_WS_KEY, sim.apiSecret])
      assert.ok(!stdout.includes(secret) && !stderr.includes(secret), 'a secret was printed');
    // The refusal is logged with the server's reason.
    assert.match(stderr, /WebSocket login refused by the server: Unauthorized - Invalid Signature/);

    const truth = await simState(sim.rest);
    const { fills } = await expectStoreAgrees(db, truth, ACCOUNT);
    assert.ok(fills > 0, `nothing filled in 25 s:\n${stdout}`);
    const store = await openSqliteStoreReader({ path: db });
    try {
      const sources = new Set((await store.fills()).map((f) => f.source));
      assert.ok(!sources.has('stream'), `a fill came by the socket although its login was refused`);
    } finally {
      await store.close();
    }
  });

  it('polls faster while the socket is down and goes back to the normal pace once logged in again', async (t) => {
    // The simulator drops every socket every few seconds: each drop is a stretch without the
    // private stream, each reconnect a successful login.
    const sim = await startSimProcess(['--seed', '29', '--speed', '3', '--fault', 'ws-drop-every=6s']);
    t.after(() => sim.stop());
    const db = join(tempDir(t), 'drops.db');
    const bot = spawnBot(
      ['run', '--mode', 'live', '--live', '--symbols', 'BTCTRY', '--db', db, '--cancel-on-exit'],
      liveEnv(sim),
    );
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    await bot.waitFor(/^private stream: disconnected \(.+\); polling REST every 5 s until a login succeeds$/);
    await bot.waitFor(
      /^private stream: logged in; fills and order states come by socket again, REST polling back to every 15 s$/,
    );
    bot.child.kill('SIGINT');
    const { code } = await bot.exit;
    const stdout = bot.lines.join('\n');
    assert.equal(code, 0, `${stdout}\n${bot.stderr().slice(-3000)}`);
    const down = stdout.indexOf('private stream: disconnected');
    assert.ok(down >= 0 && stdout.indexOf('private stream: logged in', down) > down, stdout);
    assert.match(stdout, /final reconciliation: clean/);
    assert.doesNotMatch(stdout, /login refused/);
    await expectStoreAgrees(db, await simState(sim.rest), ACCOUNT);
  });
});
