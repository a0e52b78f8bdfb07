import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';

// Where the Redis tests find their server, and a key prefix per test. A missing server skips the
// tests with the reason, except under CI, where they run and fail.

export const REDIS_URL = process.env.BTCBOT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A client that fails at once instead of retrying: for probes and test bookkeeping. */
export function plainClient(): Redis {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  return redis;
}

export async function redisSkip(): Promise<string | false> {
  const redis = plainClient();
  try {
    await redis.connect();
    await redis.ping();
    return false;
  } catch {
    if (process.env.CI === 'true') return false;
    return (
      `Redis not reachable at ${REDIS_URL}: start one (e.g. \`redis-server --port 6379\` or ` +
      '`docker run -p 6379:6379 redis`), or set BTCBOT_TEST_REDIS_URL'
    );
  } finally {
    redis.disconnect();
  }
}

let sequence = 0;

/** A key prefix no other test (in this process or another) uses. */
export function testPrefix(): string {
  sequence += 1;
  return `btcbot-test:${process.pid}:${sequence}:${randomBytes(4).toString('hex')}`;
}

/** Every key under `prefix`. */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function deleteUnder(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  if (keys.length > 0) await redis.del(...keys);
}

/** A prefix of the test's own, whose keys are deleted afterwards, and a client to inspect them. */
export async function testScope(t: TestContext): Promise<{ prefix: string; admin: Redis }> {
  const prefix = testPrefix();
  const admin = plainClient();
  await admin.connect();
  t.after(async () => {
    await deleteUnder(admin, prefix);
    admin.disconnect();
  });
  return { prefix, admin };
}
