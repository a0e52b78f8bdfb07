import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DashboardSnapshot } from '../../src/ops/dashboard/model.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { tempDir } from '../store/helpers.ts';
import { chromiumSkipReason, launchChromium, openPage, screenshot, textOf, waitUntil } from './browser.ts';
import { PLANTED_SECRET, raw } from './fixture.ts';
import { startChild } from './process.ts';

// A paper session — the real binary, its in-process simulator over real HTTP and WebSocket — with
// its dashboard on loopback, in headless Chromium: the page loads, updates without a reload, and
// its kill-switch button engages the switch (read back from the session's store) and releases it.

const SECRET_B64 = Buffer.from(PLANTED_SECRET).toString('base64');
const KEY = 'planted-api-key-7c1e';

const firstEvent = (body: string): boolean => body.includes('event: snapshot') && body.endsWith('\n\n');

test('paper session dashboard in Chromium: live updates, kill switch engaged and released', async (t) => {
  const skip = await chromiumSkipReason();
  if (skip !== null) {
    t.skip(skip);
    return;
  }
  const dir = tempDir(t);
  const bot = startChild(
    [
      'run',
      '--db',
      `${dir}/bot.db`,
      '--dashboard-port',
      '0',
      '--seed',
      '7',
      '--speed',
      '5',
      '--duration',
      '10m',
    ],
    { BTCTURK_API_KEY: KEY, BTCTURK_API_SECRET: SECRET_B64 },
  );
  t.after(async () => {
    await bot.stop();
  });
  const url = await bot.url;
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const browser = await launchChromium();
  t.after(() => browser.close());
  const { page, errors, foreign } = await openPage(browser, url.slice(0, -1));
  await page.goto(url);
  await waitUntil(page, `document.getElementById('mode').textContent === 'paper'`, 'mode paper');
  assert.equal(await textOf(page, '#source'), 'live session');

  // Live: the engine's evaluation count moves on without a reload.
  await waitUntil(
    page,
    `/^\\d+$/.test(document.getElementById('engine-evaluations').textContent)`,
    'a count',
  );
  const before = await textOf(page, '#engine-evaluations');
  await waitUntil(
    page,
    `document.getElementById('engine-evaluations').textContent !== ${JSON.stringify(before)}`,
    'the evaluation count changing',
  );
  await waitUntil(page, `document.querySelectorAll('#symbols tbody tr').length === 2`, 'two symbols');
  await waitUntil(
    page,
    `document.querySelector('svg#price-chart-BTCTRY path.series') !== null`,
    'a price chart',
  );

  // The store the session writes: the dashboard says where it is.
  const snapshot = JSON.parse((await raw(`${url}api/snapshot`)).body) as DashboardSnapshot;
  assert.equal(snapshot.running, true);
  const reader = await openSqliteStoreReader({ path: snapshot.database });
  t.after(() => reader.close());
  assert.equal((await reader.killSwitch()).on, false);

  await page.fill('#kill-switch-reason-input', 'browser test: engage');
  await page.click('#kill-switch-button');
  assert.match(await textOf(page, '#kill-switch-button'), /confirm/i);
  assert.equal((await reader.killSwitch()).on, false, 'one click changes nothing');
  await page.click('#kill-switch-button');
  await waitUntil(page, `document.getElementById('kill-switch-state').textContent === 'ON'`, 'the switch ON');
  assert.equal((await reader.killSwitch()).on, true);
  await screenshot(page, 'session-kill-switch-on.png');

  await page.fill('#kill-switch-reason-input', 'browser test: release');
  await page.click('#kill-switch-button');
  await page.click('#kill-switch-button');
  await waitUntil(
    page,
    `document.getElementById('kill-switch-state').textContent === 'off'`,
    'the switch off',
  );
  assert.equal((await reader.killSwitch()).on, false);
  const trail = (await auditLogOf(reader).entries({ limit: 10 })).filter((e) => e.source === 'dashboard');
  assert.deepEqual(
    trail.map((e) => [e.action, e.reason]),
    [
      ['kill-switch-off', 'browser test: release'],
      ['kill-switch-on', 'browser test: engage'],
    ],
  );
  await screenshot(page, 'session.png');

  // Nothing served carries the planted key or secret: the page, its data and its event stream.
  const served = [
    (await raw(url)).body,
    (await raw(`${url}app.js`)).body,
    (await raw(`${url}api/snapshot`)).body,
    (await raw(`${url}api/events`, { until: firstEvent })).body,
    bot.stdout(),
  ];
  for (const body of served)
    for (const secret of [PLANTED_SECRET, SECRET_B64, KEY])
      assert.ok(!body.includes(secret), 'a secret was served');
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
  assert.equal(await bot.stop(), 0, bot.stderr());
});
