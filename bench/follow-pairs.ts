// `npm run bench follow-pairs`: what following a whole exchange's pairs costs the bot. `btcbot sim
// --pairs 380` (BTCTurk lists about 380) publishes one obdiff change set per pair about every
// 764 ms, each pair at its own phase of the interval, as the real feed does; the bot follows every
// pair on its one socket. It runs as `btcbot run --mode dry-run` (the whole bot — market data
// service, engine, OMS, store — with public data only and no order sent) with a rebalance strategy
// whose band can never be left, so it evaluates every pair and trades none. Only the bot's process
// is measured: CPU from /proc/PID/stat over a steady window after the warm-up (every pair ready
// and BENCH_FOLLOW_WARMUP_SECONDS more), RSS from /proc/PID/status, the heap through the
// mem-probe preload. A probe client in this process subscribes to the same books to report the
// cadence actually delivered (change sets per pair per second, rows per change set).
//
// Then, for the breakdown, the same measurement of the bot's market data stack alone
// (support/market-data-only.ts: socket, feed, books, no engine; bundled with esbuild as the bot
// is), figures prefixed marketDataOnly.
// When the simulator cannot hold the real cadence (a loaded machine), cpuPercentAtRealCadence
// scales the measured CPU per change set to 380 pairs every 764 ms.
//
// Both run with the Node flags `npm start` gives (package.json's start script:
// --max-semi-space-size, which the Docker image and the systemd unit set too), the bot from a
// build made first (as `npm ci` builds it), as bot-footprint runs it.
//
// Target (issue 14): ≤ 5% of one core and ≤ 150 MB. BENCH_FOLLOW_PAIRS (default 380),
// BENCH_FOLLOW_SECONDS (steady window, default 120), BENCH_FOLLOW_WARMUP_SECONDS (default 20),
// BENCH_FOLLOW_ONLY=bot|market-data (one of the two), BENCH_CPU_PROF_DIR=DIR (a CPU profile of
// each measured process, written when it exits; the profiler itself costs several % of a core,
// so compare CPU figures only between runs that both had it or both had not),
// BENCH_BOT_NODE_ARGS (more Node flags, after npm start's), BENCH_BTCBOT_ENTRY /
// BENCH_MARKET_DATA_ENTRY (a build to run instead of one made now, see support/processes.ts),
// BENCH_FOLLOW_REFERENCE_ENTRY=FILE (a second bot from another build, e.g. the last release's
// dist/builds/…/cli/main.js, run at the same time on the same feed and measured over the same
// window: figures prefixed reference, and cpuVsReference; on a shared machine whose speed moves
// from hour to hour, the one comparison that holds).
// Figures, never gates: the machines are shared and noisy.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import {
  botEntry,
  buildRun,
  cpuPercent,
  measuredEntry,
  profilingArgs,
  readHeapSamples,
  readProc,
  ROOT,
  round,
  sampleProcess,
  startBtcbot,
  startFlags,
  startSim,
  stop,
  toMb,
  waitFor,
  type Proc,
  type SimListening,
  type ProcSample,
} from './support/processes.ts';
import { positiveEnv } from './support/figures.ts';

const SEED = 7;

async function listedSymbols(rest: string): Promise<string[]> {
  const reply = await fetch(`${rest}/api/v2/server/exchangeinfo`);
  const body = (await reply.json()) as { data: { symbols: { name: string }[] } };
  return body.data.symbols.map((s) => s.name);
}

/**
 * Subscribes to what the bot subscribes to for every pair (obdiff and trade: the market data
 * service leaves the ticker off) and counts what arrives: change sets (432) and their rows, and all
 * frames and bytes.
 */
async function cadenceProbe(wsUrl: string, symbols: readonly string[]) {
  const ws = new WebSocket(wsUrl);
  const counts = { deltas: 0, rows: 0, frames: 0, bytes: 0, counting: false };
  ws.on('message', (data: Buffer) => {
    if (!counts.counting) return;
    counts.frames += 1;
    counts.bytes += data.length;
    if (data[1] !== 0x34 || data[3] !== 0x32) return; // "[432"
    const text = data.toString('utf8');
    if (!text.startsWith('[432,')) return;
    const body = (JSON.parse(text) as [number, { AO?: unknown[]; BO?: unknown[] }])[1];
    counts.deltas += 1;
    counts.rows += (body.AO?.length ?? 0) + (body.BO?.length ?? 0);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('error', reject);
  });
  for (const event of symbols)
    for (const channel of ['obdiff', 'trade'])
      ws.send(JSON.stringify([151, { type: 151, channel, event, join: true }]));
  return {
    counts,
    close: () => {
      ws.terminate();
    },
  };
}

function readyCount(bot: Proc): number {
  return bot.lines.filter((l) => l.includes('ready to trade')).length;
}

