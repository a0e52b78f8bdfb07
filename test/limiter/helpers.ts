import type { RateWindow } from '../../src/btcturk/common/rate-limiter.ts';

// Shared by the limiter tests: a seeded random source and the sliding-span check.

/** The seed of a random test: BTCBOT_TEST_SEED, else `fallback`; printed by the test that uses it. */
export function testSeed(fallback: number): number {
  const env = process.env.BTCBOT_TEST_SEED;
  return env === undefined || env === '' ? fallback : Number(env);
}

/** mulberry32: a small seeded generator, [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The most grants in any span [s, s + periodMs) over all s, and where it starts: the check that no
 * sliding window, however anchored, held more than its limit.
 */
export function busiestSpan(times: readonly number[], periodMs: number): { count: number; start: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let best = { count: 0, start: sorted[0] ?? 0 };
  let end = 0;
  for (let i = 0; i < sorted.length; i += 1) {
    const start = sorted[i] ?? 0;
    while (end < sorted.length && (sorted[end] ?? 0) < start + periodMs) end += 1;
    if (end - i > best.count) best = { count: end - i, start };
  }
  return best;
}

/** Every window `times` overspent, described; empty when none. */
export function overspentWindows(times: readonly number[], windows: readonly RateWindow[]): string[] {
  return windows.flatMap((w) => {
    const { count, start } = busiestSpan(times, w.periodMs);
    return count > w.limit
      ? [`${count} grants in [${start}, ${start + w.periodMs}) against ${w.limit} per ${w.periodMs} ms`]
      : [];
  });
}
