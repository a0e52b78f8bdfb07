import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DashboardSnapshot } from '../../src/ops/dashboard/model.ts';
import { runCli } from '../helpers/cli.ts';
import { tempDir } from '../store/helpers.ts';
import { PLANTED_SECRET, raw, seededStore } from './fixture.ts';
import { startChild } from './process.ts';

// `btcbot dashboard --db PATH` as a user runs it.

test('beyond loopback without a token: exit 2, naming --dashboard-token', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const result = await runCli(['dashboard', '--db', path, '--dashboard-host', '0.0.0.0', '--duration', '1s']);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--dashboard-token/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('btcbot run: a dashboard beyond loopback without a token is refused at start (exit 2)', async (t) => {
  const result = await runCli([
    'run',
    '--db',
    join(tempDir(t), 'bot.db'),
    '--dashboard-port',
    '0',
    '--dashboard-host',
    '0.0.0.0',
    '--duration',
    '5s',
  ]);
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--dashboard-token/);
  assert.doesNotMatch(result.stdout, /dashboard: http/, 'nothing was served');
});

test('a short token from the environment: exit 2, naming the variable and not the token', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const result = await runCli(['dashboard', '--db', path, '--dashboard-port', '0', '--duration', '1s'], {
    BTCBOT_DASHBOARD_TOKEN: 'tiny-token',
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /BTCBOT_DASHBOARD_TOKEN/);
  assert.doesNotMatch(result.stderr, /tiny-token/);
});

test('a store that does not exist is an error, not an empty dashboard', async (t) => {
  const result = await runCli(['dashboard', '--db', join(tempDir(t), 'missing.db'), '--duration', '1s']);
  assert.ok(result.code === 1 || result.code === 2, result.stderr);
  assert.match(result.stderr, /no database at/);
});

test('serves the store read-only on loopback and prints its address; no planted secret is served', async (t) => {
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const child = startChild(['dashboard', '--db', path, '--dashboard-port', '0'], {
    BTCTURK_API_KEY: 'planted-key-0000',
    BTCTURK_API_SECRET: Buffer.from(PLANTED_SECRET).toString('base64'),
  });
  t.after(async () => {
    await child.stop();
  });
  const url = await child.url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const snapshot = await raw(`${url}api/snapshot`);
  assert.equal(snapshot.status, 200);
  const parsed = JSON.parse(snapshot.body) as DashboardSnapshot;
  assert.equal(parsed.running, false);
  assert.equal(parsed.canControl, false);
  const refused = await raw(`${url}api/kill-switch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"on":true}',
  });
  assert.equal(refused.status, 403);
  const secretB64 = Buffer.from(PLANTED_SECRET).toString('base64');
  for (const body of [snapshot.body, (await raw(url)).body, child.stdout(), child.stderr()]) {
    assert.ok(
      !body.includes(PLANTED_SECRET) && !body.includes(secretB64) && !body.includes('planted-key-0000'),
    );
  }
  assert.equal(await child.stop(), 0);
});
