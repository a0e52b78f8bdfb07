import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { CRASH_POINTS } from '../../src/oms/crash-points.ts';
import { driverArgs, runCrashPoint } from './crash-run.ts';
import { parseSeeds, POINT_CASES, selectedPoints } from './crash-scenarios.ts';

// X1 (and R4, R5): a real bot process is killed with SIGKILL at every named step boundary of
// submit, the retry under a new client id, UNKNOWN resolution, cancel, and safe- and fast-mode
// replace. Before anything restarts, the exchange must hold exactly what that point leaves (no
// order after the journal, one after the POST, both orders in the middle of a fast replace…).
// Then a second process on the same database, which asks for nothing new and only reconciles,
// must finish the work: no intent placed twice, nothing lost, every fill counted once, the store
// equal to the simulator's ground truth, the last reconciliation clean.
//
// Replay or widen: CRASH_SEEDS="3" or "1..5"; one point or a family: CRASH_POINTS_ONLY=replace-fast.
// The long form over every point × 20 seeds is bench/oms-crash.ts.

const SEEDS = parseSeeds(process.env.CRASH_SEEDS, [1]);
const POINTS = selectedPoints();
// Each run waits mostly on child processes and the exchange's timeouts: a few at once keep a
// two-core machine busy without starving the simulators.
const CONCURRENCY = Number(process.env.CRASH_CONCURRENCY ?? 3);

let passed = 0;
after(() => {
  process.stderr.write(
    `crash harness: ${POINTS.length} of ${CRASH_POINTS.length} crash points × ${SEEDS.length} seed(s) ` +
      `(${SEEDS.join(',')}): ${passed} crash/restart runs passed\n`,
  );
});

describe(
  'crash points (X1): SIGKILL at every step boundary, then a restart that only reconciles',
  { concurrency: CONCURRENCY },
  () => {
    it('every crash point has a scenario and an expectation of the exchange', () => {
      for (const point of CRASH_POINTS) assert.ok(POINT_CASES[point], point);
    });

    for (const seed of SEEDS)
      for (const point of POINTS) {
        const { scenario, before, ids } = POINT_CASES[point];
        const label = ids === undefined ? 'X1' : `${ids}, X1`;
        it(`${label}: ${scenario} killed at ${point} (seed ${seed}) leaves ${JSON.stringify(before)}, restarts with 0 duplicates, 0 lost, fills once`, async () => {
          await driverArgs();
          const run = await runCrashPoint(point, seed);
          assert.deepEqual(
            run.problems,
            [],
            `${point} seed ${seed} (replay: CRASH_SEEDS=${seed} CRASH_POINTS_ONLY=${point} node --import tsx --test test/oms/crash-points.test.ts)\n` +
              `exchange at the crash: ${run.exchangeBefore}\n${run.problems.join('\n')}`,
          );
          passed += 1;
        });
      }
  },
);
