import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { raw, simAuth, withSim } from './helpers.ts';

interface StateJson {
  orders: {
    id: string;
    clientOrderId: string | null;
    status: string;
    accountId: string;
    price: string | null;
  }[];
  fills: { tradeId: string; orderId: string; quantity: string }[];
  trades: unknown[];
  balances: Record<string, { asset: string; free: string; locked: string }[]>;
}

describe('admin routes under /sim/', () => {
  it('serves the ground truth with client ids, statuses and decimal strings', async () => {
    await withSim({ balances: { TRY: '1000000', BTC: '1' } }, async (sim) => {
      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
      assert.ok(bid);
      await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: simAuth(sim),
        body: {
          quantity: '0.01',
          price: bid.minus(1000).toFixed(),
          orderMethod: 'limit',
          orderType: 'buy',
          pairSymbol: 'BTCTRY',
          newOrderClientId: 'gt-1',
        },
      });
      const state = (await raw(sim.restUrl, 'GET', '/sim/state')).json() as StateJson;
      const mine = state.orders.find((o) => o.clientOrderId === 'gt-1');
      assert.ok(mine);
      assert.equal(mine.status, 'open');
      assert.equal(mine.accountId, sim.accountId);
      assert.equal(typeof mine.price, 'string');
      const balances = state.balances[sim.accountId];
      assert.ok(balances);
      const quote = balances.find((b) => b.asset === 'TRY');
      assert.equal(typeof quote?.locked, 'string');
      assert.ok(Number(quote?.locked) > 0);
      assert.equal(state.orders.length, sim.groundTruth().orders.length);
    });
  });

  it('reads and changes faults at run time; a bad change names the fault and changes nothing', async () => {
    await withSim({}, async (sim) => {
      const before = (await raw(sim.restUrl, 'GET', '/sim/faults')).json() as Record<string, number>;
      assert.equal(before['cancel-delay-ms'], 50);
      assert.equal(before['error-5xx'], 0);
      const changed = await raw(sim.restUrl, 'POST', '/sim/faults', {
        adminToken: sim.adminToken,
        body: { 'error-5xx': 0.5, 'latency-ms': '20ms' },
      });
      assert.equal(changed.status, 200);
      assert.equal((changed.json() as Record<string, number>)['latency-ms'], 20);
      const bad = await raw(sim.restUrl, 'POST', '/sim/faults', {
        adminToken: sim.adminToken,
        body: { 'ws-gap': 0.1, 'error-9xx': 1 },
      });
      assert.equal(bad.status, 400);
      assert.match((bad.json() as { error: string }).error, /unknown fault "error-9xx"/);
      const badValue = await raw(sim.restUrl, 'POST', '/sim/faults', {
        adminToken: sim.adminToken,
        body: { 'ws-gap': 2 },
      });
      assert.match((badValue.json() as { error: string }).error, /fault ws-gap: expected a probability/);
      const after = (await raw(sim.restUrl, 'GET', '/sim/faults')).json() as Record<string, number>;
      assert.equal(after['ws-gap'], 0, 'the bad request applied nothing');
      const cleared = await raw(sim.restUrl, 'POST', '/sim/faults', {
        adminToken: sim.adminToken,
        body: { 'error-5xx': null },
      });
      assert.equal((cleared.json() as Record<string, number>)['error-5xx'], 0);
    });
  });

  it('steps the market on request, deterministically from the seed', async () => {
    const tradesAfterSteps = async (seed: number): Promise<unknown[]> => {
      let trades: unknown[] = [];
      await withSim({ seed }, async (sim) => {
        const stepped = await raw(sim.restUrl, 'POST', '/sim/step', {
          adminToken: sim.adminToken,
          body: { steps: 30 },
        });
        assert.deepEqual(stepped.json(), { steps: 30 });
        trades = sim.groundTruth().trades.map((t) => [t.price.toFixed(), t.quantity.toFixed(), t.takerSide]);
      });
      return trades;
    };
    const first = await tradesAfterSteps(8);
    assert.ok(first.length > 0, 'the synthetic taker traded');
    assert.deepEqual(await tradesAfterSteps(8), first);
    await withSim({}, async (sim) => {
      const bad = await raw(sim.restUrl, 'POST', '/sim/step', {
        adminToken: sim.adminToken,
        body: { steps: 0 },
      });
      assert.equal(bad.status, 400);
    });
  });

  it('refuses every change without the admin token (401) and applies it with the token; reads stay open', async () => {
    await withSim({}, async (sim) => {
      assert.ok(sim.adminToken.length >= 32, 'a generated token is long');
      const tradesBefore = sim.groundTruth().trades.length;
      const accountsBefore = Object.keys(sim.groundTruth().balances).length;
      const changes: [string, unknown][] = [
        ['/sim/faults', { 'error-5xx': 1 }],
        ['/sim/step', { steps: 1 }],
        ['/sim/accounts', { balances: { TRY: '1' } }],
      ];
      for (const [path, body] of changes) {
        for (const adminToken of [undefined, 'wrong-token-of-some-length', `${sim.adminToken}x`]) {
          const refused = await raw(sim.restUrl, 'POST', path, { body, adminToken });
          assert.equal(refused.status, 401, `${path} with ${adminToken ?? 'no'} token`);
          assert.equal(refused.headers.get('www-authenticate'), 'Bearer realm="btcbot-sim"');
          assert.match((refused.json() as { error: string }).error, /Authorization: Bearer/);
          assert.doesNotMatch(refused.text, new RegExp(sim.adminToken), 'the token is never echoed');
        }
      }
      // A token sent another way (the secret as an API key header, a query) is no token either.
      const inQuery = await raw(sim.restUrl, 'POST', `/sim/faults?token=${sim.adminToken}`, {
        body: { 'error-5xx': 1 },
      });
      assert.equal(inQuery.status, 401);
      const faults = (await raw(sim.restUrl, 'GET', '/sim/faults')).json() as Record<string, number>;
      assert.equal(faults['error-5xx'], 0, 'nothing refused was applied');
      assert.equal(sim.groundTruth().trades.length, tradesBefore, 'no market step was taken');
      assert.equal(Object.keys(sim.groundTruth().balances).length, accountsBefore, 'no account was opened');
      assert.equal(
        (await raw(sim.restUrl, 'GET', '/sim/state')).status,
        200,
        'the ground truth stays readable',
      );
      const applied = await raw(sim.restUrl, 'POST', '/sim/faults', {
        adminToken: sim.adminToken,
        body: { 'error-5xx': 1 },
      });
      assert.equal(applied.status, 200);
      const after = (await raw(sim.restUrl, 'GET', '/sim/faults')).json() as Record<string, number>;
      assert.equal(after['error-5xx'], 1);
    });
  });

  it('takes a given admin token and refuses a short one, naming the setting', async () => {
    await withSim({ adminToken: 'a-token-of-twenty-chars' }, async (sim) => {
      assert.equal(sim.adminToken, 'a-token-of-twenty-chars');
      const applied = await raw(sim.restUrl, 'POST', '/sim/step', {
        adminToken: 'a-token-of-twenty-chars',
        body: { steps: 1 },
      });
      assert.equal(applied.status, 200);
    });
    await assert.rejects(
      withSim({ adminToken: 'short' }, () => Promise.resolve()),
      /adminToken: must be at least 16/,
    );
  });

  it('opens another account whose key pair authenticates', async () => {
    await withSim({}, async (sim) => {
      const opened = await raw(sim.restUrl, 'POST', '/sim/accounts', {
        adminToken: sim.adminToken,
        body: { balances: { TRY: '250' } },
      });
      assert.equal(opened.status, 200);
      const account = opened.json() as { accountId: string; apiKey: string; apiSecret: string };
      assert.notEqual(account.accountId, sim.accountId);
      const balances = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: account });
      assert.match(balances.text, /"asset":"TRY","assetname":"[^"]+","balance":"250.00"/);
      const bad = await raw(sim.restUrl, 'POST', '/sim/accounts', {
        adminToken: sim.adminToken,
        body: { apiSecret: 'not base64!' },
      });
      assert.equal(bad.status, 400);
    });
  });
});
