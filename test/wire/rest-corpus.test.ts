import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { venueReason, type VenueReason } from '../../src/btcturk/common/errors.ts';
import type { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec, decText } from '../../src/domain/decimal.ts';
import { isExchangeError, type ExchangeError, type ExchangeErrorKind } from '../../src/domain/errors.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import { DEFAULT_TIMINGS, type OmsContext } from '../../src/oms/context.ts';
import { fetchOrderReport, findOnExchange } from '../../src/oms/lookup.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import {
  LIMIT_BUY,
  exchangeFor,
  fakeVenue,
  privateRequests,
  withServerTime,
  type Answer,
  type FakeVenue,
  type SeenRequest,
} from '../btcturk/helpers.ts';
import { WIRE, wireText } from './corpus.ts';

// Every REST reply of BTCTurk's wire corpus, byte for byte, through the real adapter over real HTTP:
// a loopback server answers the entry's exact text with its status, BtcturkExchange calls it, and
// the result or the typed error is checked. A new `rest` entry without an expectation fails the
// suite, so none can slip by unread.

const venues: FakeVenue[] = [];
const exchanges: BtcturkExchange[] = [];
after(async () => {
  await Promise.all(exchanges.map((x) => x.close()));
  await Promise.all(venues.map((v) => v.close()));
});

type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

async function outcome<T>(promise: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

function value<T>(result: Outcome<T>): T {
  if (!result.ok) throw new Error(`expected a value, got ${String(result.error)}`);
  return result.value;
}

function failure(
  result: Outcome<unknown>,
  kind: ExchangeErrorKind,
  reason?: VenueReason | null,
): ExchangeError {
  assert.ok(!result.ok, `expected a ${kind} error, got a value: ${JSON.stringify(result)}`);
  const { error } = result;
  assert.ok(isExchangeError(error), `expected an ExchangeError, got ${String(error)}`);
  assert.equal(error.kind, kind, error.message);
  if (reason !== undefined) assert.equal(venueReason(error), reason, error.message);
  return error;
}

const text = (d: { toFixed(): string } | null | undefined) => (d ? d.toFixed() : d);

/** A venue answering every call but /server/time with `answer` (server time from the local clock). */
async function venue(answer: (r: SeenRequest) => Answer | Promise<Answer>): Promise<FakeVenue> {
  const v = await fakeVenue(withServerTime(() => Date.now(), answer));
  venues.push(v);
  return v;
}

function exchange(v: FakeVenue): BtcturkExchange {
  const x = exchangeFor(v.url, { deadlineMs: 5_000, requestTimeoutMs: 2_000 });
  exchanges.push(x);
  return x;
}

const calls = (v: FakeVenue, method: string, path: string) =>
  v.seen.filter((r) => r.method === method && r.path === path);

interface Case {
  /** The request the reply answers. */
  readonly method: string;
  readonly path: string;
  /** The reply as served: the entry's bytes unless the entry is only a fragment of one. */
  readonly body?: (text: string) => string;
  readonly run: (x: BtcturkExchange) => Promise<unknown>;
  readonly check: (result: Outcome<unknown>, v: FakeVenue) => void;
}

const MARKET_SELL: OrderRequest = {
  symbol: 'BTCUSDT',
  side: 'sell',
  method: 'market',
  quantity: new Dec('0.0002'),
  clientOrderId: 'BtcTurk Python API Test',
};

const DOCS_BUY: OrderRequest = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  quantity: new Dec('0.001'),
  price: new Dec('20000'),
  clientOrderId: 'test',
};

function rejectedOrder(reason: VenueReason, code: number) {
  return (result: Outcome<unknown>, v: FakeVenue) => {
    const error = failure(result, 'rejected', reason);
    assert.equal(error.code, code);
    assert.equal(error.httpStatus, 400);
    assert.equal(error.unprocessed, true);
    assert.equal(calls(v, 'POST', '/api/v1/order').length, 1, 'a refused order is not sent again');
  };
}

