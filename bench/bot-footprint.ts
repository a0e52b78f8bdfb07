// `npm run bench bot-footprint`: the bot's own memory, measured like production. `btcbot sim` runs
// in a process of its own; `btcbot run --mode live --live` trades BTCTRY and ETHTRY against it over
// HTTP and WebSocket with the market-maker, on a database of its own; and only the bot's process
// is measured, every second: RSS from /proc/PID/status, CPU from /proc/PID/stat, and the V8 heap
// through a preload (support/mem-probe.mjs) that only reads process.memoryUsage().
//
// Target (issue 14): ≤ 120 MB RSS after 30 market-minutes, flat over the last two thirds. "Flat"
// is reported as the spread (max − min) and the least-squares slope over the last two thirds.
// RSS is also split as the kernel counts it (rssAnon*, rssFile*, rssShmem*), each with its slope,
// beside V8's heap: anonymous RSS less heapTotal is what native code (malloc) holds.
// BENCH_FOOTPRINT_MARKET_MINUTES (default 30) and BENCH_FOOTPRINT_SPEED (default 10: the market
// runs ten times as fast, so 30 market-minutes take 3 wall minutes) set the run; a shorter one is a
// smoke run. At speed S the market (steps, book change sets, fills) is S times as dense, while the
// bot's own timers (reconciliation every 15 s, valuation every 10 s) keep wall time.
// The bot runs what a user runs: the bundled build (built first, as `npm ci` builds it), its entry
// point started directly, because in a checkout being edited bin/btcbot.js rightly falls back to
// the sources through tsx. BENCH_BTCBOT_ENTRY=FILE runs the bot from another entry instead (e.g.
// bin/btcbot.js, which says which path it took) to compare footprints. Node runs it with the flags
// `npm start` gives (package.json's start script: --max-semi-space-size, V8's young generation,
// which the systemd unit and the Docker image set too); BENCH_BOT_NODE_ARGS adds more after them.
// BENCH_CPU_PROF_DIR=DIR writes a CPU profile of the bot process.
// Figures, never gates: the machines are shared and noisy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  botEntry,
  buildRun,
  cpuPercent,
  measuredEntry,
  profilingArgs,
  readHeapSamples,
  round,
  sampleProcess,
  slope,
  ROOT,
  startBtcbot,
  startFlags,
  startSim,
  stop,
  toMb,
  waitFor,
  type HeapSample,
  type ProcSample,
} from './support/processes.ts';
import { positiveEnv } from './support/figures.ts';

