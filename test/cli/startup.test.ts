import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { FAULT_NAMES as FAULT_NAMES_FOR_HELP } from '../../src/sim/server/fault-names.ts';
import { FAULT_NAMES } from '../../src/sim/server/faults.ts';
import { STRATEGY_NAMES as STRATEGY_NAMES_FOR_HELP } from '../../src/strategies/names.ts';
import { STRATEGY_NAMES } from '../../src/strategies/registry.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { BTCBOT_BIN, runCli } from '../helpers/cli.ts';

// The shipped start-up: bin/btcbot.js runs the compiled JavaScript only while it is as new as every
// source, and each command loads only what it runs (`btcbot --help` no database driver, no web
// server, no Redis client). Timings are bench/startup.ts's business, never asserted here.

const ROOT = join(import.meta.dirname, '..', '..');
const HEAVY = ['fastify', 'pg', 'ioredis', 'better-sqlite3', 'kysely', 'undici', 'ws', 'zod', 'pino'];

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'btcbot-startup-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `node` with `args`; `env` over a bare environment. */
function node(args: readonly string[], env: Record<string, string> = {}, cwd = ROOT) {
  const result = spawnSync(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The packages (node_modules/NAME) a compiled command loaded, seen by a module resolve hook. */
function packagesLoaded(args: readonly string[]): {
  code: number | null;
  stdout: string;
  packages: Set<string>;
} {
  const current = JSON.parse(readFileSync(join(ROOT, 'dist', 'current.json'), 'utf8')) as { dir: string };
  const log = join(dir, `resolved-${Math.random().toString(36).slice(2)}.txt`);
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    "import { appendFileSync } from 'node:fs';\n" +
      'export async function resolve(specifier, context, next) {\n' +
      '  const resolved = await next(specifier, context);\n' +
      "  appendFileSync(process.env.RESOLVE_LOG, resolved.url + '\\n');\n" +
      '  return resolved;\n' +
      '}\n',
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  const main = join(ROOT, 'dist', current.dir, 'cli', 'main.js');
  const result = node(['--import', register, main, ...args], { RESOLVE_LOG: log });
  const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n') : [];
  const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? [];
  // The build bundles most packages into its chunks: a loaded chunk loaded the packages it holds,
  // as esbuild's metafile (meta.json, paths from the repository root) lists its inputs.
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', current.dir, 'meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  const bundled = (url: string) =>
    url.startsWith('file:')
      ? Object.keys(meta.outputs[relative(ROOT, fileURLToPath(url))]?.inputs ?? {}).flatMap(packageOf)
      : [];
  const packages = new Set(urls.flatMap((u) => [packageOf(u), bundled(u)].flat()));
  return { code: result.code, stdout: result.stdout, packages };
}

describe('the compiled commands', () => {
  before(() => {
    // npm test builds first; run alone, this test builds itself.
    if (!existsSync(join(ROOT, 'dist', 'current.json'))) {
      const build = node(['scripts/build.mjs']);
      assert.equal(build.code, 0, build.stderr);
    }
  });

  it('btcbot --help loads commander and the command definitions, no driver, server or client', () => {
    const { code, stdout, packages } = packagesLoaded(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /kill-switch \[options\] <action>/);
    assert.ok(packages.has('commander'), [...packages].join(', '));
    for (const heavy of HEAVY) assert.ok(!packages.has(heavy), `--help loaded ${heavy}`);
  });

  it('status and kill-switch load the SQLite store only: no PostgreSQL, Redis, web server or adapter', async () => {
    const db = join(dir, 'bot.db');
    await (await openSqliteStore({ path: db })).close();
    const on = packagesLoaded(['kill-switch', 'on', '--db', db, '--reason', 'startup test']);
    assert.equal(on.code, 0);
    assert.match(on.stdout, /^kill switch ON \(startup test\)/);
    const status = packagesLoaded(['status', '--db', db]);
    assert.equal(status.code, 0);
    assert.match(status.stdout, /kill switch: ON \(startup test\)/);
    for (const { packages } of [on, status]) {
      assert.ok(packages.has('better-sqlite3'));
      for (const heavy of ['fastify', 'pg', 'ioredis', 'undici', 'ws', 'zod'])
        assert.ok(!packages.has(heavy), `loaded ${heavy}`);
    }
  });

  it('the help texts list what the modules they no longer load define', () => {
    assert.deepEqual(STRATEGY_NAMES_FOR_HELP, STRATEGY_NAMES);
    assert.deepEqual(FAULT_NAMES_FOR_HELP, FAULT_NAMES);
  });
});

describe('bin/btcbot.js', () => {
  // A copy of the launcher in a scratch package: its sources and build say which one ran.
  let pkg: string;
  const past = new Date(Date.now() - 60_000);

  function touch(path: string, when: Date): void {
    utimesSync(path, when, when);
  }

  function write(path: string, text: string): void {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    touch(path, past);
  }

  before(() => {
    pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'bin'), { recursive: true });
    copyFileSync(BTCBOT_BIN, join(pkg, 'bin', 'btcbot.js'));
    write(join(pkg, 'package.json'), '{ "type": "module" }\n');
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    write(join(pkg, 'tsconfig.json'), '{}\n');
    write(join(pkg, 'tsconfig.build.json'), '{}\n');
    write(join(pkg, 'src', 'cli', 'main.ts'), "const from: string = 'sources';\nconsole.log(from);\n");
    write(join(pkg, 'src', 'domain', 'other.ts'), 'export const x = 1;\n');
    write(join(pkg, 'dist', 'builds', 'b1', 'cli', 'main.js'), "console.log('compiled');\n");
    touch(join(pkg, 'src', 'cli'), past);
    touch(join(pkg, 'src', 'domain'), past);
    touch(join(pkg, 'src'), past);
  });

  function launch(env: Record<string, string> = {}) {
    const result = node([join(pkg, 'bin', 'btcbot.js')], { BTCBOT_DEBUG_STARTUP: '1', ...env }, pkg);
    assert.equal(result.code, 0, result.stderr);
    return { ran: result.stdout.trim(), why: result.stderr };
  }

  function built(sourcesAt: number): void {
    writeFileSync(join(pkg, 'dist', 'current.json'), JSON.stringify({ dir: 'builds/b1', sourcesAt }));
  }

  it('runs the sources through tsx when there is no build', () => {
    rmSync(join(pkg, 'dist', 'current.json'), { force: true });
    const { ran, why } = launch();
    assert.equal(ran, 'sources');
    assert.match(why, /sources through tsx: no build/);
  });

  it('runs the build when it began after every source was last changed', () => {
    built(Date.now());
    const { ran, why } = launch();
    assert.equal(ran, 'compiled');
    assert.match(why, /compiled dist\/builds\/b1/);
  });

  it('runs the sources when one was changed after the build began, naming it', () => {
    built(Date.now());
    touch(join(pkg, 'src', 'domain', 'other.ts'), new Date(Date.now() + 5_000));
    const { ran, why } = launch();
    assert.equal(ran, 'sources');
    assert.match(why, /older than src\/domain\/other\.ts/);
    touch(join(pkg, 'src', 'domain', 'other.ts'), past);
  });

  it('runs the sources when a source was deleted or added after the build (its directory changed)', () => {
    built(Date.now());
    touch(join(pkg, 'src', 'domain'), new Date(Date.now() + 5_000));
    const { ran, why } = launch();
    assert.equal(ran, 'sources');
    assert.match(why, /older than src\/domain\//);
    touch(join(pkg, 'src', 'domain'), past);
  });

  it('runs the sources when the build settings changed after the build', () => {
    built(Date.now());
    touch(join(pkg, 'tsconfig.build.json'), new Date(Date.now() + 5_000));
    const { ran, why } = launch();
    assert.equal(ran, 'sources');
    assert.match(why, /older than tsconfig\.build\.json/);
    touch(join(pkg, 'tsconfig.build.json'), past);
  });

  it('runs the sources when package.json changed after the build (the build bundles its packages)', () => {
    built(Date.now());
    touch(join(pkg, 'package.json'), new Date(Date.now() + 5_000));
    const { ran, why } = launch();
    assert.equal(ran, 'sources');
    assert.match(why, /older than package\.json/);
    touch(join(pkg, 'package.json'), past);
  });

  it('runs the sources when BTCBOT_FROM_SOURCE=1, whatever the build', () => {
    built(Date.now());
    assert.equal(launch().ran, 'compiled');
    assert.equal(launch({ BTCBOT_FROM_SOURCE: '1' }).ran, 'sources');
  });
});

describe('both start-up paths', () => {
  it('kill-switch and status answer the same through the build and through the sources', async () => {
    const db = join(dir, 'paths.db');
    await (await openSqliteStore({ path: db })).close();
    for (const env of [{}, { BTCBOT_FROM_SOURCE: '1' }] as Record<string, string>[]) {
      const on = await runCli(['kill-switch', 'on', '--db', db, '--reason', 'drill'], env);
      assert.equal(on.code, 0, on.stderr);
      assert.match(on.stdout, /^kill switch ON \(drill\); escalation NORMAL/);
      const off = await runCli(['kill-switch', 'off', '--db', db, '--json'], env);
      assert.equal(off.code, 0, off.stderr);
      assert.equal((JSON.parse(off.stdout) as { killSwitch: { on: boolean } }).killSwitch.on, false);
      const missing = await runCli(['status', '--db', join(dir, 'none.db')], env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /^btcbot: configuration error: --db: no database at /);
      const usage = await runCli(['kill-switch', 'maybe'], env);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /must be on, off or status/);
    }
  });
});
