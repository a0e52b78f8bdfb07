import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import {
  ConfigError,
  ExchangeError,
  isExchangeError,
  type ExchangeErrorKind,
} from '../../src/domain/errors.ts';
import { classifyReply, type CallContext } from '../../src/btcturk/common/errors.ts';
import { btcturkRateLimiter } from '../../src/btcturk/exchange.ts';
import type { RefusalReason } from '../../src/domain/errors.ts';
import { wireText } from '../wire/corpus.ts';
import {
  LIMIT_BUY,
  TEST_KEY,
  TEST_SECRET,
  UNAUTHORIZED,
  authProblem,
  exchangeFor,
  fakeVenue,
  ok,
  privateRequests,
  raw,
  withServerTime,
  type Answer,
  type FakeVenue,
  type SeenRequest,
} from './helpers.ts';

const venues: FakeVenue[] = [];
after(async () => {
  await Promise.all(venues.map((v) => v.close()));
});

async function venue(answer: (r: SeenRequest) => Answer): Promise<FakeVenue> {
  const v = await fakeVenue(withServerTime(() => Date.now(), answer));
  venues.push(v);
  return v;
}

function expectKind(kind: ExchangeErrorKind, check: (error: ExchangeError) => void = () => undefined) {
  return (error: unknown) => {
    assert.ok(isExchangeError(error), `expected an ExchangeError, got ${String(error)}`);
    assert.equal(error.kind, kind, error.message);
    check(error);
    return true;
  };
}

const posts = (v: FakeVenue) => v.seen.filter((r) => r.method === 'POST');

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  return address.port;
}

