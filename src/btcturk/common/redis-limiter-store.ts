import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Clock } from '../../domain/clock.ts';
import { systemClock } from '../../domain/clock.ts';
import { ConfigError } from '../../domain/errors.ts';
import {
  acquireResultOf,
  clampPriority,
  DEFER_MS,
  poolsOf,
  PRIORITY_LEVELS,
  WAITER_GRACE_MS,
  type TimedDecision,
} from './limiter-log.ts';
import type { AcquireClaim, AcquireResult, LimiterStore, RateWindow, WindowUsage } from './rate-limiter.ts';

// The limiter's counters in Redis, so that every process trading on one API key draws from one
// budget, as BTCTurk counts it. Each operation is one Lua script: Redis runs a script alone, so the
// check of every window of every key and the record that follows are one atomic step across all
// processes — two processes can never both take the last slot.
//
// Time comes from Redis (TIME), not from the caller: entries written by several processes are
// compared on one timeline. With callers' clocks, a process whose clock runs ahead would see the
// others' entries as already expired and overspend the window by as much as the skew.

export const DEFAULT_LIMITER_PREFIX = 'btcbot:ratelimit';

// Logs are sorted sets scored by Redis time in ms; members are made unique by a counter, since two
// grants may fall in the same millisecond. An entry at t occupies its window until t + period.
// The rule is the one of limiter-log.ts (`decide`), step for step: blocks, then each pool's windows
// and the waiters of higher priority on it; refused → register as a waiter on the pools lacking a
// slot; admitted → one entry in every window of every pool, and the registration dropped.
// Waiters are sorted sets per pool and priority, member the waiter's name, score its expiry.
// KEYS: the counter, the block keys, then per pool its window logs and its PRIORITY_LEVELS waiter
// sets. ARGV: priority, waiter ('' none), block count, pool count, defer ms, grace ms, levels, then
// per pool its window count and each window's limit and period.
// Returns { wait ms (0: admitted), Redis time }.
const ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local priority = tonumber(ARGV[1])
local waiter = ARGV[2]
local nblocks = tonumber(ARGV[3])
local npools = tonumber(ARGV[4])
local deferMs = tonumber(ARGV[5])
local grace = tonumber(ARGV[6])
local levels = tonumber(ARGV[7])
local wait = 0
local deferred = false
local k = 2
for b = 1, nblocks do
  local blocked = tonumber(redis.call('GET', KEYS[k]) or '0')
  if blocked > now then wait = math.max(wait, blocked - now) end
  k = k + 1
end
local a = 8
local pools = {}
for p = 1, npools do
  local nw = tonumber(ARGV[a])
  a = a + 1
  local pool = { logs = {}, periods = {}, waiters = {}, lacks = false }
  for w = 1, nw do
    local limit = tonumber(ARGV[a])
    local period = tonumber(ARGV[a + 1])
    a = a + 2
    local log = KEYS[k]
    k = k + 1
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - period)
    local count = redis.call('ZCARD', log)
    if count >= limit then
      -- the entry whose expiry frees a slot: the limit-th most recent one
      local freeing = redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')
      wait = math.max(wait, tonumber(freeing[2] or now) + period - now)
      pool.lacks = true
    end
    pool.logs[w] = log
    pool.periods[w] = period
  end
  for level = 0, levels - 1 do
    local key = KEYS[k]
    k = k + 1
    pool.waiters[level] = key
    if level < priority then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
      if redis.call('ZCARD', key) > 0 then
        deferred = true
        pool.lacks = true
      end
    end
  end
  pools[p] = pool
end
if deferred then wait = wait + deferMs end
if wait > 0 then
  if waiter ~= '' then
    for _, pool in ipairs(pools) do
      local key = pool.waiters[priority]
      if pool.lacks then
        redis.call('ZADD', key, now + wait + grace, waiter)
        if redis.call('PTTL', key) < wait + grace then redis.call('PEXPIRE', key, wait + grace) end
      else
        redis.call('ZREM', key, waiter)
      end
    end
  end
  return { wait, now }
