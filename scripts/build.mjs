// `npm run build` (also run by `npm ci` through `prepare`, and by `npm test` first): bundles src/
// with esbuild into a fresh directory dist/builds/<id>/, then points dist/current.json at it with an
// atomic rename. bin/btcbot.js runs that build only while no file under src/ (nor either tsconfig)
// is newer than the moment this build began reading them (`sourcesAt`); otherwise it runs the
// sources through tsx. A build never rewrites a directory a running btcbot may still be loading
// modules from (commands import theirs lazily); builds a day old are pruned.
//
// Why a bundle: a command's start-up was mostly Node resolving, reading and compiling hundreds of
// small modules (src/ and its packages: kysely's ESM build alone is ~100 files). The bundle is ESM
// with code splitting: src/cli/main.ts is the entry point, each `await import()` a command makes
// becomes a chunk of its own, and the code two of them share a chunk they both import, so a command
// still loads only what it runs (`btcbot --help` no database driver, `status` no HTTP client) — now
// from a handful of files. Packages are bundled too, except those that cannot be or need not be:
// EXTERNAL below. The output is not minified, so a stack trace still names the functions it ran.
// esbuild is the transpiler tsx runs the sources with, so both paths run the same JavaScript.
//
// Layout: dist/builds/<id>/cli/main.js (the entry bin/btcbot.js runs), cli/grid-worker.js (the
// backtest grid's worker thread: src/backtest/grid.ts finds it next to itself, and every chunk
// lives in the same folder), cli/<name>-<hash>.js (chunks), meta.json (esbuild's metafile: which
// sources and packages each output file holds; the start-up tests read it).
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const builds = join(dist, 'builds');
const currentFile = join(dist, 'current.json');
const KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * Packages left to Node's own resolution at run time rather than bundled: better-sqlite3 loads a
 * native addon from its own folder; pg-native, bufferutil and utf-8-validate are optional
 * accelerators pg and ws require only if installed; ioredis reads its own package.json through
 * __dirname (absent in an ES module bundle); tsx serves only the from-sources path
 * (src/backtest/grid.ts resolves it there).
 */
const EXTERNAL = ['better-sqlite3', 'pg-native', 'bufferutil', 'utf-8-validate', 'ioredis', 'tsx'];

// Taken before esbuild reads anything: a source saved during the build is newer and makes it stale.
// Two seconds earlier than now, because file times come from a coarser clock that may lag this one.
const started = Date.now();
const sourcesAt = started - 2_000;
const id = `${started}-${process.pid}`;
const outDir = join(builds, id);
mkdirSync(builds, { recursive: true });

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  // esbuild comes with tsx; without it btcbot runs its sources (which need tsx anyway).
  process.stderr.write('build: esbuild is not installed; bin/btcbot.js runs the sources through tsx\n');
  process.exit(process.env.npm_lifecycle_event === 'prepare' ? 0 : 1);
}

let result;
try {
  result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: [
      { in: 'src/cli/main.ts', out: 'cli/main' },
      { in: 'src/backtest/grid-worker.ts', out: 'cli/grid-worker' },
    ],
    outdir: outDir,
    chunkNames: 'cli/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    tsconfig: 'tsconfig.build.json',
    external: EXTERNAL,
    // Bundled CommonJS packages call require() (for Node's built-in modules): give every output
    // file the require of an ES module, as Node's own createRequire makes it.
    banner: {
      js: "import { createRequire as __btcbotCreateRequire } from 'node:module';\nconst require = __btcbotCreateRequire(import.meta.url);",
    },
    metafile: true,
    logLevel: 'warning',
  });
} catch (error) {
  rmSync(outDir, { recursive: true, force: true });
  process.stderr.write(
    `build: esbuild failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)}); dist/ is unchanged and bin/btcbot.js runs the sources through tsx\n`,
  );
  process.exit(1);
}
writeFileSync(join(outDir, 'meta.json'), `${JSON.stringify(result.metafile)}\n`);

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
process.stderr.write(`build: bundled src/ into dist/builds/${id} in ${Date.now() - started} ms\n`);
