import type { Clock } from '../../domain/clock.ts';
import { systemClock } from '../../domain/clock.ts';
import { ExchangeError } from '../../domain/errors.ts';

/** At most `limit` requests in any `periodMs`-long span. */
export interface RateWindow {
  readonly limit: number;
  readonly periodMs: number;
}

export type AcquireResult = { readonly ok: true } | { readonly ok: false; readonly waitMs: number };

/**
 * Where the limiter's counters live. Every call is atomic on its own, so a shared implementation
 * (Redis) lets several processes on one API key draw from one budget, as BTCTurk counts them.
 */
export interface LimiterStore {
  /**
   * Takes one unit from every window of every key, or nothing: when a key is blocked or a window is
   * full, answers how long to wait before asking again.
   */
  tryAcquire(keys: readonly string[], windows: readonly RateWindow[], now: number): Promise<AcquireResult>;
  /** Refuses every acquire on `key` until `untilMs` (a 429's Retry-After). Never shortens a block. */
  block(key: string, untilMs: number): Promise<void>;
  /**
   * How much of each window of `key` is taken now, and how long a block still holds it: read only,
   * for diagnosis (`btcbot doctor`). Optional so that a store without it still limits.
   */
  usage?(key: string, windows: readonly RateWindow[], now: number): Promise<WindowUsage>;
}

/** A group's use of its windows at one moment: `used[i]` of `windows[i].limit`. */
export interface WindowUsage {
  readonly used: readonly number[];
  readonly blockedForMs: number;
}

/** One endpoint group's remaining budget (`RateLimiter.headroom`). */
export interface GroupHeadroom {
  readonly group: string;
  readonly windows: readonly (RateWindow & { readonly used: number })[];
  /** A 429's Retry-After still in force, ms; 0 when none. */
  readonly blockedForMs: number;
}

/**
 * Sliding logs rather than fixed windows: BTCTurk counts in fixed windows whose alignment we cannot
 * see, and only "never more than N in any period-long span" stays under N in every one of them.
 */
export class InMemoryLimiterStore implements LimiterStore {
  readonly #logs = new Map<string, number[]>();
  readonly #blocks = new Map<string, number>();

  tryAcquire(keys: readonly string[], windows: readonly RateWindow[], now: number): Promise<AcquireResult> {
    let waitMs = 0;
    for (const key of keys) {
      const blockedUntil = this.#blocks.get(key);
      if (blockedUntil !== undefined) {
        if (blockedUntil > now) waitMs = Math.max(waitMs, blockedUntil - now);
        else this.#blocks.delete(key);
      }
      for (const window of windows) {
        const log = this.#log(key, window, now);
        if (log.length >= window.limit) {
          // The entry whose expiry frees a slot: the limit-th most recent one.
          const freeing = log[log.length - window.limit] ?? now;
          waitMs = Math.max(waitMs, freeing + window.periodMs - now);
        }
      }
    }
    if (waitMs > 0) return Promise.resolve({ ok: false, waitMs });
    for (const key of keys) for (const window of windows) this.#log(key, window, now).push(now);
    return Promise.resolve({ ok: true });
  }

  block(key: string, untilMs: number): Promise<void> {
    const current = this.#blocks.get(key) ?? 0;
    if (untilMs > current) this.#blocks.set(key, untilMs);
    return Promise.resolve();
  }

  usage(key: string, windows: readonly RateWindow[], now: number): Promise<WindowUsage> {
    const blockedUntil = this.#blocks.get(key) ?? 0;
    return Promise.resolve({
      used: windows.map((window) => this.#log(key, window, now).length),
      blockedForMs: Math.max(0, blockedUntil - now),
    });
  }

  #log(key: string, window: RateWindow, now: number): number[] {
    const id = `${key}|${window.periodMs}`;
    let log = this.#logs.get(id);
    if (!log) {
      log = [];
      this.#logs.set(id, log);
    }
    let expired = 0;
    while (expired < log.length && (log[expired] ?? 0) <= now - window.periodMs) expired += 1;
    if (expired > 0) log.splice(0, expired);
    return log;
  }
}

