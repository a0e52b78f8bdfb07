// `npm run build` (also run by `npm ci` through `prepare`, and by `npm test` first): compiles src/
// with tsc (tsconfig.build.json) into a fresh directory dist/builds/<id>/, then points
// dist/current.json at it with an atomic rename. bin/btcbot.js runs that build only while no file
// under src/ is newer than the moment this build began reading them (`sourcesAt`); otherwise it
// runs the sources through tsx. A build never rewrites a directory a running btcbot may still be
// loading modules from (commands import theirs lazily); builds a day old are pruned.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const builds = join(dist, 'builds');
const currentFile = join(dist, 'current.json');
const KEEP_MS = 24 * 60 * 60 * 1000;

// Taken before tsc reads anything: a source saved during the build is newer and makes it stale.
// Two seconds earlier than now, because file times come from a coarser clock that may lag this one.
const started = Date.now();
const sourcesAt = started - 2_000;
const id = `${started}-${process.pid}`;
const outDir = join(builds, id);
mkdirSync(builds, { recursive: true });

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  // `npm ci --omit=dev` installs no TypeScript: btcbot then runs its sources through tsx.
  process.stderr.write('build: typescript is not installed; bin/btcbot.js runs the sources through tsx\n');
  rmSync(outDir, { recursive: true, force: true });
  process.exit(process.env.npm_lifecycle_event === 'prepare' ? 0 : 1);
}
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir],
  {
    stdio: 'inherit',
  },
);
if (result.status !== 0) {
  rmSync(outDir, { recursive: true, force: true });
  process.stderr.write(
    `build: tsc failed (exit ${result.status ?? result.signal}); dist/ is unchanged and bin/btcbot.js runs the sources through tsx\n`,
  );
  process.exit(1);
}

const temp = `${currentFile}.${process.pid}.tmp`;
writeFileSync(temp, `${JSON.stringify({ dir: `builds/${id}`, sourcesAt })}\n`);
renameSync(temp, currentFile);

// Prune builds that are neither current nor recent (a long-running bot may still import from one).
const current = `builds/${id}`;
for (const name of readdirSync(builds)) {
  const path = join(builds, name);
  if (`builds/${name}` === current) continue;
  if (Date.now() - statSync(path).mtimeMs > KEEP_MS) rmSync(path, { recursive: true, force: true });
}
process.stderr.write(`build: compiled src/ into dist/builds/${id} in ${Date.now() - started} ms\n`);
