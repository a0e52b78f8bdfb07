import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { storeControl } from '../../src/ops/dashboard/control.ts';
import type { DashboardSnapshot } from '../../src/ops/dashboard/model.ts';
import { startDashboard, type RunningDashboard } from '../../src/ops/dashboard/server.ts';
import { StoreDashboardSource } from '../../src/ops/dashboard/sources.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStoreControl, openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { tempDir } from '../store/helpers.ts';
import { PLANTED_SECRET, raw, seededStore } from './fixture.ts';

const TOKEN = 'test-token-0123456789abcdef';

async function fixture(
  t: { after(fn: () => Promise<void> | void): void },
  host: string,
  token: string | undefined,
) {
  const dir = tempDir(t);
  const { path, store } = await seededStore(dir);
  await store.close();
  const reader = await openSqliteStoreReader({ path });
  const control = await openSqliteStoreControl({ path });
  const dashboard = await startDashboard({
    host,
    port: 0,
    token,
    source: new StoreDashboardSource(reader, { canControl: true }),
    control: storeControl(control),
    intervalMs: 50,
  });
  t.after(async () => {
    await dashboard.close();
    await reader.close();
    await control.close();
  });
  return { dashboard, reader, control, path };
}

const local = (d: RunningDashboard, path: string): string => `http://127.0.0.1:${d.port}${path}`;
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
const firstEvent = (body: string): boolean => body.includes('event: snapshot') && body.endsWith('\n\n');

test('beyond loopback without a token the dashboard refuses to start, naming --dashboard-token', async () => {
  const source = { snapshot: () => Promise.reject(new Error('unused')), close: () => Promise.resolve() };
  await assert.rejects(
    startDashboard({ host: '0.0.0.0', port: 0, token: undefined, source, control: null }),
    (error: unknown) => error instanceof ConfigError && error.setting === '--dashboard-token',
  );
});

