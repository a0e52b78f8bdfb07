import { randomBytes } from 'node:crypto';
import type { Clock } from '../../domain/clock.ts';
import { systemClock } from '../../domain/clock.ts';
import { ExchangeError } from '../../domain/errors.ts';
import { clampPriority, InMemoryLimiterStore, PRIORITY_LEVELS } from './limiter-log.ts';

export { InMemoryLimiterStore, PRIORITY_LEVELS } from './limiter-log.ts';

/** At most `limit` requests in any `periodMs`-long span. */
export interface RateWindow {
  readonly limit: number;
  readonly periodMs: number;
}

/** One budget: a key and its windows. A request may draw from several (BTCTurk's paired limits). */
export interface Pool {
  readonly key: string;
  readonly windows: readonly RateWindow[];
}

/** What a request is, beyond the keys it draws from. */
export interface AcquireClaim {
  /** Further pools it draws from, each with its own windows; all are taken or none. */
  readonly linked?: readonly Pool[];
  /** 0 goes first. A request defers to a registered waiter of a lower number on any of its pools. */
  readonly priority?: number;
  /** Who asks: a refused request is registered under this name on the pools it waits for. */
  readonly waiter?: string;
}

export type AcquireResult = { readonly ok: true } | { readonly ok: false; readonly waitMs: number };

/**
 * Where the limiter's counters live. Every call is atomic on its own, so a shared implementation
 * (Redis, or SQLite for processes on one machine) lets several processes on one API key draw from
 * one budget, as BTCTurk counts them.
 */
export interface LimiterStore {
  /**
   * Takes one unit from every window of every key and of every linked pool, or nothing: when a key
   * is blocked, a window is full or a higher-priority request waits for one of these pools, answers
   * how long to wait before asking again.
   */
  tryAcquire(
    keys: readonly string[],
    windows: readonly RateWindow[],
    now: number,
    claim?: AcquireClaim,
  ): Promise<AcquireResult>;
  /** Drops `waiter`'s registrations on `pools` at `priority`: it stopped waiting. */
  withdraw?(waiter: string, pools: readonly string[], priority: number): Promise<void>;
  /** Refuses every acquire on `key` until `untilMs` (a 429's Retry-After). Never shortens a block. */
  block(key: string, untilMs: number): Promise<void>;
  /**
   * How much of each window of `key` is taken now, and how long a block still holds it: read only,
   * for diagnosis (`btcbot doctor`) and the headroom metric. Optional so that a store without it
   * still limits.
   */
  usage?(key: string, windows: readonly RateWindow[], now: number): Promise<WindowUsage>;
}

/** A group's use of its windows at one moment: `used[i]` of `windows[i].limit`. */
export interface WindowUsage {
  readonly used: readonly number[];
  readonly blockedForMs: number;
}

/** One endpoint group's (or shared pool's) remaining budget (`RateLimiter.headroom`). */
export interface GroupHeadroom {
  readonly group: string;
  readonly windows: readonly (RateWindow & { readonly used: number })[];
  /** A 429's Retry-After still in force, ms; 0 when none. */
  readonly blockedForMs: number;
}

/**
 * What the limiter tells an observer (the metrics): plain values, called synchronously, never
 * awaited. An observer that throws is ignored.
 */
export interface RateLimiterObserver {
  /** A request of `group` may go now, after waiting `waitedMs` for its slot. */
  granted?(event: { readonly group: string; readonly priority: number; readonly waitedMs: number }): void;
  /** A request of `group` was refused as not sent: no slot before its deadline, or the store failed. */
  refused?(event: { readonly group: string; readonly reason: 'deadline' | 'store' }): void;
  /** A 429 blocked `group` for `ms`, for every process sharing the store. */
  blocked?(event: { readonly group: string; readonly ms: number }): void;
}

/** A budget that several endpoint groups draw from together, besides their own windows. */
export interface SharedPool {
  readonly windows: readonly RateWindow[];
  readonly groups: readonly string[];
}

