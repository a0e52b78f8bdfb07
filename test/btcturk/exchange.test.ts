import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { Dec, decText } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import {
  LIMIT_BUY,
  TEST_KEY,
  TEST_SECRET,
  exchangeFor,
  fakeVenue,
  raw,
  withServerTime,
  type Answer,
  type FakeVenue,
  type SeenRequest,
} from './helpers.ts';

const ROUTES: Record<string, string> = {
  'GET /api/v2/server/exchangeinfo': 'exchangeinfo',
  'GET /api/v2/orderbook': 'orderbook',
  'GET /api/v2/ticker': 'ticker',
  'GET /api/v2/trades': 'trades',
  'GET /api/v1/users/balances': 'balances',
  'POST /api/v1/order': 'order-submit',
  'DELETE /api/v1/order': 'cancel-accepted',
  'GET /api/v1/openOrders': 'open-orders',
  'GET /api/v1/allOrders': 'all-orders',
  'GET /api/v1/order/21469236270': 'order',
  'GET /api/v1/users/transactions/trade': 'fills',
};

function route(request: SeenRequest): Answer {
  const name = ROUTES[`${request.method} ${request.path}`];
  return name ? raw(name) : { status: 404, body: '{"success":false,"message":"Not Found","code":404}' };
}

let venue: FakeVenue;
before(async () => {
  venue = await fakeVenue(withServerTime(() => Date.now(), route));
});
after(async () => {
  await venue.close();
});

function last(method: string, path: string): SeenRequest {
  const found = venue.seen.filter((r) => r.method === method && r.path === path).at(-1);
  assert.ok(found, `no ${method} ${path} was sent`);
  return found;
}

