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

  it('checks the exchange settings in paper mode as in every mode, yet does not use them', (t) => {
    const given = {
      BTCTURK_BASE_URL: 'https://api.example',
      BTCTURK_API_KEY: 'k',
      BTCTURK_API_SECRET: 'c2VjcmV0',
      BTCTURK_WS_PRIVATE_KEY: 'c2VjcmV0',
      BTCBOT_REQUEST_TIMEOUT_MS: '5000',
    };
    // Valid settings are accepted and left unused: paper mode's exchange is its own simulator.
    assert.equal(loadRunConfig({}, given).connection, null);
    for (const mode of ['paper', 'dry-run'] as const) {
      const cases: [NodeJS.ProcessEnv, RegExp][] = [
        [{ BTCTURK_API_KEY: 'k' }, /^BTCTURK_API_SECRET: is missing/],
        [{ BTCTURK_API_KEY: 'k', BTCTURK_API_SECRET: 'not base64!' }, /^BTCTURK_API_SECRET: /],
        // The broken secret is named even though its key is missing too.
        [{ BTCTURK_API_SECRET: 'not base64!' }, /^BTCTURK_API_SECRET: .*base64/],
        [{ BTCTURK_WS_PRIVATE_KEY: 'c2VjcmV0=' }, /^BTCTURK_WS_PRIVATE_KEY: /],
        [{ BTCTURK_BASE_URL: 'ftp://x' }, /^BTCTURK_BASE_URL: "ftp:\/\/x" must use https or http/],
        [{ BTCTURK_WS_URL: 'nowhere' }, /^BTCTURK_WS_URL: "nowhere" is not a URL/],
        [{ BTCBOT_REQUEST_TIMEOUT_MS: '5' }, /^BTCBOT_REQUEST_TIMEOUT_MS: must be a whole number/],
      ];
      for (const [env, message] of cases) {
        const text = refusal({ mode }, env);
        assert.match(text, message, `${mode} ${JSON.stringify(env)}`);
        assert.ok(!text.includes('not base64!') && !text.includes('c2VjcmV0'), `a secret in: ${text}`);
      }
    }
    const file = join(tempDir(t), 'conn.json');
    writeFileSync(file, JSON.stringify({ apiKey: 'k', apiSecret: 'secret with spaces' }));
    assert.equal(refusal({ config: file }).startsWith(`${file}: apiSecret: `), true);
    assert.match(refusal({ apiKey: 'k', apiSecret: '***' }), /^--api-secret: /);
  });

  it('takes the WebSocket login nonce from 100 to 60000, 3000 by default', (t) => {
    assert.equal(loadRunConfig({}, NO_ENV).wsLoginNonce, 3000);
    assert.equal(loadRunConfig({ wsLoginNonce: '100' }, NO_ENV).wsLoginNonce, 100);
    assert.equal(loadRunConfig({}, { BTCBOT_WS_LOGIN_NONCE: '60000' }).wsLoginNonce, 60_000);
    const file = join(tempDir(t), 'nonce.json');
    writeFileSync(file, JSON.stringify({ wsLoginNonce: 4321 }));
    assert.equal(loadRunConfig({ config: file }, NO_ENV).wsLoginNonce, 4321);
    assert.match(
      refusal({ wsLoginNonce: '99' }),
      /^--ws-login-nonce: expected a whole number from 100 to 60000, got "99"/,
    );
    assert.match(
      refusal({}, { BTCBOT_WS_LOGIN_NONCE: String(Date.now()) }),
      /^BTCBOT_WS_LOGIN_NONCE: expected a whole number from 100 to 60000/,
    );
    assert.match(refusal({ wsLoginNonce: '3000.5' }), /^--ws-login-nonce: expected a whole number/);
  });

  it('refuses a duration longer than a timer can wait, naming the setting and the maximum', () => {
    assert.equal(loadRunConfig({ duration: '596h' }, NO_ENV).durationMs, 596 * 3_600_000);
    for (const duration of ['99999999h', '597h', '2147483648ms', '1e999h', '9'.repeat(400) + 'ms'])
      assert.match(
        refusal({ duration }),
        duration.startsWith('1e')
          ? /^--duration: "1e999h" is not a duration/
          : /^--duration: ".*" is longer than the maximum of 596h \(about 24\.8 days\)/,
        duration,
      );
    assert.match(
      refusal({}, { BTCBOT_DURATION: '99999999h' }),
      /^BTCBOT_DURATION: "99999999h" is longer than the maximum of 596h/,
    );
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
