import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { RateLimiter, type RateWindow } from '../../src/btcturk/common/rate-limiter.ts';
import {
  connectRedisLimiterStore,
  limiterNamespace,
  type RedisLimiterStore,
} from '../../src/btcturk/common/redis-limiter-store.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { startReportProcess } from '../helpers/report-process.ts';
import { keysUnder, REDIS_URL, redisSkip, testScope } from './helpers.ts';

const FIXTURE = fileURLToPath(new URL('./fixtures/limiter-process.ts', import.meta.url));
const skip = await redisSkip();
const API_KEY = 'test-api-key-7f3a9c';

async function storeOf(t: TestContext, prefix: string, apiKey = API_KEY): Promise<RedisLimiterStore> {
  const store = await connectRedisLimiterStore({ url: REDIS_URL, apiKey, prefix });
  t.after(() => store.close());
  return store;
}

function child(t: TestContext, args: string[]) {
  return startReportProcess(t, FIXTURE, args, 'limiter process');
}

/**
 * Spans in which more than `limit` grants provably fell within `periodMs`. Each grant happened, in
 * Redis time, inside its [before, after] interval of local time (Redis on this host reads the
 * same clock). So if the true times keep the limit, any `limit + 1` grants that began no earlier
 * than `before` of one of them end at least `periodMs` after it: finding a set that does not is
 * proof of an overspent window, and no scheduling delay can produce one falsely.
 */
function overspent(grants: readonly (readonly [number, number])[], window: RateWindow): string[] {
  const found: string[] = [];
  for (const [start] of grants) {
    const ends = grants
      .filter(([before]) => before >= start)
      .map(([, after]) => after)
      .sort((a, b) => a - b);
    const last = ends[window.limit];
    if (last !== undefined && last - start < window.periodMs)
      found.push(
        `${window.limit + 1} grants within [${start}, ${last}] against ${window.limit} per ${window.periodMs} ms`,
      );
  }
  return found;
}