interface Waiter {
  readonly deadlineAt: number;
  readonly operation: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface RateLimiterOptions {
  /** Windows per endpoint group; a group with no windows is only subject to 429 blocks. */
  readonly windows: Readonly<Record<string, readonly RateWindow[]>>;
  readonly store?: LimiterStore | undefined;
  readonly clock?: Clock | undefined;
}

/**
 * Gates every request before it is sent. Waiters of one endpoint group go strictly first come,
 * first served; groups are independent, so a cancel never queues behind submits waiting for the
 * order-submit window.
 */
export class RateLimiter {
  readonly #windows: Readonly<Record<string, readonly RateWindow[]>>;
  readonly #store: LimiterStore;
  readonly #clock: Clock;
  readonly #queues = new Map<string, Waiter[]>();

  constructor(options: RateLimiterOptions) {
    this.#windows = options.windows;
    this.#store = options.store ?? new InMemoryLimiterStore();
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Resolves when a request of `group` may be sent. Fails with a `not-sent` ExchangeError (carrying
   * `retryAfterMs`) as soon as it is clear that no slot comes before `deadlineAt`.
   */
  acquire(
    group: string,
    request: { readonly deadlineAt: number; readonly operation: string },
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let queue = this.#queues.get(group);
      const idle = queue === undefined;
      if (!queue) {
        queue = [];
        this.#queues.set(group, queue);
      }
      queue.push({ ...request, resolve, reject });
      if (idle) void this.#pump(group, queue);
    });
  }

  /**
   * The remaining budget of every group that has windows, as the store counts it (with a shared
   * store: every process on the key). Null when the store cannot tell.
   */
  async headroom(): Promise<GroupHeadroom[] | null> {
    const store = this.#store;
    if (store.usage === undefined) return null;
    const now = this.#clock.now();
    const out: GroupHeadroom[] = [];
    for (const [group, windows] of Object.entries(this.#windows)) {
      if (windows.length === 0) continue;
      const { used, blockedForMs } = await store.usage(group, windows, now);
      out.push({ group, windows: windows.map((w, i) => ({ ...w, used: used[i] ?? 0 })), blockedForMs });
    }
    return out;
  }

  /** Pauses `group` until `untilMs`, in full: a capped Retry-After only earns more 429s. */
  block(group: string, untilMs: number): Promise<void> {
    return this.#store.block(group, untilMs);
  }

  // One pump per busy group: only the head of the queue asks the store, the others wait their turn.
  async #pump(group: string, queue: Waiter[]): Promise<void> {
    const windows = this.#windows[group] ?? [];
    try {
      for (let head = queue[0]; head !== undefined; head = queue[0]) {
        const now = this.#clock.now();
        const result = await this.#store.tryAcquire([group], windows, now);
        if (result.ok) {
          queue.shift();
          head.resolve();
          continue;
        }
        // Nobody behind the head can go before it, so a waiter whose deadline comes before the
        // head's slot can be told now instead of holding its caller until the deadline.
        const slotAt = now + result.waitMs;
        for (const waiter of queue.filter((w) => w.deadlineAt < slotAt)) {
          queue.splice(queue.indexOf(waiter), 1);
          waiter.reject(
            new ExchangeError(
              'not-sent',
              `${waiter.operation} not sent: the rate limit of endpoint group "${group}" has no free slot for ` +
                `${result.waitMs} ms, past this call's deadline; try again later`,
              { operation: waiter.operation, retryAfterMs: result.waitMs },
            ),
          );
        }
        if (queue.length > 0) await this.#clock.sleep(result.waitMs);
      }
    } catch (error) {
      for (const waiter of queue.splice(0)) {
        waiter.reject(
          new ExchangeError('not-sent', `${waiter.operation} not sent: the rate-limit store failed`, {
            operation: waiter.operation,
            cause: error,
          }),
        );
      }
    } finally {
      this.#queues.delete(group);
    }
  }
}
