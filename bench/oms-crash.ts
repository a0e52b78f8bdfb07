// The long crash harness: every crash point × CRASH_SEEDS (default 1..20). Each run kills a real bot
// process by SIGKILL at the point, checks what it left on the exchange, restarts it on the same
// database with reconciliation alone, and compares the store with the simulator both ways (see
// test/oms/crash-run.ts; test/oms/crash-points.test.ts is the short form). Prints runs, failures,
// per-point results and the time taken; every failure with its replay command on stderr.
// Run alone: CRASH_SEEDS=1..20 node --import tsx bench/oms-crash.ts
// Narrow: CRASH_POINTS_ONLY=replace-fast,resolve CRASH_SEEDS=3 …; CRASH_CONCURRENCY=3 (default).
import { pathToFileURL } from 'node:url';
import type { CrashPoint } from '../src/oms/crash-points.ts';
import { driverArgs, runCrashPoint, type CrashRunResult } from '../test/oms/crash-run.ts';
import { parseSeeds, selectedPoints } from '../test/oms/crash-scenarios.ts';

const DEFAULT_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);

/** Runs `jobs` with at most `limit` at once; results in job order. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < jobs.length; i = next++) {
      const job = jobs[i];
      if (job) results[i] = await job();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  return results;
}

export async function run(): Promise<Record<string, number | string>> {
  const seeds = parseSeeds(process.env.CRASH_SEEDS, DEFAULT_SEEDS);
  const points = selectedPoints();
  const concurrency = Number(process.env.CRASH_CONCURRENCY ?? 3);
  const started = Date.now();
  await driverArgs();
  let finished = 0;
  const jobs = seeds.flatMap((seed) =>
    points.map((point) => async (): Promise<CrashRunResult> => {
      const result = await runCrashPoint(point, seed);
      finished += 1;
      if (finished % points.length === 0)
        process.stderr.write(
          `crash: ${finished}/${jobs.length} runs done, ${Math.round((Date.now() - started) / 1000)} s\n`,
        );
      if (result.problems.length > 0)
        process.stderr.write(
          `crash: point ${point} seed ${seed} FAILED (replay: CRASH_SEEDS=${seed} CRASH_POINTS_ONLY=${point} ` +
            `node --import tsx --test test/oms/crash-points.test.ts)\n  exchange at the crash: ${result.exchangeBefore}\n  ` +
            `${result.problems.join('\n  ')}\n`,
        );
      return result;
    }),
  );
  const results = await pool(jobs, concurrency);
  const ms = Date.now() - started;

  const byPoint = new Map<CrashPoint, CrashRunResult[]>();
  for (const r of results) byPoint.set(r.point, [...(byPoint.get(r.point) ?? []), r]);
  const failures = results.filter((r) => r.problems.length > 0);
  const sum = (pick: (r: CrashRunResult) => number): number =>
    results.reduce((total, r) => total + pick(r), 0);
  const out: Record<string, number | string> = {
    seeds:
      seeds.length === DEFAULT_SEEDS.length && seeds.every((s, i) => s === i + 1) ? '1..20' : seeds.join(','),
    points: points.length,
    runs: results.length,
    failures: failures.length,
    duplicates: sum((r) => r.divergence?.duplicates ?? 0),
    lost: sum((r) => r.divergence?.lost ?? 0),
    phantom: sum((r) => r.divergence?.phantom ?? 0),
    fillMismatches: sum((r) => r.divergence?.fillMismatches ?? 0),
    stateMismatches: sum((r) => r.divergence?.stateMismatches ?? 0),
    unsettled: sum((r) => r.divergence?.unsettled ?? 0),
    totalSeconds: Math.round(ms / 100) / 10,
    meanRunMs: Math.round(sum((r) => r.ms) / Math.max(1, results.length)),
    worstRunMs: Math.max(0, ...results.map((r) => r.ms)),
  };
  for (const [point, runs] of byPoint) {
    const failed = runs.filter((r) => r.problems.length > 0);
    const outcomes = [...new Set(runs.map((r) => r.outcome).filter((o) => o !== '-'))];
    out[point] =
      `${runs.length - failed.length}/${runs.length} passed` +
      (failed.length > 0 ? ` (failed seeds ${failed.map((r) => r.seed).join(',')})` : '') +
      (outcomes.length > 0 ? `, replace ${outcomes.join(' | ')}` : '') +
      `, mean ${Math.round(runs.reduce((t, r) => t + r.ms, 0) / runs.length)} ms`;
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  console.log(JSON.stringify(await run(), null, 1));