interface Waiter {
  readonly deadlineAt: number;
  readonly operation: string;
  readonly since: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface RateLimiterOptions {
  /** Windows per endpoint group; a group with no windows is only subject to 429 blocks. */
  readonly windows: Readonly<Record<string, readonly RateWindow[]>>;
  /** Budgets shared by several groups, by pool name (not a group's name). */
  readonly shared?: Readonly<Record<string, SharedPool>> | undefined;
  /** Priority per group, 0 first (cancels, then new orders, then reads); unlisted groups last. */
  readonly priorities?: Readonly<Record<string, number>> | undefined;
  /**
   * Each grant occupies its windows this much longer than the period: a request granted at t
   * reaches the exchange at t + latency, and latencies differ, so spacing grants by period + guard
   * keeps arrivals within the limit in every period-long span while the latencies vary by less than
   * the guard. Default 0.
   */
  readonly guardMs?: number | undefined;
  /**
   * A guard proportional to the period, where it is larger than `guardMs`: a long window can
   * afford a wider margin (2% of a minute is 1.2 s) for the rarer, longer delays of a busy host
   * between a grant and its request's arrival. Default 0.
   */
  readonly guardFraction?: number | undefined;
  readonly store?: LimiterStore | undefined;
  readonly clock?: Clock | undefined;
  readonly observer?: RateLimiterObserver | undefined;
}

/**
 * Gates every request before it is sent (reserve, then send: a slot taken is counted whether or not
 * the request goes). Waiters of one endpoint group go strictly first come, first served; groups are
 * independent unless they share a pool, where the store gives the next slot to the group of higher
 * priority, across processes too.
 */
export class RateLimiter {
  readonly #windows: Readonly<Record<string, readonly RateWindow[]>>;
  readonly #shared: Readonly<Record<string, SharedPool>>;
  readonly #priorities: Readonly<Record<string, number>>;
  readonly #guardMs: number;
  readonly #guardFraction: number;
  readonly #store: LimiterStore;
  readonly #clock: Clock;
  readonly #queues = new Map<string, Waiter[]>();
  // Names this process's waiters in a shared store: one per group, since only a group's head asks.
  readonly #id = randomBytes(6).toString('hex');
  #observer: RateLimiterObserver | undefined;

