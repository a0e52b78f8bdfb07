import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOwnClientOrderId, newClientOrderId, validateClientIdPrefix } from '../../src/domain/client-ids.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { seededRandom } from '../../src/domain/random.ts';

const frozenClock = (now: number): Clock => ({
  now: () => now,
  monotonic: () => now,
  sleep: () => Promise.resolve(),
});

describe('client order ids', () => {
  it('are unique over 100k ids drawn in the same millisecond, within 50 characters of the allowed alphabet', () => {
    const random = seededRandom(7);
    const clock = frozenClock(Date.UTC(2030, 0, 1));
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = newClientOrderId('bot-A_12', random, clock);
      assert.ok(id.length <= 50, id);
      assert.match(id, /^bot-A_12-[0-9a-z]+$/);
      seen.add(id);
    }
    assert.equal(seen.size, 100_000);
  });

  it('stay within 50 characters with the longest prefix and a far-future clock', () => {
    const id = newClientOrderId('abcdefghijkl', seededRandom(1), frozenClock(Date.UTC(5000, 0, 1)));
    assert.ok(id.length <= 50, `${id} has ${id.length} characters`);
  });

  it('differ between two processes seeded alike when time moves on', () => {
    const a = newClientOrderId('p', seededRandom(3), frozenClock(1_700_000_000_000));
    const b = newClientOrderId('p', seededRandom(3), frozenClock(1_700_000_000_001));
    assert.notEqual(a, b);
  });

  it('refuse a bad instance prefix with a ConfigError naming it', () => {
    for (const bad of ['', 'thirteen-char', 'has space', 'ünï']) {
      assert.throws(
        () => newClientOrderId(bad, seededRandom(1)),
        (e: unknown) => e instanceof ConfigError && e.message.includes(JSON.stringify(bad)),
      );
    }
    assert.equal(validateClientIdPrefix('A-z_0'), 'A-z_0');
  });

  it('are told apart from other prefixes and hand-typed ids', () => {
    const id = newClientOrderId('bb', seededRandom(9));
    assert.ok(isOwnClientOrderId(id, 'bb'));
    const other = newClientOrderId('bb-x', seededRandom(9));
    assert.ok(!isOwnClientOrderId(other, 'bb'), 'prefix "bb-x" is not "bb"');
    assert.ok(!isOwnClientOrderId('bb-manual', 'bb'));
    assert.ok(!isOwnClientOrderId(id, 'b'));
  });
});