const CASES: Readonly<Record<string, Case>> = {
  'rest-orderbook-unknown-pair': {
    method: 'GET',
    path: '/api/v2/orderbook',
    run: (x) => x.orderBook('NOPEUSDT'),
    check: (result, v) => {
      const error = failure(result, 'rejected', 'unknown-pair');
      assert.equal(error.code, 1037);
      assert.equal(error.httpStatus, 400);
      assert.match(error.message, /for pair NOPEUSDT/);
      assert.equal(error.venueMessage, 'Pair NOPEUSDT does not exists.');
      assert.equal(calls(v, 'GET', '/api/v2/orderbook').length, 1, 'a 400 is not retried');
    },
  },
  'rest-orderbook-no-pair': {
    method: 'GET',
    path: '/api/v2/orderbook',
    run: (x) => x.orderBook(''),
    check: (result) => {
      const error = failure(result, 'rejected', 'invalid-request');
      assert.equal(error.code, 1037);
    },
  },
  'rest-ticker-unknown-pair': {
    method: 'GET',
    path: '/api/v2/ticker',
    run: (x) => x.tickers('NOPEUSDT'),
    check: (result) => {
      assert.deepEqual(value(result), []);
    },
  },
  'rest-server-time': {
    method: 'GET',
    path: '/api/v2/server/time',
    run: (x) => x.serverTime(),
    check: (result) => {
      assert.equal(value(result), 1790133600027);
    },
  },
  'rest-429': {
    method: 'GET',
    path: '/api/v1/users/balances',
    run: (x) => x.balances(),
    check: (result, v) => {
      const error = failure(result, 'rate-limited', 'rate-limit');
      assert.equal(error.code, 429);
      assert.equal(error.retryAfterMs, 60_000, 'the body\'s "period":"1m" when no Retry-After header came');
      assert.equal(privateRequests(v).length, 1);
    },
  },
  'rest-invalid-nonce': {
    method: 'GET',
    path: '/api/v1/users/balances',
    run: (x) => x.balances(),
    check: (result, v) => {
      // success:true, but code 1037 "Unauthorized - Invalid Nonce": a stamp problem, whatever success says.
      const error = failure(result, 'auth', 'unauthorized');
      assert.equal(error.code, 1037);
      assert.equal(privateRequests(v).length, 2, 'one more try after re-measuring the clock');
      assert.equal(calls(v, 'GET', '/api/v2/server/time').length, 2);
    },
  },
  'rest-cancel-ok': {
    method: 'DELETE',
    path: '/api/v1/order',
    run: (x) => x.cancelOrder('198008190'),
    check: (result) => {
      assert.equal(value(result), undefined);
    },
  },
  'rest-order-delete-accepted': {
    method: 'DELETE',
    path: '/api/v1/order',
    run: (x) => x.cancelOrder('198008190'),
    check: (result) => {
      assert.equal(value(result), undefined);
    },
  },
  'rest-order-delete-not-found-1052': {
    method: 'DELETE',
    path: '/api/v1/order',
    run: (x) => x.cancelOrder('198008190'),
    check: (result, v) => {
      const error = failure(result, 'rejected', 'order-not-found');
      assert.equal(error.code, 1052);
      assert.match(error.message, /for order 198008190/);
      assert.equal(calls(v, 'DELETE', '/api/v1/order').length, 1);
    },
  },
  'rest-order-post-ok-2020-04': {
    method: 'POST',
    path: '/api/v1/order',
    run: (x) => x.submitOrder(MARKET_SELL),
    check: (result) => {
      const ack = value(result) as Awaited<ReturnType<BtcturkExchange['submitOrder']>>;
      assert.deepEqual(
        { ...ack, price: text(ack.price), quantity: text(ack.quantity) },
        {
          exchangeOrderId: '198008190',
          clientOrderId: 'BtcTurk Python API Test',
          symbol: 'BTCUSDT',
          side: 'sell',
          method: 'market',
          price: null, // "0": a market order has no price
          quantity: '0.0002',
          createdAt: 1586777264180,
        },
      );
    },
  },
  'rest-order-post-ok-docs': {
    method: 'POST',
    path: '/api/v1/order',
    run: (x) => x.submitOrder(DOCS_BUY),
    check: (result) => {
      const ack = value(result) as Awaited<ReturnType<BtcturkExchange['submitOrder']>>;
      assert.equal(ack.exchangeOrderId, '9932534');
      assert.equal(ack.side, 'buy'); // "Buy"
      assert.equal(ack.method, 'limit'); // "Limit"
      assert.equal(text(ack.price), '20000');
      assert.equal(text(ack.quantity), '0.001');
      assert.equal(ack.clientOrderId, 'test');
      assert.equal(ack.createdAt, 1543996112263);
    },
  },
  'rest-order-post-open-orders-1122': {
    method: 'POST',
    path: '/api/v1/order',
    run: (x) => x.submitOrder(LIMIT_BUY),
    check: rejectedOrder('insufficient-funds', 1122),
  },
  'rest-order-post-open-orders-1123': {
    method: 'POST',
    path: '/api/v1/order',
    run: (x) => x.submitOrder(LIMIT_BUY),
    // Code 1123 is FAILED_MIN_TOTAL_AMOUNT in the docs: the message decides, not the code.
    check: rejectedOrder('insufficient-funds', 1123),
  },
  'rest-order-post-price-scale-1126': {
    method: 'POST',
    path: '/api/v1/order',
    run: (x) => x.submitOrder(LIMIT_BUY),
    check: rejectedOrder('price-scale', 1126),
  },
  'rest-open-orders-2020': {
    method: 'GET',
    path: '/api/v1/openOrders',
    run: (x) => x.openOrders('LINKTRY'),
    check: (result) => {
      const orders = value(result) as Awaited<ReturnType<BtcturkExchange['openOrders']>>;
      assert.equal(orders.length, 1);
      const [o] = orders;
      assert.ok(o);
      assert.deepEqual(
        {
          ...o,
          price: text(o.price),
          stopPrice: text(o.stopPrice),
          quantity: text(o.quantity),
          leftQuantity: text(o.leftQuantity),
        },
        {
          exchangeOrderId: '671533370',
          clientOrderId: 'f23s7ee5-6dm0-4c05-9692-4f06fe72d33e',
          symbol: 'LINKTRY',
          side: 'buy',
          method: 'stoplimit',
          price: '110',
          stopPrice: '109',
          quantity: '1',
          leftQuantity: '1',
          status: 'open',
          createdAt: null, // time 0: unknown
          updatedAt: 1605157735153,
        },
      );
    },
  },
  'rest-open-orders-docs': {
    method: 'GET',
    path: '/api/v1/openOrders',
    run: (x) => x.openOrders('BTCTRY'),
    check: (result) => {
      const orders = value(result) as Awaited<ReturnType<BtcturkExchange['openOrders']>>;
      assert.deepEqual(
        orders.map((o) => [
          o.exchangeOrderId,
          o.side,
          text(o.price),
          text(o.stopPrice),
          o.status,
          o.createdAt,
        ]),
        [
          ['16071095', 'buy', '65817', null, 'open', null],
          ['16060235', 'sell', '66800', null, 'open', null],
        ],
      );
    },
  },
  'rest-user-trades-empty': {
    method: 'GET',
    path: '/api/v1/users/transactions/trade',
    run: (x) => x.fills({ exchangeOrderId: '198008190' }),
    check: (result) => {
      assert.deepEqual(value(result), []);
    },
  },
  'rest-user-trades-docs': {
    method: 'GET',
    path: '/api/v1/users/transactions/trade',
    run: (x) => x.fills({}),
    check: (result) => {
      const fills = value(result) as Awaited<ReturnType<BtcturkExchange['fills']>>;
      assert.deepEqual(
        fills.map((f) => [f.tradeId, f.exchangeOrderId, f.side, text(f.quantity), text(f.fee), text(f.tax)]),
        [
          ['5758565', '22632304', 'sell', '0.0004', '0.19098258', '0.03437687'],
          ['5758564', '22632299', 'buy', '0.00024971', '0.15226792', '0.02740823'],
          ['5754843', '21075506', 'buy', '0.00023229', '0.15226792', '0.02740823'],
        ],
      );
      assert.ok(
        fills.every((f) => f.symbol === 'BTCTRY' && f.feeAsset === 'TRY' && f.clientOrderId === null),
      );
    },
  },
  'rest-balance-row-2025': {
    method: 'GET',
    path: '/api/v1/users/balances',
    // The entry is one row of data[]: served inside the envelope, the row's bytes untouched.
    body: (row) => `{"data":[${row}],"success":true,"message":null,"code":0}`,
    run: (x) => x.balances(),
    check: (result) => {
      const balances = value(result) as Awaited<ReturnType<BtcturkExchange['balances']>>;
      assert.deepEqual(
        balances.map((b) => [b.asset, text(b.total), text(b.free), text(b.locked)]),
        [['MEME', '5273', '5273', '0']],
      );
    },
  },
  'rest-ticker-btcusdt-ccxt': {
    method: 'GET',
    path: '/api/v2/ticker',
    run: (x) => x.tickers('BTCUSDT'),
    check: (result) => {
      const tickers = value(result) as Awaited<ReturnType<BtcturkExchange['tickers']>>;
      assert.deepEqual(
        tickers.map((t) => [t.symbol, t.timestamp, text(t.last), text(t.bid), text(t.ask), text(t.volume)]),
        [['BTCUSDT', 1789410188498, '79152', '79164', '79185', '11.32065888']],
      );
    },
  },
  'rest-all-orders-docs': {
    method: 'GET',
    path: '/api/v1/allOrders',
    run: (x) => x.orderHistory({ symbol: 'BTCTRY' }),
    check: (result) => {
      const orders = value(result) as Awaited<ReturnType<BtcturkExchange['orderHistory']>>;
      assert.deepEqual(
        orders.map((o) => [
          o.exchangeOrderId,
          o.symbol,
          o.side,
          o.method,
          text(o.price),
          o.status,
          o.createdAt,
        ]),
        [
          ['9932534', 'BTCTRY', 'buy', 'limit', '20000', 'open', 1543996112263],
          ['9932533', 'BTCTRY', 'buy', 'limit', '21000', 'open', 1543994632920],
          ['9932523', 'BTCTRY', 'buy', 'limit', '2000', 'canceled', 1543500891493],
        ],
      );
    },
  },
  'rest-single-order-docs': {
    method: 'GET',
    path: '/api/v1/order/61912740',
    run: (x) => x.order('61912740'),
    check: (result) => {
      const o = value(result) as Awaited<ReturnType<BtcturkExchange['order']>>;
      assert.deepEqual(
        [
          o.exchangeOrderId,
          o.side,
          o.method,
          text(o.stopPrice),
          text(o.leftQuantity),
          o.status,
          o.clientOrderId,
        ],
        ['61912740', 'sell', 'stopmarket', '20000', '0.12345678', 'open', 'BtcTurk API'],
      );
    },
  },
  'rest-single-order-not-found-docs': {
    method: 'GET',
    path: '/api/v1/order/61912740',
    run: (x) => x.order('61912740'),
    check: (result) => {
      // The docs show no HTTP status: served as 200, success:false is a failure all the same.
      const error = failure(result, 'exchange-failure', 'order-not-found');
      assert.equal(error.code, 1152);
    },
  },
};