describe('error taxonomy', () => {
  it('not-sent: connection refused; a provably unsent write is retried until the deadline', async () => {
    const port = await closedPort();
    const exchange = exchangeFor(`http://127.0.0.1:${port}`, { deadlineMs: 300 });
    await assert.rejects(
      exchange.orderBook('BTCTRY'),
      expectKind('not-sent', (e) => {
        assert.match(e.message, /ECONNREFUSED/);
      }),
    );
    await exchange.close();
  });

  it('not-sent: a backoff that overruns the deadline ends with the failure it was waiting out', async () => {
    const port = await closedPort();
    // A busy machine: every sleep lasts far longer than asked, so the retry wakes past the deadline.
    const overslept = {
      now: () => Date.now(),
      monotonic: () => performance.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms + 400)),
    };
    const exchange = exchangeFor(`http://127.0.0.1:${port}`, { deadlineMs: 300, clock: overslept });
    await assert.rejects(
      exchange.orderBook('BTCTRY'),
      expectKind('not-sent', (e) => {
        assert.match(e.message, /ECONNREFUSED/, 'the cause, not a bare "deadline passed"');
      }),
    );
    await exchange.close();
  });

  it('not-sent: a retry held by the rate limiter past the deadline ends with the failure it was waiting out', async () => {
    const port = await closedPort();
    // A shared, prioritised limiter can hold a retry longer than the deadline had left for it.
    const limiter = btcturkRateLimiter({});
    let acquired = 0;
    const slowRetries = Object.assign(Object.create(limiter) as typeof limiter, {
      acquire: async (group: string, request: { deadlineAt: number; operation: string }) => {
        acquired += 1;
        if (acquired > 1) await new Promise((resolve) => setTimeout(resolve, 400));
        await limiter.acquire(group, request);
      },
    });
    const exchange = exchangeFor(`http://127.0.0.1:${port}`, { deadlineMs: 300, limiter: slowRetries });
    await assert.rejects(
      exchange.orderBook('BTCTRY'),
      expectKind('not-sent', (e) => {
        assert.match(e.message, /ECONNREFUSED/, 'the cause, not a bare "deadline passed"');
      }),
    );
    assert.ok(acquired >= 2, 'the request was retried');
    await exchange.close();
  });

  it('not-sent: a TLS handshake that fails before the request is written', async () => {
    const v = await venue(() => ok(null));
    const exchange = exchangeFor(v.url.replace('http:', 'https:'), {
      deadlineMs: 300,
      clockSyncIntervalMs: 1e9,
    });
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('not-sent', (e) => {
        assert.equal(e.unprocessed, true);
      }),
    );
    assert.equal(v.seen.length, 0, 'no HTTP request may have reached the server');
    await exchange.close();
  });

  it('ambiguous: a POST /order that times out is never sent again', async () => {
    const v = await venue((r) => (r.method === 'POST' ? 'hang' : ok(null)));
    const exchange = exchangeFor(v.url, { requestTimeoutMs: 200, deadlineMs: 5_000 });
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('ambiguous', (e) => {
        assert.match(e.message, /no complete reply within 200 ms/);
      }),
    );
    assert.equal(posts(v).length, 1);
    await exchange.close();
  });

  it('ambiguous: a 5xx on POST /order is never sent again', async () => {
    const v = await venue((r) =>
      r.method === 'POST'
        ? { status: 500, body: '{"success":false,"message":"Internal error","code":500}' }
        : ok(null),
    );
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('ambiguous', (e) => {
        assert.equal(e.httpStatus, 500);
      }),
    );
    assert.equal(posts(v).length, 1);
    await exchange.close();
  });

  it('ambiguous: an unreadable 200 reply to POST /order', async () => {
    const v = await venue((r) =>
      r.method === 'POST' ? { status: 200, body: '<html>gateway</html>' } : ok(null),
    );
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('ambiguous', (e) => {
        assert.match(e.message, /unreadable/);
      }),
    );
    assert.equal(posts(v).length, 1);
    await exchange.close();
  });

  it('ambiguous: a DELETE /order whose reply is lost is not repeated', async () => {
    const v = await venue((r) => (r.method === 'DELETE' ? 'drop' : ok(null)));
    const exchange = exchangeFor(v.url);
    await assert.rejects(exchange.cancelOrder('21469236282'), expectKind('ambiguous'));
    assert.equal(v.seen.filter((r) => r.method === 'DELETE').length, 1);
    await exchange.close();
  });

  it('server: a 503 on a read, retried until the deadline', async () => {
    const v = await venue(() => ({ status: 503, body: 'Service Unavailable' }));
    const exchange = exchangeFor(v.url, { deadlineMs: 2000, backoff: { baseMs: 50, capMs: 200 } });
    await assert.rejects(
      exchange.orderBook('BTCTRY'),
      expectKind('server', (e) => {
        assert.equal(e.httpStatus, 503);
        assert.equal(e.venueMessage, 'Service Unavailable');
      }),
    );
    assert.ok(v.seen.length > 1, 'a read is retried');
    await exchange.close();
  });

  it('server: a read retried after a 503 and cut off by its deadline ends with the 503, not "no reply"', async () => {
    // The retry goes out with little of the deadline left and gets no reply in it (a busy machine).
    let calls = 0;
    const v = await venue(() => (++calls === 1 ? { status: 503, body: 'Service Unavailable' } : 'hang'));
    const exchange = exchangeFor(v.url, { deadlineMs: 400, backoff: { baseMs: 50, capMs: 50 } });
    await assert.rejects(
      exchange.orderBook('BTCTRY'),
      expectKind('server', (e) => {
        assert.equal(e.httpStatus, 503);
      }),
    );
    assert.equal(v.seen.length, 2, 'the read was retried once');
    await exchange.close();
  });

  it('rate-limited: a 429 with the body of §7', async () => {
    const v = await venue(() => raw('error-rate-limit', 429, { 'retry-after': '60' }));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.balances(),
      expectKind('rate-limited', (e) => {
        assert.equal(e.retryAfterMs, 60_000);
        assert.equal(e.code, 429);
        assert.match(e.venueMessage ?? '', /Quota exceeded/);
      }),
    );
    assert.equal(privateRequests(v).length, 1, 'a Retry-After beyond the deadline is not waited for');
    await exchange.close();
  });

  it('auth: a 401 that persists after re-syncing the clock', async () => {
    const v = await venue((r) => (r.path.startsWith('/api/v1/') ? UNAUTHORIZED : ok(null)));
    const exchange = exchangeFor(v.url, { maxConsecutiveAuthFailures: 50 });
    await assert.rejects(
      exchange.balances(),
      expectKind('auth', (e) => {
        assert.match(e.message, /BTCTURK_API_SECRET/);
      }),
    );
    assert.equal(privateRequests(v).length, 2, 'one retry with a fresh stamp after the re-sync');
    await exchange.close();
  });

  it('rejected: HTTP 400 with code 1123 FAILED_MIN_TOTAL_AMOUNT, not retried', async () => {
    const v = await venue((r) => (r.method === 'POST' ? raw('error-min-total', 400) : ok(null)));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('rejected', (e) => {
        assert.equal(e.code, 1123);
        assert.equal(e.venueMessage, 'FAILED_MIN_TOTAL_AMOUNT');
        assert.equal(e.httpStatus, 400);
      }),
    );
    assert.equal(posts(v).length, 1);
    await exchange.close();
  });

  it('rejected: code 1152 "Order not found" on GET /order/{id}', async () => {
    const v = await venue(() => raw('error-order-not-found', 400));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.order('123'),
      expectKind('rejected', (e) => {
        assert.equal(e.code, 1152);
        assert.equal(e.venueMessage, 'Order not found');
      }),
    );
    await exchange.close();
  });

  it('exchange-failure: HTTP 200 with success:false, not retried', async () => {
    const v = await venue((r) => (r.method === 'POST' ? raw('error-limit-order-200') : ok(null)));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.submitOrder(LIMIT_BUY),
      expectKind('exchange-failure', (e) => {
        assert.equal(e.code, 1120);
        assert.equal(e.venueMessage, 'FAILED_LIMIT_ORDER');
      }),
    );
    assert.equal(posts(v).length, 1);
    await exchange.close();
  });

  it('parse: a read whose data has the wrong shape', async () => {
    const v = await venue(() => ok([{ asset: 'TRY', balance: 'lots' }]));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.balances(),
      expectKind('parse', (e) => {
        assert.match(e.message, /0\.balance/);
      }),
    );
    assert.equal(privateRequests(v).length, 1);
    await exchange.close();
  });
});

