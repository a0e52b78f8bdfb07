import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { BTCBOT_BIN, runCli, runCliIn } from '../helpers/cli.ts';
import { tempDir } from '../run/helpers.ts';

// Issue 11, item 8: what an operator meets first, each tried with the real binary as a child
// process — a mistyped --db, a bad setting, a closed pipe — ends in one line naming what to fix
// (exit code 2 for configuration), never a stack trace, never an empty store created behind them.

const STACK = /\n\s+at .+\(.*:\d+:\d+\)/;

async function emptyStore(path: string): Promise<void> {
  const store = await openSqliteStore({ path });
  await store.close();
}

describe('operator commands against a store that does not exist', () => {
  const commands: readonly (readonly string[])[] = [
    ['status'],
    ['orders'],
    ['orders', '--json'],
    ['fills'],
    ['reconcile'],
    ['cancel', '12345'],
    ['cancel-all'],
    ['kill-switch', 'status'],
    ['kill-switch', 'on'],
  ];
  for (const args of commands)
    it(`btcbot ${args.join(' ')} --db <missing>: exit 2 naming --db and the resolved path, nothing created`, async (t) => {
      const dir = tempDir(t);
      const res = await runCliIn(dir, [...args, '--db', 'mistyped/bot.db']);
      assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stderr, /--db/);
      assert.ok(res.stderr.includes(join(dir, 'mistyped/bot.db')), res.stderr);
      assert.doesNotMatch(res.stderr, STACK);
      assert.equal(res.stdout, '', 'nothing is reported as if the store were empty');
      assert.equal(existsSync(join(dir, 'mistyped')), false, 'no store was created');
    });

  it('the default --db is resolved against the current folder, and a paper session database is pointed to', async (t) => {
    const dir = tempDir(t);
    await emptyStore(join(dir, 'data', 'btcbot.paper.db'));
    const res = await runCliIn(dir, ['status']);
    assert.equal(res.code, 2, res.stderr);
    assert.ok(res.stderr.includes(join(dir, 'data', 'btcbot.db')), res.stderr);
    assert.ok(res.stderr.includes(`--db ${join(dir, 'data', 'btcbot.paper.db')}`), res.stderr);
    assert.equal(existsSync(join(dir, 'data', 'btcbot.db')), false);
  });
});

describe('settings that are wrong end in exit 2 with the setting named, not a stack trace', () => {
  it('an invalid BTCBOT_LOG_LEVEL names the variable and the levels it takes', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'bot.db');
    await emptyStore(db);
    for (const args of [
      ['status', '--db', db],
      ['reconcile', '--db', db],
    ]) {
      const res = await runCli(args, { BTCBOT_LOG_LEVEL: 'loud' });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /BTCBOT_LOG_LEVEL: "loud" is not a log level: use debug, info, warn .* error/);
      assert.doesNotMatch(res.stderr, STACK);
    }
  });

  it('a bad --api-secret is named as the flag, a bad BTCTURK_API_SECRET as the variable; the secret never shown', async () => {
    const secret = 'not base64 at all!';
    const flag = await runCli(['balances', '--api-key', 'k', '--api-secret', secret]);
    assert.equal(flag.code, 2, flag.stderr);
    assert.match(flag.stderr, /configuration error: --api-secret: /);
    assert.ok(!flag.stderr.includes(secret));
    const env = await runCli(['balances'], { BTCTURK_API_KEY: 'k', BTCTURK_API_SECRET: secret });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /configuration error: BTCTURK_API_SECRET: /);
    assert.ok(!env.stderr.includes(secret));
  });
});

describe('output closed early', () => {
  it('btcbot status | head: the closed pipe ends the command quietly with exit 0', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'bot.db');
    await emptyStore(db);
    // The reader is gone before btcbot writes a byte: every write meets EPIPE.
    const child = spawn(process.execPath, [BTCBOT_BIN, 'status', '--db', db], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('usage', () => {
  it('--version prints the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const res = await runCli(['--version']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), version);
  });

  it('orders --state takes states in any case; an unknown one exits 2 listing the states', async (t) => {
    const dir = tempDir(t);
    const db = join(dir, 'bot.db');
    await emptyStore(db);
    const lower = await runCli(['orders', '--db', db, '--state', 'open,partially_filled', '--json']);
    assert.equal(lower.code, 0, lower.stderr);
    assert.deepEqual(JSON.parse(lower.stdout), { orders: [] });
    const unknown = await runCli(['orders', '--db', db, '--state', 'resting']);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /--state/);
    assert.match(unknown.stderr, /OPEN, PARTIALLY_FILLED/);
  });
});
