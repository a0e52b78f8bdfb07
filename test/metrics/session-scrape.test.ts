import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { liveEnv, liveRunArgs, spawnBot, startSimProcess, tempDir, type SimProcess } from '../run/helpers.ts';
import { find, parseScrape, type Scrape } from './scrape.ts';

// A running bot's /metrics as Prometheus scrapes it: the real binary in live mode against `btcbot
// sim`, its REST requests, its limiter, its engine loop and its orders feeding the metrics of issue
// 11 item 4; the run's start is in the audit trail. The API secret is planted and looked for in
// every output.

const PLANTED_KEY = 'planted-key-metrics-77b2';
const PLANTED_SECRET = Buffer.from('planted-metrics-secret-d00dfeed').toString('base64');

describe('a live session’s metrics and audit trail', () => {
  let sim: SimProcess;

  before(async () => {
    sim = await startSimProcess([
      '--seed',
      '33',
      '--speed',
      '3',
      '--api-key',
      PLANTED_KEY,
      '--api-secret',
      PLANTED_SECRET,
    ]);
  });
  after(async () => {
    await sim.stop();
  });

  it('serves every new metric while trading, and records the run’s start without its secrets', async (t) => {
    const db = join(tempDir(t), 'live.db');
    const bot = spawnBot(liveRunArgs(db, '--duration', '20s', '--metrics-port', '0', '--cancel-on-exit'), {
      ...liveEnv(sim),
      BTCBOT_LOG_LEVEL: 'debug',
    });
    t.after(() => {
      if (bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    });
    const url = /metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(
      await bot.waitFor(/^\s*metrics: http/),
    )?.[1];
    assert.ok(url, 'the banner names the metrics URL');

    // Scrape until the bot has placed orders (tick-to-order needs a book change that led to one).
    let scrape: Scrape | undefined;
    for (let i = 0; i < 150; i += 1) {
      scrape = parseScrape(await (await fetch(url)).text());
      const submits = find(scrape, 'btcbot_rest_request_duration_seconds_count', { group: 'order-submit' });
      const ticks = find(scrape, 'btcbot_tick_to_order_seconds_count')[0]?.value ?? 0;
      if (submits.length > 0 && ticks > 0) break;
      await sleep(100);
    }
    assert.ok(scrape);
    const okSubmits = find(scrape, 'btcbot_rest_request_duration_seconds_count', {
      group: 'order-submit',
      outcome: 'ok',
    });
    assert.ok((okSubmits[0]?.value ?? 0) > 0, 'order submits are timed');
    assert.ok(
      (find(scrape, 'btcbot_tick_to_order_seconds_count')[0]?.value ?? 0) > 0,
      'tick-to-order is timed',
    );
    assert.equal(scrape.types.get('btcbot_rate_limit_wait_seconds'), 'histogram');
    assert.ok(
      find(scrape, 'btcbot_rate_limit_headroom_requests', { group: 'order-submit', window: '1s' }).length,
    );
    const lastLoop = find(scrape, 'btcbot_last_loop_timestamp_seconds')[0]?.value ?? 0;
    assert.ok(Math.abs(lastLoop - Date.now() / 1000) < 60, `last loop ${lastLoop} is recent`);
    assert.equal(find(scrape, 'btcbot_unknown_orders')[0]?.value, 0);
    assert.ok((find(scrape, 'btcbot_reconciliation_runs_total')[0]?.value ?? 0) >= 1);
    assert.equal(scrape.types.get('nodejs_eventloop_lag_seconds'), 'gauge');
    assert.equal(scrape.types.get('process_resident_memory_bytes'), 'gauge');
    assert.ok(
      !scrape.text.includes(PLANTED_SECRET) && !scrape.text.includes(PLANTED_KEY),
      'a secret in /metrics',
    );

    const { code } = await bot.exit;
    assert.equal(code, 0, bot.stderr().slice(-3000));
    const output = `${bot.lines.join('\n')}\n${bot.stderr()}`;
    assert.ok(!output.includes(PLANTED_SECRET), 'the planted secret is in the bot’s output');

    const audit = await runCli(['audit', '--json', '--db', db]);
    assert.equal(audit.code, 0, audit.stderr);
    const { entries } = JSON.parse(audit.stdout) as {
      entries: { action: string; source: string; detail: Record<string, unknown> }[];
    };
    const start = entries.find((e) => e.action === 'run-start');
    assert.ok(start, 'the run’s start is in the trail');
    assert.equal(start.source, 'cli');
    assert.equal(start.detail.mode, 'live');
    assert.deepEqual(start.detail.symbols, ['BTCTRY', 'ETHTRY']);
    assert.equal(start.detail.strategy, 'market-maker');
    assert.equal(start.detail.signed, true);
    assert.ok(
      !audit.stdout.includes(PLANTED_SECRET) && !audit.stdout.includes(PLANTED_KEY),
      'a secret in audit',
    );
  });
});