  constructor(options: RateLimiterOptions) {
    this.#windows = options.windows;
    this.#shared = options.shared ?? {};
    this.#priorities = options.priorities ?? {};
    this.#guardMs = options.guardMs ?? 0;
    this.#guardFraction = options.guardFraction ?? 0;
    if (!Number.isFinite(this.#guardMs) || this.#guardMs < 0)
      throw new RangeError(`rate limiter guardMs must be a non-negative number of ms, got ${this.#guardMs}`);
    if (!(this.#guardFraction >= 0 && this.#guardFraction < 1))
      throw new RangeError(
        `rate limiter guardFraction must be from 0 to below 1, got ${this.#guardFraction}`,
      );
    for (const name of Object.keys(this.#shared))
      if (name in this.#windows)
        throw new RangeError(`shared rate-limit pool "${name}" has the name of an endpoint group`);
    this.#store = options.store ?? new InMemoryLimiterStore();
    this.#clock = options.clock ?? systemClock;
    this.#observer = options.observer;
  }

  /** Sets (or with undefined, removes) the observer: the metrics attach after construction. */
  observe(observer: RateLimiterObserver | undefined): void {
    this.#observer = observer;
  }

  /** The priority of `group`: 0 first. */
  priorityOf(group: string): number {
    return clampPriority(this.#priorities[group] ?? PRIORITY_LEVELS - 1);
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
      queue.push({ ...request, since: this.#clock.now(), resolve, reject });
      if (idle) void this.#pump(group, queue);
    });
  }

  /**
   * The remaining budget of every group that has windows, then of every shared pool, as the store
   * counts it (with a shared store: every process on the key). Null when the store cannot tell.
   * Windows are reported as BTCTurk states them; the counts include the guard.
   */
  async headroom(): Promise<GroupHeadroom[] | null> {
    const store = this.#store;
    if (store.usage === undefined) return null;
    const now = this.#clock.now();
    const out: GroupHeadroom[] = [];
    const budgets: [string, readonly RateWindow[]][] = [
      ...Object.entries(this.#windows),
      ...Object.entries(this.#shared).map(([name, pool]): [string, readonly RateWindow[]] => [
        name,
        pool.windows,
      ]),
    ];
    for (const [group, windows] of budgets) {
      if (windows.length === 0) continue;
      const { used, blockedForMs } = await store.usage(group, this.#guarded(windows), now);
      out.push({ group, windows: windows.map((w, i) => ({ ...w, used: used[i] ?? 0 })), blockedForMs });
    }
    return out;
  }

  /** Pauses `group` until `untilMs`, in full: a capped Retry-After only earns more 429s. */
  async block(group: string, untilMs: number): Promise<void> {
    await this.#store.block(group, untilMs);
    this.#notify('blocked', { group, ms: Math.max(0, untilMs - this.#clock.now()) });
  }

  #guarded(windows: readonly RateWindow[]): RateWindow[] {
    return windows.map((w) => ({
      limit: w.limit,
      periodMs: w.periodMs + Math.max(this.#guardMs, Math.ceil(w.periodMs * this.#guardFraction)),
    }));
  }

  #linkedPools(group: string) {
    return Object.entries(this.#shared)
      .filter(([, pool]) => pool.groups.includes(group))
      .map(([key, pool]) => ({ key, windows: this.#guarded(pool.windows) }));
  }

  #notify<K extends keyof RateLimiterObserver>(
    kind: K,
    event: Parameters<NonNullable<RateLimiterObserver[K]>>[0],
  ): void {
    const handler = this.#observer?.[kind] as ((e: typeof event) => void) | undefined;
    try {
      handler?.call(this.#observer, event);
    } catch {
      // an observer must never stop a request
    }
  }

  // One pump per busy group: only the head of the queue asks the store, the others wait their turn.
  async #pump(group: string, queue: Waiter[]): Promise<void> {
    const windows = this.#guarded(this.#windows[group] ?? []);
    const linked = this.#linkedPools(group);
    const priority = this.priorityOf(group);
    const waiter = `${this.#id}:${group}`;
    const claim = { linked, priority, waiter };
    const pools = [group, ...linked.map((p) => p.key)];
    try {
      for (let head = queue[0]; head !== undefined; head = queue[0]) {
        const now = this.#clock.now();
        const result = await this.#store.tryAcquire([group], windows, now, claim);
        if (result.ok) {
          queue.shift();
          this.#notify('granted', { group, priority, waitedMs: Math.max(0, this.#clock.now() - head.since) });
          head.resolve();
          continue;
        }
        // Nobody behind the head can go before it, so a waiter whose deadline comes before the
        // head's slot can be told now instead of holding its caller until the deadline.
        const slotAt = now + result.waitMs;
        for (const late of queue.filter((w) => w.deadlineAt < slotAt)) {
          queue.splice(queue.indexOf(late), 1);
          this.#notify('refused', { group, reason: 'deadline' });
          late.reject(
            new ExchangeError(
              'not-sent',
              `${late.operation} not sent: the rate limit of endpoint group "${group}" has no free slot for ` +
                `${result.waitMs} ms, past this call's deadline; try again later`,
              { operation: late.operation, retryAfterMs: result.waitMs },
            ),
          );
        }
        if (queue.length > 0) await this.#clock.sleep(result.waitMs);
        // Nobody waits any more: lower priorities need not hold back for this group.
        else await this.#store.withdraw?.(waiter, pools, priority);
      }
    } catch (error) {
      for (const waiter of queue.splice(0)) {
        this.#notify('refused', { group, reason: 'store' });
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
