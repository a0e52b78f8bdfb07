#!/usr/bin/env node
// Runs the bundled JavaScript (dist/, built by `npm ci` through `prepare`, by `npm run build` and by
// `npm test`) when it is at least as new as everything it was built from; otherwise the TypeScript
// sources through tsx, so an edit under src/ is never shadowed by an older build.
// BTCBOT_DEBUG_STARTUP=1 says on stderr which one ran and why; BTCBOT_FROM_SOURCE=1 forces tsx.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const rootPath = fileURLToPath(root);

/**
 * The newest modification time under `dir`, files and directories alike (a deletion or a rename
 * changes its directory's time). One stat per entry: about 260 for src/, a few milliseconds.
 */
function newest(dir, found) {
  const ms = statSync(dir).mtimeMs;
  if (ms > found.ms) {
    found.ms = ms;
    found.path = `${dir}/`;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest(path, found);
    else {
      const ms = statSync(path).mtimeMs;
      if (ms > found.ms) {
        found.ms = ms;
        found.path = path;
      }
    }
  }
  return found;
}

/**
 * The build's entry point, or why the sources must run instead. The build is stale when anything
 * it was made from changed after it began: a file or folder under src/, either tsconfig, or
 * package.json (the build bundles the packages it names: `npm install some-package` saves there,
 * and runs no build; `npm ci` and a bare `npm install` build again through `prepare`).
 */
function compiled() {
  if (process.env.BTCBOT_FROM_SOURCE === '1') return { why: 'BTCBOT_FROM_SOURCE=1' };
  let current;
  try {
    current = JSON.parse(readFileSync(`${rootPath}dist/current.json`, 'utf8'));
  } catch {
    return { why: 'no build (dist/current.json): run npm run build' };
  }
  const found = newest(`${rootPath}src`, { ms: 0, path: '' });
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) {
    const ms = statSync(`${rootPath}${file}`, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (ms > found.ms) {
      found.ms = ms;
      found.path = file;
    }
  }
  if (!(found.ms < current.sourcesAt))
    return { why: `the build is older than ${found.path.replace(rootPath, '')}` };
  return { entry: new URL(`dist/${current.dir}/cli/main.js`, root), dir: current.dir };
}

const started = process.hrtime.bigint();
const choice = compiled();
const debug = process.env.BTCBOT_DEBUG_STARTUP === '1';
const checkMs = Number(process.hrtime.bigint() - started) / 1e6;
if (choice.entry !== undefined) {
  if (debug)
    process.stderr.write(`btcbot: compiled dist/${choice.dir} (checked in ${checkMs.toFixed(1)} ms)\n`);
  await import(choice.entry.href);
} else {
  if (debug)
    process.stderr.write(
      `btcbot: sources through tsx: ${choice.why} (checked in ${checkMs.toFixed(1)} ms)\n`,
    );
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