const REST = WIRE.filter((e) => e.kind === 'rest');

describe('the REST corpus through the real adapter', () => {
  it('has an expectation for every rest entry, and none for an entry that is gone', () => {
    assert.ok(REST.length >= 20, `only ${REST.length} rest entries`);
    assert.deepEqual(
      REST.map((e) => e.id).filter((id) => !(id in CASES)),
      [],
      'rest entries without an expectation',
    );
    assert.deepEqual(
      Object.keys(CASES).filter((id) => !REST.some((e) => e.id === id)),
      [],
      'expectations without an entry',
    );
  });

  for (const entry of REST) {
    const c = CASES[entry.id];
    if (!c) continue;
    it(`${entry.id}: ${entry.status ?? 200} ${c.method} ${c.path}`, async () => {
      const served: Answer = { status: entry.status ?? 200, body: c.body ? c.body(entry.text) : entry.text };
      const answer = (r: SeenRequest): Answer =>
        r.method === c.method && r.path === c.path
          ? served
          : { status: 404, body: '{"success":false,"message":"Not Found","code":404}' };
      const v =
        c.path === '/api/v2/server/time'
          ? await fakeVenue(answer).then((fv) => (venues.push(fv), fv))
          : await venue(answer);
      const x = exchange(v);
      c.check(await outcome(c.run(x)), v);
      assert.ok(calls(v, c.method, c.path).length >= 1, `${c.method} ${c.path} was never asked`);
    });
  }
});

