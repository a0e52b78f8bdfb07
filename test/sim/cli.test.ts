import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerSimCommand } from '../../src/cli/commands/sim.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { raw, subscribeFrame, WsClient } from './helpers.ts';

const DRIVER = fileURLToPath(new URL('./sim-cli-driver.ts', import.meta.url));

describe('btcbot sim', () => {
  it('prints one listening line, serves the given account, and stops cleanly on SIGTERM', async () => {
    const secret = Buffer.from('cli-secret').toString('base64');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        DRIVER,
        'sim',
        '--port',
        '0',
        '--seed',
        '9',
        '--symbols',
        'BTCTRY,USDTTRY',
        '--api-key',
        'cli-key',
        '--api-secret',
        secret,
        '--balances',
        'TRY=5000,BTC=1',
        '--fault',
        'latency-ms=5',
        '--fault',
        'cancel-delay-ms=100ms',
        '--book-interval-ms',
        '30',
        '--admin-token',
        'cli-admin-token-0123',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const lines = createInterface({ input: child.stdout });
      const [first] = (await once(lines, 'line')) as [string];
      const ready = JSON.parse(first) as Record<string, unknown>;
      assert.equal(ready.event, 'listening');
      assert.match(String(ready.rest), /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(String(ready.ws), /^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
      assert.equal(ready.apiKey, 'cli-key');
      assert.equal(ready.apiSecret, secret);
      assert.equal(ready.adminToken, 'cli-admin-token-0123');
      const rest = String(ready.rest);
      const balances = await raw(rest, 'GET', '/api/v1/users/balances', {
        auth: { apiKey: 'cli-key', apiSecret: secret },
      });
      assert.match(balances.text, /"asset":"TRY","assetname":"[^"]+","balance":"5000.00"/);
      const faults = (await raw(rest, 'GET', '/sim/faults')).json() as Record<string, number>;
      assert.equal(faults['latency-ms'], 5);
      assert.equal(faults['cancel-delay-ms'], 100);
      const info = await raw(rest, 'GET', '/api/v2/server/exchangeinfo');
      assert.match(info.text, /"name":"USDTTRY"/);
      // Book change sets from market steps (POST /sim/step) arrive batched at the interval.
      const socket = await WsClient.connect(String(ready.ws));
      try {
        socket.send(subscribeFrame('obdiff', 'BTCTRY'));
        const snapshot = await socket.nextOfType(431);
        assert.equal((await raw(rest, 'POST', '/sim/step', { body: { steps: 3 } })).status, 401);
        assert.equal(
          (await raw(rest, 'POST', '/sim/step', { adminToken: 'cli-admin-token-0123', body: { steps: 3 } }))
            .status,
          200,
        );
        const diff = await socket.nextOfType(432);
        assert.ok((diff[1].CS as number) > (snapshot[1].CS as number));
      } finally {
        socket.close();
      }
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  it('rejects bad option values with a ConfigError naming the setting', async () => {
    const run = async (...args: string[]) => {
      const program = new Command('btcbot').exitOverride();
      registerSimCommand(program);
      await program.parseAsync(['node', 'btcbot', 'sim', ...args]);
    };
    const refuses = (setting: RegExp, ...args: string[]) =>
      assert.rejects(
        run(...args),
        (error: unknown) => error instanceof ConfigError && setting.test(error.message),
      );
    await refuses(/unknown fault "nope"/, '--fault', 'nope=1');
    await refuses(/fault error-5xx/, '--fault', 'error-5xx=2');
    await refuses(/--balances/, '--balances', 'TRY');
    await refuses(/balances: BTC/, '--balances', 'BTC=lots');
    await refuses(/symbols: .*"DOGETRY"/, '--symbols', 'DOGETRY');
    await refuses(/--port/, '--port', '70000');
    await refuses(/--seed/, '--seed', 'abc');
    await refuses(/--book-interval-ms/, '--book-interval-ms', '0');
    await refuses(/--book-interval-ms/, '--book-interval-ms', 'fast');
    await refuses(/api-secret/, '--api-secret', 'not base64!');
  });
});