end
local member = now .. ':' .. redis.call('INCR', KEYS[1])
for _, pool in ipairs(pools) do
  for w, log in ipairs(pool.logs) do
    redis.call('ZADD', log, now, member)
    redis.call('PEXPIRE', log, pool.periods[w])
  end
  if waiter ~= '' then redis.call('ZREM', pool.waiters[priority], waiter) end
end
return { 0, now }
`;

// KEYS: waiter sets. ARGV[1]: the waiter.
const WITHDRAW_SCRIPT = `
for _, key in ipairs(KEYS) do redis.call('ZREM', key, ARGV[1]) end
return 0
`;

// KEYS[1]: the block key. ARGV[1]: how long to block, in ms. Never shortens a block in place.
const BLOCK_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local untilMs = now + ms
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilMs > current then redis.call('SET', KEYS[1], untilMs, 'PX', ms) end
return 0
`;

// Read only (`btcbot doctor`): on Redis's clock like the others. KEYS[1]: the block key, then one log
// key per window; ARGV: each window's period. Returns the block's remaining ms, then each count.
const USAGE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[1]) or '0')
local out = { math.max(0, blocked - now) }
for w = 1, #ARGV do
  out[w + 1] = redis.call('ZCOUNT', KEYS[w + 1], '(' .. (now - tonumber(ARGV[w])), '+inf')