describe('secrets in errors', () => {
  it('scrubs a key and secret echoed by the server from every error field', async () => {
    const v = await venue(() => ({
      status: 400,
      body: JSON.stringify({ success: false, code: 1, message: `bad pair ${TEST_KEY}/${TEST_SECRET}` }),
    }));
    const exchange = exchangeFor(v.url);
    const error = await exchange.balances().catch((e: unknown) => e);
    assert.ok(isExchangeError(error, 'rejected'));
    const request = privateRequests(v)[0];
    const stamp = String(request?.headers['x-stamp']);
    const signature = String(request?.headers['x-signature']);
    const shown = [
      error.message,
      error.venueMessage,
      JSON.stringify(error),
      String(error.stack),
      ...Object.values(error as unknown as Record<string, unknown>),
    ]
      .map(String)
      .join('\n');
    for (const secret of [TEST_KEY, TEST_SECRET, stamp, signature]) assert.ok(!shown.includes(secret), shown);
    assert.match(error.venueMessage ?? '', /bad pair \[redacted\]\/\[redacted\]/);
    await exchange.close();
  });

  it('scrubs a stamp and signature echoed in a 200 reply that fails to parse', async () => {
    const v = await venue((r) =>
      r.path.startsWith('/api/v1/')
        ? ok([{ asset: String(r.headers['x-signature']), balance: {} }])
        : ok(null),
    );
    const exchange = exchangeFor(v.url);
    const error = await exchange.balances().catch((e: unknown) => e);
    assert.ok(isExchangeError(error, 'parse'));
    const signature = String(privateRequests(v)[0]?.headers['x-signature']);
    assert.ok(!error.message.includes(signature));
    await exchange.close();
  });
});

