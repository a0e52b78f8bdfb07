import type { Clock } from '../../domain/clock.ts';
import { RATE_LIMITS, type LimitGroup } from './constants.ts';
import type { LimiterStore, RateLimiterObserver, RateLimiterOptions, SharedPool } from './rate-limiter.ts';

// How BTCTurk's table (constants.ts, btcturk-api.md §7) becomes limiter pools and priorities.

/** Priorities, 0 first: a cancel reduces risk, a new order adds it, a read can wait. */
export const PRIORITY = { cancel: 0, submit: 1, read: 2 } as const;

const SECOND = 1_000;
const MINUTE = 60_000;

/**
 * ASSUMPTION (BTCTurk): POST and DELETE /api/v1/order may be counted together. The reference sheet
 * lists them on two rows, each 10/1 s and 300/60 s, but both are the same path with the same
 * account-and-IP policy, and BTCTurk does not say whether the rows are separate budgets. Counting
 * them in one shared pool as well as each on its own stays inside the limit under either reading;
 * what it costs is nothing for the engine, whose own order budget (cancels and new orders
 * together) is at most 300 a minute, and it is where "cancels before new orders" has its meaning.
 */
export const BTCTURK_SHARED_POOLS: Readonly<Record<string, SharedPool>> = {
  order: {
    windows: [
      { limit: 10, periodMs: SECOND },
      { limit: 300, periodMs: MINUTE },
    ],
    groups: ['order-submit', 'order-cancel'] satisfies LimitGroup[],
  },
};

export const BTCTURK_PRIORITIES: Readonly<Partial<Record<LimitGroup, number>>> = {
  'order-cancel': PRIORITY.cancel,
  'order-submit': PRIORITY.submit,
};

/**
 * ASSUMPTION (BTCTurk): a request reaches BTCTurk within a spread of 250 ms of latency from when
 * its slot was granted (the wire notes measure 200–280 ms round trips from a distant host), and
 * within 2% of a minute (1.2 s) even on a busy host (a pause of the event loop, a slow connection).
 * Grants are spaced by the period plus this guard, so arrivals stay inside every period-long span
 * however BTCTurk anchors its windows. It costs 2% of the minute window (294 of 300 a minute) and a
 * fifth of the second one (8 a second), which 300 a minute (5 a second on average) never needs.
 */
export const BTCTURK_GUARD_MS = 250;
export const BTCTURK_GUARD_FRACTION = 0.02;

/** The limiter options for BTCTurk: its table, the shared order pool, priorities and the guard. */
export function btcturkLimiterOptions(
  options: { clock?: Clock; store?: LimiterStore; observer?: RateLimiterObserver } = {},
): RateLimiterOptions {
  return {
    windows: RATE_LIMITS,
    shared: BTCTURK_SHARED_POOLS,
    priorities: BTCTURK_PRIORITIES,
    guardMs: BTCTURK_GUARD_MS,
    guardFraction: BTCTURK_GUARD_FRACTION,
    clock: options.clock,
    store: options.store,
    observer: options.observer,
  };
}
