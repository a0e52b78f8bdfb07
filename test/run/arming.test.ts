import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBot } from './helpers.ts';

// Live mode starts only when armed; every refusal names exactly what is missing and exits 2 before
// anything connects (the other settings' checks are in run-config.test.ts).

const KEYS = { BTCTURK_API_KEY: 'demo-key', BTCTURK_API_SECRET: 'c3VwZXItc2VjcmV0LWJ5dGVz' };
const ACK = { BTCBOT_LIVE_ACK: 'I_UNDERSTAND' };
// Nothing may be reached: a refused start must not get as far as the network.
const NOWHERE = { BTCTURK_BASE_URL: 'http://127.0.0.1:9', BTCTURK_WS_URL: 'ws://127.0.0.1:9' };
const LIVE = ['run', '--mode', 'live', '--symbols', 'BTCTRY'];

async function refused(args: readonly string[], env: Record<string, string>) {
  const result = await runBot(args, { ...NOWHERE, ...env }, 30_000);
  assert.equal(result.code, 2, `expected exit 2, got ${String(result.code)}: ${result.stderr}`);
  assert.equal(result.stdout, '', 'nothing may start');
  return result.stderr;
}

describe('btcbot run: arming live mode', () => {
  it('names all three missing pieces when none is there', async () => {
    const stderr = await refused(LIVE, {});
    assert.match(stderr, /configuration error: live mode: .*missing: /);
    assert.match(stderr, /API keys \(set BTCTURK_API_KEY and BTCTURK_API_SECRET\)/);
    assert.match(stderr, /the --live flag/);
    assert.match(stderr, /BTCBOT_LIVE_ACK=I_UNDERSTAND/);
  });

  it('names only what is missing', async () => {
    const noAck = await refused([...LIVE, '--live'], KEYS);
    assert.match(noAck, /missing: BTCBOT_LIVE_ACK=I_UNDERSTAND in the environment\n$/);
    const noFlag = await refused(LIVE, { ...KEYS, ...ACK });
    assert.match(noFlag, /missing: the --live flag\n$/);
    const noKeys = await refused([...LIVE, '--live'], ACK);
    assert.match(noKeys, /missing: API keys \(set BTCTURK_API_KEY and BTCTURK_API_SECRET\)\n$/);
    const wrongAck = await refused([...LIVE, '--live'], { ...KEYS, BTCBOT_LIVE_ACK: 'yes' });
    assert.match(wrongAck, /missing: BTCBOT_LIVE_ACK=I_UNDERSTAND/);
  });

  it('refuses --live outside live mode, and live mode without --symbols', async () => {
    assert.match(
      await refused(['run', '--live'], { ...KEYS, ...ACK }),
      /--live: arms live mode only; it was given with --mode paper/,
    );
    assert.match(
      await refused(['run', '--mode', 'live', '--live'], { ...KEYS, ...ACK }),
      /--symbols: live mode trades only the pairs you name/,
    );
  });
});
