import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RATE_LIMITS } from '../../src/btcturk/common/constants.ts';
import { InMemoryLimiterStore, RateLimiter } from '../../src/btcturk/common/rate-limiter.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { FakeClock, settle } from './helpers.ts';

const FAR = Number.MAX_SAFE_INTEGER;

function setup() {
  const clock = new FakeClock();
  const limiter = new RateLimiter({ windows: RATE_LIMITS, clock });
  const granted: string[] = [];
  const take = (group: string, label: string, deadlineAt = FAR) => {
    const done = limiter.acquire(group, { deadlineAt, operation: label }).then(() => {
      granted.push(label);
    });
    return done;
  };
  return { clock, limiter, granted, take };
}

describe('rate limiter', () => {
  it('holds the 11th order submit within one second until the second has passed', async () => {
    const { clock, granted, take } = setup();
    for (let i = 1; i <= 11; i += 1) void take('order-submit', `submit-${i}`);
    await settle();
    assert.equal(granted.length, 10);
    await clock.advance(999);
    assert.equal(granted.length, 10, 'the 11th may not go before 1 s has passed');
    await clock.advance(1);
    assert.deepEqual(granted.at(-1), 'submit-11');
  });

  it('holds the 301st order submit within 60 s, though each second stays under 10', async () => {
    const { clock, granted, take } = setup();
    for (let i = 0; i < 300; i += 1) {
      if (i > 0 && i % 10 === 0) await clock.advance(1_000);
      void take('order-submit', `submit-${i + 1}`);
      await settle(2);
    }
    assert.equal(granted.length, 300); // 10 per second for 30 s
    void take('order-submit', 'submit-301');
    await clock.advance(60_000 - 29_000 - 1); // one ms before the first submit leaves the minute
    assert.equal(granted.length, 300, 'the 301st may not go within 60 s of the first');
    await clock.advance(1);
    assert.equal(granted.at(-1), 'submit-301');
  });

  it('limits GET /order/{id} at 30 per second', async () => {
    const { clock, granted, take } = setup();
    for (let i = 0; i < 31; i += 1) void take('order-get', `get-${i}`);
    await settle();
    assert.equal(granted.length, 30);
    await clock.advance(1_000);
    assert.equal(granted.length, 31);
  });

  it('serves waiters of one group first come, first served', async () => {
    const { clock, granted, take } = setup();
    for (let i = 1; i <= 15; i += 1) void take('order-submit', `submit-${i}`);
    await clock.advance(1_000);
    assert.deepEqual(
      granted,
      Array.from({ length: 15 }, (_, i) => `submit-${i + 1}`),
    );
  });

  it('lets a cancel go while submits wait for their window', async () => {
    const { granted, take } = setup();
    for (let i = 1; i <= 12; i += 1) void take('order-submit', `submit-${i}`);
    void take('order-cancel', 'cancel');
    await settle();
    assert.ok(granted.includes('cancel'));
    assert.ok(!granted.includes('submit-11'));
  });

  it('keeps a group blocked for the whole of a 429 block and leaves other groups alone', async () => {
    const { clock, limiter, granted, take } = setup();
    await limiter.block('balances', clock.now() + 61_000);
    void take('balances', 'balances');
    void take('open-orders', 'open-orders');
    await clock.advance(60_999);
    assert.deepEqual(granted, ['open-orders']);
    await clock.advance(1);
    assert.deepEqual(granted, ['open-orders', 'balances']);
  });

  it('refuses at once, as not sent, a waiter whose deadline comes before its slot', async () => {
    const { clock, limiter, granted, take } = setup();
    await limiter.block('orderbook', clock.now() + 60_000);
    await assert.rejects(
      take('orderbook', 'GET /api/v2/orderbook', clock.now() + 30_000),
      (error: unknown) => {
        assert.ok(isExchangeError(error, 'not-sent'));
        assert.equal(error.retryAfterMs, 60_000);
        assert.match(error.message, /orderbook/);
        return true;
      },
    );
    assert.deepEqual(granted, []);
  });
});

describe('in-memory limiter store', () => {
  it('takes from every window or from none', async () => {
    const store = new InMemoryLimiterStore();
    const windows = [
      { limit: 2, periodMs: 1_000 },
      { limit: 3, periodMs: 60_000 },
    ];
    assert.deepEqual(await store.tryAcquire(['k'], windows, 0), { ok: true });
    assert.deepEqual(await store.tryAcquire(['k'], windows, 10), { ok: true });
    assert.deepEqual(await store.tryAcquire(['k'], windows, 20), { ok: false, waitMs: 980 });
    // The refusal took nothing from the minute window: one more fits once the second has passed.
    assert.deepEqual(await store.tryAcquire(['k'], windows, 1_000), { ok: true });
    assert.deepEqual(await store.tryAcquire(['k'], windows, 1_500), { ok: false, waitMs: 58_500 });
  });

  it('never shortens a block', async () => {
    const store = new InMemoryLimiterStore();
    await store.block('k', 60_000);
    await store.block('k', 5_000);
    assert.deepEqual(await store.tryAcquire(['k'], [], 10_000), { ok: false, waitMs: 50_000 });
    assert.deepEqual(await store.tryAcquire(['k'], [], 60_000), { ok: true });
  });
});