describe('attempts', () => {
  it('signs every attempt afresh: new stamp, new signature', async () => {
    let calls = 0;
    const v = await venue((r) => {
      if (!r.path.startsWith('/api/v1/')) return ok(null);
      calls += 1;
      return calls <= 2 ? { status: 503, body: 'busy' } : raw('balances');
    });
    const exchange = exchangeFor(v.url);
    const balances = await exchange.balances();
    assert.equal(balances.length, 3);
    const attempts = privateRequests(v);
    assert.equal(attempts.length, 3);
    const stamps = attempts.map((r) => Number(r.headers['x-stamp']));
    const signatures = new Set(attempts.map((r) => r.headers['x-signature']));
    assert.ok(
      stamps.every((s, i) => i === 0 || s > (stamps[i - 1] ?? 0)),
      `stamps ${stamps.join(',')}`,
    );
    assert.equal(signatures.size, 3);
    await exchange.close();
  });

  it('401s of requests signed before one re-sync count once: a burst in flight does not stop private calls', async () => {
    // The server's clock jumps a minute after the first sync: five readers are in flight on the old
    // offset, and the venue holds their refusals until all five have arrived.
    let skew = 0;
    const stale: (() => void)[] = [];
    const v = await fakeVenue(
      withServerTime(
        () => Date.now() + skew,
        (r) => {
          if (!r.path.startsWith('/api/v1/')) return ok(null);
          if (authProblem(r, Date.now() + skew) === null) return raw('balances');
          return new Promise<Answer>((resolve) => {
            stale.push(() => {
              resolve(UNAUTHORIZED);
            });
            if (stale.length === 5) for (const answer of stale) answer();
          });
        },
      ),
    );
    venues.push(v);
    const exchange = exchangeFor(v.url);
    await exchange.syncClock();
    skew = 60_000;
    const results = await Promise.all(Array.from({ length: 5 }, () => exchange.balances()));
    assert.ok(
      results.every((balances) => balances.length === 3),
      'every reader retried and succeeded',
    );
    assert.equal(privateRequests(v).length, 10, 'each refused once, each retried once');
    assert.equal((await exchange.balances()).length, 3, 'private calls still go');
    await exchange.close();
  });

  it('refuses private calls without credentials, naming the setting', async () => {
    const v = await venue(() => raw('balances'));
    const exchange = exchangeFor(v.url, { credentials: undefined });
    await assert.rejects(exchange.balances(), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.setting, 'BTCTURK_API_KEY');
      assert.equal(error.message, 'BTCTURK_API_KEY: required for GET /api/v1/users/balances');
      return true;
    });
    assert.equal(v.seen.length, 0);
    await exchange.close();
  });

  it('refuses a malformed secret when the exchange is built', () => {
    assert.throws(
      () => exchangeFor('http://127.0.0.1:1', { credentials: { apiKey: TEST_KEY, apiSecret: 'x' } }),
      {
        name: 'ConfigError',
        setting: 'BTCTURK_API_SECRET',
      },
    );
  });
});

