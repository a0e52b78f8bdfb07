import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import {
  allowedHostNames,
  checkBind,
  hostAllowed,
  isLoopback,
  tokenAllowed,
} from '../../src/ops/dashboard/access.ts';
import { dashboardSettings } from '../../src/ops/dashboard/settings.ts';

const TOKEN = 'a-long-enough-token-1234';

test('Host header: only this server, by a loopback name or the bound address, with its port', () => {
  const names = allowedHostNames('127.0.0.1');
  for (const host of ['127.0.0.1:8780', 'localhost:8780', 'LocalHost:8780', '[::1]:8780'])
    assert.equal(hostAllowed(host, names, 8780), true, host);
  for (const host of [
    undefined,
    '',
    'evil.example:8780', // a rebinding page's own name
    '127.0.0.1:8781', // another port
    '127.0.0.1', // the default port 80
    'localhost.evil.example:8780',
    '127.0.0.1:8780@evil',
    '::1:8780', // an IPv6 address without brackets
    '127.0.0.1:8780 evil',
  ])
    assert.equal(hostAllowed(host, names, 8780), false, String(host));
  const lan = allowedHostNames('192.168.1.20');
  assert.equal(hostAllowed('192.168.1.20:9000', lan, 9000), true);
  assert.equal(hostAllowed('192.168.1.21:9000', lan, 9000), false);
  assert.equal(hostAllowed('[fe80::1]:9000', allowedHostNames('fe80::1'), 9000), true);
  assert.equal(hostAllowed('localhost', allowedHostNames('127.0.0.1'), 80), true);
});

test('token: the bearer header must carry exactly the token', () => {
  assert.equal(tokenAllowed(`Bearer ${TOKEN}`, TOKEN), true);
  assert.equal(tokenAllowed(`bearer ${TOKEN}`, TOKEN), true);
  for (const header of [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    TOKEN,
    `Basic ${TOKEN}`,
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer ${TOKEN} extra`,
    `Bearer ${TOKEN.toUpperCase()}`,
  ])
    assert.equal(tokenAllowed(header, TOKEN), false, String(header));
});

test('loopback names', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
    assert.equal(isLoopback(host), true);
  for (const host of ['0.0.0.0', '::', '192.168.1.2', 'example.com']) assert.equal(isLoopback(host), false);
});

test('binding beyond loopback needs a token; a short token is refused', () => {
  assert.doesNotThrow(() => {
    checkBind({ host: '127.0.0.1', port: 0, token: undefined });
  });
  assert.doesNotThrow(() => {
    checkBind({ host: '0.0.0.0', port: 0, token: TOKEN });
  });
  const refused = (bind: Parameters<typeof checkBind>[0], setting: string, text: RegExp) => {
    assert.throws(
      () => {
        checkBind(bind);
      },
      (error: unknown) =>
        error instanceof ConfigError && error.setting === setting && text.test(error.message),
    );
  };
  refused({ host: '0.0.0.0', port: 8780, token: undefined }, '--dashboard-token', /beyond loopback/);
  refused(
    { host: '192.168.1.2', port: 8780, token: undefined },
    '--dashboard-token',
    /BTCBOT_DASHBOARD_TOKEN/,
  );
  refused({ host: '127.0.0.1', port: 8780, token: 'short' }, '--dashboard-token', /at least 16/);
  refused({ host: '127.0.0.1', port: 70_000, token: undefined }, '--dashboard-port', /65535/);
});

test('settings: flags, the environment variable, and what each error names', () => {
  assert.equal(dashboardSettings({}, {}), null);
  assert.deepEqual(dashboardSettings({ dashboardPort: '0' }, {}), {
    port: 0,
    host: '127.0.0.1',
    token: undefined,
  });
  assert.deepEqual(
    dashboardSettings({ dashboardPort: '9000', dashboardHost: '0.0.0.0' }, { BTCBOT_DASHBOARD_TOKEN: TOKEN }),
    { port: 9000, host: '0.0.0.0', token: TOKEN },
  );
  const setting = (run: () => unknown): string => {
    try {
      run();
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.ok(!error.message.includes('sh0rt'), 'a token never appears in a message');
      return error.setting;
    }
    return 'no error';
  };
  assert.equal(
    setting(() => dashboardSettings({ dashboardPort: 'abc' }, {})),
    '--dashboard-port',
  );
  assert.equal(
    setting(() => dashboardSettings({ dashboardHost: '0.0.0.0' }, {})),
    '--dashboard-port',
  );
  assert.equal(
    setting(() => dashboardSettings({ dashboardPort: '1', dashboardHost: '0.0.0.0' }, {})),
    '--dashboard-token',
  );
  assert.equal(
    setting(() => dashboardSettings({ dashboardPort: '1' }, { BTCBOT_DASHBOARD_TOKEN: 'sh0rt' })),
    'BTCBOT_DASHBOARD_TOKEN',
  );
  assert.equal(
    setting(() => dashboardSettings({ dashboardPort: '1', dashboardToken: 'sh0rt' }, {})),
    '--dashboard-token',
  );
});
