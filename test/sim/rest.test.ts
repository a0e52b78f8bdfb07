import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decimal } from 'decimal.js';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import type { BalanceReport } from '../../src/domain/reports.ts';
import type { RunningSimulator } from '../../src/sim/index.ts';
import { manualClock, raw, simAuth, withSim } from './helpers.ts';

// The simulator as the bot sees it: the real adapter over real HTTP on loopback.

function adapterFor(sim: RunningSimulator, credentials = simAuth(sim)): BtcturkExchange {
  return new BtcturkExchange({
    baseUrl: sim.restUrl,
    credentials,
    requestTimeoutMs: 2_000,
    deadlineMs: 5_000,
  });
}

async function withAdapter(
  sim: RunningSimulator,
  body: (exchange: BtcturkExchange) => Promise<void>,
): Promise<void> {
  const exchange = adapterFor(sim);
  try {
    await body(exchange);
  } finally {
    await exchange.close();
  }
}

function balanceOf(balances: readonly BalanceReport[], asset: string): BalanceReport {
  const balance = balances.find((b) => b.asset === asset);
  assert.ok(balance, `no ${asset} balance`);
  return balance;
}

/** A bid price strictly inside the spread, so a user's buy becomes the best bid. */
async function insideBid(exchange: BtcturkExchange, symbol: string): Promise<Decimal> {
  const book = await exchange.orderBook(symbol);
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  assert.ok(bid && ask && ask.minus(bid).gt(2), 'the synthetic book has a spread');
  return bid.plus(1);
}

