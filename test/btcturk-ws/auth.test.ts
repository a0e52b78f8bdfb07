import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import { loginSignature, WsCredentials } from '../../src/btcturk/websocket/auth.ts';
import { ConfigError } from '../../src/domain/errors.ts';

// The vector is computed here, independently: HMAC-SHA256 keyed with the decoded private key over
// publicKey + nonce, as btcturk-api.md §8 states it.
const PUBLIC_KEY = 'ws-public-key';
const PRIVATE_KEY = Buffer.from('ws-private-key-bytes').toString('base64');
const NONCE = 3000;
const EXPECTED = createHmac('sha256', Buffer.from(PRIVATE_KEY, 'base64'))
  .update(PUBLIC_KEY + String(NONCE))
  .digest('base64');

describe('WebSocket login', () => {
  it('signs the public key and the nonce with the decoded private key', () => {
    assert.equal(loginSignature(PUBLIC_KEY, Buffer.from(PRIVATE_KEY, 'base64'), NONCE), EXPECTED);
  });

  it('builds the type-114 frame with the nonce, not the timestamp, signed', () => {
    const frame = JSON.parse(
      new WsCredentials(PUBLIC_KEY, PRIVATE_KEY).loginFrame(NONCE, 1_700_000_000_123),
    ) as [number, Record<string, unknown>];
    assert.deepEqual(frame, [
      114,
      { type: 114, publicKey: PUBLIC_KEY, timestamp: 1_700_000_000_123, nonce: NONCE, signature: EXPECTED },
    ]);
  });

  it('keeps the keys out of JSON, inspection and errors', () => {
    const credentials = new WsCredentials(PUBLIC_KEY, PRIVATE_KEY);
    assert.equal(JSON.stringify({ credentials }), '{"credentials":"[WsCredentials]"}');
    assert.ok(!inspect(credentials).includes(PRIVATE_KEY));
    const bad = 'not base64 secret!';
    assert.throws(
      () => new WsCredentials(PUBLIC_KEY, bad),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.setting === 'BTCTURK_WS_PRIVATE_KEY' &&
        !error.message.includes(bad),
    );
    assert.throws(() => new WsCredentials('', PRIVATE_KEY), /BTCTURK_WS_PUBLIC_KEY/);
  });
});
