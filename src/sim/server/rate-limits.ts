// BTCTurk's rate limits (btcturk-api.md §7): both windows where two exist, and a request over either
// limit blocks its group for the rest of that window. Order routes count per account, the rest per
// IP. A window starts at the subject's first request, as BTCTurk's docs say (private-endpoints/
// rate-limits), not on a clock boundary: a client that counts sliding windows stays inside the limit
// either way, one that assumes clock-aligned windows does not.

export interface RateWindow {
  readonly limit: number;
  readonly periodMs: number;
  readonly label: string; // as BTCTurk writes it in a 429 body: "1s", "1m"
}

export interface RateLimit {
  readonly group: string;
  readonly policy: 'account' | 'ip';
  readonly windows: readonly RateWindow[];
  /** Block this long after a refusal instead of until the window ends (WebSocket connects). */
  readonly blockMs?: number;
}

const perSecond = (limit: number): RateWindow => ({ limit, periodMs: 1_000, label: '1s' });
const perMinute = (limit: number): RateWindow => ({ limit, periodMs: 60_000, label: '1m' });

/** Keyed by "METHOD route" as the REST layer registers it. Routes not listed are not limited. */
export const REST_LIMITS: Readonly<Record<string, RateLimit>> = {
  'POST /api/v1/order': { group: 'order-post', policy: 'account', windows: [perSecond(10), perMinute(300)] },
  'DELETE /api/v1/order': {
    group: 'order-delete',
    policy: 'account',
    windows: [perSecond(10), perMinute(300)],
  },
  'GET /api/v1/order/:id': {
    group: 'order-get',
    policy: 'account',
    windows: [perSecond(30), perMinute(900)],
  },
  'GET /api/v1/openOrders': { group: 'open-orders', policy: 'ip', windows: [perMinute(300)] },
  'GET /api/v1/allOrders': { group: 'all-orders', policy: 'ip', windows: [perMinute(300)] },
  'GET /api/v1/users/balances': { group: 'balances', policy: 'ip', windows: [perMinute(120)] },
  'GET /api/v1/users/transactions/trade': { group: 'user-trades', policy: 'ip', windows: [perMinute(120)] },
  'GET /api/v2/ticker': { group: 'ticker', policy: 'ip', windows: [perMinute(600)] },
  'GET /api/v2/orderbook': { group: 'orderbook', policy: 'ip', windows: [perMinute(180)] },
  'GET /api/v2/trades': { group: 'trades', policy: 'ip', windows: [perMinute(90)] },
};

export const WS_CONNECT_LIMIT: RateLimit = {
  group: 'ws-connect',
  policy: 'ip',
  windows: [perMinute(15)],
  blockMs: 60_000,
};

export type RateDecision =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number; readonly window: RateWindow };

interface WindowCount {
  readonly start: number;
  readonly end: number;
  count: number;
}

/** How often windows that ended and blocks that expired are swept out, in the limiter's clock. */
const SWEEP_EVERY_MS = 60_000;

interface Block {
  until: number;
  window: RateWindow;
}

/**
 * What both modes share: per group and subject, the block a refusal sets; per window, an entry
 * (`E`) that a mode counts in its own way; the sweep that drops what decides nothing any more.
 */
abstract class WindowLimiter<E> {
  private readonly entries = new Map<string, E>();
  private readonly blocks = new Map<string, Block>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  /** Entries held now (windows and blocks), for tests of the bound. */
  get size(): number {
    return this.entries.size + this.blocks.size;
  }

  /** Counts one request of `subject` (an account id or an IP) against every window of `limit`. */
  take(limit: RateLimit, subject: string, now: number): RateDecision {
    this.sweep(now);
    const blockKey = `${limit.group}|${subject}`;
    const block = this.blocks.get(blockKey);
    if (block && block.until > now)
      return { ok: false, retryAfterMs: block.until - now, window: block.window };

    const current = limit.windows.map((window) => {
      const key = `${blockKey}|${window.periodMs}`;
      const entry = this.current(this.entries.get(key), window, now);
      this.entries.set(key, entry);
      return { window, entry };
    });
    const exceeded = current.find(({ window, entry }) => this.used(entry) >= window.limit);
    if (exceeded) {
      const until = this.blockedUntil(limit, exceeded.window, exceeded.entry, now);
      this.blocks.set(blockKey, { until, window: exceeded.window });
      return { ok: false, retryAfterMs: until - now, window: exceeded.window };
    }
    for (const { entry } of current) this.count(entry, now);
    return { ok: true };
  }

  /** Blocks a group as a refusal would (used by the rate-limit-storm fault). */
  block(limit: RateLimit, subject: string, until: number, window: RateWindow): void {
    this.blocks.set(`${limit.group}|${subject}`, { until, window });
  }

