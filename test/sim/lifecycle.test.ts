import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startSimulator } from '../../src/sim/index.ts';
import { raw, WsClient } from './helpers.ts';

describe('simulator lifecycle', () => {
  it('stop() closes open WebSockets and replies held by timeout-after-accept', async () => {
    const sim = await startSimulator({ seed: 2, autoMarket: false, faults: { 'timeout-after-accept': 1 } });
    const client = await WsClient.connect(sim.wsUrl);
    const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
    assert.ok(bid);
    const held = raw(sim.restUrl, 'POST', '/api/v1/order', {
      auth: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
      body: {
        quantity: '0.001',
        price: bid.minus(9000).toFixed(),
        orderMethod: 'limit',
        orderType: 'buy',
        pairSymbol: 'BTCTRY',
      },
      timeoutMs: 60_000,
    });
    // The order is placed before the reply is held back.
    for (let i = 0; i < 100 && !sim.groundTruth().orders.some((o) => o.accountId === sim.accountId); i++)
      await new Promise((resolve) => setTimeout(resolve, 20));
    await sim.stop();
    await assert.rejects(held, 'the held request ends with the server, not after the client timeout');
    await client.waitClosed();
    await sim.stop(); // idempotent
  });

  it('starts with a quoted book and a generated key pair in standard base64', async () => {
    const sim = await startSimulator({ autoMarket: false });
    try {
      assert.match(sim.apiSecret, /^[A-Za-z0-9+/]+={0,2}$/);
      assert.equal(Buffer.from(sim.apiSecret, 'base64').length, 32);
      const book = sim.engine.book('BTCTRY', 5);
      assert.ok(book.bids.length > 0 && book.asks.length > 0);
      assert.equal((await raw(sim.restUrl, 'GET', '/api/v2/server/time')).status, 200);
    } finally {
      await sim.stop();
    }
  });
});