describe('BtcturkExchange requests', () => {
  it('places an order with the documented body: decimals as dotted strings, method and side in lower case', async () => {
    const exchange = exchangeFor(venue.url);
    const ack = await exchange.submitOrder({ ...LIMIT_BUY, quantity: new Dec('1.5e-3') });
    assert.equal(ack.exchangeOrderId, '21469236290');
    const post = last('POST', '/api/v1/order');
    assert.equal(post.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(post.body), {
      quantity: '0.0015',
      price: '3440000',
      newOrderClientId: 'bb-7f3a9c01',
      orderMethod: 'limit',
      orderType: 'buy',
      pairSymbol: 'BTCTRY',
    });
    assert.equal(post.headers['x-pck'], TEST_KEY);
    assert.ok(post.headers['x-signature']);
    await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'sell',
      method: 'stopmarket',
      quantity: new Dec('0.002'),
      stopPrice: new Dec('3300000'),
      clientOrderId: 'bb-stop-1',
    });
    assert.deepEqual(JSON.parse(last('POST', '/api/v1/order').body), {
      quantity: '0.002',
      stopPrice: '3300000',
      newOrderClientId: 'bb-stop-1',
      orderMethod: 'stopmarket',
      orderType: 'sell',
      pairSymbol: 'BTCTRY',
    });
    await exchange.close();
  });

  it('checks an order against known symbol rules, so a bad order never leaves', async () => {
    const exchange = exchangeFor(venue.url);
    await exchange.exchangeInfo();
    const before = venue.seen.filter((r) => r.method === 'POST').length;
    const error = await exchange
      .submitOrder({ ...LIMIT_BUY, price: new Dec('3440000.5'), quantity: new Dec('0.00001') })
      .catch((e: unknown) => e);
    assert.ok(isExchangeError(error, 'rejected'));
    assert.equal(error.code, 'LOCAL_VALIDATION');
    assert.match(error.message, /price=3440000\.5/);
    assert.match(error.message, /below the minimum 99\.91/);
    assert.equal(venue.seen.filter((r) => r.method === 'POST').length, before, 'nothing was sent');
    await exchange.close();
  });

  it('refuses market and stop-market buys without a quote amount (BTCTurk sizes them in the quote currency) before sending; market sells go', async () => {
    const exchange = exchangeFor(venue.url); // no exchange info read: the refusal needs no rules
    const before = venue.seen.filter((r) => r.method === 'POST').length;
    for (const method of ['market', 'stopmarket'] as const) {
      const error = await exchange
        .submitOrder({
          symbol: 'BTCTRY',
          side: 'buy',
          method,
          quantity: new Dec('0.001'),
          stopPrice: method === 'stopmarket' ? new Dec('3600000') : undefined,
          clientOrderId: `bb-${method}-buy`,
        })
        .catch((e: unknown) => e);
      assert.ok(isExchangeError(error, 'rejected'), String(error));
      assert.equal(error.code, 'LOCAL_VALIDATION');
      assert.equal(error.unprocessed, true);
      assert.match(
        error.message,
        new RegExp(
          `quoteAmount=missing: a ${method} buy is sized in the quote currency on BTCTurk: give the quote amount`,
        ),
      );
    }
    assert.equal(venue.seen.filter((r) => r.method === 'POST').length, before, 'a market buy was sent');

    await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'sell',
      method: 'market',
      quantity: new Dec('0.001'),
      clientOrderId: 'bb-market-sell',
    });
    assert.deepEqual(JSON.parse(last('POST', '/api/v1/order').body), {
      quantity: '0.001',
      newOrderClientId: 'bb-market-sell',
      orderMethod: 'market',
      orderType: 'sell',
      pairSymbol: 'BTCTRY',
    });

    // Sized by its quote amount, a market buy goes out with that amount as BTCTurk's `quantity`.
    await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'market',
      quantity: new Dec(0),
      quoteAmount: new Dec('1500.5'),
      clientOrderId: 'bb-market-buy',
    });
    assert.deepEqual(JSON.parse(last('POST', '/api/v1/order').body), {
      quantity: '1500.5',
      newOrderClientId: 'bb-market-buy',
      orderMethod: 'market',
      orderType: 'buy',
      pairSymbol: 'BTCTRY',
    });
    await exchange.close();
  });

  it('cancels with DELETE /api/v1/order?id=<id>', async () => {
    const exchange = exchangeFor(venue.url);
    await exchange.cancelOrder('21469236282');
    const del = last('DELETE', '/api/v1/order');
    assert.equal(del.query.toString(), 'id=21469236282');
    assert.equal(del.body, '');
    await exchange.close();
  });

  it("queries open orders, order history, one order and fills with BTCTurk's parameter names", async () => {
    const exchange = exchangeFor(venue.url);
    assert.equal((await exchange.openOrders('BTCTRY')).length, 2);
    assert.equal(last('GET', '/api/v1/openOrders').query.toString(), 'pairSymbol=BTCTRY');

    const history = await exchange.orderHistory({
      symbol: 'BTCTRY',
      fromOrderId: '21469236270',
      startTime: 1699999990000,
      endTime: 1700000005000,
      page: 2,
      limit: 500,
    });
    assert.equal(history.length, 5);
    assert.equal(
      last('GET', '/api/v1/allOrders').query.toString(),
      'pairSymbol=BTCTRY&orderId=21469236270&startTime=1699999990000&endTime=1700000005000&page=2&limit=500',
    );

    const order = await exchange.order('21469236270');
    assert.equal(order.status, 'canceled');

    const fills = await exchange.fills({ symbol: 'BTCTRY', exchangeOrderId: '21469236282' });
    assert.deepEqual(
      fills.map((f) => f.tradeId),
      ['1181163798924649598'],
    );
    assert.equal(
      last('GET', '/api/v1/users/transactions/trade').query.toString(),
      'pairSymbol=BTCTRY&orderId=21469236282',
    );
    await exchange.close();
  });

  it('reads public market data from /api/v2 without signing', async () => {
    const exchange = exchangeFor(venue.url, { credentials: undefined });
    const book = await exchange.orderBook('BTCTRY', 50);
    assert.equal(decText(book.bids[0]?.price ?? new Dec(0)), '3450000');
    assert.equal(last('GET', '/api/v2/orderbook').query.toString(), 'pairSymbol=BTCTRY&limit=50');
    assert.equal(last('GET', '/api/v2/orderbook').headers['x-pck'], undefined);
    assert.equal((await exchange.tickers()).length, 2);
    assert.equal(last('GET', '/api/v2/ticker').query.toString(), '');
    assert.equal((await exchange.recentTrades('BTCTRY', 10)).length, 2);
    assert.equal(last('GET', '/api/v2/trades').query.toString(), 'pairSymbol=BTCTRY&last=10');
    assert.ok((await exchange.serverTime()) > 1_700_000_000_000);
    const info = await exchange.exchangeInfo();
    assert.equal(info.symbols.length, 2);
    await exchange.close();
  });

  it('works under a base URL with a trailing slash', async () => {
    const exchange = exchangeFor(`${venue.url}/`, { credentials: undefined });
    assert.equal((await exchange.tickers('BTCTRY')).length, 2);
    assert.equal(last('GET', '/api/v2/ticker').query.toString(), 'pairSymbol=BTCTRY');
    await exchange.close();
  });
});

describe('logging', () => {
  it('logs method, path, status and latency at debug, and never a header value', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    // No timestamps: a log time could equal a stamp to the millisecond and prove nothing.
    const logger = pino({ level: 'debug', timestamp: false }, sink);
    const exchange = exchangeFor(venue.url, { logger });
    await exchange.balances();
    await exchange.submitOrder(LIMIT_BUY);
    await exchange.close();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const request = entries.find((e) => e.path === '/api/v1/users/balances');
    assert.ok(request, lines.join(''));
    assert.equal(request.method, 'GET');
    assert.equal(request.status, 200);
    assert.equal(typeof request.latencyMs, 'number');
    assert.equal(request.level, 20);
    const stamps = venue.seen
      .map((r) => r.headers['x-stamp'])
      .filter((s): s is string => typeof s === 'string');
    const signatures = venue.seen
      .map((r) => r.headers['x-signature'])
      .filter((s): s is string => typeof s === 'string');
    const all = lines.join('');
    for (const secret of [TEST_KEY, TEST_SECRET, ...stamps, ...signatures])
      assert.ok(!all.includes(secret), `log carries ${secret}`);
  });
});
