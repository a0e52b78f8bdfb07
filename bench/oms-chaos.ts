// The long chaos run: 10 seeds × 1,000 intents against the simulator with every fault at once, the
// private stream connected and the escalation ladder at its defaults (test/oms/chaos-run.ts), then
// reconciliation until the store equals the exchange both ways. Prints per seed: orders, fills,
// ambiguous sends, refusals, faults that struck and the time to converge; in total: duplicates,
// lost, divergence (all must be 0), seeds converged (all must be) and the worst convergence time.
// test/oms/chaos.test.ts is its short form.
// Run alone: node --import tsx bench/oms-chaos.ts [seeds=1,...,10] [intents=1000]
// (or CHAOS_SEEDS=1,2,3 CHAOS_INTENTS=1000)
import { pathToFileURL } from 'node:url';
import { runChaos } from '../test/oms/chaos-run.ts';

const DEFAULT_SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const DEFAULT_INTENTS = 1_000;

export async function run(
  seeds: readonly number[] = process.env.CHAOS_SEEDS?.split(',').map(Number) ?? DEFAULT_SEEDS,
  intents = Number(process.env.CHAOS_INTENTS ?? DEFAULT_INTENTS),
): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { seeds: seeds.join(','), intentsPerSeed: intents };
  let duplicates = 0;
  let lost = 0;
  let divergence = 0;
  let converged = 0;
  let worstConvergeMs = 0;
  let faultsStruck = 0;
  const struckByFault: Record<string, number> = {};
  const halted: number[] = [];
  for (const seed of seeds) {
    const r = await runChaos(seed, intents);
    duplicates += r.duplicates;
    lost += r.lost;
    divergence += r.divergence;
    if (r.converged) converged += 1;
    worstConvergeMs = Math.max(worstConvergeMs, r.convergeMs);
    faultsStruck += r.faultsStruckTotal;
    for (const [name, n] of Object.entries(r.faultsStruck))
      struckByFault[name] = (struckByFault[name] ?? 0) + n;
    if (r.escalation !== 'NORMAL') halted.push(seed);
    out[`seed${seed}`] =
      `${r.exchangeOrders} orders, ${r.fills} fills (${r.streamFills} by stream), ${r.stats.ambiguous} ambiguous, ` +
      `${r.refused} refused ${JSON.stringify(r.refusals)}, ${r.faultsStruckTotal} faults struck, ` +
      `${r.converged ? 'converged' : 'NOT converged'} ${r.convergeMs} ms, escalation ${r.escalation}, ` +
      `dup ${r.duplicates} lost ${r.lost} div ${r.divergence}, run ${r.runMs} ms`;
    process.stderr.write(`seed ${seed}: ${String(out[`seed${seed}`])}\n`);
    process.stderr.write(`seed ${seed}: faults struck ${JSON.stringify(r.faultsStruck)}\n`);
    for (const line of r.alerts) process.stderr.write(`seed ${seed}: ladder: ${line}\n`);
    for (const line of r.errors.slice(0, 30)) process.stderr.write(`seed ${seed}: error: ${line}\n`);
    for (const line of r.details) process.stderr.write(`seed ${seed}: ${line}\n`);
  }
  return {
    ...out,
    duplicates,
    lost,
    divergence,
    seedsConverged: `${converged}/${seeds.length}`,
    worstConvergeMs,
    faultsStruck,
    faultsStruckByFault: JSON.stringify(struckByFault),
    faultsNeverStruck:
      Object.entries(struckByFault)
        .filter(([, n]) => n === 0)
        .map(([name]) => name)
        .join(',') || 'none',
    steppedDown: halted.join(',') || 'none',
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [seeds, intents] = process.argv.slice(2);
  console.log(
    JSON.stringify(await run(seeds?.split(',').map(Number), intents ? Number(intents) : undefined)),
  );
}
