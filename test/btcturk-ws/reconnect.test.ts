import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { backoffDelay, ConnectBudget } from '../../src/btcturk/websocket/reconnect.ts';
import { seededRandom } from '../../src/domain/random.ts';

/** Most connects in any window (t - windowMs, t] of the list. */
function maxInWindow(times: readonly number[], windowMs: number): number {
  let max = 0;
  for (const end of times) max = Math.max(max, times.filter((t) => t > end - windowMs && t <= end).length);
  return max;
}

/**
 * The reconnect loop of the client, on simulated time: each connection lives `lifetimes[i]` ms,
 * then the next connect waits for the backoff and for the budget, exactly as client.ts does.
 */
function simulate(lifetimes: readonly number[], seed: number, budget = new ConnectBudget()): number[] {
  const random = seededRandom(seed);
  const connects: number[] = [];
  let now = 0;
  let attempt = 0;
  for (const lived of lifetimes) {
    now += Math.max(connects.length === 0 ? 0 : backoffDelay(attempt, random), budget.waitMs(now));
    budget.record(now);
    connects.push(now);
    now += lived;
    attempt = lived >= 10_000 ? 0 : attempt + 1;
  }
  return connects;
}

describe('connect budget', () => {
  it('refuses a budget at or above BTCTurk’s 15 a minute', () => {
    assert.throws(() => new ConnectBudget({ maxConnects: 15 }), /from 1 to 14/);
    assert.equal(new ConnectBudget().maxConnects, 12);
  });

  it('keeps every rolling minute under 15 connects, however often connections drop (seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30_000 }), { minLength: 1, maxLength: 120 }),
        fc.integer(),
        (lifetimes, seed) => {
          const connects = simulate(lifetimes, seed);
          return maxInWindow(connects, 60_000) <= 12;
        },
      ),
      { seed: 1515, numRuns: 300 },
    );
  });

  it('holds without any backoff: connections refused at once still connect at most 12 times a minute', () => {
    const budget = new ConnectBudget();
    const connects: number[] = [];
    let now = 0;
    for (let i = 0; i < 100; i++) {
      now += budget.waitMs(now);
      budget.record(now);
      connects.push(now);
    }
    assert.equal(maxInWindow(connects, 60_000), 12);
    assert.ok((connects.at(-1) ?? 0) >= 8 * 60_000, 'the 100th connect waits for the 8th minute');
  });

  it('a 429 blocks every connect for the pause', () => {
    const budget = new ConnectBudget();
    budget.record(0);
    budget.block(100, 60_000);
    assert.equal(budget.waitMs(100), 60_000);
    assert.equal(budget.waitMs(60_100), 0);
  });

  it('spreads backoff delays between half and all of a doubling cap', () => {
    const random = seededRandom(3);
    const caps = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    caps.forEach((cap, attempt) => {
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, random);
        assert.ok(
          delay >= cap / 2 && delay <= cap,
          `attempt ${attempt}: ${delay} not in [${cap / 2}, ${cap}]`,
        );
      }
    });
  });
});
