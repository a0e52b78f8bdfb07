import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CHAOS_FAULTS, CONVERGE_BOUND_MS, runChaos, type ChaosResult } from './chaos-run.ts';

// Every simulator fault at once (chaos-run.ts CHAOS_FAULTS: timeouts and 5xx after accept, resets,
// 200-failures, 429 storms, latency, cancel and visibility delays, a server clock jumping beyond the
// ±5 s stamp window, WebSocket drops, silences and gaps) with the private stream connected (plus
// duplicated and lagging stream events), continuous reconciliation and the escalation ladder at its
// defaults. After the faults go off the run must converge within its bound: the store equals the
// exchange both ways (no order or fill lost, duplicated or phantom, none left UNKNOWN, SUBMITTED
// or PENDING_*) and a reconciliation pass comes out clean. The long run is bench/oms-chaos.ts.
// Replay: CHAOS_SEEDS=N CHAOS_INTENTS=M node --import tsx --test test/oms/chaos.test.ts

const SEEDS = (process.env.CHAOS_SEEDS ?? '7,8').split(',').map(Number);
const INTENTS = Number(process.env.CHAOS_INTENTS ?? '36');

export function chaosLine(r: ChaosResult): string {
  const struck = Object.entries(r.faultsStruck)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  return (
    `seed ${r.seed}: ${r.intents} intents, ${r.exchangeOrders} exchange orders, ${r.fills} fills ` +
    `(${r.streamFills} first by stream), ambiguous ${r.stats.ambiguous}, refused ${r.refused} ` +
    `${JSON.stringify(r.refusals)}; duplicates ${r.duplicates}, lost ${r.lost}, divergence ${r.divergence}; ` +
    `converged ${r.converged} in ${r.convergeMs} ms (run ${r.runMs} ms); escalation ${r.escalation}; ` +
    `faults struck ${r.faultsStruckTotal} (${struck}); stream ${JSON.stringify(r.stream)}`
  );
}

describe('chaos: every fault at once, private stream connected, ladder on', () => {
  for (const seed of SEEDS)
    it(`seed ${seed}: ${INTENTS} intents converge with 0 duplicates, 0 lost, 0 divergence`, async (t) => {
      const result = await runChaos(seed, INTENTS);
      t.diagnostic(chaosLine(result));
      for (const alert of result.alerts) t.diagnostic(`seed ${seed}: ladder stepped down: ${alert}`);
      for (const error of result.errors.slice(0, 20)) t.diagnostic(`seed ${seed}: error: ${error}`);
      const explain = [...result.details, ...result.alerts, ...result.errors.slice(0, 20)].join('\n');
      assert.ok(
        result.converged,
        `seed ${seed} did not converge within ${CONVERGE_BOUND_MS} ms after the faults went off:\n${explain}`,
      );
      assert.deepEqual(
        { duplicates: result.duplicates, lost: result.lost, divergence: result.divergence },
        { duplicates: 0, lost: 0, divergence: 0 },
        explain,
      );
      assert.ok(result.exchangeOrders > 0, 'no order reached the exchange: the run proved nothing');
      // Every fault was on (the figures say which struck how often; a short run may miss a rare
      // one). The clock jumps are certain: requests were refused for their stamps, and the run
      // still converged, so the REST client re-synced its clock.
      for (const name of ['latency-ms', 'clock-skew-ms', 'cancel-delay-ms', 'ws-drop-every'])
        assert.ok((result.faultsStruck[name] ?? 0) > 0, `${name} never struck: ${chaosLine(result)}`);
      assert.equal(Object.keys(result.faultsStruck).length, ALL_CHAOS_FAULTS.length);
      // Late or repeated news is information, never a crash: a pass or a stream event that blew up is a bug.
      const crashes = result.errors.filter((line) => /crashed|could not be applied/.test(line));
      assert.deepEqual(crashes, [], 'a reconciliation pass or a stream event crashed');
      assert.ok(result.stream.logins > 0, 'the private stream never logged in: fills came by REST alone');
      assert.notEqual(result.escalation, 'HALTED', `the ladder halted the bot:\n${explain}`);
    });
});
