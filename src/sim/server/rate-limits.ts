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
 * Counts per group, subject and window; each window is anchored at the first request that finds no
 * open window. An entry outlives its window only until the next sweep, so the maps hold the subjects
 * seen in the last minute or so, not every IP or account ever seen.
 */
export class AnchoredWindowLimiter {
  private readonly counts = new Map<string, WindowCount>();
  private readonly blocks = new Map<string, Block>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  /** Entries held now (windows and blocks), for tests of the bound. */
  get size(): number {
    return this.counts.size + this.blocks.size;
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
      let count = this.counts.get(key);
      // A new window opens when none is open; also when the clock went back (the clock-skew fault).
      if (count === undefined || now >= count.end || now < count.start) {
        count = { start: now, end: now + window.periodMs, count: 0 };
        this.counts.set(key, count);
      }
      return { window, count };
    });
    const exceeded = current.find(({ window, count }) => count.count >= window.limit);
    if (exceeded) {
      const until = limit.blockMs === undefined ? exceeded.count.end : now + limit.blockMs;
      this.blocks.set(blockKey, { until, window: exceeded.window });
      return { ok: false, retryAfterMs: until - now, window: exceeded.window };
    }
    for (const { count } of current) count.count += 1;
    return { ok: true };
  }

  /** Blocks a group as a refusal would (used by the rate-limit-storm fault). */
  block(limit: RateLimit, subject: string, until: number, window: RateWindow): void {
    this.blocks.set(`${limit.group}|${subject}`, { until, window });
  }

  /** Forgets ended windows and expired blocks: they decide nothing any more. */
  private sweep(now: number): void {
    // Either way: the clock-skew fault can set the clock back.
    if (Math.abs(now - this.lastSweep) < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [key, count] of this.counts) if (count.end <= now) this.counts.delete(key);
    for (const [key, block] of this.blocks) if (block.until <= now) this.blocks.delete(key);
  }
}

/** The Retry-After header: whole seconds, never 0 (a client must wait at least until the block ends). */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}
