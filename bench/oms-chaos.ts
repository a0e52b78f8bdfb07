// The long chaos run: several seeds × a few hundred intents against the simulator with every fault
// on, then reconciliation until the store equals the simulator. Prints duplicates, lost orders,
// divergence (all must be 0) and the time to converge. test/oms/chaos.test.ts is its short form.
// Run alone: node --import tsx bench/oms-chaos.ts [seeds=1,2,3] [intents=150]
import { pathToFileURL } from 'node:url';
import { runChaos } from '../test/oms/chaos-run.ts';

export async function run(
  seeds: readonly number[] = [1, 2, 3],
  intents = 150,
): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { seeds: seeds.join(','), intentsPerSeed: intents };
  let duplicates = 0;
  let lost = 0;
  let divergence = 0;
  let worstConvergeMs = 0;
  for (const seed of seeds) {
    const r = await runChaos(seed, intents);
    duplicates += r.duplicates;
    lost += r.lost;
    divergence += r.divergence;
    worstConvergeMs = Math.max(worstConvergeMs, r.convergeMs);
    out[`seed${seed}`] =
      `${r.exchangeOrders} orders, ${r.fills} fills, ${r.stats.ambiguous} ambiguous, ${r.refused} refused, ` +
      `converged ${r.convergeMs} ms, run ${r.runMs} ms`;
    for (const line of r.details) process.stderr.write(`seed ${seed}: ${line}\n`);
  }
  return { ...out, duplicates, lost, divergence, worstConvergeMs };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [seeds, intents] = process.argv.slice(2);
  console.log(
    JSON.stringify(await run(seeds?.split(',').map(Number), intents ? Number(intents) : undefined)),
  );
}
