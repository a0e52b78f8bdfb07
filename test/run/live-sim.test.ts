import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import {
  expectStoreAgrees,
  liveEnv,
  liveRunArgs,
  runBot,
  simState,
  spawnBot,
  startSimProcess,
  tempDir,
  type SimOrderJson,
  type SimProcess,
} from './helpers.ts';

// Live mode, armed, against a separately started `btcbot sim`: exactly what it does against
// BTCTurk. The simulator outlives the bot, so a restart on the same database must reconcile and
// carry on with no order placed twice, and a SIGINT must leave nothing resting.

const ACCOUNT = 'account-1';

describe('btcbot run --mode live against btcbot sim', () => {
  let sim: SimProcess;
  let env: Record<string, string>;

  before(async () => {
    sim = await startSimProcess(['--seed', '21', '--speed', '3']);
    env = liveEnv(sim);
  });
  after(async () => {
    await sim.stop();
  });

  const live = liveRunArgs;

  it('restarts on the same database: reconciles, carries on, and never places an order twice', async (t) => {
    const db = join(tempDir(t), 'live.db');
    // Wide quotes that are not requoted while the market wanders: the first run must stop with
    // orders resting (not between a replace's cancel and its new order), so the second run has
    // something to take over.
    const first = await runBot(
      live(
        db,
        '--duration',
        '12s',
        '--metrics-port',
        '0',
        '--param',
        'spreadBps=1000',
        '--param',
        'requoteThresholdBps=400',
      ),
      env,
    );
    assert.equal(first.code, 0, `${first.stdout}\n${first.stderr.slice(-3000)}`);
    assert.match(first.stdout, /^btcbot live mode: market-maker on BTCTRY, ETHTRY$/m);
    assert.match(first.stdout, /resting orders are left in place on exit/);
    assert.ok(
      !first.stdout.includes(sim.apiSecret) && !first.stderr.includes(sim.apiSecret),
      'the secret was printed',
    );
    const left = (await simState(sim.rest)).orders.filter(
      (o) => o.accountId === ACCOUNT && (o.status === 'open' || o.status === 'partially_filled'),
    );
    assert.ok(left.length > 0, 'live mode left no order resting (it should leave them by default)');
    await expectStoreAgrees(db, await simState(sim.rest), ACCOUNT);

    const secondStarted = Date.now();
    const second = await runBot(live(db, '--duration', '10s', '--cancel-on-exit'), env);
    assert.equal(second.code, 0, `${second.stdout}\n${second.stderr.slice(-3000)}`);
    assert.match(second.stdout, /^start-up reconciliation: clean$/m);
    assert.match(second.stdout, /final reconciliation: clean/);
    const truth = await simState(sim.rest);
    const { orders } = await expectStoreAgrees(db, truth, ACCOUNT);
    // What the first run left resting was taken over, not placed again beside a copy.
    for (const o of left) {
      const now = truth.orders.find((x) => x.id === o.id);
      assert.ok(
        now && now.status !== 'open' && now.status !== 'partially_filled',
        `order ${o.id} still rests`,
      );
    }
    assert.ok(
      orders.some((o) => o.createdAt >= secondStarted && o.origin === 'local'),
      'the second run placed nothing',
    );
    assert.ok(
      truth.orders.every((o) => o.accountId !== ACCOUNT || o.status === 'filled' || o.status === 'canceled'),
      'an order still rests after the second run canceled on exit',
    );
  });

  it('stops on SIGINT with exit 0, its resting orders canceled', async (t) => {
    const db = join(tempDir(t), 'sigint.db');
    const bot = spawnBot(live(db, '--cancel-on-exit'), env);
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    await bot.waitFor(/^\[\d+s\] equity \d+/);
    for (let i = 0; ; i += 1) {
      const resting = (await simState(sim.rest)).orders.filter(
        (o) => o.accountId === ACCOUNT && o.status === 'open',
      );
      if (resting.length > 0) break;
      assert.ok(i < 100, 'the bot placed no order');
      await sleep(100);
    }
    // `btcbot status` reads the store beside the running bot. Asked again a few times: a moment
    // with nothing resting (a replace between its cancel and its new order) is a true answer.
    let shown: { openOrders: { symbol: string }[]; escalation: { level: string } } | undefined;
    for (let ask = 0; ask < 5 && (shown?.openOrders.length ?? 0) === 0; ask += 1) {
      const status = await runBot(['status', '--db', db, '--json'], {});
      assert.equal(status.code, 0, status.stderr);
      shown = JSON.parse(status.stdout) as typeof shown;
    }
    assert.ok(shown && shown.openOrders.length > 0, JSON.stringify(shown));
    assert.equal(shown.escalation.level, 'NORMAL');

    bot.child.kill('SIGINT');
    const { code } = await bot.exit;
    const stdout = bot.lines.join('\n');
    assert.equal(code, 0, `${stdout}\n${bot.stderr().slice(-3000)}`);
    assert.match(stdout, /^stopping: SIGINT$/m);
    assert.match(stdout, /on exit: \d+ resting orders canceled; final reconciliation: clean/);
    const truth = await simState(sim.rest);
    assert.deepEqual(
      truth.orders.filter(
        (o) => o.accountId === ACCOUNT && (o.status === 'open' || o.status === 'partially_filled'),
      ),
      [],
    );
    await expectStoreAgrees(db, truth, ACCOUNT);
  });

  it('kill-switch on beside the running bot stops its new orders within seconds; off resumes them', async (t) => {
    const db = join(tempDir(t), 'kill.db');
    // A prefix of its own: only this bot's orders are counted, whatever else trades on the account.
    const bot = spawnBot(live(db, '--cancel-on-exit', '--prefix', 'ks'), env);
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    const ours = async () =>
      (await simState(sim.rest)).orders.filter(
        (o) => o.accountId === ACCOUNT && (o.clientOrderId ?? '').startsWith('ks-'),
      );
    const resting = (orders: readonly SimOrderJson[]) =>
      orders.filter((o) => o.status === 'open' || o.status === 'partially_filled');
    await bot.waitFor(/^\[\d+s\] equity \d+/);
    await eventually('the bot places orders', async () => resting(await ours()).length > 0);

    const on = await runBot(['kill-switch', 'on', '--db', db, '--reason', 'test'], {});
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^kill switch ON \(test\)/);
    await sleep(1_500); // an order already past the gate when the switch went on may still land
    // Take its orders away behind its back: a bot that ignored the switch would place them again.
    const exchange = new BtcturkExchange({
      baseUrl: sim.rest,
      credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    });
    t.after(() => exchange.close());
    for (const order of resting(await ours())) await exchange.cancelOrder(order.id);
    const frozen = new Set((await ours()).map((o) => o.id));
    await sleep(4_000); // four evaluation intervals
    const placedWhileOn = (await ours()).filter((o) => !frozen.has(o.id));
    assert.deepEqual(placedWhileOn, [], 'the bot placed orders while the kill switch was on');
    assert.equal(bot.child.exitCode, null, 'the bot stopped instead of holding back');
    await bot.waitFor(/KILL SWITCH ON/, 15_000);
    const status = await runBot(['status', '--db', db, '--json'], {});
    assert.equal(status.code, 0, status.stderr);
    const shown = JSON.parse(status.stdout) as { killSwitch: { on: boolean; reason: string | null } };
    assert.equal(shown.killSwitch.on, true);
    assert.equal(shown.killSwitch.reason, 'test');

    const off = await runBot(['kill-switch', 'off', '--db', db, '--reason', 'test over'], {});
    assert.equal(off.code, 0, off.stderr);
    await eventually('orders resume', async () => (await ours()).some((o) => !frozen.has(o.id)));

    bot.child.kill('SIGINT');
    const { code } = await bot.exit;
    assert.equal(code, 0, `${bot.lines.join('\n')}\n${bot.stderr().slice(-3000)}`);
    assert.deepEqual(resting(await ours()), [], 'an order still rests after the bot canceled on exit');
  });
});

/** Polls `check` every 100 ms for up to 20 s. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i += 1) {
    assert.ok(i < 200, `timed out waiting: ${what}`);
    await sleep(100);
  }
}
