import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { loadRunConfig, type RunFlags } from '../../src/ops/run-config.ts';
import { runBot, simState, startSimProcess, tempDir } from './helpers.ts';

// Dry-run mode reads the configured exchange's public market data and never sends an order: here
// the "real" exchange is a separately started simulator, whose ground truth shows what reached it.

describe('btcbot run --mode dry-run', () => {
  it('trades on real market data in the process, starting from the account read with the keys, and sends no order to the exchange', async (t) => {
    const sim = await startSimProcess(['--seed', '31', '--speed', '3', '--balances', 'TRY=250000,BTC=0.2']);
    t.after(() => sim.stop());
    const dir = tempDir(t);
    const env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_WS_URL: sim.ws,
      // Keys are present: dry-run reads the account's balances with them, and nothing else.
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
    };
    const db = join(dir, 'bot.db');
    const run = await runBot(['run', '--mode', 'dry-run', '--duration', '8s', '--db', db], env);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr.slice(-3000)}`);
    assert.match(run.stdout, /^btcbot dry-run mode: market-maker on BTCTRY, ETHTRY$/m);
    assert.match(run.stdout, /orders are simulated here and never sent/);
    assert.match(
      run.stdout,
      /dry-run starting balances from the account's free balances \(read with the API keys\): (TRY=250000,BTC=0\.2|BTC=0\.2,TRY=250000)$/m,
    );
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

  it('starts from --dry-run-balances when given, keys or not', async (t) => {
    const sim = await startSimProcess(['--seed', '32', '--speed', '3']);
    t.after(() => sim.stop());
    const dir = tempDir(t);
    const env = { BTCTURK_BASE_URL: sim.rest, BTCTURK_WS_URL: sim.ws };
    const run = await runBot(
      [
        'run',
        '--mode',
        'dry-run',
        '--symbols',
        'BTCTRY',
        '--duration',
        '3s',
        '--dry-run-balances',
        'try=40000, BTC=0.01',
        '--db',
        join(dir, 'bot.db'),
      ],
      env,
    );
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr.slice(-3000)}`);
    assert.match(run.stdout, /dry-run starting balances from --dry-run-balances: TRY=40000,BTC=0\.01$/m);
  });
});

describe('--dry-run-balances', () => {
  const load = (flags: RunFlags, env: NodeJS.ProcessEnv = {}) =>
    loadRunConfig({ mode: 'dry-run', ...flags }, env);
  const text = (flags: RunFlags, env?: NodeJS.ProcessEnv) =>
    [...(load(flags, env).dryRunBalances ?? [])].map(([a, v]) => `${a}=${v.toFixed()}`).join(',');
  const problem = (flags: RunFlags, env?: NodeJS.ProcessEnv): string => {
    try {
      load(flags, env);
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      return error.message;
    }
    return assert.fail('accepted');
  };

  it('reads ASSET=AMOUNT pairs from the flag, the environment or the config file', (t) => {
    assert.equal(text({ dryRunBalances: 'TRY=100000,BTC=0.5' }), 'TRY=100000,BTC=0.5');
    assert.equal(text({ dryRunBalances: ' try = 1e3 , eth=0 ' }), 'TRY=1000,ETH=0');
    assert.equal(text({}, { BTCBOT_DRY_RUN_BALANCES: 'USDT=10' }), 'USDT=10');
    const file = join(tempDir(t), 'bot.json');
    writeFileSync(file, JSON.stringify({ dryRunBalances: { TRY: '5000', BTC: 0.25 } }));
    assert.equal(text({ config: file }), 'TRY=5000,BTC=0.25');
    const config = load({ dryRunBalances: 'TRY=1' });
    assert.equal(config.dryRunBalancesSetting, '--dry-run-balances');
    assert.equal(load({}).dryRunBalances, null, 'absent: the account or the default decides');
  });

  it('names the flag, the asset and what is wrong', () => {
    for (const [value, message] of [
      ['TRY=abc', /^--dry-run-balances: TRY amount "abc" is not a number of 0 or more/],
      ['TRY=-5', /^--dry-run-balances: TRY amount "-5" is not a number of 0 or more/],
      ['TRY=', /^--dry-run-balances: TRY amount "" is not a number/],
      ['TRY100', /^--dry-run-balances: "TRY100" is not ASSET=AMOUNT, e\.g\. TRY=100000,BTC=0\.5/],
      ['T$Y=5', /^--dry-run-balances: "T\$Y" is not an asset name/],
      ['TRY=1,try=2', /^--dry-run-balances: TRY is given twice/],
      [' , ', /^--dry-run-balances: list at least one ASSET=AMOUNT/],
    ] as const)
      assert.match(problem({ dryRunBalances: value }), message, value);
    assert.match(
      problem({}, { BTCBOT_DRY_RUN_BALANCES: 'BTC=x' }),
      /^BTCBOT_DRY_RUN_BALANCES: BTC amount "x"/,
    );
  });

  it('is refused outside dry-run mode', () => {
    assert.match(
      problem({ mode: 'paper', dryRunBalances: 'TRY=1' }),
      /^--dry-run-balances: starting balances are for dry-run mode .*; this is paper mode/,
    );
  });
});