interface Variant {
  /** Figure name prefix: '' for the bot, e.g. 'marketDataOnly' for a part of it. */
  readonly prefix: string;
  start(sim: SimListening, symbols: readonly string[], probeFile: string, dir: string, entry: string): Proc;
}

const BOT: Variant = {
  prefix: '',
  start: (sim, symbols, probeFile, dir, entry) =>
    startBtcbot(
      [
        'run',
        '--mode',
        'dry-run',
        '--symbols',
        symbols.join(','),
        '--db',
        join(dir, 'bot.db'),
        '--dry-run-balances',
        'TRY=1000000,BTC=0.3',
        '--strategy',
        'rebalance',
        '--param',
        'targets={"TRY":0.5,"BTC":0.5}',
        '--param',
        'bandPct=50',
      ],
      { BTCTURK_BASE_URL: sim.rest, BTCTURK_WS_URL: sim.ws, BTCBOT_DEBUG_STARTUP: '1' },
      { probeFile, nodeArgs: [...startFlags(), ...profilingArgs()], entry },
    ),
};

/**
 * The market data stack alone (support/market-data-only.ts): what following costs before any
 * engine. It runs bundled as the bot is (see marketDataEntry), not through tsx, whose loader thread
 * and transform cache the RSS would otherwise include.
 */
const MARKET_DATA_ONLY: Variant = {
  prefix: 'marketDataOnly',
  start: (sim, symbols, probeFile, _dir, entry) =>
    startBtcbot(
      [],
      { BENCH_WS_URL: sim.ws, BENCH_REST_URL: sim.rest, BENCH_SYMBOLS: symbols.join(',') },
      { probeFile, nodeArgs: [...startFlags(), ...profilingArgs()], entry },
    ),
};

/**
 * BENCH_MARKET_DATA_ENTRY, or support/market-data-only.ts bundled now into `dir` with esbuild as
 * scripts/build.mjs bundles the bot (ESM, its packages included), so the two compare.
 */
