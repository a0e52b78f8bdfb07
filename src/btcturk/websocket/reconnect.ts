import type { Random } from '../../domain/random.ts';

// How fast the client may (re)connect. BTCTurk allows 15 WebSocket connects per 60 s and blocks new
// connects for 60 s beyond that (btcturk-api.md §7), so the hard guarantee comes from a local budget
// over a rolling window, and the jittered backoff only spreads reconnects of many processes apart.

export const BTCTURK_CONNECTS_PER_WINDOW = 15;
export const CONNECT_WINDOW_MS = 60_000;

export interface ConnectBudgetOptions {
  /** Connects allowed in any rolling window; kept below BTCTurk's 15 for the margin of clock drift. */
  readonly maxConnects?: number;
  readonly windowMs?: number;
}

/**
 * A rolling-window connect budget. Every connect attempt is recorded; `waitMs` says how long the
 * next one must wait so that no half-open window (t - windowMs, t] ever holds more than
 * `maxConnects` attempts. Share one instance between clients that use the same IP.
 */
export class ConnectBudget {
  readonly maxConnects: number;
  readonly windowMs: number;
  private readonly attempts: number[] = [];
  private blockedUntil = Number.NEGATIVE_INFINITY;

  constructor(options: ConnectBudgetOptions = {}) {
    const max = options.maxConnects ?? 12;
    if (!Number.isInteger(max) || max < 1 || max >= BTCTURK_CONNECTS_PER_WINDOW)
      throw new RangeError(
        `connect budget: maxConnects must be a whole number from 1 to ${BTCTURK_CONNECTS_PER_WINDOW - 1}, got ${max}`,
      );
    this.maxConnects = max;
    this.windowMs = options.windowMs ?? CONNECT_WINDOW_MS;
  }

  /** Milliseconds until a connect may start at monotonic time `now` (0: now). */
  waitMs(now: number): number {
    this.forget(now);
    let wait = Math.max(0, this.blockedUntil - now);
    if (this.attempts.length >= this.maxConnects) {
      const oldestThatMustLeave = this.attempts[this.attempts.length - this.maxConnects] ?? now;
      wait = Math.max(wait, oldestThatMustLeave + this.windowMs - now);
    }
    return wait;
  }

  /** Records a connect attempt; call it right before opening the socket. */
  record(now: number): void {
    this.attempts.push(now);
    this.forget(now);
  }

  /** The server refused a connect with 429: no connect at all until `now + ms`. */
  block(now: number, ms: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, now + ms);
  }

  /** Attempts inside the window ending at `now`. */
  recent(now: number): number {
    this.forget(now);
    return this.attempts.length;
  }

  private forget(now: number): void {
    while (this.attempts.length > 0 && (this.attempts[0] ?? now) <= now - this.windowMs)
      this.attempts.shift();
  }
}

export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000 };

/**
 * Delay before reconnect attempt number `attempt` (0 = first retry): "equal jitter" over an
 * exponentially growing cap, so a delay is never 0 and processes that lost the same server drift apart.
 */
export function backoffDelay(
  attempt: number,
  random: Random,
  options: BackoffOptions = DEFAULT_BACKOFF,
): number {
  const cap = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random.next() * cap) / 2);
}
