import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runBot, simState, startSimProcess, tempDir } from './helpers.ts';

// Dry-run mode reads the configured exchange's public market data and never sends an order: here
// the "real" exchange is a separately started simulator, whose ground truth shows what reached it.

describe('btcbot run --mode dry-run', () => {
  it('trades on real market data in the process and sends no order to the exchange', async (t) => {
    const sim = await startSimProcess(['--seed', '31', '--speed', '3']);
    t.after(() => sim.stop());
    const dir = tempDir(t);
    const env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_WS_URL: sim.ws,
      // Keys are present, yet dry-run must not use them for anything.
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
    };
    const db = join(dir, 'bot.db');
    const run = await runBot(['run', '--mode', 'dry-run', '--duration', '8s', '--db', db], env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr.slice(-3000)}`);
    assert.match(run.stdout, /^btcbot dry-run mode: market-maker on BTCTRY, ETHTRY$/m);
    assert.match(run.stdout, /orders are simulated here and never sent/);
    assert.match(run.stdout, /orders: [1-9]\d* placed/);
    assert.match(run.stdout, /final reconciliation: clean/);

    const truth = await simState(sim.rest);
    assert.deepEqual(
      truth.orders.filter((o) => o.accountId === 'account-1'),
      [],
      'an order reached the exchange',
    );

    const status = await runBot(['status', '--db', join(dir, 'bot.dry-run.db'), '--json'], {});
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as {
      escalation: { level: string };
      killSwitch: { on: boolean };
      openOrders: unknown[];
      fills: number;
      equity: { currency: string; equity: string } | null;
    };
    assert.equal(parsed.escalation.level, 'NORMAL');
    assert.equal(parsed.killSwitch.on, false);
    assert.deepEqual(parsed.openOrders, [], 'cancel-on-exit is the default in dry-run mode');
    assert.equal(parsed.equity?.currency, 'TRY');
    assert.match(parsed.equity.equity, /^\d+(\.\d+)?$/);
  });
});
