// Shared by the footprint benchmarks (bot-footprint, follow-pairs): `btcbot sim` and `btcbot run`
// each in a process of their own, and the bot's process measured from outside — RSS from
// /proc/PID/status, CPU time from /proc/PID/stat — plus its V8 heap from inside through the
// mem-probe.mjs preload (the only way to read a heap without changing the bot). Linux only.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'btcbot.js');
export const MEM_PROBE = join(import.meta.dirname, 'mem-probe.mjs');
const MB = 1024 * 1024;

export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout lines as read. */
  readonly lines: string[];
  /** The last 50 stderr lines, for a failure's message. */
  readonly errors: string[];
  /** The first 5 stderr lines (bin/btcbot.js says there which build it ran). */
  readonly errorsHead: string[];
  readonly exit: Promise<number | null>;
}

/**
 * Node options for the measured bot process: BENCH_BOT_NODE_ARGS (space-separated, e.g.
 * `--max-old-space-size=64`) to try a runtime setting, and BENCH_CPU_PROF_DIR=DIR to write a CPU
 * profile of it there when it exits (open it in Chrome DevTools), for the breakdown behind a missed
 * target.
 */
export function profilingArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  const extra = (process.env.BENCH_BOT_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  return [...extra, ...(dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`])];
}

/**
 * The Node flags `npm start` runs the bot with (package.json's start script: --max-semi-space-size
 * and --max-old-space-size, V8's heap), which the Docker image and the systemd unit set too: a
 * footprint benchmark measures the bot as it is deployed.
 */
export function startFlags(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  if (words[0] !== 'node')
    throw new Error(
      `package.json's start script is not "node [flags] bin/btcbot.js run": ${pkg.scripts.start}`,
    );
  return words.slice(1, words.indexOf('bin/btcbot.js'));
}

/**
 * BENCH_BTCBOT_ENTRY, or the entry point of a build made now (what `npm ci` makes and a user runs):
 * in a checkout being edited bin/btcbot.js rightly falls back to the sources through tsx, whose
 * loader a footprint would otherwise include.
 */
export function measuredEntry(bench: string): string {
  const given = process.env.BENCH_BTCBOT_ENTRY;
  if (given !== undefined && given !== '') return botEntry();
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`bench ${bench}: the build failed`);
  const current = JSON.parse(readFileSync(join(ROOT, 'dist', 'current.json'), 'utf8')) as { dir: string };
  return join(ROOT, 'dist', current.dir, 'cli', 'main.js');
}

/** Which build the bot process ran, as bin/btcbot.js said with BTCBOT_DEBUG_STARTUP=1. */
export function buildRun(proc: Proc): string {
  const line = proc.errorsHead.find(
    (l) => l.startsWith('btcbot: compiled') || l.startsWith('btcbot: sources'),
  );
  return line?.replace(/^btcbot: /, '').replace(/ \(checked in [^)]*\)$/, '') ?? botEntry();
}

/**
 * The entry the measured bot process runs: bin/btcbot.js, or BENCH_BTCBOT_ENTRY (e.g. a compiled
 * or bundled build of src/cli/main.ts) to compare builds. The simulator always runs from bin/.
 */
export function botEntry(): string {
  const entry = process.env.BENCH_BTCBOT_ENTRY;
  return entry === undefined || entry === '' ? BIN : entry;
}

/**
 * `node [NODE-ARGS] [--import mem-probe] bin/btcbot.js ARGS` (or `--import tsx SCRIPT ARGS`) with
 * only PATH, HOME and `env` in its environment.
 */