// ---------------------------------------------------------------- hostile replies over HTTP

const PASCAL_NONCE = '{"Success":false,"Message":"Unauthorized - Invalid Nonce","Code":1037}';
const NO_DATA = '{"success":true,"code":0}';

function lookupContext(x: BtcturkExchange): OmsContext {
  return {
    exchange: x,
    timings: DEFAULT_TIMINGS,
    log: pino({ enabled: false }),
  } as unknown as OmsContext;
}

const UNKNOWN_ORDER = {
  id: 'local-1',
  clientOrderId: 'bb-unknown-1',
  exchangeOrderId: null,
  symbol: 'BTCTRY',
  createdAt: Date.now(),
} as unknown as StoredOrder;

describe('hostile REST replies', () => {
  for (const [name, body, status, kind] of [
    ['PascalCase Invalid Nonce at 200', PASCAL_NONCE, 200, 'auth'],
    ['PascalCase Invalid Nonce at 401', PASCAL_NONCE, 401, 'auth'],
    ['success without data', NO_DATA, 200, 'parse'],
    ['data: null', '{"success":true,"code":0,"data":null}', 200, 'parse'],
    ['an empty object', '{}', 200, 'parse'],
    ['a bare empty list', '[]', 200, 'parse'],
    ['only one side', '{"success":true,"code":0,"data":{"bids":[]}}', 200, 'parse'],
  ] as const) {
    it(`openOrders answered with ${name} is a typed ${kind} error, and the UNKNOWN lookup does not take it as "not found"`, async () => {
      const v = await venue(() => ({ status, body }));
      const x = exchange(v);
      failure(await outcome(x.openOrders('BTCTRY')), kind);
      const found = await outcome(findOnExchange(lookupContext(x), UNKNOWN_ORDER, true));
      assert.ok(!found.ok, `the lookup concluded ${JSON.stringify(found)}`);
      assert.ok(isExchangeError(found.error, kind), String(found.error));
    });
  }

  it('an empty list is data: openOrders with empty sides, allOrders, fills and balances with []', async () => {
    const v = await venue((r) =>
      r.path === '/api/v1/openOrders'
        ? { status: 200, body: '{"success":true,"message":null,"code":0,"data":{"asks":[],"bids":[]}}' }
        : { status: 200, body: '{"success":true,"message":"SUCCESS","code":0,"data":[]}' },
    );
    const x = exchange(v);
    assert.deepEqual(await x.openOrders('BTCTRY'), []);
    assert.deepEqual(await x.orderHistory({ symbol: 'BTCTRY' }), []);
    assert.deepEqual(await x.fills({ symbol: 'BTCTRY' }), []);
    assert.deepEqual(await x.balances(), []);
    // …and the lookup, seeing nothing anywhere, may say so.
    assert.equal(await findOnExchange(lookupContext(x), UNKNOWN_ORDER, true), null);
  });

  for (const [name, body] of [
    ['success without data', NO_DATA],
    ['an empty object', '{}'],
    ['PascalCase keys', '{"Success":true,"Code":0,"Data":[]}'],
  ] as const) {
    it(`allOrders, fills and balances answered with ${name} are parse errors, not empty lists`, async () => {
      const v = await venue(() => ({ status: 200, body }));
      const x = exchange(v);
      failure(await outcome(x.orderHistory({ symbol: 'BTCTRY' })), 'parse');
      failure(await outcome(x.fills({ symbol: 'BTCTRY' })), 'parse');
      failure(await outcome(x.balances()), 'parse');
    });
  }

  it('GET /order/{id} "Order not found" is "not found" to the lookup at 400 and at 200; an auth failure is not', async () => {
    const notFound = wireText('rest-single-order-not-found-docs');
    for (const status of [400, 200]) {
      const v = await venue(() => ({ status, body: notFound }));
      assert.equal(await fetchOrderReport(lookupContext(exchange(v)), '61912740'), null);
    }
    const v = await venue(() => ({ status: 200, body: PASCAL_NONCE }));
    const result = await outcome(fetchOrderReport(lookupContext(exchange(v)), '61912740'));
    assert.ok(!result.ok && isExchangeError(result.error, 'auth'), JSON.stringify(result));
  });

  for (const [name, status, body] of [
    [
      'success:false with data.id',
      200,
      '{"httpStatusCode":200,"data":{"id":21469236290},"success":false,"message":"FAILED_LIMIT_ORDER","code":1120}',
    ],
    [
      'success:true, code 1, data.id',
      200,
      '{"success":true,"message":"SUCCESS","code":1,"data":{"id":21469236290}}',
    ],
    ['PascalCase failure with Data.Id', 200, '{"Success":false,"Code":1120,"Data":{"Id":21469236290}}'],
    [
      'HTTP 400 naming an order id',
      400,
      '{"success":false,"message":"FAILED_LIMIT_ORDER","code":1120,"data":{"id":7}}',
    ],
    [
      'negative quantity and price in the ack',
      200,
      '{"success":true,"message":"SUCCESS","code":0,"data":{"id":21469236290,"type":"buy","method":"limit","price":"-3440000","quantity":"-0.0015","pairSymbol":"BTCTRY"}}',
    ],
    ['success without data', 200, NO_DATA],
    [
      'a Cloudflare 504 page',
      504,
      '<!DOCTYPE html><html><head><title>api.btcturk.com | 504: Gateway time-out</title></head><body><h1>Gateway time-out</h1><p>Cloudflare Ray ID: 8f1e2d3c4b5a6978</p></body></html>',
    ],
  ] as const) {
    it(`POST /order answered with ${name} is ambiguous (the order may exist), sent once`, async () => {
      const v = await venue((r) =>
        r.method === 'POST'
          ? { status, body, headers: { 'content-type': 'text/html' } }
          : { status: 404, body: '' },
      );
      const error = failure(await outcome(exchange(v).submitOrder(LIMIT_BUY)), 'ambiguous');
      assert.equal(error.unprocessed, false);
      assert.match(error.message, /do not send it again blindly/);
      assert.equal(calls(v, 'POST', '/api/v1/order').length, 1);
    });
  }

  it('a failing POST /order without an order id stays "not placed"', async () => {
    const v = await venue(() => ({
      status: 200,
      body: '{"httpStatusCode":200,"data":null,"success":false,"message":"FAILED_LIMIT_ORDER","code":1120}',
    }));
    const error = failure(await outcome(exchange(v).submitOrder(LIMIT_BUY)), 'exchange-failure');
    assert.equal(error.unprocessed, true);
  });

  it('asks the REST book for at most 100 levels, and takes fewer', async () => {
    const v = await venue(() => ({
      status: 200,
      body: '{"success":true,"message":null,"code":0,"data":{"timestamp":1790133600027,"bids":[["2900","0.5"]],"asks":[["2901","0.0092056"]]}}',
    }));
    const x = exchange(v);
    const book = await x.orderBook('BTCUSDT', 500);
    assert.equal(calls(v, 'GET', '/api/v2/orderbook').at(-1)?.query.get('limit'), '100');
    assert.deepEqual(
      [book.bids.map((l) => [decText(l.price), decText(l.quantity)]), book.asks.length],
      [[['2900', '0.5']], 1],
    );
    await x.orderBook('BTCUSDT', 20);
    assert.equal(calls(v, 'GET', '/api/v2/orderbook').at(-1)?.query.get('limit'), '20');
  });

  it('refuses a REST book with a zero price or a negative size, naming field and value', async () => {
    for (const [row, field, shown] of [
      ['["0","1"]', 'bids.0.0', '0'],
      ['["2900","-0.5"]', 'bids.0.1', '-0.5'],
    ] as const) {
      const v = await venue(() => ({
        status: 200,
        body: `{"success":true,"code":0,"data":{"timestamp":1,"bids":[${row}],"asks":[]}}`,
      }));
      const error = failure(await outcome(exchange(v).orderBook('BTCUSDT')), 'parse');
      assert.ok(error.message.includes(`${field}: must be positive, got ${shown}`), error.message);
    }
  });
});