describe('redis limiter store', { skip }, () => {
  it('takes from every window of every key or from none', async (t) => {
    const { prefix } = await testScope(t);
    const store = await storeOf(t, prefix);
    const windows = [
      { limit: 2, periodMs: 300 },
      { limit: 3, periodMs: 60_000 },
    ];
    assert.deepEqual(await store.tryAcquire(['a'], windows, 0), { ok: true });
    assert.deepEqual(await store.tryAcquire(['a'], windows, 0), { ok: true });
    const full = await store.tryAcquire(['a'], windows, 0);
    assert.ok(!full.ok && full.waitMs > 0 && full.waitMs <= 300, JSON.stringify(full));
    await sleep(full.waitMs);
    // The refusal took nothing from the minute window: exactly one more fits once the window passed.
    assert.deepEqual(await store.tryAcquire(['a'], windows, 0), { ok: true });
    await sleep(300);
    const minute = await store.tryAcquire(['a'], windows, 0);
    assert.ok(!minute.ok && minute.waitMs > 58_000 && minute.waitMs <= 60_000, JSON.stringify(minute));

    // A refusal caused by one key takes nothing from the other keys of the same call.
    assert.deepEqual(await store.tryAcquire(['b'], windows, 0), { ok: true });
    assert.equal((await store.tryAcquire(['a', 'b'], windows, 0)).ok, false);
    assert.deepEqual(await store.tryAcquire(['b'], windows, 0), { ok: true });
    assert.equal((await store.tryAcquire(['b'], windows, 0)).ok, false);
  });

  it('never shortens a block, and expires it with the block', async (t) => {
    const { prefix, admin } = await testScope(t);
    const store = await storeOf(t, prefix);
    await store.block('balances', Date.now() + 60_000);
    await store.block('balances', Date.now() + 5_000);
    const blocked = await store.tryAcquire(['balances'], [], 0);
    assert.ok(!blocked.ok && blocked.waitMs > 55_000 && blocked.waitMs <= 60_000, JSON.stringify(blocked));
    assert.deepEqual(
      await store.tryAcquire(['orderbook'], [], 0),
      { ok: true },
      'other groups are not blocked',
    );

    const blockKey = `${limiterNamespace(API_KEY, prefix)}block:balances`;
    const ttl = await admin.pttl(blockKey);
    assert.ok(ttl > 55_000 && ttl <= 60_000, `the block key expires with the block (PTTL ${ttl})`);
    await store.block('fills', Date.now() + 200);
    await sleep(250);
    assert.deepEqual(await store.tryAcquire(['fills'], [], 0), { ok: true });
  });

  it('gives each API key its own budget and never writes the key itself', async (t) => {
    const { prefix, admin } = await testScope(t);
    const windows = [{ limit: 1, periodMs: 60_000 }];
    const first = await storeOf(t, prefix, 'account-one-key');
    const second = await storeOf(t, prefix, 'account-two-key');
    assert.deepEqual(await first.tryAcquire(['order-submit'], windows, 0), { ok: true });
    assert.equal((await first.tryAcquire(['order-submit'], windows, 0)).ok, false);
    assert.deepEqual(await second.tryAcquire(['order-submit'], windows, 0), { ok: true });

    const keys = await keysUnder(admin, prefix);
    assert.ok(keys.length > 0);
    for (const key of keys) {
      assert.ok(!key.includes('account-'), `a Redis key carries the API key: ${key}`);
      assert.match(key, /^btcbot-test:[^{}]*:\{[0-9a-f]{16}\}:/);
    }
    assert.notEqual(limiterNamespace('account-one-key', prefix), limiterNamespace('account-two-key', prefix));
  });

  it('records all or nothing under concurrent acquires from many clients', async (t) => {
    const { prefix, admin } = await testScope(t);
    const windows = [{ limit: 50, periodMs: 60_000 }];
    const clients = await Promise.all(Array.from({ length: 16 }, () => storeOf(t, prefix)));
    for (let i = 0; i < 40; i += 1) assert.ok((await clients[0]?.tryAcquire(['a'], windows, 0))?.ok);

    // Every call needs "b"; half also need "a", which has only 10 slots left.
    const calls = clients.flatMap((store, c) =>
      Array.from({ length: 12 }, (_, i) => {
        const keys = (c + i) % 2 === 0 ? ['a', 'b'] : ['b', 'c'];
        return store.tryAcquire(keys, windows, 0).then((r) => ({ keys, ok: r.ok }));
      }),
    );
    const results = await Promise.all(calls);
    const granted = (first: string) => results.filter((r) => r.ok && r.keys[0] === first).length;
    const log = (key: string) => admin.zcard(`${limiterNamespace(API_KEY, prefix)}log:${key}:60000`);
    assert.equal(granted('a') + granted('b'), 50, 'exactly the budget of "b" was granted');
    assert.ok(granted('a') <= 10);
    assert.equal(await log('b'), 50);
    assert.equal(await log('a'), 40 + granted('a'), 'every grant recorded on "a", and no refusal');
    assert.equal(await log('c'), granted('b'), 'every grant recorded on "c", and no refusal');
  });

  it('shares one budget between two processes: no window ever holds more than its limit', async (t) => {
    const { prefix } = await testScope(t);
    const windows = [
      { limit: 10, periodMs: 1_000 },
      { limit: 15, periodMs: 2_000 },
    ];
    const args = ['hammer', REDIS_URL, API_KEY, prefix, JSON.stringify(windows), '2500'];
    const workers = [child(t, args), child(t, args)];
    for (const w of workers) assert.equal((await w.next<{ event: string }>()).event, 'ready');
    for (const w of workers) w.child.stdin.write('go\n');
    const reports = await Promise.all(workers.map((w) => w.next<{ grants: [number, number][] }>()));
    const grants = reports.flatMap((r) => r.grants);

    // 10 at once, 5 more a second later, 10 more when the first ten leave the two-second window.
    assert.ok(grants.length >= 20, `only ${grants.length} grants in 2.5 s`);
    for (const window of windows) assert.deepEqual(overspent(grants, window), []);
  });

  it('lets a 429 block set by one process hold back the others', async (t) => {
    const { prefix } = await testScope(t);
    const blocker = child(t, ['block', REDIS_URL, API_KEY, prefix, 'order-submit', '60000']);
    assert.equal((await blocker.next<{ event: string }>()).event, 'blocked');

    const store = await storeOf(t, prefix);
    const limiter = new RateLimiter({ windows: { 'order-submit': [], balances: [] }, store });
    await assert.rejects(
      limiter.acquire('order-submit', { deadlineAt: Date.now() + 1_000, operation: 'POST /api/v1/order' }),
      (error: unknown) => {
        assert.ok(isExchangeError(error, 'not-sent'));
        assert.ok((error.retryAfterMs ?? 0) > 55_000, `retry after ${error.retryAfterMs} ms`);
        return true;
      },
    );
    await limiter.acquire('balances', { deadlineAt: Date.now() + 1_000, operation: 'GET balances' });
  });

  it('names the server it could not reach, and never the password', async () => {
    const secret = 'hunter2-sekret';
    await assert.rejects(
      connectRedisLimiterStore({ url: `redis://:${secret}@127.0.0.1:1`, apiKey: API_KEY }),
      (error: unknown) => {
        assert.ok(error instanceof Error);
        assert.match(error.message, /could not connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
        assert.ok(!error.message.includes(secret), error.message);
        return true;
      },
    );
  });
});