const SYMBOLS = 'BTCTRY,ETHTRY';
const SEED = 7;
export async function run(): Promise<Record<string, number | string>> {
  const marketMinutes = positiveEnv('BENCH_FOOTPRINT_MARKET_MINUTES', 30);
  const speed = positiveEnv('BENCH_FOOTPRINT_SPEED', 10);
  const wallMs = (marketMinutes * 60_000) / speed;
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-footprint-'));
  const probeFile = join(dir, 'heap.jsonl');
  const entry = measuredEntry('bot-footprint');
  const { proc: simProc, sim } = await startSim([
    '--seed',
    String(SEED),
    '--speed',
    String(speed),
    '--symbols',
    SYMBOLS,
  ]);
  try {
    const bot = startBtcbot(
      [
        'run',
        '--mode',
        'live',
        '--live',
        '--symbols',
        SYMBOLS,
        '--db',
        join(dir, 'bot.db'),
        '--cancel-on-exit',
      ],
      {
        BTCTURK_BASE_URL: sim.rest,
        BTCTURK_WS_URL: sim.ws,
        BTCTURK_API_KEY: sim.apiKey,
        BTCTURK_API_SECRET: sim.apiSecret,
        BTCBOT_LIVE_ACK: 'I_UNDERSTAND',
        BTCBOT_DEBUG_STARTUP: '1',
      },
      { probeFile, nodeArgs: [...startFlags(), ...profilingArgs()], entry },
    );
    let sampler: ReturnType<typeof sampleProcess> | undefined;
    try {
      // Measured from the banner on: the process is up and its settings read.
      await waitFor('the bot banner', () => (bot.lines.length > 0 ? true : undefined), bot, 120_000);
      sampler = sampleProcess(bot.pid);
      const startedAt = Date.now();
      while (Date.now() - startedAt < wallMs) {
        if (bot.child.exitCode !== null)
          throw new Error(
            `the bot exited early (code ${bot.child.exitCode}): ${bot.errors.slice(-5).join(' | ')}`,
          );
        await sleep(Math.min(1_000, wallMs - (Date.now() - startedAt)));
      }
      sampler.stop();
    } finally {
      sampler?.stop();
      const code = await stop(bot);
      if (code !== 0)
        process.stderr.write(
          `bot-footprint: the bot exited with ${code}: ${bot.errors.slice(-3).join(' | ')}\n`,
        );
    }
    const samples = sampler.samples;
    const last = samples.at(-1);
    const first = samples[0];
    if (!last || !first || samples.length < 6) throw new Error('too few samples of the bot process');
    // The last two thirds of the run, in market minutes for the slope.
    const tail = samples.filter((s) => s.t >= last.t / 3);
    const tailFirst = tail[0] ?? first;
    const rss = tail.map((s) => s.rssMb);
    const perMarketMinute = (ms: number) => (ms / 60_000) * speed;
    const heap = readHeapSamples(probeFile);
    const heapStart = heap[0]?.t ?? 0;
    const heapTail = heap.filter((h) => h.t - heapStart >= last.t / 3);
    const heapLast = heap.at(-1);
    const heapSlope = (of: (h: HeapSample) => number) =>
      heapTail.length > 1
        ? round(slope(heapTail.map((h) => [perMarketMinute(h.t - heapStart), toMb(of(h))])), 3)
        : 'not read';
    const summary = [...bot.lines].reverse().find((l) => /^\[\d/.test(l) && l.includes('fills')) ?? '';
    const fills = /fills (\d+)/.exec(summary)?.[1];
    const placed = /placed (\d+) replaced (\d+)/.exec(summary);
    return {
      marketMinutes,
      speed,
      wallSeconds: round(last.t / 1000),
      samples: samples.length,
      rssEndMb: round(last.rssMb),
      rssMaxMb: round(Math.max(...samples.map((s) => s.rssMb))),
      rssLastTwoThirdsMinMb: round(Math.min(...rss)),
      rssLastTwoThirdsMaxMb: round(Math.max(...rss)),
      rssLastTwoThirdsSpreadMb: round(Math.max(...rss) - Math.min(...rss)),
      rssSlopeMbPerMarketMinute: round(slope(tail.map((s) => [perMarketMinute(s.t), s.rssMb])), 3),
      // Where RSS sits and which part moves: anonymous (heaps), file-backed (code paged in), shared.
      ...split(last, tail, perMarketMinute),
      heapUsedEndMb: heapLast ? round(toMb(heapLast.heapUsed)) : 'not read',
      heapTotalEndMb: heapLast ? round(toMb(heapLast.heapTotal)) : 'not read',
      heapTotalSlopeMbPerMarketMinute: heapSlope((h) => h.heapTotal),
      externalEndMb: heapLast ? round(toMb(heapLast.external)) : 'not read',
      heapUsedLastTwoThirdsSpreadMb:
        heapTail.length > 0
          ? round(
              toMb(
                Math.max(...heapTail.map((h) => h.heapUsed)) - Math.min(...heapTail.map((h) => h.heapUsed)),
              ),
            )
          : 'not read',
      heapUsedSlopeMbPerMarketMinute: heapSlope((h) => h.heapUsed),
      cpuPercentOneCore: round(cpuPercent(first, last)),
      cpuPercentLastTwoThirds: round(cpuPercent(tailFirst, last)),
      fills: fills === undefined ? 'unknown' : Number(fills),
      ordersPlaced: placed?.[1] === undefined ? 'unknown' : Number(placed[1]),
      ordersReplaced: placed?.[2] === undefined ? 'unknown' : Number(placed[2]),
      build: buildRun(bot) === botEntry() ? relative(ROOT, entry) : buildRun(bot),
      nodeFlags: [...startFlags(), ...profilingArgs()].join(' ') || 'none',
      setup: `btcbot run --mode live (market-maker, ${SYMBOLS}) against btcbot sim --speed ${speed} in separate processes; bot process only`,
    };
  } finally {
    await stop(simProc);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** End value and slope over the tail of each part of RSS the kernel reports. */
function split(
  last: ProcSample,
  tail: readonly ProcSample[],
  perMarketMinute: (ms: number) => number,
): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [name, of] of [
    ['rssAnon', (s: ProcSample) => s.rssAnonMb],
    ['rssFile', (s: ProcSample) => s.rssFileMb],
    ['rssShmem', (s: ProcSample) => s.rssShmemMb],
  ] as const) {
    if (Number.isNaN(of(last))) {
      out[`${name}EndMb`] = 'not read';
      continue;
    }
    out[`${name}EndMb`] = round(of(last));
    out[`${name}SlopeMbPerMarketMinute`] = round(slope(tail.map((s) => [perMarketMinute(s.t), of(s)])), 3);
  }
  return out;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [metric, value] of Object.entries(await run())) process.stdout.write(`${metric}: ${value}\n`);
}
