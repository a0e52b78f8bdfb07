#!/usr/bin/env node
// Runs the compiled JavaScript (dist/, built by `npm ci` through `prepare`, by `npm run build` and by
// `npm test`) when it is at least as new as every source it came from; otherwise the TypeScript
// sources through tsx, so an edit under src/ is never shadowed by an older build.
// BTCBOT_DEBUG_STARTUP=1 says on stderr which one ran and why; BTCBOT_FROM_SOURCE=1 forces tsx.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const rootPath = fileURLToPath(root);

/** The newest modification time under `dir` (files and directories: a deletion or rename counts). */
function newest(dir, found) {
  const ms = statSync(dir).mtimeMs;
  if (ms > found.ms) Object.assign(found, { ms, path: `${dir}/` });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) newest(path, found);
    else {
      const ms = statSync(path).mtimeMs;
      if (ms > found.ms) Object.assign(found, { ms, path });
    }
  }
  return found;
}

/** The compiled entry point, or why the sources must run instead. */
function compiled() {
  if (process.env.BTCBOT_FROM_SOURCE === '1') return { why: 'BTCBOT_FROM_SOURCE=1' };
  let current;
  try {
    current = JSON.parse(readFileSync(new URL('dist/current.json', root), 'utf8'));
  } catch {
    return { why: 'no build (dist/current.json): run npm run build' };
  }
  const src = fileURLToPath(new URL('src', root));
  const found = newest(src, { ms: 0, path: src });
  for (const config of ['tsconfig.json', 'tsconfig.build.json']) {
    const ms = statSync(new URL(config, root)).mtimeMs;
    if (ms > found.ms) Object.assign(found, { ms, path: config });
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
