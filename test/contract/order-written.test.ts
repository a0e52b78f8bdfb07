import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ORDER_REQUEST_WRITTEN, type OrderRequestWritten } from '../../src/ports/exchange.ts';
import { startSimulator } from '../../src/sim/index.ts';
import { exchangeFor } from '../oms/sim-helpers.ts';

// The venue-neutral "order request written" hook (what crash points listen to instead of URL
// paths): the BTCTurk adapter announces each order POST and cancel DELETE once it is on the wire,
// with what it is about, and nothing for reads.

/** Every order-request-written announcement from now until the test ends. */
function announcements(t: TestContext): OrderRequestWritten[] {
  const seen: OrderRequestWritten[] = [];
  const listener = (message: unknown) => {
    seen.push(message as OrderRequestWritten);
  };
  subscribe(ORDER_REQUEST_WRITTEN, listener);
  t.after(() => {
    unsubscribe(ORDER_REQUEST_WRITTEN, listener);
  });
  return seen;
}

it('the BTCTurk adapter announces each order request once it is written: submit and cancel, not reads', async (t) => {
  const sim = await startSimulator({ seed: 7, autoMarket: false });
  const exchange = exchangeFor(sim, 7);
  t.after(async () => {
    await exchange.close();
    await sim.stop();
  });
  const seen = announcements(t);

  const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
  assert.ok(bid);
  const ack = await exchange.submitOrder({
    symbol: 'BTCTRY',
    side: 'buy',
    method: 'limit',
    quantity: new Dec('0.001'),
    price: bid,
    clientOrderId: 'written-1',
  });
  await exchange.openOrders('BTCTRY');
  await exchange.order(ack.exchangeOrderId);
  await exchange.cancelOrder(ack.exchangeOrderId);
  await exchange.balances();
  assert.deepEqual(seen, [
    { operation: 'submit', clientOrderId: 'written-1' },
    { operation: 'cancel', exchangeOrderId: ack.exchangeOrderId },
  ]);
});

it('announces a submit whose reply never comes (the moment a crash point needs)', async (t) => {
  const sim = await startSimulator({ seed: 8, autoMarket: false });
  const exchange = exchangeFor(sim, 8, { requestTimeoutMs: 300, deadlineMs: 600 });
  t.after(async () => {
    await exchange.close();
    await sim.stop();
  });
  await exchange.syncClock();
  // From now on a reply is held longer than the request timeout: the adapter gives up, ambiguous.
  sim.setFault('latency-ms', 2_000);
  const seen = announcements(t);
  const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
  assert.ok(bid);
  await assert.rejects(
    exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: bid,
      clientOrderId: 'written-2',
    }),
    { kind: 'ambiguous' },
  );
  assert.deepEqual(seen, [{ operation: 'submit', clientOrderId: 'written-2' }]);
});