test('bound beyond loopback: every /api/ request needs the bearer token, the stream included', async (t) => {
  const { dashboard } = await fixture(t, '0.0.0.0', TOKEN);
  for (const path of ['/api/snapshot', '/api/events']) {
    const missing = await raw(local(dashboard, path));
    assert.equal(missing.status, 401, `${path} without a token`);
    assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
    const wrong = await raw(local(dashboard, path), { headers: bearer(`${TOKEN}x`) });
    assert.equal(wrong.status, 401, `${path} with a wrong token`);
    const prefix = await raw(local(dashboard, path), { headers: bearer(TOKEN.slice(0, -1)) });
    assert.equal(prefix.status, 401, `${path} with a prefix of the token`);
    const cookie = await raw(local(dashboard, path), { headers: { cookie: `token=${TOKEN}` } });
    assert.equal(cookie.status, 401, `${path} with the token in a cookie`);
  }
  const post = await raw(local(dashboard, '/api/kill-switch'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"on":true}',
  });
  assert.equal(post.status, 401);

  const ok = await raw(local(dashboard, '/api/snapshot'), { headers: bearer(TOKEN) });
  assert.equal(ok.status, 200);
  const snapshot = JSON.parse(ok.body) as DashboardSnapshot;
  assert.equal(snapshot.source, 'store');
  const stream = await raw(local(dashboard, '/api/events'), { headers: bearer(TOKEN), until: firstEvent });
  assert.equal(stream.status, 200);
  assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
  assert.match(stream.body, /event: snapshot\ndata: \{/);
  // The page shell holds no data: it loads without the token and asks for it.
  const page = await raw(local(dashboard, '/'));
  assert.equal(page.status, 200);
  assert.match(page.body, /#token=/);
});

test('a wrong Host header is refused (DNS rebinding), with or without the token', async (t) => {
  const { dashboard } = await fixture(t, '127.0.0.1', undefined);
  for (const host of [
    'evil.example',
    `evil.example:${dashboard.port}`,
    `127.0.0.1:${dashboard.port + 1}`,
    '127.0.0.1',
    '',
  ]) {
    for (const path of ['/', '/app.js', '/api/snapshot', '/api/events']) {
      const response = await raw(local(dashboard, path), { headers: { host } });
      assert.equal(response.status, 421, `Host ${JSON.stringify(host)} on ${path}`);
    }
  }
  for (const host of [
    `127.0.0.1:${dashboard.port}`,
    `localhost:${dashboard.port}`,
    `LOCALHOST:${dashboard.port}`,
  ]) {
    const response = await raw(local(dashboard, '/api/snapshot'), { headers: { host } });
    assert.equal(response.status, 200, `Host ${host}`);
  }
});

test('a wrong Host header is refused even with the right token', async (t) => {
  const { dashboard } = await fixture(t, '0.0.0.0', TOKEN);
  const response = await raw(local(dashboard, '/api/snapshot'), {
    headers: { host: `rebound.example:${dashboard.port}`, ...bearer(TOKEN) },
  });
  assert.equal(response.status, 421);
});

test('the kill switch: engaged and released through the store, each audited as "dashboard"', async (t) => {
  const { dashboard, control, reader } = await fixture(t, '127.0.0.1', undefined);
  const post = (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    raw(local(dashboard, '/api/kill-switch'), { method: 'POST', headers, body: JSON.stringify(body) });

  // Another site cannot: a form-encoded body, or a browser naming a foreign origin, is refused.
  assert.equal((await post({ on: true }, { 'content-type': 'text/plain' })).status, 415);
  assert.equal(
    (await post({ on: true }, { 'content-type': 'application/json', origin: 'http://evil.example' })).status,
    403,
  );
  assert.equal((await post({ on: 'yes' })).status, 400);
  assert.equal((await control.killSwitch()).on, false);

  const on = await post({ on: true, reason: 'checking the dashboard' });
  assert.equal(on.status, 200);
  assert.equal((await control.killSwitch()).on, true);
  const off = await post(
    { on: false, reason: 'done' },
    { 'content-type': 'application/json', origin: `http://localhost:${dashboard.port}` },
  );
  assert.equal(off.status, 200);
  assert.equal((await control.killSwitch()).on, false);
  const trail = await auditLogOf(reader).entries({ limit: 2 });
  assert.deepEqual(
    trail.map((e) => [e.action, e.source, e.reason]),
    [
      ['kill-switch-off', 'dashboard', 'done'],
      ['kill-switch-on', 'dashboard', 'checking the dashboard'],
    ],
  );
});

test('a read-only dashboard refuses the kill switch', async (t) => {
  const dir = tempDir(t);
  const { path, store } = await seededStore(dir);
  await store.close();
  const reader = await openSqliteStoreReader({ path });
  const dashboard = await startDashboard({
    source: new StoreDashboardSource(reader, { canControl: false }),
    control: null,
  });
  t.after(async () => {
    await dashboard.close();
    await reader.close();
  });
  const response = await raw(`${dashboard.url}api/kill-switch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"on":true}',
  });
  assert.equal(response.status, 403);
  assert.match(response.body, /--allow-kill-switch/);
  assert.equal((await reader.killSwitch()).on, false);
});

test('no response and no event carries a secret planted in the store', async (t) => {
  const { dashboard } = await fixture(t, '127.0.0.1', undefined);
  const bodies: string[] = [];
  for (const path of ['/', '/app.js', '/app.css', '/api/snapshot', '/nowhere'])
    bodies.push((await raw(local(dashboard, path))).body);
  bodies.push((await raw(local(dashboard, '/api/events'), { until: firstEvent })).body);
  const snapshot = JSON.parse(bodies[3] ?? '{}') as DashboardSnapshot;
  // The planted entry is there, without its detail.
  assert.ok(snapshot.audit.some((a) => a.action === 'run-start'));
  for (const body of bodies) assert.ok(!body.includes(PLANTED_SECRET), 'the planted secret was served');
});

test('every response carries the security headers', async (t) => {
  const { dashboard } = await fixture(t, '127.0.0.1', undefined);
  const response = await raw(local(dashboard, '/'));
  assert.match(String(response.headers['content-security-policy']), /default-src 'none'/);
  assert.match(String(response.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(response.headers['x-content-type-options'], 'nosniff');
  assert.equal(response.headers['set-cookie'], undefined);
});
