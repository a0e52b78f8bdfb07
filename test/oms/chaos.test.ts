import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChaos } from './chaos-run.ts';

// A stream of intents with every fault on (timeout-after-accept, reset-before-accept, error-5xx,
// reply-200-failure, rate-limit-storm, cancel-delay-ms, clock-skew-ms), a few seeds: after the final
// reconciliation no duplicates, nothing lost, no divergence. The long run is bench/oms-chaos.ts.

const SEEDS = (process.env.CHAOS_SEEDS ?? '7,8').split(',').map(Number);
const INTENTS = Number(process.env.CHAOS_INTENTS ?? '24');

describe('chaos: every fault on, then reconciliation', () => {
  for (const seed of SEEDS)
    it(`seed ${seed}: ${INTENTS} intents end with 0 duplicates, 0 lost, 0 divergence`, async (t) => {
      const result = await runChaos(seed, INTENTS);
      t.diagnostic(
        `seed ${seed}: ${result.intents} intents, ${result.exchangeOrders} exchange orders, ${result.fills} fills, ` +
          `${result.refused} refused; duplicates ${result.duplicates}, lost ${result.lost}, divergence ${result.divergence}; ` +
          `converged in ${result.convergeMs} ms (run ${result.runMs} ms); ambiguous ${result.stats.ambiguous}, ` +
          `resolved ${result.stats.resolvedFound}+${result.stats.resolvedNotFound}, reconcile failures ${result.stats.reconcileFailures}`,
      );
      assert.deepEqual(
        { duplicates: result.duplicates, lost: result.lost, divergence: result.divergence },
        { duplicates: 0, lost: 0, divergence: 0 },
        result.details.join('\n'),
      );
      assert.ok(result.exchangeOrders > 0, 'no order reached the exchange: the run proved nothing');
    });
});
