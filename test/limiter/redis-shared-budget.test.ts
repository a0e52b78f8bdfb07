import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RateLimiter,
  type AcquireClaim,
  type AcquireResult,
  type LimiterStore,
  type RateLimiterOptions,
  type RateWindow,
} from '../../src/btcturk/common/rate-limiter.ts';
import {
  connectRedisLimiterStore,
  type RedisLimiterStore,
} from '../../src/btcturk/common/redis-limiter-store.ts';
import { keysUnder, REDIS_URL, redisSkip, testScope } from '../redis/helpers.ts';
import { overspentWindows, seeded, testSeed } from './helpers.ts';

// Three limiter instances, each with its own Redis connection as separate processes would have,
// drawing from one budget: no sliding span of any pool ever holds more than its limit, the
// higher priority gets the next slot, and a block set by one holds back the others.

const skip = await redisSkip();
const API_KEY = 'limiter-test-key-91c2';

/** Records the Redis time of every grant: the one timeline all instances share. */
class RecordingStore implements LimiterStore {
  readonly grants: { group: string; at: number }[] = [];
  constructor(readonly inner: RedisLimiterStore) {}
  async tryAcquire(
    keys: readonly string[],
    windows: readonly RateWindow[],
    _now: number,
    claim?: AcquireClaim,
  ): Promise<AcquireResult> {
    const result = await this.inner.acquireAt(keys, windows, claim);
    if (!result.ok) return { ok: false, waitMs: result.waitMs };
    this.grants.push({ group: keys[0] ?? '', at: result.at });
    return { ok: true };
  }
  withdraw(waiter: string, pools: readonly string[], priority: number) {
    return this.inner.withdraw(waiter, pools, priority);
  }
  block(key: string, untilMs: number) {
    return this.inner.block(key, untilMs);
  }
}

async function instances(t: TestContext, n: number, options: Omit<RateLimiterOptions, 'store'>) {
  const { prefix, admin } = await testScope(t);
  const out: { limiter: RateLimiter; store: RecordingStore }[] = [];
  for (let i = 0; i < n; i += 1) {
    const inner = await connectRedisLimiterStore({ url: REDIS_URL, apiKey: API_KEY, prefix });
    t.after(() => inner.close());
    const store = new RecordingStore(inner);
    out.push({ limiter: new RateLimiter({ ...options, store }), store });
  }
  return { prefix, admin, out };
}

const OWN: Record<string, RateWindow[]> = {
  cancel: [{ limit: 4, periodMs: 200 }],
  submit: [{ limit: 4, periodMs: 200 }],
  read: [{ limit: 6, periodMs: 200 }],
};
const ORDER_POOL: RateWindow[] = [
  { limit: 5, periodMs: 200 },
  { limit: 20, periodMs: 1_000 },
];

describe('shared budget in Redis: three limiter instances', { skip }, () => {
  it('no sliding span of any pool holds more than its limit (seeded demand)', async (t) => {
    const seed = testSeed(20261203);
    t.diagnostic(`seed ${seed} (BTCBOT_TEST_SEED to replay)`);
    const random = seeded(seed);
    const { out } = await instances(t, 3, {
      windows: OWN,
      shared: { order: { windows: ORDER_POOL, groups: ['cancel', 'submit'] } },
      priorities: { cancel: 0, submit: 1, read: 2 },
    });
    const groups = ['cancel', 'submit', 'read'];
    const pending: Promise<void>[] = [];
    // Each instance asks 45 times at random moments within ~1 s: well above every limit.
    const demand = out.map(async ({ limiter }) => {
      for (let i = 0; i < 45; i += 1) {
        const group = groups[Math.floor(random() * groups.length)] ?? 'read';
        pending.push(limiter.acquire(group, { deadlineAt: Number.MAX_SAFE_INTEGER, operation: group }));
        await sleep(Math.floor(random() * 40));
      }
    });
    await Promise.all(demand);
    await Promise.all(pending);
    const grants = out.flatMap(({ store }) => store.grants);
    assert.equal(grants.length, 135, 'every request was granted in the end');
    const problems = [
      ...groups.flatMap((g) =>
        overspentWindows(
          grants.filter((x) => x.group === g).map((x) => x.at),
          OWN[g] ?? [],
        ).map((p) => `${g}: ${p}`),
      ),
      ...overspentWindows(
        grants.filter((x) => x.group !== 'read').map((x) => x.at),
        ORDER_POOL,
      ).map((p) => `order pool: ${p}`),
    ];
    assert.deepEqual(problems, []);
    // The check can fail: the same grants against a tighter limit are overspent.
    assert.notDeepEqual(
      overspentWindows(
        grants.filter((x) => x.group !== 'read').map((x) => x.at),
        [{ limit: 4, periodMs: 200 }],
      ),
      [],
    );
  });

  it('gives the next slot to a cancel, then a new order, then a read, whichever instance asks first', async (t) => {
    const pool = [{ limit: 1, periodMs: 1_500 }];
    const { out, admin, prefix } = await instances(t, 4, {
      windows: { cancel: [], submit: [], read: [] },
      shared: { order: { windows: pool, groups: ['cancel', 'submit', 'read'] } },
      priorities: { cancel: 0, submit: 1, read: 2 },
    });
    const [filler, reader, submitter, canceller] = out;
    assert.ok(filler && reader && submitter && canceller);
    const far = { deadlineAt: Number.MAX_SAFE_INTEGER };
    await filler.limiter.acquire('read', { ...far, operation: 'fill' });
    const order: string[] = [];
    const waitRegistered = async (n: number) => {
      for (
        let i = 0;
        i < 200 && (await keysUnder(admin, prefix)).filter((k) => k.includes(':wait:')).length < n;
        i += 1
      )
        await sleep(5);
    };
    // Lowest priority first: each is waiting (registered in Redis) before the next asks.
    const read = reader.limiter.acquire('read', { ...far, operation: 'read' }).then(() => order.push('read'));
    await waitRegistered(1);
    const submit = submitter.limiter
      .acquire('submit', { ...far, operation: 'submit' })
      .then(() => order.push('submit'));
    await waitRegistered(2);
    const cancel = canceller.limiter
      .acquire('cancel', { ...far, operation: 'cancel' })
      .then(() => order.push('cancel'));
    await waitRegistered(3);
    await Promise.all([read, submit, cancel]);
    assert.deepEqual(order, ['cancel', 'submit', 'read']);
  });

  it('a 429 block set through one instance holds back the group in the others, for its whole length', async (t) => {
    const { out, admin } = await instances(t, 3, { windows: { submit: [{ limit: 100, periodMs: 1_000 }] } });
    const [first, second, third] = out;
    assert.ok(first && second && third);
    const [seconds, micros] = await admin.time();
    const blockedAt = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await first.limiter.block('submit', Date.now() + 1_200);
    const far = { deadlineAt: Number.MAX_SAFE_INTEGER };
    await Promise.all([
      second.limiter.acquire('submit', { ...far, operation: 'submit' }),
      third.limiter.acquire('submit', { ...far, operation: 'submit' }),
    ]);
    for (const { store } of [second, third])
      for (const grant of store.grants)
        assert.ok(
          grant.at >= blockedAt + 1_200 - 5,
          `granted at ${grant.at}, blocked from ${blockedAt} for 1200 ms`,
        );
    // A caller whose deadline falls inside the block hears it at once, as not sent.
    await first.limiter.block('submit', Date.now() + 5_000);
    await assert.rejects(
      second.limiter.acquire('submit', { deadlineAt: Date.now() + 1_000, operation: 'submit' }),
      /no free slot/,
    );
  });
});
