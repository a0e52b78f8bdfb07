import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { startSimProcess, type SimProcess } from '../run/helpers.ts';

// Issue 11, item 8: the simulator's faults as an operator sets them, with the real binary: a period
// without a unit is refused (it used to be taken as milliseconds), and what GET /sim/faults shows
// can be posted back as it is — 0 included.

const ADMIN_TOKEN = 'sim-faults-admin-token';

describe('btcbot sim --fault', () => {
  it('a period without a unit exits 2 naming the fault and saying to add ms or s', async () => {
    const res = await runCli(['sim', '--port', '0', '--fault', 'ws-drop-every=30']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /fault ws-drop-every: "30" has no unit: add ms or s/);
    assert.equal(res.stdout, '', 'the simulator did not start');
  });
});

describe('POST /sim/faults', () => {
  let sim: SimProcess;
  before(async () => {
    sim = await startSimProcess([
      '--seed',
      '3',
      '--symbols',
      'BTCTRY',
      '--fault',
      'ws-drop-every=30s',
      '--admin-token',
      ADMIN_TOKEN,
    ]);
  });
  after(async () => {
    await sim.stop();
  });

  const post = (body: unknown) =>
    fetch(`${sim.rest}/sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sim.adminToken}` },
      body: JSON.stringify(body),
    });

  it('takes back what GET shows, 0 included, and 0 turns a period off', async () => {
    const shown = (await (await fetch(`${sim.rest}/sim/faults`)).json()) as Record<string, number>;
    assert.equal(shown['ws-drop-every'], 30_000);
    assert.equal(shown['ws-silence-every'], 0);
    const same = await post(shown);
    assert.equal(same.status, 200, await same.clone().text());
    assert.deepEqual(await same.json(), shown);
    const off = await post({ 'ws-drop-every': 0, 'latency-ms': '20ms', 'error-5xx': 0.1 });
    assert.equal(off.status, 200, await off.clone().text());
    const now = (await off.json()) as Record<string, number>;
    assert.deepEqual([now['ws-drop-every'], now['latency-ms'], now['error-5xx']], [0, 20, 0.1]);
    const bare = await post({ 'ws-silence-every': '60' });
    assert.equal(bare.status, 400);
    assert.match(await bare.text(), /ws-silence-every.*has no unit/);
  });
});