  /** The window's entry as it stands at `now` (`held`: the one kept, if any). */
  protected abstract current(held: E | undefined, window: RateWindow, now: number): E;
  /** Requests the entry has counted. */
  protected abstract used(entry: E): number;
  /** Counts an accepted request. */
  protected abstract count(entry: E, now: number): void;
  /** When a refusal by `window` ends. */
  protected abstract blockedUntil(limit: RateLimit, window: RateWindow, entry: E, now: number): number;
  /** Whether the entry decides nothing any more. */
  protected abstract ended(entry: E, now: number): boolean;

  /** Forgets ended windows and expired blocks: they decide nothing any more. */
  private sweep(now: number): void {
    // Either way: the clock-skew fault can set the clock back.
    if (Math.abs(now - this.lastSweep) < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (this.ended(entry, now)) this.entries.delete(key);
    for (const [key, block] of this.blocks) if (block.until <= now) this.blocks.delete(key);
  }
}

/**
 * Counts per group, subject and window; each window is anchored at the first request that finds no
 * open window. An entry outlives its window only until the next sweep, so the maps hold the subjects
 * seen in the last minute or so, not every IP or account ever seen.
 */
export class AnchoredWindowLimiter extends WindowLimiter<WindowCount> {
  protected current(held: WindowCount | undefined, window: RateWindow, now: number): WindowCount {
    // A new window opens when none is open; also when the clock went back (the clock-skew fault).
    if (held === undefined || now >= held.end || now < held.start)
      return { start: now, end: now + window.periodMs, count: 0 };
    return held;
  }

  protected used(entry: WindowCount): number {
    return entry.count;
  }

  protected count(entry: WindowCount): void {
    entry.count += 1;
  }

  protected blockedUntil(limit: RateLimit, _window: RateWindow, entry: WindowCount, now: number): number {
    return limit.blockMs === undefined ? entry.end : now + limit.blockMs;
  }

  protected ended(entry: WindowCount, now: number): boolean {
    return entry.end <= now;
  }
}

/**
 * The strict mode: counts every sliding span, so any `limit + 1` requests within one period are
 * refused, wherever a window would have been anchored. A client that passes here passes under any
 * anchoring; tests use it to catch a burst that straddles two anchored windows (10 at the end of
 * one second and 1 at the start of the next is 11 in one sliding second).
 *
 * ASSUMPTION (BTCTurk): the exchange anchors its windows at the first request (btcturk-wire/README:
 * "the docs say a window starts at the first request"), so the anchored mode stays the default;
 * the sliding mode is stricter than BTCTurk, never looser.
 */
export class SlidingWindowLimiter extends WindowLimiter<number[]> {
  // Each entry: the window's accepted request times, oldest first.
  protected current(held: number[] | undefined, window: RateWindow, now: number): number[] {
    return (held ?? []).filter((at) => at > now - window.periodMs && at <= now);
  }

  protected used(log: number[]): number {
    return log.length;
  }

  protected count(log: number[], now: number): void {
    log.push(now);
  }

  protected blockedUntil(limit: RateLimit, window: RateWindow, _log: number[], now: number): number {
    // Strict: the whole period from the refusal, as BTCTurk blocks for the whole period.
    return now + (limit.blockMs ?? window.periodMs);
  }

  protected ended(log: number[], now: number): boolean {
    return (log.at(-1) ?? 0) <= now - 60_000;
  }
}

export type SimRateWindows = 'anchored' | 'sliding';

/** The simulator's windows: BTCBOT_SIM_RATE_WINDOWS=sliding selects the strict mode. */
export function simRateWindowsFromEnv(env: NodeJS.ProcessEnv = process.env): SimRateWindows {
  const value = env.BTCBOT_SIM_RATE_WINDOWS;
  if (value === undefined || value === '' || value === 'anchored') return 'anchored';
  if (value === 'sliding') return 'sliding';
  throw new Error(`BTCBOT_SIM_RATE_WINDOWS must be "anchored" or "sliding", got ${JSON.stringify(value)}`);
}

export function simRateLimiter(
  mode: SimRateWindows = simRateWindowsFromEnv(),
): AnchoredWindowLimiter | SlidingWindowLimiter {
  return mode === 'sliding' ? new SlidingWindowLimiter() : new AnchoredWindowLimiter();
}

/** The 429 replies the simulator sent, by group (GET /sim/state shows them as `rateLimited`). */
export class RateLimitedCount {
  readonly #byGroup = new Map<string, number>();

  add(group: string): void {
    this.#byGroup.set(group, (this.#byGroup.get(group) ?? 0) + 1);
  }

  toJson(): { total: number; byGroup: Record<string, number> } {
    const byGroup = Object.fromEntries(this.#byGroup);
    return { total: Object.values(byGroup).reduce((a, b) => a + b, 0), byGroup };
  }
}

/** The Retry-After header: whole seconds, never 0 (a client must wait at least until the block ends). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