describe('refusal reasons (venue-neutral)', () => {
  const WRITE: CallContext = { operation: 'POST /api/v1/order', effect: 'write', secrets: [] };
  const CANCEL: CallContext = { operation: 'DELETE /api/v1/order', effect: 'write', secrets: [] };
  const READ: CallContext = { operation: 'GET /api/v1/order/{id}', effect: 'read', secrets: [] };
  const RETRY = { serverNow: 0, fallbackMs: 1_000 };

  function classified(call: CallContext, status: number, text: string): ExchangeError {
    const result = classifyReply({ status, retryAfter: undefined, text }, call, RETRY);
    assert.ok(!result.ok, `expected a failure for ${text}`);
    return result.error;
  }

  const body = (message: string | null, code: number) => JSON.stringify({ success: false, message, code });

  // [what, call, HTTP status, body, reason]: the wire's own replies first, then btcturk-api.md §6.
  const CASES: readonly (readonly [string, CallContext, number, string, RefusalReason])[] = [
    [
      'wire: GET /order of an unknown id',
      READ,
      400,
      wireText('rest-single-order-not-found-docs'),
      'order-not-found',
    ],
    [
      'wire: cancel of an unknown id',
      CANCEL,
      400,
      wireText('rest-order-delete-not-found-1052'),
      'order-not-found',
    ],
    [
      'wire: funds held by open orders (1122)',
      WRITE,
      400,
      wireText('rest-order-post-open-orders-1122'),
      'insufficient-balance',
    ],
    [
      'wire: the same with code 1123',
      WRITE,
      400,
      wireText('rest-order-post-open-orders-1123'),
      'insufficient-balance',
    ],
    ['wire: price scale', WRITE, 400, wireText('rest-order-post-price-scale-1126'), 'invalid-order'],
    ['wire: unknown pair on a read', READ, 400, wireText('rest-orderbook-unknown-pair'), 'unknown-symbol'],
    ['wire: a read missing its parameter', READ, 400, wireText('rest-orderbook-no-pair'), 'other'],
    ['Order not found in a 200 success:false', READ, 200, body('Order not found', 1152), 'order-not-found'],
    ['1152 without a message', READ, 400, body(null, 1152), 'order-not-found'],
    ['1052 without a message', CANCEL, 400, body(null, 1052), 'order-not-found'],
    ['ORDER_COULD_NOT_BE_CANCELED', CANCEL, 400, body('ORDER_COULD_NOT_BE_CANCELED', 0), 'order-closed'],
    ['ORDER_CANCEL_BLOCKED', CANCEL, 400, body('ORDER_CANCEL_BLOCKED', 0), 'cancel-blocked'],
    ['BALANCE_NOT_ENOUGH', WRITE, 400, body('BALANCE_NOT_ENOUGH', 0), 'insufficient-balance'],
    ['1122 without a message', WRITE, 400, body(null, 1122), 'insufficient-balance'],
    ['FAILED_MIN_TOTAL_AMOUNT', WRITE, 400, body('FAILED_MIN_TOTAL_AMOUNT', 1123), 'invalid-order'],
    [
      'FAILED_INVALID_QUANTITY_SCALE',
      WRITE,
      400,
      body('FAILED_INVALID_QUANTITY_SCALE', 1127),
      'invalid-order',
    ],
    [
      'FAILED_INVALID_STOP_PRICE_SCALE',
      WRITE,
      400,
      body('FAILED_INVALID_STOP_PRICE_SCALE', 1128),
      'invalid-order',
    ],
    [
      'PRICE_MUST_BE_LESS_THAN_MAXPRICE',
      WRITE,
      400,
      body('PRICE_MUST_BE_LESS_THAN_MAXPRICE', 1226),
      'invalid-order',
    ],
    ['ORDER_MIN_PRICE_EXCEEDED', WRITE, 400, body('ORDER_MIN_PRICE_EXCEEDED', 0), 'invalid-order'],
    [
      'FAILED_STOP_PRICE_GREATER_THAN_BEST_ASK',
      WRITE,
      400,
      body('FAILED_STOP_PRICE_GREATER_THAN_BEST_ASK', 1124),
      'invalid-order',
    ],
    ['FAILED_LIMIT_ORDER in a 200', WRITE, 200, body('FAILED_LIMIT_ORDER', 1120), 'invalid-order'],
    ['ORDER_METHOD_NOT_SUPPORTED', WRITE, 400, body('ORDER_METHOD_NOT_SUPPORTED', 1134), 'invalid-order'],
    ['ORDER_TYPE_NOT_SUPPORTED', WRITE, 400, body('ORDER_TYPE_NOT_SUPPORTED', 1193), 'invalid-order'],
    ['FAILED_ORDER_PARAMETER', WRITE, 400, body('FAILED_ORDER_PARAMETER', 0), 'invalid-order'],
    ['PAIR_NOT_FOUND_ERROR on an order', WRITE, 400, body('PAIR_NOT_FOUND_ERROR', 1027), 'unknown-symbol'],
    ['FAILED_MARKET_ORDER', WRITE, 400, body('FAILED_MARKET_ORDER', 1118), 'market-unavailable'],
    ['1118 without a message', WRITE, 400, body(null, 1118), 'market-unavailable'],
    ['a message nobody listed', WRITE, 400, body('SOMETHING_NEW', 4242), 'other'],
    ['1037 alone (reused for many things)', WRITE, 400, body(null, 1037), 'other'],
    ['a 4xx that is not JSON', WRITE, 404, 'Not Found', 'other'],
  ];

  for (const [what, call, status, text, reason] of CASES)
    it(`${what} → ${reason}`, () => {
      const error = classified(call, status, text);
      assert.ok(error.kind === 'rejected' || error.kind === 'exchange-failure', error.message);
      assert.equal(error.reason, reason, error.message);
      assert.equal(error.unprocessed, true);
    });

  it('only refusals carry a reason: not a 429, a 5xx, an ambiguous write, a 401', () => {
    const notRefusals: readonly (readonly [CallContext, number, string])[] = [
      [WRITE, 429, wireText('rest-429')],
      [WRITE, 500, body('Internal error', 500)],
      [READ, 503, 'Service Unavailable'],
      [WRITE, 401, body('Unauthorized - Invalid Nonce', 1037)],
      // A refusal that names an order id may have placed it: ambiguous, never "refused".
      [
        WRITE,
        400,
        JSON.stringify({ success: false, message: 'BALANCE_NOT_ENOUGH', code: 0, data: { id: 5 } }),
      ],
    ];
    for (const [call, status, text] of notRefusals) {
      const error = classified(call, status, text);
      assert.notEqual(error.kind, 'rejected', error.message);
      assert.equal(error.reason, undefined, `${error.kind}: ${error.message}`);
    }
  });

  it('a refusal over HTTP carries its reason: cancel of an unknown id', async () => {
    const notFound = { status: 400, body: wireText('rest-order-delete-not-found-1052') };
    const v = await venue((r) => (r.method === 'DELETE' ? notFound : ok(null)));
    const exchange = exchangeFor(v.url);
    await assert.rejects(
      exchange.cancelOrder('21469236282'),
      expectKind('rejected', (e) => {
        assert.equal(e.reason, 'order-not-found');
      }),
    );
    await exchange.close();
  });
});