export function startBtcbot(
  args: readonly string[],
  env: Record<string, string> = {},
  options: { probeFile?: string; nodeArgs?: readonly string[]; script?: string; entry?: string } = {},
): Proc {
  const probe = options.probeFile === undefined ? [] : ['--import', pathToFileURL(MEM_PROBE).href];
  // A TypeScript script of the bench's own runs through tsx, as the bench does.
  const script = options.script === undefined ? [options.entry ?? BIN] : ['--import', 'tsx', options.script];
  const nodeArgs = [...(options.nodeArgs ?? []), ...probe, ...script, ...args];
  const child = spawn(process.execPath, nodeArgs, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...(options.probeFile === undefined ? {} : { BENCH_MEM_PROBE_FILE: options.probeFile }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not start btcbot ${args[0] ?? ''}`);
  const lines: string[] = [];
  const errors: string[] = [];
  const splitter = (into: string[], keep: number) => {
    let partial = '';
    return (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      into.push(...parts);
      if (into.length > keep) into.splice(0, into.length - keep);
    };
  };
  child.stdout.on('data', splitter(lines, 10_000));
  const errorsHead: string[] = [];
  const tail = splitter(errors, 50);
  const head = splitter(errorsHead, Infinity);
  child.stderr.on('data', (chunk: Buffer) => {
    tail(chunk);
    if (errorsHead.length < 5) head(chunk);
  });
  const exit = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      resolve(code);
    });
  });
  return { child, pid: child.pid, lines, errors, errorsHead, exit };
}

export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  proc: Proc,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  const state = { exited: false };
  void proc.exit.then(() => (state.exited = true));
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (state.exited || Date.now() > deadline)
      throw new Error(
        `${state.exited ? 'the process exited' : 'timed out'} waiting for ${what}: ${proc.errors.slice(-5).join(' | ')}`,
      );
    await sleep(50);
  }
}

export interface SimListening {
  readonly rest: string;
  readonly ws: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** `btcbot sim ARGS` in its own process (with `env` added), once it prints its listening line. */
export async function startSim(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ proc: Proc; sim: SimListening }> {
  const proc = startBtcbot(['sim', '--port', '0', ...args], env);
  const sim = await waitFor(
    'the simulator to listen',
    () => {
      const line = proc.lines.find((l) => l.includes('"event":"listening"'));
      return line === undefined ? undefined : (JSON.parse(line) as SimListening);
    },
    proc,
    120_000,
  );
  return { proc, sim };
}

/** SIGINT, then SIGKILL if the process has not ended within `ms`. */
export async function stop(proc: Proc, ms = 30_000): Promise<number | null> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return proc.exit;
  proc.child.kill('SIGINT');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), ms);
  const code = await proc.exit;
  clearTimeout(timer);
  return code;
}

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface ProcSample {
  /** Wall ms since sampling began. */
  readonly t: number;
  readonly rssMb: number;
  /**
   * RSS split as the kernel counts it: anonymous pages (the heaps: V8's, malloc's for SQLite and
   * native buffers), file-backed pages (the node binary's and addons' code paged in as it first
   * runs, mapped files) and shared memory (SQLite's WAL index, -shm). NaN where not reported.
   */
  readonly rssAnonMb: number;
  readonly rssFileMb: number;
  readonly rssShmemMb: number;
  /** User plus system CPU seconds the process has used so far. */
  readonly cpuSeconds: number;
}

/** RSS (and its split) and CPU time of `pid` now, from /proc; null once the process is gone. */
export function readProc(pid: number): Omit<ProcSample, 't'> | null {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return null;
  try {
    const text = readFileSync(status, 'utf8');
    const mbOf = (field: string) => {
      const kb = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(text)?.[1];
      return kb === undefined ? Number.NaN : (Number(kb) * 1024) / MB;
    };
    const rssMb = mbOf('VmRSS');
    // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    if (Number.isNaN(rssMb) || !Number.isFinite(ticks)) return null;
    return {
      rssMb,
      rssAnonMb: mbOf('RssAnon'),
      rssFileMb: mbOf('RssFile'),
      rssShmemMb: mbOf('RssShmem'),
      cpuSeconds: ticks / ticksPerSecond(),
    };
  } catch {
    return null;
  }
}

/** Samples `pid` every `everyMs` until stopped. */
export function sampleProcess(pid: number, everyMs = 1_000): { samples: ProcSample[]; stop(): void } {
  const samples: ProcSample[] = [];
  const start = performance.now();
  const take = () => {
    const now = readProc(pid);
    if (now) samples.push({ t: performance.now() - start, ...now });
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop: () => {
      clearInterval(timer);
    },
  };
}

export interface HeapSample {
  readonly t: number; // epoch ms
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** The mem-probe lines written so far (a last line cut short is skipped). */
export function readHeapSamples(file: string): HeapSample[] {
  if (!existsSync(file)) return [];
  const out: HeapSample[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as HeapSample);
    } catch {
      // cut short by the process's end
    }
  }
  return out;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export const round = (value: number, places = 1): number => {
  const f = 10 ** places;
  return Math.round(value * f) / f;
};

export const toMb = (bytes: number): number => bytes / MB;

/** CPU used between two samples, as a percentage of one core over the wall time between them. */
export function cpuPercent(from: ProcSample, to: ProcSample): number {
  const wall = (to.t - from.t) / 1000;
  return wall > 0 ? ((to.cpuSeconds - from.cpuSeconds) / wall) * 100 : NaN;
}
