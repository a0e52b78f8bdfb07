import type {
  AcquireClaim,
  AcquireResult,
  LimiterStore,
  Pool,
  RateWindow,
  WindowUsage,
} from './rate-limiter.ts';

// The one admission rule of every limiter store that runs in JavaScript (in memory, SQLite); the
// Redis store runs the same rule as a Lua script (redis-limiter-store.ts). Kept together so that
// the two spell out the same steps.
//
// Sliding logs rather than fixed windows: BTCTurk counts in fixed windows whose anchoring we cannot
// see, and only "never more than N in any period-long span" stays under N in every one of them.
//
// Priorities: a request that finds no slot registers itself as a waiter, at its priority, on every
// pool it lacks a slot in. While a live registration of priority p is on a pool, no request of a
// lower priority (a higher number) is admitted to that pool, in this process or any other sharing
// the store: the check and the admission are one atomic step. A waiter renews its registration on
// every refused attempt and drops it when admitted or when it gives up; one that dies without
// dropping it holds lower priorities back for at most its wait plus WAITER_GRACE_MS.

/** How much later than a higher-priority waiter's turn a request that deferred to it tries again. */
export const DEFER_MS = 25;
/** How long a registration outlives its owner's announced wait: covers a late wake-up. */
export const WAITER_GRACE_MS = 2_000;
/** Priorities run from 0 (first) to PRIORITY_LEVELS - 1. */
export const PRIORITY_LEVELS = 3;

/** The operations the rule needs, run inside one atomic step (a transaction, or a single thread). */
export interface LogBackend {
  blockedUntil(key: string): number;
  /** Sets the block to `untilMs` unless it already ends later. */
  extendBlock(key: string, untilMs: number): void;
  /** Drops the log's entries at or before `at`. */
  trim(log: string, at: number): void;
  count(log: string): number;
  /** The log's `index`-th oldest entry (0-based). */
  entryAt(log: string, index: number): number;
  add(log: string, at: number): void;
  /** Drops expired registrations of (pool, priority) and answers how many remain. */
  liveWaiters(pool: string, priority: number, now: number): number;
  register(pool: string, priority: number, waiter: string, expiresAt: number): void;
  unregister(pool: string, priority: number, waiter: string): void;
}

/** A store's decision and the time it was made at, on the store's own clock (tests, benchmarks). */
export interface TimedDecision {
  readonly ok: boolean;
  readonly waitMs: number;
  readonly at: number;
}

/** What `tryAcquire` answers for a timed decision. */
export function acquireResultOf(decision: TimedDecision): AcquireResult {
  return decision.ok ? { ok: true } : { ok: false, waitMs: decision.waitMs };
}

export function logId(pool: string, window: RateWindow): string {
  return `${pool}|${window.periodMs}`;
}

export function clampPriority(priority: number | undefined): number {
  if (priority === undefined) return PRIORITY_LEVELS - 1;
  return Math.min(PRIORITY_LEVELS - 1, Math.max(0, Math.trunc(priority)));
}

/** Every pool a request draws from: its own keys (with `windows`) and the linked ones. */
export function poolsOf(
  keys: readonly string[],
  windows: readonly RateWindow[],
  claim?: AcquireClaim,
): Pool[] {
  return [...keys.map((key) => ({ key, windows })), ...(claim?.linked ?? [])];
}

