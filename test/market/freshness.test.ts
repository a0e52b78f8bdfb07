import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { marketStatus } from '../../src/market/freshness.ts';
import { RestPacer } from '../../src/market/rest-pacer.ts';

describe('market status', () => {
  const base = { usable: true, ageMs: 100, freshnessMs: 1_000, fromStream: true, streamUp: true };
  it('is live while the stream keeps fresh data', () => {
    assert.equal(marketStatus(base), 'live');
  });
  it('is fallback while fresh data does not come from a connected stream', () => {
    assert.equal(marketStatus({ ...base, streamUp: false }), 'fallback');
    assert.equal(marketStatus({ ...base, fromStream: false }), 'fallback');
  });
  it('is stale when the data is too old, missing, or the book unusable', () => {
    assert.equal(marketStatus({ ...base, ageMs: 1_001 }), 'stale');
    assert.equal(marketStatus({ ...base, ageMs: null }), 'stale');
    assert.equal(marketStatus({ ...base, usable: false }), 'stale');
  });
});

describe('REST book pacing', () => {
  it('refuses a pace beyond half of BTCTurk’s 180 a minute', () => {
    assert.throws(() => new RestPacer(91), /at most 90/);
    assert.throws(() => new RestPacer(0), /above 0/);
  });

  it('polls the symbol with the oldest data', () => {
    const pacer = new RestPacer(60);
    const pick = pacer.next(
      [
        { symbol: 'A', lastDataAt: 500 },
        { symbol: 'B', lastDataAt: null },
        { symbol: 'C', lastDataAt: 100 },
      ],
      10_000,
    );
    assert.equal(pick, 'B');
  });

  it('never exceeds its pace in any minute, whatever the demand (seeded)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 90 }),
        fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 400 }),
        (perMinute, steps) => {
          const pacer = new RestPacer(perMinute);
          const sent: number[] = [];
          let now = 0;
          for (const step of steps) {
            now += step;
            if (pacer.next([{ symbol: 'X', lastDataAt: null }], now) !== null) sent.push(now);
          }
          for (let i = 0; i < sent.length; i++) {
            const start = sent[i] ?? 0;
            const inWindow = sent.filter((t) => t >= start && t < start + 60_000).length;
            if (inWindow > perMinute) return false;
          }
          return true;
        },
      ),
      { seed: 77, numRuns: 200 },
    );
  });
});