describe('REST through the BTCTurk adapter', () => {
  it('lists exchange info and server time the adapter can read', async () => {
    await withSim({ symbols: ['BTCTRY', 'USDTTRY'] }, async (sim) => {
      await withAdapter(sim, async (exchange) => {
        const info = await exchange.exchangeInfo();
        assert.deepEqual(info.symbols.map((s) => s.symbol).sort(), ['BTCTRY', 'USDTTRY']);
        const usdt = info.symbols.find((s) => s.symbol === 'USDTTRY');
        assert.ok(usdt);
        assert.equal(usdt.priceScale, 2);
        assert.equal(usdt.tickSize.toFixed(), '0.01');
        assert.equal(usdt.minExchangeValue?.toFixed(), '100');
        const serverTime = await exchange.serverTime();
        assert.ok(Math.abs(serverTime - Date.now()) < 60_000);
      });
    });
  });

  it('places a limit order that rests, shows it open with its client id, and locks the funds', async () => {
    await withSim({ balances: { TRY: '1000000', BTC: '1' } }, async (sim) => {
      await withAdapter(sim, async (exchange) => {
        await exchange.exchangeInfo();
        const price = (await exchange.orderBook('BTCTRY')).bids[0]?.price.minus(1000);
        assert.ok(price);
        const ack = await exchange.submitOrder({
          symbol: 'BTCTRY',
          side: 'buy',
          method: 'limit',
          quantity: new Dec('0.01'),
          price,
          clientOrderId: 'rest-place-1',
        });
        assert.equal(ack.clientOrderId, 'rest-place-1');
        const open = await exchange.openOrders('BTCTRY');
        assert.equal(open.length, 1);
        const [resting] = open;
        assert.ok(resting);
        assert.equal(resting.exchangeOrderId, ack.exchangeOrderId);
        assert.equal(resting.clientOrderId, 'rest-place-1');
        assert.equal(resting.status, 'open');
        const tryBalance = balanceOf(await exchange.balances(), 'TRY');
        assert.ok(tryBalance.locked.gte(price.mul('0.01')), 'at least the notional is locked');
        assert.equal(tryBalance.free.plus(tryBalance.locked).toFixed(), '1000000');
      });
    });
  });

  it('partially fills a resting order; fills and balances add up to the cent', async () => {
    await withSim({ balances: { TRY: '1000000', BTC: '0' } }, async (sim) => {
      const seller = sim.openAccount({ balances: { TRY: '0', BTC: '1' } });
      await withAdapter(sim, async (buyer) => {
        const sellerExchange = adapterFor(sim, seller);
        try {
          await buyer.exchangeInfo();
          const price = await insideBid(buyer, 'BTCTRY');
          const ack = await buyer.submitOrder({
            symbol: 'BTCTRY',
            side: 'buy',
            method: 'limit',
            quantity: new Dec('0.01'),
            price,
            clientOrderId: 'partial-1',
          });
          await sellerExchange.submitOrder({
            symbol: 'BTCTRY',
            side: 'sell',
            method: 'limit',
            quantity: new Dec('0.004'),
            price,
            clientOrderId: 'seller-1',
          });
          const order = await buyer.order(ack.exchangeOrderId);
          assert.equal(order.status, 'partially_filled');
          assert.equal(order.leftQuantity?.toFixed(), '0.006');

          const fills = await buyer.fills({ symbol: 'BTCTRY' });
          assert.equal(fills.length, 1);
          const fill = fills[0];
          assert.ok(fill);
          assert.equal(fill.exchangeOrderId, ack.exchangeOrderId);
          assert.equal(fill.clientOrderId, 'partial-1');
          assert.equal(fill.quantity.toFixed(), '0.004');
          assert.equal(fill.price.toFixed(), price.toFixed());
          const truth = sim.groundTruth().fills.find((f) => f.orderId === ack.exchangeOrderId);
          assert.equal(fill.tradeId, truth?.tradeId, 'the trade id above 2^53 survives the wire');

          const balances = await buyer.balances();
          const quote = balanceOf(balances, 'TRY');
          const base = balanceOf(balances, 'BTC');
          const spent = price.mul('0.004').plus(fill.feeAsset === 'TRY' ? fill.fee.plus(fill.tax) : 0);
          assert.equal(quote.total.toFixed(), new Dec('1000000').minus(spent).toFixed());
          assert.equal(
            base.total.toFixed(),
            fill.feeAsset === 'BTC' ? new Dec('0.004').minus(fill.fee).minus(fill.tax).toFixed() : '0.004',
          );
          assert.ok(quote.locked.gte(price.mul('0.006')), 'the rest of the order stays locked');
        } finally {
          await sellerExchange.close();
        }
      });
    });
  });

  it('cancels asynchronously: accepted at once, the order leaves the book after cancel-delay-ms', async () => {
    await withSim({ faults: { 'cancel-delay-ms': '300ms' } }, async (sim) => {
      await withAdapter(sim, async (exchange) => {
        await exchange.exchangeInfo();
        const price = (await exchange.orderBook('BTCTRY')).bids[0]?.price.minus(5000);
        assert.ok(price);
        const ack = await exchange.submitOrder({
          symbol: 'BTCTRY',
          side: 'buy',
          method: 'limit',
          quantity: new Dec('0.001'),
          price,
          clientOrderId: 'cancel-1',
        });
        await exchange.cancelOrder(ack.exchangeOrderId);
        const right = sim.groundTruth().orders.find((o) => o.id === ack.exchangeOrderId);
        assert.ok(right);
        assert.equal(right.status, 'open', 'still resting right after the accepted DELETE');
        assert.equal(right.cancelRequested, true);
        const deadline = Date.now() + 5_000;
        while ((await exchange.openOrders('BTCTRY')).length > 0) {
          assert.ok(Date.now() < deadline, 'the cancel never completed');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const history = await exchange.orderHistory({ symbol: 'BTCTRY' });
        assert.equal(history.find((o) => o.exchangeOrderId === ack.exchangeOrderId)?.status, 'canceled');
        const tryBalance = balanceOf(await exchange.balances(), 'TRY');
        assert.equal(tryBalance.locked.toFixed(), '0', 'the cancel released the funds');
      });
    });
  });

  it('refuses a bad order with BTCTurk code and message, and an unknown cancel with NO_ORDER_MATCHES_YOUR_REQUEST', async () => {
    await withSim({}, async (sim) => {
      const auth = simAuth(sim);
      const badScale = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth,
        body: {
          quantity: '0.001',
          price: '3400000.5',
          orderMethod: 'limit',
          orderType: 'buy',
          pairSymbol: 'BTCTRY',
        },
      });
      assert.equal(badScale.status, 400);
      assert.deepEqual(badScale.json(), {
        success: false,
        message: 'FAILED_INVALID_PRICE_SCALE',
        code: 1126,
      });
      const badType = await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth,
        body: {
          quantity: '0.001',
          price: '3400000',
          orderMethod: 'limit',
          orderType: 'hold',
          pairSymbol: 'BTCTRY',
        },
      });
      assert.deepEqual(badType.json(), { success: false, message: 'ORDER_TYPE_NOT_SUPPORTED', code: 1193 });
      const cancel = await raw(sim.restUrl, 'DELETE', '/api/v1/order?id=42', { auth });
      assert.equal(cancel.status, 400);
      assert.equal((cancel.json() as { message: string }).message, 'NO_ORDER_MATCHES_YOUR_REQUEST');
      const missing = await raw(sim.restUrl, 'GET', '/api/v1/order/42', { auth });
      assert.deepEqual(missing.json(), { success: false, message: 'Order not found', code: 1152 });
    });
  });

  it('a cancel of an already-canceled order answers success (no 452); a filled one is still refused; another account’s is unknown', async () => {
    await withSim({}, async (sim) => {
      const auth = simAuth(sim);
      const other = sim.openAccount({ balances: { TRY: '1000000', BTC: '1' } });
      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
      assert.ok(bid);
      const place = async (price: Decimal, who = auth): Promise<string> => {
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: who,
          body: {
            quantity: '0.001',
            price: price.toFixed(),
            orderMethod: 'limit',
            orderType: 'buy',
            pairSymbol: 'BTCTRY',
          },
        });
        assert.equal(placed.status, 200, placed.text);
        const id = /"id":(\d+)/.exec(placed.text)?.[1];
        assert.ok(id);
        return id;
      };
      const cancel = (id: string, who = auth) =>
        raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${id}`, { auth: who });
      const deletes: string[] = [];
      const unsubscribe = sim.engine.subscribe((event) => {
        if (event.type === 'order-deleted') deletes.push(event.order.id);
      });
      try {
        const id = await place(bid.minus(100));
        assert.equal((await cancel(id)).status, 200);
        sim.engine.completeCancel(id);
        assert.deepEqual(deletes, [id]);
        for (let repeat = 0; repeat < 2; repeat++) {
          const again = await cancel(id);
          assert.equal(again.status, 200, 'since ~November 2024: success, not an error');
          assert.equal(again.text, '{"success":true,"message":"SUCCESS","code":0}', 'no data member');
        }
        assert.deepEqual(deletes, [id], 'nothing is deleted again, so no 452 follows');
        assert.equal(sim.engine.order(sim.accountId, id)?.status, 'canceled');

        const theirs = await place(bid.minus(200), other);
        assert.equal((await cancel(theirs, other)).status, 200);
        sim.engine.completeCancel(theirs);
        const foreign = await cancel(theirs);
        assert.equal(foreign.status, 400, 'another account’s order is not ours to know');
        assert.deepEqual(foreign.json(), {
          success: false,
          message: 'NO_ORDER_MATCHES_YOUR_REQUEST',
          code: 1052,
        });

        const ask = sim.engine.book('BTCTRY', 1).asks[0]?.price;
        assert.ok(ask);
        const filled = await place(ask.mul('1.01').toDecimalPlaces(0));
        assert.equal(sim.engine.order(sim.accountId, filled)?.status, 'filled');
        const refused = await cancel(filled);
        assert.equal(refused.status, 400, 'a filled order: the simulator’s refusal as before');
        assert.equal((refused.json() as { message: string }).message, 'ORDER_COULD_NOT_BE_CANCELED');
      } finally {
        unsubscribe();
      }
    });
  });

  it('answers 401 to a bad signature and to a stamp 6 s off; the adapter reports kind "auth"', async () => {
    await withSim({}, async (sim) => {
      const ok = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', { auth: simAuth(sim) });
      assert.equal(ok.status, 200);
      const wrongSecret = Buffer.from('another secret').toString('base64');
      const badSignature = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', {
        auth: { apiKey: sim.apiKey, apiSecret: wrongSecret },
      });
      assert.equal(badSignature.status, 401);
      const late = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', {
        auth: { ...simAuth(sim), stamp: Date.now() - 6_000 },
      });
      assert.equal(late.status, 401);
      const early = await raw(sim.restUrl, 'GET', '/api/v1/users/balances', {
        auth: { ...simAuth(sim), stamp: Date.now() + 6_000 },
      });
      assert.equal(early.status, 401);
      const unsigned = await raw(sim.restUrl, 'GET', '/api/v1/openOrders?pairSymbol=BTCTRY');
      assert.equal(unsigned.status, 401);

      const exchange = adapterFor(sim, { apiKey: sim.apiKey, apiSecret: wrongSecret });
      try {
        await assert.rejects(exchange.balances(), (error: unknown) => isExchangeError(error, 'auth'));
      } finally {
        await exchange.close();
      }
    });
  });

  it('answers the 11th order POST within one second with 429, Retry-After and the documented body', async () => {
    const clock = manualClock();
    await withSim({ clock }, async (sim) => {
      const body = {
        quantity: '0.001',
        price: '3000000',
        orderMethod: 'limit',
        orderType: 'buy',
        pairSymbol: 'BTCTRY',
      };
      const replies = [];
      for (let i = 0; i < 11; i++)
        replies.push(await raw(sim.restUrl, 'POST', '/api/v1/order', { auth: simAuth(sim), body }));
      assert.deepEqual(
        replies.map((r) => r.status),
        [...Array<number>(10).fill(200), 429],
      );
      const refused = replies[10];
      assert.ok(refused);
      assert.equal(refused.headers.get('retry-after'), '1', 'the rest of the 1 s window, in whole seconds');
      assert.deepEqual(refused.json(), {
        success: false,
        message: 'TOO_MANY_REQUESTS',
        code: 429,
        details: 'Quota exceeded. Maximum allowed: 10 per 1s.',
        limit: '10',
        period: '1s',
        policy: 'account',
      });
      const mine = sim.groundTruth().orders.filter((o) => o.accountId === sim.accountId);
      assert.equal(mine.length, 10, 'the refused POST placed nothing');
      const state = (await raw(sim.restUrl, 'GET', '/sim/state')).json() as { rateLimited: unknown };
      assert.deepEqual(state.rateLimited, { total: 1, byGroup: { 'order-post': 1 } }, 'the 429 is counted');
      clock.advance(1_000);
      const next = await raw(sim.restUrl, 'POST', '/api/v1/order', { auth: simAuth(sim), body });
      assert.equal(next.status, 200, 'the next second is open again');
    });
  });

  it('caps the book at 100 levels a side whatever limit asks, as BTCTurk does', async () => {
    await withSim({}, async (sim) => {
      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
      assert.ok(bid);
      for (let i = 1; i <= 110; i++)
        sim.engine.placeOrder({
          accountId: sim.accountId,
          symbol: 'BTCTRY',
          side: 'buy',
          method: 'limit',
          quantity: new Dec('0.001'),
          price: bid.minus(i),
        });
      assert.ok(sim.engine.book('BTCTRY', 1000).bids.length > 110, 'the exchange holds more');
      for (const query of ['&limit=1000', '&limit=150', '']) {
        const reply = await raw(sim.restUrl, 'GET', `/api/v2/orderbook?pairSymbol=BTCTRY${query}`);
        const book = reply.json() as { data: { bids: unknown[]; asks: unknown[] } };
        assert.equal(book.data.bids.length, 100, `limit${query}`);
      }
      const few = (await raw(sim.restUrl, 'GET', '/api/v2/orderbook?pairSymbol=BTCTRY&limit=5')).json() as {
        data: { bids: unknown[] };
      };
      assert.equal(few.data.bids.length, 5, 'a smaller limit is honoured');
    });
  });

  it('answers 404 to an unknown route and 405 to a wrong method', async () => {
    await withSim({}, async (sim) => {
      const unknown = await raw(sim.restUrl, 'GET', '/api/v1/nothing-here');
      assert.equal(unknown.status, 404);
      assert.deepEqual(unknown.json(), { success: false, message: 'NOT_FOUND', code: 404 });
      const wrong = await raw(sim.restUrl, 'PUT', '/api/v1/order');
      assert.equal(wrong.status, 405);
      assert.match(wrong.headers.get('allow') ?? '', /POST/);
      assert.equal((await raw(sim.restUrl, 'POST', '/api/v2/ticker')).status, 405);
    });
  });
});