end
return out
`;

interface LimiterCommands {
  btcbotLimiterAcquire(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<[number, number]>;
  btcbotLimiterWithdraw(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  btcbotLimiterBlock(block: string, ms: number): Promise<number>;
  btcbotLimiterUsage(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
}

/**
 * The key prefix of one account: the API key enters only as a hash, so two accounts never share a
 * budget and the key itself never reaches Redis. The hash sits in braces, a Redis Cluster hash tag:
 * all keys of one account live in one slot, as one script must see them.
 */
export function limiterNamespace(apiKey: string, prefix = DEFAULT_LIMITER_PREFIX): string {
  if (apiKey.length === 0)
    throw new ConfigError('BTCTURK_API_KEY', 'is empty; the shared rate limit is counted per API key');
  if (prefix.length === 0 || /[{}\s]/.test(prefix))
    throw new ConfigError(
      'rate-limit key prefix',
      `${JSON.stringify(prefix)} must be non-empty without braces or whitespace (braces would break the hash tag)`,
    );
  const account = createHash('sha256').update(apiKey).digest('hex').slice(0, 16);
  return `${prefix}:{${account}}:`;
}

export interface RedisLimiterStoreOptions {
  /** Every key this store writes begins with it; see `limiterNamespace`. */
  readonly namespace: string;
  /** Turns a block's absolute end (on the limiter's clock) into a duration. */
  readonly clock?: Clock | undefined;
}

/** A LimiterStore shared by every process that uses the same Redis and namespace. */
export class RedisLimiterStore implements LimiterStore {
  readonly #redis: Redis & LimiterCommands;
  readonly #namespace: string;
  readonly #clock: Clock;

  /** Takes over `redis`: `close` ends that connection. */
  constructor(redis: Redis, options: RedisLimiterStoreOptions) {
    redis.defineCommand('btcbotLimiterAcquire', { lua: ACQUIRE_SCRIPT });
    redis.defineCommand('btcbotLimiterWithdraw', { lua: WITHDRAW_SCRIPT });
    redis.defineCommand('btcbotLimiterBlock', { lua: BLOCK_SCRIPT, numberOfKeys: 1 });
    redis.defineCommand('btcbotLimiterUsage', { lua: USAGE_SCRIPT });
    this.#redis = redis as Redis & LimiterCommands;
    this.#namespace = options.namespace;
    this.#clock = options.clock ?? systemClock;
  }

  /** `now` is not used: the script reads Redis's clock, the one all processes share. */
  async tryAcquire(
    keys: readonly string[],
    windows: readonly RateWindow[],
    _now: number,
    claim?: AcquireClaim,
  ): Promise<AcquireResult> {
    return acquireResultOf(await this.acquireAt(keys, windows, claim));
  }

  /** As `tryAcquire`, also answering the Redis time of the decision (tests, benchmarks). */
  async acquireAt(
    keys: readonly string[],
    windows: readonly RateWindow[],
    claim?: AcquireClaim,
  ): Promise<TimedDecision> {
    const pools = poolsOf(keys, windows, claim);
    if (pools.length === 0) return { ok: true, waitMs: 0, at: this.#clock.now() };
    const priority = clampPriority(claim?.priority);
    const redisKeys = [`${this.#namespace}seq`, ...keys.map((key) => this.#blockKey(key))];
    const args: (string | number)[] = [
      priority,
      claim?.waiter ?? '',
      keys.length,
      pools.length,
      DEFER_MS,
      WAITER_GRACE_MS,
      PRIORITY_LEVELS,
    ];
    for (const pool of pools) {
      redisKeys.push(...pool.windows.map((w) => this.#logKey(pool.key, w)));
      for (let level = 0; level < PRIORITY_LEVELS; level += 1) redisKeys.push(this.#waitKey(pool.key, level));
      args.push(pool.windows.length, ...pool.windows.flatMap((w) => [w.limit, w.periodMs]));
    }
    const [waitMs, at] = await this.#redis.btcbotLimiterAcquire(redisKeys.length, ...redisKeys, ...args);
    return { ok: waitMs <= 0, waitMs: Math.max(0, waitMs), at };
  }

  async withdraw(waiter: string, pools: readonly string[], priority: number): Promise<void> {
    if (pools.length === 0) return;
    const keys = pools.map((pool) => this.#waitKey(pool, clampPriority(priority)));
    await this.#redis.btcbotLimiterWithdraw(keys.length, ...keys, waiter);
  }

  async block(key: string, untilMs: number): Promise<void> {
    const ms = Math.ceil(untilMs - this.#clock.now());
    if (ms <= 0) return;
    await this.#redis.btcbotLimiterBlock(this.#blockKey(key), ms);
  }

  async usage(key: string, windows: readonly RateWindow[], _now: number): Promise<WindowUsage> {
    const keys = [this.#blockKey(key), ...windows.map((w) => this.#logKey(key, w))];
    const [blockedForMs = 0, ...used] = await this.#redis.btcbotLimiterUsage(
      keys.length,
      ...keys,
      ...windows.map((w) => w.periodMs),
    );
    return { used, blockedForMs };
  }

  async close(): Promise<void> {
    if (this.#redis.status === 'end') return;
    await this.#redis.quit();
  }

  #blockKey(key: string): string {
    return `${this.#namespace}block:${key}`;
  }

  #waitKey(pool: string, priority: number): string {
    return `${this.#namespace}wait:${pool}:${priority}`;
  }

  #logKey(key: string, window: RateWindow): string {
    return `${this.#namespace}log:${key}:${window.periodMs}`;
  }
}

export interface RedisLimiterConnectOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** The REST API key whose budget is shared; only its hash is used. */
  readonly apiKey: string;
  readonly prefix?: string | undefined;
  readonly clock?: Clock | undefined;
  /** A Redis call slower than this fails the waiting requests as not sent. Default 2 s. */
  readonly commandTimeoutMs?: number | undefined;
}

/** A connection URL fit for a message: its password replaced. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

/**
 * Connects to Redis and answers the shared store, or fails naming the server. Fails closed: when
 * Redis cannot answer within the command timeout, the limiter refuses its waiters as not sent
 * rather than sending requests nobody has counted.
 */
export async function connectRedisLimiterStore(
  options: RedisLimiterConnectOptions,
): Promise<RedisLimiterStore> {
  const namespace = limiterNamespace(options.apiKey, options.prefix);
  const where = withoutPassword(options.url);
  const redis = new Redis(options.url, {
    lazyConnect: true,
    connectTimeout: 5_000,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    maxRetriesPerRequest: 1,
  });
  // Without a listener ioredis reports every reconnect failure on stderr; the calls that fail say it.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(
      `could not connect to Redis at ${where} for the shared rate limit: ${detail}. ` +
        'Start Redis there, or correct its URL.',
      { cause: error },
    );
  }
  return new RedisLimiterStore(redis, { namespace, clock: options.clock });
}
