// `npm run bench [name-filter]`: runs every bench/*.ts module's `run()` in turn and prints its figures.
// Figures are measurements for the record, never pass/fail gates: these machines are shared and noisy.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface BenchModule {
  run(): Promise<Record<string, number | string>>;
}

const dir = import.meta.dirname;
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

const results: Record<string, Record<string, number | string>> = {};
for (const file of files) {
  const name = basename(file, '.ts');
  process.stderr.write(`bench ${name} …\n`);
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as BenchModule;
  results[name] = await mod.run();
  for (const [metric, value] of Object.entries(results[name])) {
    const shown =
      typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 2 }) : value;
    process.stdout.write(`${name}  ${metric}: ${shown}\n`);
  }
}
process.stdout.write(`${JSON.stringify({ node: process.version, results })}\n`);
