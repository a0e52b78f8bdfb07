import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BtcturkExchange } from '../../src/btcturk/exchange.ts';
import { WsCredentials } from '../../src/btcturk/websocket/auth.ts';
import { BtcturkWsClient } from '../../src/btcturk/websocket/client.ts';
import { BtcturkUserStream } from '../../src/btcturk/websocket/user-stream.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { EventQueue, UserStreamEvent } from '../../src/ports/user-stream.ts';
import { startSimulator } from '../../src/sim/index.ts';

// The private stream end to end: orders placed over REST on the simulator come back as typed
// order, fill and balance events on the logged-in socket.

async function nextOf<K extends UserStreamEvent['kind']>(
  queue: EventQueue<UserStreamEvent>,
  kind: K,
  guardMs = 5_000,
): Promise<Extract<UserStreamEvent, { kind: K }>> {
  const deadline = performance.now() + guardMs;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`no ${kind} event within ${guardMs} ms`);
    let timer: NodeJS.Timeout | undefined;
    const event = await Promise.race([
      queue.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => {
          resolve('timeout');
        }, left);
      }),
    ]);
    clearTimeout(timer);
    if (event === 'timeout' || event === undefined) throw new Error(`no ${kind} event within ${guardMs} ms`);
    if (event.kind === kind) return event as Extract<UserStreamEvent, { kind: K }>;
  }
}

describe('user stream against the simulator', () => {
  it('delivers order, fill and balance events for our orders, and a resync after a lost connection', async () => {
    const sim = await startSimulator({ seed: 3, autoMarket: false, symbols: ['BTCTRY'] });
    const client = new BtcturkWsClient({
      url: sim.wsUrl,
      credentials: new WsCredentials(sim.apiKey, sim.apiSecret),
      random: seededRandom(1),
      backoff: { initialMs: 20, maxMs: 100 },
    });
    const exchange = new BtcturkExchange({
      baseUrl: sim.restUrl,
      credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    });
    const queue = new BtcturkUserStream(client).userEvents(1_000);
    client.start();
    try {
      await nextOf(queue, 'logged-in');
      const book = await exchange.orderBook('BTCTRY');
      const bestBid = book.bids[0]?.price;
      const bestAsk = book.asks[0]?.price;
      assert.ok(bestBid && bestAsk);

      // A resting buy far below the market, then its cancel.
      const resting = await exchange.submitOrder({
        symbol: 'BTCTRY',
        side: 'buy',
        method: 'limit',
        quantity: new Dec('0.001'),
        price: bestBid.mul('0.9').toDecimalPlaces(0),
        clientOrderId: 'ws-rest-1',
      });
      const inserted = await nextOf(queue, 'order');
      assert.equal(inserted.change, 'inserted');
      assert.equal(inserted.exchangeOrderId, resting.exchangeOrderId);
      assert.equal(inserted.clientOrderId, 'ws-rest-1');
      assert.equal(inserted.side, 'buy');
      assert.equal(inserted.method, 'limit');
      await exchange.cancelOrder(resting.exchangeOrderId);
      let deleted = await nextOf(queue, 'order');
      while (deleted.change !== 'deleted') deleted = await nextOf(queue, 'order');
      assert.equal(deleted.exchangeOrderId, resting.exchangeOrderId);

      // A buy that crosses the spread fills at once.
      const taker = await exchange.submitOrder({
        symbol: 'BTCTRY',
        side: 'buy',
        method: 'limit',
        quantity: new Dec('0.001'),
        price: bestAsk.mul('1.01').toDecimalPlaces(0),
        clientOrderId: 'ws-take-1',
      });
      const { fill } = await nextOf(queue, 'fill');
      assert.equal(fill.exchangeOrderId, taker.exchangeOrderId);
      assert.equal(fill.clientOrderId, 'ws-take-1');
      assert.equal(fill.side, 'buy');
      const truth = sim.groundTruth().fills.find((f) => f.orderId === taker.exchangeOrderId);
      assert.ok(truth);
      assert.equal(fill.tradeId, truth.tradeId, 'a trade id above 2^53 arrives exact');
      assert.ok(fill.quantity.eq(truth.quantity));
      assert.ok(fill.price.eq(truth.price));
      assert.ok(fill.fee.eq(truth.fee) && fill.tax.eq(truth.tax));
      const match = await nextOf(queue, 'order-match');
      assert.equal(match.exchangeOrderId, taker.exchangeOrderId);
      const { balances } = await nextOf(queue, 'balances');
      assert.ok(balances.some((b) => b.asset === 'BTC'));

      // A dropped connection: after the new login, the consumer is told to reconcile.
      sim.setFault('ws-drop-every', '50ms');
      const resync = await nextOf(queue, 'resync');
      sim.setFault('ws-drop-every', null);
      assert.match(resync.reason, /the connection was lost/);
    } finally {
      queue.close();
      await client.stop();
      await exchange.close();
      await sim.stop();
    }
  });
});
