// Backtest replay speed and grid time (issue 13). A recorded hour of two pairs is made by driving
// the simulator's synthetic market on a virtual clock as fast as the machine allows (see
// generateRecording): the market steps every 250 ms and each pair's book change set goes out every
// 764 ms (BTCTurk's cadence) of that clock, frames in BTCTurk's encoding over a real WebSocket,
// written by the real recording writer with their virtual arrival times. Then:
//   - replay: the hour through runBacktest (the market maker), market-seconds per wall-second. The
//     replay's modules are loaded before the clock starts (a fixed start-up cost, most of it tsx
//     compiling TypeScript, which the built CLI does not do); their load time is its own figure;
//   - grid: 16 points (spreadBps × levels, 4 × 4) over a 10-minute slice, wall seconds.
//   - cli: the same hour through `btcbot backtest --json` of the bundled build, a whole process timed
//     (start-up and printing included): what a user's run takes.
// The recording is made in a child process, so the replay timed here starts on a heap of its own.
// Figures only, never pass/fail; wall and CPU seconds (the process's, worker threads included).
// Env: BENCH_BACKTEST_MINUTES (default 60), BENCH_BACKTEST_DATA (a recording directory to replay;
// one without a recording yet is generated and kept there, e.g. /tmp/btcbot-bench-recording, so
// later runs reuse it), BENCH_BACKTEST_GRID_MINUTES (default 10).
// `node --import tsx bench/backtest.ts --generate DIR` only writes the recording.
import { once } from 'node:events';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { parseGridArgs, runGrid } from '../src/backtest/grid.ts';
import { runBacktest } from '../src/backtest/run.ts';
import type { Clock } from '../src/domain/clock.ts';
import { readIndex } from '../src/record/reader.ts';
import { RecordingWriter } from '../src/record/writer.ts';
import { startSimulator } from '../src/sim/index.ts';
import { measuredEntry } from './support/processes.ts';

const execFileAsync = promisify(execFile);