async function marketDataEntry(dir: string): Promise<string> {
  const given = process.env.BENCH_MARKET_DATA_ENTRY;
  if (given !== undefined && given !== '') return given;
  const esbuild = await import('esbuild');
  const outfile = join(dir, 'market-data-only.mjs');
  await esbuild.build({
    entryPoints: [join(import.meta.dirname, 'support', 'market-data-only.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: join(ROOT, 'tsconfig.build.json'),
    // ws's optional accelerators, as in the bot's build; bundled CommonJS gets an ES module's require.
    external: ['bufferutil', 'utf-8-validate'],
    banner: {
      js: "import { createRequire as __benchCreateRequire } from 'node:module';\nconst require = __benchCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

function named(prefix: string, metric: string): string {
  return prefix === '' ? metric : `${prefix}${metric[0]?.toUpperCase() ?? ''}${metric.slice(1)}`;
}

async function measure(
  variant: Variant,
  sim: SimListening,
  simProc: Proc,
  symbols: readonly string[],
  o: { windowSeconds: number; warmupSeconds: number; entry: string; reference?: string | undefined },
): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-follow-'));
  const probeFile = join(dir, 'heap.jsonl');
  let probe: Awaited<ReturnType<typeof cadenceProbe>> | undefined;
  const proc = variant.start(sim, symbols, probeFile, dir, o.entry);
  const whole = sampleProcess(proc.pid);
  const referenceDir = o.reference === undefined ? undefined : mkdtempSync(join(tmpdir(), 'btcbot-follow-'));
  const reference =
    o.reference === undefined || referenceDir === undefined
      ? undefined
      : variant.start(sim, symbols, join(referenceDir, 'heap.jsonl'), referenceDir, o.reference);
  try {
    const began = performance.now();
    for (const bot of reference === undefined ? [proc] : [proc, reference])
      await waitFor(
        'every pair to be ready',
        () => (readyCount(bot) >= symbols.length ? true : undefined),
        bot,
        300_000,
      );
    const readySeconds = (performance.now() - began) / 1000;
    await sleep(o.warmupSeconds * 1_000);
    probe = await cadenceProbe(sim.ws, symbols);
    await sleep(2_000); // the probe's snapshots are in
    const from = readProc(proc.pid);
    const simFrom = readProc(simProc.pid);
    const referenceFrom = reference && readProc(reference.pid);
    const windowStart = performance.now();
    probe.counts.counting = true;
    await sleep(o.windowSeconds * 1_000);
    probe.counts.counting = false;
    const to = readProc(proc.pid);
    const simTo = readProc(simProc.pid);
    const referenceTo = reference && readProc(reference.pid);
    const windowMs = performance.now() - windowStart;
    whole.stop();
    if (!from || !to || !simFrom || !simTo)
      throw new Error('the bot or the simulator ended during the window');
    const at = (x: Omit<ProcSample, 't'>, t: number): ProcSample => ({ t, ...x });
    const heap = readHeapSamples(probeFile).at(-1);
    const deltasPerSecond = probe.counts.deltas / (windowMs / 1000);
    const cpu = cpuPercent(at(from, 0), at(to, windowMs));
    const figures: Record<string, number | string> = {
      secondsUntilEveryPairReady: round(readySeconds),
      cpuPercentOneCore: round(cpu, 2),
      // The same CPU per change set at the real feed's rate: every pair once per 764 ms.
      cpuPercentAtRealCadence: round((cpu / deltasPerSecond) * (symbols.length / 0.764), 2),
      cpuMsPerDelta: round((cpu * 10) / deltasPerSecond, 3),
      rssEndMb: round(to.rssMb),
      rssMaxMb: round(Math.max(...whole.samples.map((s) => s.rssMb))),
      heapUsedEndMb: heap ? round(toMb(heap.heapUsed)) : 'not read',
      heapTotalEndMb: heap ? round(toMb(heap.heapTotal)) : 'not read',
      deltasPerSecond: round(deltasPerSecond),
      msBetweenDeltasPerPair: round(1000 / (deltasPerSecond / symbols.length)),
      rowsPerDelta: round(probe.counts.rows / Math.max(1, probe.counts.deltas)),
      // Every frame of the pairs' obdiff and trade channels, as the bot subscribes them.
      framesPerSecond: round(probe.counts.frames / (windowMs / 1000)),
      kbPerSecond: round(probe.counts.bytes / 1024 / (windowMs / 1000)),
      simCpuPercentOneCore: round(cpuPercent(at(simFrom, 0), at(simTo, windowMs))),
      ...(variant.prefix === ''
        ? { build: buildRun(proc) === botEntry() ? relative(ROOT, o.entry) : buildRun(proc) }
        : {}),
      nodeFlags: [...startFlags(), ...profilingArgs()].join(' ') || 'none',
    };
    if (o.reference !== undefined) {
      if (!referenceFrom || !referenceTo) throw new Error('the reference bot ended during the window');
      const referenceCpu = cpuPercent(at(referenceFrom, 0), at(referenceTo, windowMs));
      Object.assign(figures, {
        referenceBuild: o.reference,
        referenceCpuPercentOneCore: round(referenceCpu, 2),
        referenceRssEndMb: round(referenceTo.rssMb),
        cpuVsReference: round(cpu / referenceCpu, 3),
      });
    }
    return Object.fromEntries(Object.entries(figures).map(([k, v]) => [named(variant.prefix, k), v]));
  } finally {
    whole.stop();
    probe?.close();
    if (reference !== undefined) await stop(reference);
    if (referenceDir !== undefined) rmSync(referenceDir, { recursive: true, force: true });
    const code = await stop(proc);
    if (code !== 0)
      process.stderr.write(
        `follow-pairs: ${variant.prefix || 'the bot'} exited with ${code}: ${proc.errors.slice(-3).join(' | ')}\n`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const pairs = positiveEnv('BENCH_FOLLOW_PAIRS', 380, { whole: true });
  const windowSeconds = positiveEnv('BENCH_FOLLOW_SECONDS', 120, { whole: true });
  const warmupSeconds = positiveEnv('BENCH_FOLLOW_WARMUP_SECONDS', 20, { whole: true });
  const only = process.env.BENCH_FOLLOW_ONLY;
  if (only !== undefined && only !== 'bot' && only !== 'market-data')
    throw new Error(`BENCH_FOLLOW_ONLY: expected bot or market-data, got ${JSON.stringify(only)}`);
  const entry = only === 'market-data' ? '' : measuredEntry('follow-pairs');
  const bundleDir = mkdtempSync(join(tmpdir(), 'btcbot-follow-bundle-'));
  const { proc: simProc, sim } = await startSim(['--seed', String(SEED), '--pairs', String(pairs)]);
  try {
    const symbols = await listedSymbols(sim.rest);
    const o = { windowSeconds, warmupSeconds };
    const reference = process.env.BENCH_FOLLOW_REFERENCE_ENTRY;
    return {
      pairs: symbols.length,
      windowSeconds,
      ...(only === 'market-data'
        ? {}
        : await measure(BOT, sim, simProc, symbols, {
            ...o,
            entry,
            reference: reference === undefined || reference === '' ? undefined : reference,
          })),
      ...(only === 'bot'
        ? {}
        : await measure(MARKET_DATA_ONLY, sim, simProc, symbols, {
            ...o,
            entry: await marketDataEntry(bundleDir),
          })),
      setup: `btcbot run --mode dry-run --strategy rebalance (band never left: no orders) following ${symbols.length} pairs of btcbot sim --pairs ${pairs}; then the market data stack alone (marketDataOnly*); each in its own process, the simulator in another; figures of the measured process only`,
    };
  } finally {
    await stop(simProc);
    rmSync(bundleDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const [metric, value] of Object.entries(await run())) process.stdout.write(`${metric}: ${value}\n`);
}
