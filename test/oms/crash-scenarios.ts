import { CRASH_POINTS, type CrashPoint } from '../../src/oms/crash-points.ts';

// The crash harness's table: which scenario reaches each crash point, and what the exchange must
// show of ours at the moment the process died (before any restart). Shared by the driver, the test
// (test/oms/crash-points.test.ts) and the benchmark (bench/oms-crash.ts).

export const CRASH_SCENARIOS = [
  'submit',
  'retry',
  'unknown',
  'cancel',
  'replace-safe',
  'replace-fast',
] as const;
export type CrashScenario = (typeof CRASH_SCENARIOS)[number];

export function isCrashScenario(name: string): name is CrashScenario {
  return (CRASH_SCENARIOS as readonly string[]).includes(name);
}

export const CRASH_PREFIX = 'crash';
export const CRASH_SYMBOL = 'BTCTRY';
export const CRASH_INTENT = 'intent-1';
export const CRASH_QUANTITY = '0.001';
/** How far below the first order's price a replace moves it. */
export const REPLACE_STEP = 5;

/** What the exchange holds of ours when the process died. */
export interface ExchangeBefore {
  /** Orders of ours the exchange has, whatever their status. */
  readonly orders: number;
  /** Of those, still on the book (open or partially filled); undefined: either. */
  readonly resting?: number | undefined;
  /** Some quantity executed already. */
  readonly filled?: boolean | undefined;
}

export interface PointCase {
  readonly scenario: CrashScenario;
  readonly before: ExchangeBefore;
  /** Scenario ids of /work/shared/scenarios.md this point stands for, besides X1. */
  readonly ids?: string | undefined;
  /**
   * How the replace must end after the restart (replace scenarios; default `replaced`). A
   * replacement marked sent whose POST never left is proven never placed by lookup, and the replace
   * ends `aborted` without a second client id: in safe mode the old order is already cancelled,
   * in fast mode it keeps resting.
   */
  readonly outcome?: 'replaced' | 'aborted' | undefined;
}

const none: ExchangeBefore = { orders: 0 };
const oneResting: ExchangeBefore = { orders: 1, resting: 1 };
const oneClosed: ExchangeBefore = { orders: 1, resting: 0 };
const oldClosedNewResting: ExchangeBefore = { orders: 2, resting: 1 };
const bothResting: ExchangeBefore = { orders: 2, resting: 2 };

export const POINT_CASES: Readonly<Record<CrashPoint, PointCase>> = {
  'submit.after-journal': { scenario: 'submit', before: none },
  'submit.after-sent-mark': { scenario: 'submit', before: none },
  'submit.after-post': { scenario: 'submit', before: oneResting },
  'submit.after-reply': { scenario: 'submit', before: oneResting },
  // The first client id was proven never placed; the second is journaled and marked (not sent) or sent.
  'submit.retry-after-journal': { scenario: 'retry', before: none },
  'submit.retry-after-post': { scenario: 'retry', before: oneResting },
  // Placed (crossing, so executed at once) but never answered: found by lookup, status recorded.
  'resolve.after-status': { scenario: 'unknown', before: { orders: 1, filled: true } },
  'cancel.before-request': { scenario: 'cancel', before: oneResting },
  'cancel.after-request': { scenario: 'cancel', before: oneClosed },
  'cancel.after-reply': { scenario: 'cancel', before: oneClosed },
  'replace.after-begin': { scenario: 'replace-safe', before: oneResting },
  'replace.before-cancel-request': { scenario: 'replace-safe', before: oneResting },
  'replace.after-cancel-sent': { scenario: 'replace-safe', before: oneClosed, ids: 'R4' },
  'replace.after-cancel-reply': { scenario: 'replace-safe', before: oneClosed },
  'replace.after-cancel-confirmed': { scenario: 'replace-safe', before: oneClosed },
  // The replacement is journaled marked sent in the write before its POST: never sent, it is
  // resolved never placed by lookup and the replace ends aborted (the old order already cancelled).
  'replace.after-new-journal': { scenario: 'replace-safe', before: oneClosed, outcome: 'aborted' },
  'replace.after-new-sent-mark': { scenario: 'replace-safe', before: oneClosed, outcome: 'aborted' },
  'replace.after-new-sent': { scenario: 'replace-safe', before: oldClosedNewResting, ids: 'R5' },
  'replace.after-new-reply': { scenario: 'replace-safe', before: oldClosedNewResting },
  'replace.after-new-acked': { scenario: 'replace-safe', before: oldClosedNewResting },
  // Fast mode: the new order goes first, so from its POST until the old one's DELETE both rest.
  'replace-fast.after-begin': { scenario: 'replace-fast', before: oneResting },
  'replace-fast.after-new-journal': { scenario: 'replace-fast', before: oneResting, outcome: 'aborted' },
  'replace-fast.after-new-sent-mark': {
    scenario: 'replace-fast',
    before: oneResting,
    outcome: 'aborted',
  },
  'replace-fast.after-new-sent': { scenario: 'replace-fast', before: bothResting },
  'replace-fast.after-new-reply': { scenario: 'replace-fast', before: bothResting },
  'replace-fast.after-new-acked': { scenario: 'replace-fast', before: bothResting },
  'replace-fast.before-cancel-request': { scenario: 'replace-fast', before: bothResting },
  'replace-fast.after-cancel-sent': { scenario: 'replace-fast', before: oldClosedNewResting },
  'replace-fast.after-cancel-reply': { scenario: 'replace-fast', before: oldClosedNewResting },
  'replace-fast.after-cancel-confirmed': { scenario: 'replace-fast', before: oldClosedNewResting },
};

/** Crash points chosen by CRASH_POINTS_ONLY (comma-separated names or prefixes), default all. */
export function selectedPoints(filter = process.env.CRASH_POINTS_ONLY): readonly CrashPoint[] {
  if (filter === undefined || filter.trim() === '') return CRASH_POINTS;
  const wanted = filter
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const chosen = CRASH_POINTS.filter((p) => wanted.some((w) => p === w || p.startsWith(w)));
  if (chosen.length === 0)
    throw new Error(`CRASH_POINTS_ONLY=${filter} names no crash point; known: ${CRASH_POINTS.join(', ')}`);
  return chosen;
}

/**
 * Seeds from CRASH_SEEDS: "1,2,5", a range "1..20", or both ("1..3,7"); `fallback` when unset.
 */
export function parseSeeds(text: string | undefined, fallback: readonly number[]): number[] {
  if (text === undefined || text.trim() === '') return [...fallback];
  const seeds: number[] = [];
  for (const part of text.split(',').map((s) => s.trim())) {
    const range = /^(\d+)\.\.(\d+)$/.exec(part);
    if (range) {
      const from = Number(range[1]);
      const to = Number(range[2]);
      if (to < from) throw new Error(`CRASH_SEEDS: range ${part} runs backwards`);
      for (let s = from; s <= to; s += 1) seeds.push(s);
    } else if (/^\d+$/.test(part)) seeds.push(Number(part));
    else throw new Error(`CRASH_SEEDS: expected seeds such as "1,2" or "1..20", got ${JSON.stringify(text)}`);
  }
  return seeds;
}
