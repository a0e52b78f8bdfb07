import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { excerpt, redact } from '../../src/btcturk/common/redact.ts';
import { TEST_KEY, TEST_SECRET } from './helpers.ts';

describe('redact', () => {
  it('removes every occurrence of every secret', () => {
    const text = `key=${TEST_KEY} secret=${TEST_SECRET} again ${TEST_KEY}`;
    const clean = redact(text, [TEST_KEY, TEST_SECRET]);
    assert.equal(clean, 'key=[redacted] secret=[redacted] again [redacted]');
  });

  it('also removes a base64 secret in its JSON-escaped spelling', () => {
    const secret = 'ab/cd+ef/gh=';
    const body = JSON.stringify({ echo: secret }).replaceAll('/', '\\/');
    assert.ok(!redact(body, [secret]).includes('gh='));
  });

  it('ignores empty secrets instead of mangling the text', () => {
    assert.equal(redact('plain', ['', TEST_KEY]), 'plain');
  });

  it('redacts before cutting, so no prefix of a secret survives the cut', () => {
    const text = `${'x'.repeat(190)}${TEST_SECRET}`;
    const cut = excerpt(text, [TEST_SECRET], 200);
    assert.ok(!cut.includes(TEST_SECRET.slice(0, 10)), cut);
    assert.ok(cut.includes('[redac'));
  });
});