export function decide(
  backend: LogBackend,
  keys: readonly string[],
  windows: readonly RateWindow[],
  now: number,
  claim?: AcquireClaim,
): AcquireResult {
  const priority = clampPriority(claim?.priority);
  const pools = poolsOf(keys, windows, claim);
  let waitMs = 0;
  let deferred = false;
  for (const key of keys) {
    const until = backend.blockedUntil(key);
    if (until > now) waitMs = Math.max(waitMs, until - now);
  }
  const lacking = new Set<string>();
  for (const pool of pools) {
    for (const window of pool.windows) {
      const log = logId(pool.key, window);
      backend.trim(log, now - window.periodMs);
      const count = backend.count(log);
      if (count >= window.limit) {
        // The entry whose expiry frees a slot: the limit-th most recent one.
        const freeing = backend.entryAt(log, count - window.limit);
        waitMs = Math.max(waitMs, freeing + window.periodMs - now);
        lacking.add(pool.key);
      }
    }
    for (let higher = 0; higher < priority; higher += 1) {
      if (backend.liveWaiters(pool.key, higher, now) > 0) {
        deferred = true;
        lacking.add(pool.key);
      }
    }
  }
  if (deferred) waitMs += DEFER_MS;
  const waiter = claim?.waiter;
  if (waitMs > 0) {
    if (waiter !== undefined)
      for (const pool of pools) {
        if (lacking.has(pool.key))
          backend.register(pool.key, priority, waiter, now + waitMs + WAITER_GRACE_MS);
        else backend.unregister(pool.key, priority, waiter);
      }
    return { ok: false, waitMs: Math.ceil(waitMs) };
  }
  for (const pool of pools) {
    for (const window of pool.windows) backend.add(logId(pool.key, window), now);
    if (waiter !== undefined) backend.unregister(pool.key, priority, waiter);
  }
  return { ok: true };
}

export function usageOf(
  backend: LogBackend,
  key: string,
  windows: readonly RateWindow[],
  now: number,
): WindowUsage {
  return {
    used: windows.map((window) => {
      const log = logId(key, window);
      backend.trim(log, now - window.periodMs);
      return backend.count(log);
    }),
    blockedForMs: Math.max(0, backend.blockedUntil(key) - now),
  };
}

/** The counters of one process: enough for one process, and the reference for the shared stores. */
export class InMemoryLimiterStore implements LimiterStore {
  readonly #logs = new Map<string, number[]>();
  readonly #blocks = new Map<string, number>();
  // pool|priority → waiter → expiresAt
  readonly #waiters = new Map<string, Map<string, number>>();

  readonly #backend: LogBackend = {
    blockedUntil: (key) => this.#blocks.get(key) ?? 0,
    extendBlock: (key, untilMs) => {
      if (untilMs > (this.#blocks.get(key) ?? 0)) this.#blocks.set(key, untilMs);
    },
    trim: (log, at) => {
      const entries = this.#logs.get(log);
      if (!entries) return;
      let expired = 0;
      while (expired < entries.length && (entries[expired] ?? 0) <= at) expired += 1;
      if (expired > 0) entries.splice(0, expired);
    },
    count: (log) => this.#logs.get(log)?.length ?? 0,
    entryAt: (log, index) => this.#logs.get(log)?.[index] ?? 0,
    add: (log, at) => {
      const entries = this.#logs.get(log);
      if (entries) entries.push(at);
      else this.#logs.set(log, [at]);
    },
    liveWaiters: (pool, priority, now) => {
      const waiters = this.#waiters.get(`${pool}|${priority}`);
      if (!waiters) return 0;
      for (const [waiter, expiresAt] of waiters) if (expiresAt <= now) waiters.delete(waiter);
      return waiters.size;
    },
    register: (pool, priority, waiter, expiresAt) => {
      const id = `${pool}|${priority}`;
      const waiters = this.#waiters.get(id) ?? new Map<string, number>();
      waiters.set(waiter, expiresAt);
      this.#waiters.set(id, waiters);
    },
    unregister: (pool, priority, waiter) => {
      this.#waiters.get(`${pool}|${priority}`)?.delete(waiter);
    },
  };

  tryAcquire(
    keys: readonly string[],
    windows: readonly RateWindow[],
    now: number,
    claim?: AcquireClaim,
  ): Promise<AcquireResult> {
    return Promise.resolve(decide(this.#backend, keys, windows, now, claim));
  }

  withdraw(waiter: string, pools: readonly string[], priority: number): Promise<void> {
    for (const pool of pools) this.#backend.unregister(pool, clampPriority(priority), waiter);
    return Promise.resolve();
  }

  block(key: string, untilMs: number): Promise<void> {
    this.#backend.extendBlock(key, untilMs);
    return Promise.resolve();
  }

  usage(key: string, windows: readonly RateWindow[], now: number): Promise<WindowUsage> {
    return Promise.resolve(usageOf(this.#backend, key, windows, now));
  }
}
