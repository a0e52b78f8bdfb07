// `npm run bench [name-filter]`: runs every bench/*.ts module's `run()` and prints its figures.
// Each module runs in a process of its own (this file again, with `--one FILE`), so one
// benchmark's heap, JIT state and leftover timers never colour another's figures. The child hands
// its figures back as one JSON line on file descriptor 3, leaving stdout and stderr to the module.
// Figures are measurements for the record, never pass/fail gates: these machines are shared and noisy.
import { spawn } from 'node:child_process';
import { readdirSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

type Figures = Record<string, number | string>;

interface BenchModule {
  run(): Promise<Figures>;
}

const dir = import.meta.dirname;
const RESULT_FD = 3;

/** In the child: run one module and write its figures to fd 3. */
async function runOne(file: string): Promise<void> {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as BenchModule;
  const figures = await mod.run();
  writeSync(RESULT_FD, `${JSON.stringify(figures)}\n`);
  // A module may leave a timer or socket behind; its figures are in, so the process ends here.
  process.exit(0);
}

/** In the parent: one child process per module; its figures, or an `error` figure if it failed. */
function runChild(file: string): Promise<Figures> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, join(dir, 'run.ts'), '--one', file], {
      stdio: ['ignore', 'inherit', 'inherit', 'pipe'],
    });
    let text = '';
    const results = child.stdio[RESULT_FD] as Readable | null;
    results?.setEncoding('utf8');
    results?.on('data', (chunk: string) => (text += chunk));
    child.on('error', (error) => {
      resolve({ error: error.message });
    });
    child.on('close', (code, signal) => {
      const line = text.trim();
      if (code === 0 && line !== '') {
        try {
          resolve(JSON.parse(line) as Figures);
          return;
        } catch {
          resolve({ error: `unreadable figures: ${line.slice(0, 200)}` });
          return;
        }
      }
      resolve({ error: `exited with ${signal ?? `code ${code ?? '?'}`} before reporting figures` });
    });
  });
}

function shown(value: number | string): string {
  return typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : value;
}

async function main(argv: readonly string[]): Promise<void> {
  if (argv[0] === '--one') {
    const file = argv[1];
    if (file === undefined) throw new Error('--one needs a bench file name');
    await runOne(file);
    return;
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .filter((f) => argv.length === 0 || argv.some((s) => f.includes(s)))
    .sort();
  const results: Record<string, Figures> = {};
  for (const file of files) {
    const name = basename(file, '.ts');
    process.stderr.write(`bench ${name} …\n`);
    const figures = await runChild(file);
    results[name] = figures;
    if ('error' in figures) process.exitCode = 1;
    for (const [metric, value] of Object.entries(figures))
      process.stdout.write(`${name}  ${metric}: ${shown(value)}\n`);
  }
  process.stdout.write(`${JSON.stringify({ node: process.version, results })}\n`);
}

await main(process.argv.slice(2));
