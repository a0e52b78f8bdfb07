import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { tempDir } from '../store/helpers.ts';
import { chromiumSkipReason, launchChromium, openPage, screenshot, textOf, waitUntil } from './browser.ts';
import { seededStore } from './fixture.ts';
import { startChild } from './process.ts';

// `btcbot dashboard --db PATH --allow-kill-switch` in headless Chromium, with a token: the page
// takes it from the URL fragment and sends it as a bearer header; without it the page asks for it.

const TOKEN = 'browser-token-5b0e8c1d2f3a4e6b';

test('store dashboard in Chromium: token from the fragment, live clock, kill switch on and off', async (t) => {
  const skip = await chromiumSkipReason();
  if (skip !== null) {
    t.skip(skip);
    return;
  }
  const { path, store } = await seededStore(tempDir(t));
  await store.close();
  const child = startChild(['dashboard', '--db', path, '--dashboard-port', '0', '--allow-kill-switch'], {
    BTCBOT_DASHBOARD_TOKEN: TOKEN,
  });
  t.after(async () => {
    await child.stop();
  });
  const url = await child.url;
  const browser = await launchChromium();
  t.after(() => browser.close());

  // Without the token: the shell loads and asks for it; no data is shown.
  const bare = await openPage(browser, url.slice(0, -1));
  await bare.page.goto(url);
  await bare.page.locator('#auth').waitFor({ state: 'visible' });
  assert.equal(await textOf(bare.page, '#connection'), 'token needed');

  const { page, errors, foreign } = await openPage(browser, url.slice(0, -1));
  await page.goto(`${url}#token=${TOKEN}`);
  await waitUntil(page, `document.getElementById('source').textContent.includes('store only')`);
  assert.equal(page.url(), url, 'the token is taken out of the address bar');
  assert.equal(await textOf(page, '#mode'), 'not running');
  assert.equal(await textOf(page, '#engine-evaluations'), 'not running');
  assert.equal(await page.locator('#orders tbody tr').count(), 1);
  assert.equal(await page.locator('#fills tbody tr').count(), 1);
  assert.equal(await page.locator('svg#equity-chart path.series').count(), 1);
  assert.equal(await page.locator('svg#price-chart-BTCTRY .fill-marker').count(), 1);

  // Live: the snapshot time moves on without a reload.
  const first = await page.evaluate<string>('document.body.dataset.updatedAt');
  await waitUntil(page, `document.body.dataset.updatedAt !== ${JSON.stringify(first)}`);

  // Engage: the first click only arms the button.
  const reader = await openSqliteStoreReader({ path });
  t.after(() => reader.close());
  await page.fill('#kill-switch-reason-input', 'browser test');
  await page.click('#kill-switch-button');
  assert.match(await textOf(page, '#kill-switch-button'), /confirm/i);
  assert.equal((await reader.killSwitch()).on, false, 'one click changes nothing');
  await page.click('#kill-switch-button');
  await waitUntil(page, `document.getElementById('kill-switch-state').textContent === 'ON'`);
  assert.equal((await reader.killSwitch()).on, true);
  await screenshot(page, 'store-kill-switch-on.png');

  await page.click('#kill-switch-button');
  await page.click('#kill-switch-button');
  await waitUntil(page, `document.getElementById('kill-switch-state').textContent === 'off'`);
  assert.equal((await reader.killSwitch()).on, false);
  const trail = await auditLogOf(reader).entries({ limit: 2 });
  assert.deepEqual(
    trail.map((e) => [e.action, e.source]),
    [
      ['kill-switch-off', 'dashboard'],
      ['kill-switch-on', 'dashboard'],
    ],
  );
  assert.equal(trail[1]?.reason, 'browser test');
  await waitUntil(page, `document.querySelectorAll('#audit tbody tr').length >= 3`);
  await screenshot(page, 'store.png');
  assert.deepEqual(errors, []);
  assert.deepEqual(foreign, []);
});
