import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { BtcturkCredentials, signStamp, validateSecret } from '../../src/btcturk/common/credentials.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { TEST_KEY, TEST_SECRET } from './helpers.ts';

describe('request signing', () => {
  it('matches the documented test vector', () => {
    const headers = new BtcturkCredentials(TEST_KEY, TEST_SECRET).headers(1700000000123);
    assert.deepEqual(headers, {
      'X-PCK': 'demo-key',
      'X-Stamp': '1700000000123',
      'X-Signature': 'n3vM0/3V67fMgjxxsjekOrLRULK/nctpnHuw3WsgssE=',
    });
  });

  it('signs key + stamp with the decoded secret bytes, not the base64 text', () => {
    const fromBytes = signStamp(TEST_KEY, Buffer.from('super-secret-bytes'), 1700000000123);
    assert.equal(fromBytes, 'n3vM0/3V67fMgjxxsjekOrLRULK/nctpnHuw3WsgssE=');
    assert.notEqual(signStamp(TEST_KEY, Buffer.from(TEST_SECRET), 1700000000123), fromBytes);
    assert.notEqual(signStamp(TEST_KEY, Buffer.from('super-secret-bytes'), 1700000000124), fromBytes);
  });
});

describe('secret validation', () => {
  const rejects = (secret: string, problem: RegExp, setting = 'BTCTURK_API_SECRET') => {
    assert.throws(
      () => {
        validateSecret(secret, setting);
      },
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, setting);
        assert.match(error.message, problem);
        if (secret.length >= 4)
          assert.ok(!error.message.includes(secret), 'the message must not carry the secret');
        return true;
      },
    );
  };

  it('accepts standard base64 with correct padding', () => {
    for (const good of [TEST_SECRET, 'QQ==', 'QUI=', 'QUJD', 'a+b/c9Z0'])
      assert.doesNotThrow(() => {
        validateSecret(good);
      });
  });

  it('refuses the empty secret', () => {
    rejects('', /is empty/);
  });

  it('refuses characters outside the standard alphabet (URL-safe, whitespace)', () => {
    rejects('c3VwZXItc2Vj-mV0LWJ5dGVz', /outside the standard base64 alphabet .* at position 13;/);
    rejects('c3VwZXItc2Vj_mV0LWJ5dGVz', /outside the standard base64 alphabet/);
    rejects(`${TEST_SECRET}\n`, /whitespace or a line break/);
    rejects('c3VwZXItc2Vj cmV0LWJ5dGVz', /whitespace/);
  });

  it('refuses missing, extra and misplaced padding', () => {
    rejects('QQ', /not a multiple of 4/);
    rejects('QQ=', /not a multiple of 4/);
    rejects('Q===', /padding in the wrong place/);
    rejects('QQ==QUJD', /padding in the wrong place/);
    rejects('QUJDRA=', /not a multiple of 4/);
  });

  it('refuses non-canonical text whose last character carries stray bits', () => {
    rejects('QR==', /not canonical/);
  });

  it('names the setting it was given (the WebSocket private key uses the same rules)', () => {
    rejects('not*base64', /outside the standard base64 alphabet/, 'BTCTURK_WS_PRIVATE_KEY');
  });

  it('checks the key pair when credentials are built', () => {
    assert.throws(() => new BtcturkCredentials(TEST_KEY, 'bad_secret'), {
      name: 'ConfigError',
      setting: 'BTCTURK_API_SECRET',
    });
    assert.throws(() => new BtcturkCredentials('', TEST_SECRET), {
      name: 'ConfigError',
      setting: 'BTCTURK_API_KEY',
    });
    assert.throws(() => new BtcturkCredentials('key with space', TEST_SECRET), {
      setting: 'BTCTURK_API_KEY',
    });
  });
});

describe('credentials object', () => {
  it('shows neither key nor secret when logged, inspected or serialised', () => {
    const credentials = new BtcturkCredentials(TEST_KEY, TEST_SECRET);
    for (const shown of [
      JSON.stringify({ credentials }),
      inspect(credentials),
      String(Object.keys(credentials)),
    ]) {
      assert.ok(!shown.includes(TEST_KEY), shown);
      assert.ok(!shown.includes(TEST_SECRET), shown);
    }
  });
});
