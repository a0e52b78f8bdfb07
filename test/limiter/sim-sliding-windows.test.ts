import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AnchoredWindowLimiter,
  REST_LIMITS,
  simRateLimiter,
  simRateWindowsFromEnv,
  SlidingWindowLimiter,
} from '../../src/sim/server/rate-limits.ts';

const ORDER_POST = REST_LIMITS['POST /api/v1/order'];

/** 10 submits late in one second, then more at the start of the next: 11+ in one sliding second. */
function straddlingBurst(): number[] {
  const times = [0]; // opens an anchored window at 0
  for (let i = 0; i < 9; i += 1) times.push(990 + i);
  for (let i = 0; i < 5; i += 1) times.push(1_000 + i);
  return times;
}

describe('simulator rate limits: strict sliding mode', () => {
  it('catches the burst that straddles two anchored windows', () => {
    assert.ok(ORDER_POST);
    const anchored = new AnchoredWindowLimiter();
    const sliding = new SlidingWindowLimiter();
    const times = straddlingBurst();
    const refusedAnchored = times.filter((t) => !anchored.take(ORDER_POST, 'acct', t).ok);
    const refusedSliding = times.filter((t) => !sliding.take(ORDER_POST, 'acct', t).ok);
    assert.deepEqual(refusedAnchored, [], 'the anchored window passes it: 10 in [0,1000), 5 in [1000,2000)');
    // [990, 1990) holds 9 + 5: the 11th request of that span (t = 1001) is the first refused.
    assert.equal(refusedSliding[0], 1_001);
  });

  it('refuses with the period as Retry-After, and blocks the group for it', () => {
    assert.ok(ORDER_POST);
    const sliding = new SlidingWindowLimiter();
    for (let i = 0; i < 10; i += 1) assert.ok(sliding.take(ORDER_POST, 'acct', 100 + i).ok);
    const refused = sliding.take(ORDER_POST, 'acct', 500);
    assert.ok(!refused.ok);
    assert.equal(refused.retryAfterMs, 1_000);
    assert.equal(refused.window.label, '1s');
    assert.equal(sliding.take(ORDER_POST, 'acct', 1_499).ok, false, 'blocked for the whole period');
    assert.equal(sliding.take(ORDER_POST, 'acct', 1_500).ok, true);
    assert.equal(sliding.take(ORDER_POST, 'other', 500).ok, true, 'another account has its own budget');
  });

  it('lets a client that spaces 10 per sliding second through, for a whole minute of 300', () => {
    assert.ok(ORDER_POST);
    const sliding = new SlidingWindowLimiter();
    // 10 every 1000 ms exactly: every [s, s + 1000) holds 10, every minute 300.
    let refused = 0;
    for (let i = 0; i < 300; i += 1)
      if (!sliding.take(ORDER_POST, 'acct', Math.floor(i / 10) * 1_000 + (i % 10)).ok) refused += 1;
    assert.equal(refused, 0);
    assert.equal(sliding.take(ORDER_POST, 'acct', 59_999).ok, false, 'the 301st within the minute');
  });

  it('is selected by BTCBOT_SIM_RATE_WINDOWS, anchored by default', () => {
    assert.equal(simRateWindowsFromEnv({}), 'anchored');
    assert.equal(simRateWindowsFromEnv({ BTCBOT_SIM_RATE_WINDOWS: 'sliding' }), 'sliding');
    assert.throws(
      () => simRateWindowsFromEnv({ BTCBOT_SIM_RATE_WINDOWS: 'fixed' }),
      /BTCBOT_SIM_RATE_WINDOWS/,
    );
    assert.ok(simRateLimiter('sliding') instanceof SlidingWindowLimiter);
    assert.ok(simRateLimiter('anchored') instanceof AnchoredWindowLimiter);
  });
});
