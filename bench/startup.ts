// `npm run bench startup`: how long an operator waits for `btcbot --help`, `btcbot status` and
// `btcbot kill-switch on`, each a whole process timed from spawn to exit: the median of
// STARTUP_RUNS runs (default 5) after one warm-up, for the bundled build (built first, as `npm ci`
// builds it: scripts/build.mjs) and for the sources through tsx (node bin/btcbot.js with
// BTCBOT_FROM_SOURCE=1). Target (issue 14): each command at most 300 ms wall, median of 5
// (`target_wall_ms`). The compiled rows start the build's entry point itself,
// because in a checkout being edited bin/btcbot.js rightly falls back to tsx; what bin/btcbot.js
// adds on top — its freshness check — is its own row, from `btcbot --help` through bin/btcbot.js
// (with how many of those runs found the build fresh). CPU seconds and peak RSS come from
// /usr/bin/time when it is installed; CPU time is the figure a busy machine disturbs least.
// Reference rows: a bare `node -e 0` (what no command can go below), and importing commander,
// kysely (the store's query builder, which status and kill-switch load) and better-sqlite3 alone
// from node_modules, unbundled, to show where a command's time would go without the bundle.
// Figures, not gates: the machines are shared and noisy.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/open.ts';
import { median } from './support/figures.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'btcbot.js');
const RUNS = Number(process.env.STARTUP_RUNS ?? 5);
const TIME = '/usr/bin/time';

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number | undefined;
  readonly rssMb: number | undefined;
  readonly stderr: string;
}

/** One run of `node ARGS` from spawn to exit; CPU and peak RSS through /usr/bin/time when present. */
function once(args: readonly string[], env: Record<string, string>, scratch: string): Promise<Sample> {
  const timed = existsSync(TIME);
  const report = join(scratch, 'time.txt');
  const [command, argv] = timed
    ? [TIME, ['-o', report, '-f', '%U %S %M', process.execPath, ...args]]
    : [process.execPath, [...args]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) {
        reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`));
        return;
      }
      let cpuMs: number | undefined;
      let rssMb: number | undefined;
      if (timed) {
        const [user, sys, rssKb] = readFileSync(report, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
        cpuMs = ((user ?? NaN) + (sys ?? NaN)) * 1000;
        rssMb = (rssKb ?? NaN) / 1024;
      }
      resolve({ wallMs, cpuMs, rssMb, stderr });
    });
  });
}

/** The medians of RUNS runs after one warm-up, under `name_…` keys. */
async function series(
  name: string,
  args: readonly string[],
  env: Record<string, string>,
  scratch: string,
  figures: Record<string, number | string>,
): Promise<Sample[]> {
  await once(args, env, scratch);
  const samples: Sample[] = [];
  for (let i = 0; i < RUNS; i += 1) samples.push(await once(args, env, scratch));
  figures[`${name}_wall_ms`] = median(samples.map((s) => s.wallMs));
  const cpu = samples.flatMap((s) => (s.cpuMs === undefined ? [] : [s.cpuMs]));
  const rss = samples.flatMap((s) => (s.rssMb === undefined ? [] : [s.rssMb]));
  if (cpu.length > 0) figures[`${name}_cpu_ms`] = median(cpu);
  if (rss.length > 0) figures[`${name}_peak_rss_mb`] = median(rss);
  return samples;
}

export async function run(): Promise<Record<string, number | string>> {
  const figures: Record<string, number | string> = { runs: RUNS, target_wall_ms: 300 };
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error('bench startup: the build failed');
  const scratch = mkdtempSync(join(tmpdir(), 'btcbot-startup-bench-'));
  try {
    const db = join(scratch, 'bot.db');
    await (await openSqliteStore({ path: db })).close();
    const commands: Record<string, string[]> = {
      help: ['--help'],
      status: ['status', '--db', db],
      kill_switch_on: ['kill-switch', 'on', '--db', db],
    };
    const current = JSON.parse(readFileSync(join(ROOT, 'dist', 'current.json'), 'utf8')) as { dir: string };
    const entry = join(ROOT, 'dist', current.dir, 'cli', 'main.js');
    for (const [name, args] of Object.entries(commands)) {
      await series(`${name}_compiled`, [entry, ...args], {}, scratch, figures);
      await series(`${name}_tsx`, [BIN, ...args], { BTCBOT_FROM_SOURCE: '1' }, scratch, figures);
    }
    // bin/btcbot.js itself: its check of the build against the sources, and which path it took.
    const viaBin = await series('help_bin', [BIN, '--help'], { BTCBOT_DEBUG_STARTUP: '1' }, scratch, figures);
    figures.help_bin_runs_compiled = viaBin.filter((s) => s.stderr.includes('btcbot: compiled')).length;
    const checks = viaBin.flatMap((s) => {
      const ms = /checked in ([\d.]+) ms/.exec(s.stderr)?.[1];
      return ms === undefined ? [] : [Number(ms)];
    });
    if (checks.length > 0) figures.bin_freshness_check_ms = median(checks);
    // Where the time goes: node itself, and the packages the commands load, each alone.
    await series('ref_node_bare', ['-e', '0'], {}, scratch, figures);
    const probe = join(ROOT, 'dist', `startup-probe-${process.pid}.mjs`);
    writeFileSync(probe, 'await import(process.argv[2]);\n');
    try {
      for (const pkg of ['commander', 'kysely', 'better-sqlite3'])
        await series(`ref_import_${pkg.replace(/\W/g, '_')}`, [probe, pkg], {}, scratch, figures);
    } finally {
      rmSync(probe, { force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return figures;
}
