// The engine's own order-request budget: cancels and new orders it sends. BTCTurk allows 300 POST
// and 300 DELETE a minute per account; the engine spends well under that (default 120 in total), so
// retries, reconciliation and an operator's commands always find room. The adapter's rate limiter
// remains the hard guard; this keeps the strategy from ever leaning on it.
//
// The minute is paced by a second window of a sixth of it per 10 seconds: a busy market spends the
// budget evenly instead of in the first seconds, so quotes are never left unattended for the rest
// of the minute.

export const DEFAULT_ORDERS_PER_MINUTE = 120;
/** BTCTurk's order POST and DELETE limits are 300 a minute each: a budget above that is a mistake. */
export const MAX_ORDERS_PER_MINUTE = 300;

interface Window {
  readonly ms: number;
  readonly limit: number;
}

export interface BudgetUse {
  /** Requests sent in the last minute. */
  readonly used: number;
  readonly limit: number;
  /**
   * Present only while the 10-second window, not the minute, is what holds orders back (too few
   * left in it for a replace): its use, so that a display of `used/limit` for the minute does not
   * hide why nothing goes out.
   */
  readonly heldBy?: { readonly windowSeconds: number; readonly used: number; readonly limit: number };
}

export class OrderRateBudget {
  readonly limit: number;
  readonly #windows: readonly Window[];
  // Send times, oldest first; pruned as they leave the longest window.
  readonly #sent: number[] = [];

  constructor(perMinute: number = DEFAULT_ORDERS_PER_MINUTE) {
    if (!Number.isInteger(perMinute) || perMinute < 1 || perMinute > MAX_ORDERS_PER_MINUTE)
      throw new RangeError(
        `order budget must be a whole number of requests a minute from 1 to ${MAX_ORDERS_PER_MINUTE}, got ${perMinute}`,
      );
    this.limit = perMinute;
    // A replace costs 2: every window lets at least one through.
    this.#windows = [
      { ms: 60_000, limit: perMinute },
      { ms: 10_000, limit: Math.max(2, Math.ceil(perMinute / 6)) },
    ];
  }

  #usedWithin(ms: number, now: number): number {
    let used = 0;
    for (let i = this.#sent.length - 1; i >= 0 && (this.#sent[i] ?? 0) > now - ms; i -= 1) used += 1;
    return used;
  }

  /** Requests that may still go out now. */
  available(now: number): number {
    while (this.#sent.length > 0 && (this.#sent[0] ?? 0) <= now - 60_000) this.#sent.shift();
    return Math.min(...this.#windows.map((w) => w.limit - this.#usedWithin(w.ms, now)));
  }

  /** Takes `cost` requests if they are available; false (nothing taken) otherwise. */
  take(cost: number, now: number): boolean {
    if (this.available(now) < cost) return false;
    for (let i = 0; i < cost; i += 1) this.#sent.push(now);
    return true;
  }

  use(now: number): BudgetUse {
    this.available(now);
    const minute = { used: this.#sent.length, limit: this.limit };
    const short = this.#windows[1];
    if (short === undefined) return minute;
    const shortUsed = this.#usedWithin(short.ms, now);
    const shortLeft = short.limit - shortUsed;
    // A replace costs 2: fewer than that left holds back every kind of order request.
    if (shortLeft >= 2 || shortLeft >= minute.limit - minute.used) return minute;
    return { ...minute, heldBy: { windowSeconds: short.ms / 1000, used: shortUsed, limit: short.limit } };
  }
}
