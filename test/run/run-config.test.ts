import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { loadRunConfig, sessionDbPath, type RunFlags } from '../../src/ops/run-config.ts';
import { tempDir } from './helpers.ts';

// `btcbot run`'s settings: flags over environment over the config file, defaults per mode, and a
// ConfigError (exit 2) naming the setting for every value that cannot work.

const NO_ENV = {};

function refusal(flags: RunFlags, env: NodeJS.ProcessEnv = NO_ENV): string {
  try {
    loadRunConfig(flags, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error.message;
  }
  return assert.fail('the settings were accepted');
}

describe('btcbot run settings', () => {
  it('defaults to paper mode on two symbols with a fresh session database beside --db', () => {
    const config = loadRunConfig({}, NO_ENV);
    assert.equal(config.mode, 'paper');
    assert.deepEqual(config.symbols, ['BTCTRY', 'ETHTRY']);
    assert.deepEqual(config.store, { kind: 'sqlite', path: './data/btcbot.paper.db', fresh: true });
    assert.equal(config.engine.strategy.name, 'market-maker');
    assert.equal(config.cancelOnExit, true);
    assert.equal(config.ordersPerMinute, 120);
    assert.equal(config.durationMs, null);
    assert.equal(sessionDbPath('state/bot', 'dry-run'), 'state/bot.dry-run.db');
  });

  it('reads no exchange settings in paper mode, whose exchange is its own simulator', () => {
    const halfKeys = { BTCTURK_API_KEY: 'k' };
    assert.equal(loadRunConfig({}, halfKeys).connection, null);
    assert.match(refusal({ mode: 'dry-run' }, halfKeys), /^BTCTURK_API_SECRET: is missing/);
  });

  it('reads the config file, and flags and environment override it', (t) => {
    const file = join(tempDir(t), 'bot.json');
    writeFileSync(
      file,
      JSON.stringify({
        mode: 'live',
        symbols: ['ethtry'],
        db: 'postgres://bot@db.example/btcbot',
        strategy: { name: 'market-maker', params: { spreadBps: 80, levels: 2 } },
        risk: { maxOrderQuote: '2500' },
        duration: '2m',
        cancelOnExit: true,
        apiKey: 'k',
        apiSecret: 'c2VjcmV0',
      }),
    );
    const config = loadRunConfig(
      { config: file, live: true, param: ['spreadBps=60'], duration: '90s' },
      { BTCBOT_LIVE_ACK: 'I_UNDERSTAND', BTCBOT_ORDERS_PER_MINUTE: '60' },
    );
    assert.equal(config.mode, 'live');
    assert.deepEqual(config.symbols, ['ETHTRY']);
    assert.deepEqual(config.store, { kind: 'postgres', url: 'postgres://bot@db.example/btcbot' });
    assert.deepEqual(config.strategyParams, { spreadBps: '60', levels: 2 });
    assert.equal(config.engine.risk.maxOrderQuote.toFixed(), '2500');
    assert.equal(config.durationMs, 90_000);
    assert.equal(config.cancelOnExit, true);
    assert.equal(config.ordersPerMinute, 60);
  });

  it('leaves resting orders in place on exit in live mode unless told otherwise', () => {
    const armed = { BTCBOT_LIVE_ACK: 'I_UNDERSTAND', BTCTURK_API_KEY: 'k', BTCTURK_API_SECRET: 'c2VjcmV0' };
    assert.equal(loadRunConfig({ mode: 'live', live: true, symbols: 'BTCTRY' }, armed).cancelOnExit, false);
    assert.equal(loadRunConfig({ mode: 'dry-run', cancelOnExit: false }, NO_ENV).cancelOnExit, false);
  });

  it('refuses what cannot work, naming the setting', (t) => {
    const file = join(tempDir(t), 'typo.json');
    writeFileSync(file, JSON.stringify({ stratgy: {} }));
    const cases: [RunFlags, RegExp][] = [
      [{ duration: '90' }, /^--duration: "90" is not a duration/],
      [{ mode: 'paperr' }, /^--mode: "paperr" is not a mode; modes: paper, dry-run, live/],
      [{ strategy: 'scalper' }, /^--strategy: unknown strategy "scalper"/],
      [{ param: ['spreadBps=-1'] }, /^strategy "market-maker": spreadBps = "-1": must be greater than 0/],
      [{ symbols: 'BTC-TRY' }, /^--symbols: "BTC-TRY" is not a symbol/],
      [{ metricsPort: '70000' }, /^--metrics-port: expected a whole number from 0 to 65535/],
      [{ ordersPerMinute: '400' }, /^--orders-per-minute: expected a whole number from 1 to 300/],
      [{ db: 'postgres://u@h/db' }, /^--db: paper mode keeps a SQLite database of its own/],
      [{ mode: 'dry-run', seed: '3' }, /^--seed: a seed is for paper mode's simulator; this is dry-run mode/],
      [{ speed: '0' }, /^--speed: expected a number above 0/],
      [{ prefix: 'has space' }, /prefix.*must be 1 to 12 characters/],
      [{ redisUrl: 'http://x' }, /^--redis-url: must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ config: file }, /unknown setting "stratgy" \(known: /],
    ];
    for (const [flags, message] of cases) assert.match(refusal(flags), message, JSON.stringify(flags));
    assert.match(refusal({}, { BTCBOT_DURATION: 'soon' }), /^BTCBOT_DURATION: "soon" is not a duration/);
  });
});