const SYMBOLS = ['BTCTRY', 'ETHTRY'];
const CHANNELS = ['obdiff', 'trade', 'ticker'];

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}: expected a number above 0, got ${text}`);
  return value;
}

/** A clock that stands still until the generator moves it. */
function manualClock(start: number): Clock & { set(t: number): void } {
  let now = start;
  return {
    now: () => now,
    monotonic: () => now - start,
    sleep: () => new Promise(() => undefined),
    set: (t) => {
      now = t;
    },
  };
}

export interface GeneratedRecording {
  readonly dir: string;
  readonly marketMs: number;
  readonly events: number;
  readonly wallMs: number;
  readonly bytes: number;
}

const SYNC_CHANNEL = 'benchsync';
const MARKET_STEP_MS = 250; // the simulator's default market step
const BOOK_INTERVAL_MS = 764; // BTCTurk's observed change-set cadence per pair

/**
 * Records `minutes` of market time of BTCTRY and ETHTRY from an in-process simulator on a virtual
 * clock, as fast as the machine allows: the market steps every 250 ms and the book change sets go
 * out every 764 ms of that clock, and every frame is written with the virtual time it arrived at.
 * After each step the generator waits for the answer to a join it sends, which the simulator
 * sends after that step's frames; those answers are not recorded. Seeded: the same every time.
 */
export async function generateRecording(dir: string, minutes: number): Promise<GeneratedRecording> {
  const start = Date.UTC(2026, 0, 5, 10, 0, 0);
  const clock = manualClock(start);
  const sim = await startSimulator({
    seed: 13,
    symbols: SYMBOLS,
    clock,
    autoMarket: false,
    bookIntervalMs: 24 * 3_600_000, // never by itself: flushed on the virtual cadence below
  });
  let stamp = start;
  const writer = await RecordingWriter.open({
    dir,
    source: 'sim',
    url: sim.wsUrl,
    symbols: SYMBOLS,
    channels: CHANNELS,
    now: () => stamp,
    flushEveryMs: 5_000,
  });
  const wallStart = performance.now();
  const socket = new WebSocket(sim.wsUrl);
  let synced: (() => void) | null = null;
  let joined = false;
  const sync = (): Promise<void> =>
    new Promise((resolve) => {
      synced = resolve;
      joined = !joined;
      socket.send(JSON.stringify([151, { type: 151, channel: SYNC_CHANNEL, event: 'X', join: joined }]));
    });
  try {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) return;
      const text = data.toString('utf8');
      if (text.startsWith('[100,') && text.includes(`${SYNC_CHANNEL}:X`)) {
        const done = synced;
        synced = null;
        done?.();
        return;
      }
      // Frames of one step arrive a few hundred microseconds apart on a real socket.
      stamp += 0.25;
      writer.frame(text, stamp);
    });
    await once(socket, 'open');
    writer.marker('connect', {}); // stamped at `start`
    for (const symbol of SYMBOLS)
      for (const channel of CHANNELS)
        socket.send(JSON.stringify([151, { type: 151, channel, event: symbol, join: true }]));
    await sync();
    const end = start + minutes * 60_000;
    let nextBook = start + BOOK_INTERVAL_MS;
    for (let t = start + MARKET_STEP_MS; t <= end; t += MARKET_STEP_MS) {
      while (nextBook <= t) {
        clock.set(nextBook);
        stamp = Math.max(stamp, nextBook + 2);
        sim.flushBooks();
        await sync();
        nextBook += BOOK_INTERVAL_MS;
      }
      clock.set(t);
      stamp = Math.max(stamp, t + 2);
      sim.engine.stepMarket();
      await sync();
    }
    stamp = Math.max(stamp, end);
    writer.marker('disconnect', { reason: 'end of the benchmark recording' });
  } finally {
    socket.terminate();
    await writer.close();
    await sim.stop();
  }
  const index = await readIndex(dir);
  const first = index.segments[0]?.firstT ?? start;
  const last = index.segments.at(-1)?.lastT ?? first;
  return {
    dir,
    marketMs: last - first,
    events: index.segments.reduce((n, s) => n + s.events, 0),
    wallMs: performance.now() - wallStart,
    bytes: index.segments.reduce((n, s) => n + s.bytes, 0),
  };
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** CPU seconds this process spent since `from` (all its threads: the grid's workers too). */
const cpuSeconds = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

/**
 * The recording, made in a process of its own (this file with --generate): the simulator's run
 * leaves a heap and compiled code behind that the replay timed next must not inherit.
 */
async function generateElsewhere(dir: string, minutes: number): Promise<GeneratedRecording> {
  const { stdout } = await execFileAsync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--generate', dir],
    { env: { ...process.env, BENCH_BACKTEST_MINUTES: String(minutes) }, maxBuffer: 16 * 1024 * 1024 },
  );
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as GeneratedRecording;
}

const hasRecording = (dir: string): Promise<boolean> =>
  access(join(dir, 'index.json')).then(
    () => true,
    () => false,
  );

export async function run(): Promise<Record<string, number | string>> {
  const minutes = envNumber('BENCH_BACKTEST_MINUTES', 60);
  const gridMinutes = envNumber('BENCH_BACKTEST_GRID_MINUTES', 10);
  const reuse = process.env.BENCH_BACKTEST_DATA;
  const temp =
    reuse === undefined || reuse === '' ? await mkdtemp(join(tmpdir(), 'btcbot-bench-backtest-')) : null;
  try {
    const out: Record<string, number | string> = {};
    let dir: string;
    if (temp === null && (await hasRecording(reuse ?? ''))) {
      dir = reuse ?? '';
    } else {
      dir = temp === null ? (reuse ?? '') : join(temp, 'recording');
      const made = await generateElsewhere(dir, minutes);
      out.recordedMarketMinutes = round(made.marketMs / 60_000, 2);
      out.recordedEvents = made.events;
      out.recordedMegabytesGz = round(made.bytes / 1e6, 2);
      out.recordingWallSeconds = round(made.wallMs / 1000);
    }

    // Loaded once here, not inside the timed run: under tsx the replay's module graph takes most of a
    // second to compile, whatever the recording's length.
    const load0 = performance.now();
    await import('../src/backtest/replay.ts');
    out.replayModuleLoadSeconds = round((performance.now() - load0) / 1000, 2);

    // Progress marks say how fast the events went through even if the run's ending fails.
    let progress = { wallMs: 0, marketMs: 0, events: 0 };
    const wall0 = performance.now();
    const cpu0 = process.cpuUsage();
    let first: number | null = null;
    try {
      const result = await runBacktest({
        data: dir,
        strategy: 'market-maker',
        onProgress: (marketMs, events) => {
          progress = { wallMs: performance.now() - wall0, marketMs, events };
        },
      });
      const wallMs = performance.now() - wall0;
      const cpu = cpuSeconds(cpu0);
      first = result.from;
      out.replayMarketSeconds = round(result.marketMs / 1000);
      out.replayEvents = result.events;
      out.replayWallSeconds = round(wallMs / 1000, 2);
      out.replaySpeedMarketSecondsPerWallSecond = round(result.marketMs / wallMs, 0);
      out.replayCpuSeconds = round(cpu, 2);
      out.replaySpeedMarketSecondsPerCpuSecond = round(result.marketMs / 1000 / cpu, 0);
      out.replayEventsPerSecond = Math.round(result.events / (wallMs / 1000));
      out.replayFills = result.fills;
      out.replayOrders = result.orders;
    } catch (error) {
      out.replayError = (error as Error).message;
      out.replayWallSecondsUntilError = round((performance.now() - wall0) / 1000, 2);
    }
    // The same hour through the command a user runs (the bundled build, as `npm ci` builds it), timed
    // as a whole process: start-up, the replay and printing the summary.
    try {
      const entry = measuredEntry('backtest');
      const cli0 = performance.now();
      const { stdout: cliOut } = await execFileAsync(
        process.execPath,
        [entry, 'backtest', '--data', dir, '--strategy', 'market-maker', '--json'],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const cliWallMs = performance.now() - cli0;
      const cliSummary = JSON.parse(cliOut) as { fills: number; marketMs: number };
      out.cliWallSeconds = round(cliWallMs / 1000, 2);
      out.cliSpeedMarketSecondsPerWallSecond = round(cliSummary.marketMs / cliWallMs, 0);
      out.cliFills = cliSummary.fills;
    } catch (error) {
      // The grid's figure still comes; the failure is a figure of its own.
      out.cliError = (error as Error).message.split('\n')[0] ?? 'failed';
    }
    // Up to the last progress mark (every 1000 events): the feed alone, without start-up and ending.
    out.replayMarketSecondsAtLastProgress = round(progress.marketMs / 1000);
    out.replaySpeedAtLastProgress = progress.wallMs > 0 ? round(progress.marketMs / progress.wallMs, 0) : 0;
    first ??= (await readIndex(dir)).segments[0]?.firstT ?? 0;

    const axes = parseGridArgs(['spreadBps=20,40,60,80', 'levels=1,2,3,4']);
    const grid0 = performance.now();
    const gridCpu0 = process.cpuUsage();
    const grid = await runGrid({
      base: {
        data: dir,
        strategy: 'market-maker',
        from: first,
        to: first + gridMinutes * 60_000,
      },
      axes,
    });
    out.gridPoints = grid.points;
    out.gridWorkers = grid.workers;
    out.gridMarketMinutesPerPoint = gridMinutes;
    out.gridWallSeconds = round((performance.now() - grid0) / 1000, 2);
    out.gridCpuSeconds = round(cpuSeconds(gridCpu0), 2);
    out.gridFailedPoints = grid.rows.filter((r) => r.summary === null).length;
    out.setup = `market-maker on ${SYMBOLS.join('+')}, recording made by the simulator on a virtual clock (market step 250 ms, change sets every 764 ms); grid spreadBps×levels 4×4 over ${gridMinutes} market minutes`;
    return out;
  } finally {
    if (temp !== null) await rm(temp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const keep = process.argv[2];
  if (keep === '--generate' && process.argv[3] !== undefined) {
    console.log(
      JSON.stringify(await generateRecording(process.argv[3], envNumber('BENCH_BACKTEST_MINUTES', 60))),
    );
  } else {
    console.log(JSON.stringify(await run()));
  }
}
