import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBot } from './helpers.ts';

// The real binary refuses settings that cannot work with exit 2 and a message naming the setting,
// before anything starts (nothing on stdout), in paper mode too, and never echoes a secret.

// Nothing may be reached: a refused start must not get as far as the network.
const NOWHERE = { BTCTURK_BASE_URL: 'http://127.0.0.1:9', BTCTURK_WS_URL: 'ws://127.0.0.1:9' };

async function refused(args: readonly string[], env: Record<string, string>) {
  const result = await runBot(args, env, 30_000);
  assert.equal(result.code, 2, `expected exit 2, got ${String(result.code)}: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing may start');
  return result.stderr;
}

describe('btcbot run: settings checked at start', () => {
  it('paper mode refuses a secret that is not base64, naming it and never printing it', async () => {
    const secret = 'not base64!';
    const envs: Record<string, string>[] = [
      { BTCTURK_API_SECRET: secret },
      { BTCTURK_API_KEY: 'k', BTCTURK_API_SECRET: secret },
    ];
    for (const env of envs) {
      const stderr = await refused(['run'], env);
      assert.match(stderr, /configuration error: BTCTURK_API_SECRET: .*base64/);
      assert.ok(!stderr.includes(secret), stderr);
    }
    const ws = await refused(['run', '--mode', 'paper'], { BTCTURK_WS_PRIVATE_KEY: secret });
    assert.match(ws, /configuration error: BTCTURK_WS_PRIVATE_KEY: /);
    assert.ok(!ws.includes(secret), ws);
    assert.match(
      await refused(['run'], { BTCTURK_BASE_URL: 'api.btcturk.com' }),
      /configuration error: BTCTURK_BASE_URL: "api.btcturk.com" is not a URL/,
    );
  });

  it('refuses a duration longer than a timer can wait instead of stopping at once', async () => {
    const stderr = await refused(['run', '--duration', '99999999h'], NOWHERE);
    assert.match(
      stderr,
      /configuration error: --duration: "99999999h" is longer than the maximum of 596h \(about 24\.8 days\)/,
    );
    assert.match(
      await refused(['run', '--mode', 'live', '--live', '--symbols', 'BTCTRY'], {
        ...NOWHERE,
        BTCTURK_API_KEY: 'k',
        BTCTURK_API_SECRET: 'c2VjcmV0',
        BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
        BTCBOT_DURATION: '600h',
      }),
      /configuration error: BTCBOT_DURATION: "600h" is longer than the maximum/,
    );
  });

  it('refuses such a duration in orderbook --watch too, which shares the reader', async () => {
    assert.match(
      await refused(['orderbook', 'BTCTRY', '--watch', '--duration', '99999999h'], NOWHERE),
      /configuration error: --duration: "99999999h" is longer than the maximum of 596h/,
    );
  });

  it('refuses a WebSocket login nonce outside 100..60000, naming the setting', async () => {
    assert.match(
      await refused(['run', '--ws-login-nonce', '1700000000000'], NOWHERE),
      /configuration error: --ws-login-nonce: expected a whole number from 100 to 60000/,
    );
  });
});
