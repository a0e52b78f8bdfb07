import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import {
  startSigningServer,
  type Reply,
  type SeenRequest,
  type SigningServer,
} from '../helpers/signing-server.ts';

// The btcbot commands run as a user runs them (a child process, configured by environment), against
// a local server that checks every signature and stamp itself.

const API_KEY = 'cli-test-key';
const API_SECRET = Buffer.from('cli-test-secret-bytes-0123456789').toString('base64');
const fixture = (name: string): string =>
  readFileSync(new URL(`../btcturk/fixtures/${name}.json`, import.meta.url), 'utf8');
const raw = (name: string): Reply => ({ status: 200, body: fixture(name) });

function env(server: SigningServer, extra: Record<string, string> = {}): Record<string, string> {
  return { BTCTURK_BASE_URL: server.url, BTCTURK_API_KEY: API_KEY, BTCTURK_API_SECRET: API_SECRET, ...extra };
}

function routes(req: SeenRequest): Reply {
  switch (`${req.method} ${req.path}`) {
    case 'GET /api/v2/server/exchangeinfo':
      return raw('exchangeinfo');
    case 'GET /api/v2/orderbook':
      return raw('orderbook');
    case 'GET /api/v1/users/balances':
      return raw('balances');
    case 'GET /api/v1/openOrders':
      return raw('open-orders');
    case 'GET /api/v1/allOrders':
      return raw('all-orders');
    case 'GET /api/v1/users/transactions/trade':
      return raw('fills');
    default:
      return { status: 404, body: { success: false, message: 'NOT_FOUND', code: 404 } };
  }
}

describe('btcbot exchange commands over HTTP', () => {
  let server: SigningServer;
  before(async () => {
    server = await startSigningServer({ apiKey: API_KEY, apiSecret: API_SECRET, handle: routes });
  });
  after(() => server.close());

  it('balances --json prints exact decimals from a signed request', async () => {
    const res = await runCli(['balances', '--json'], env(server));
    assert.equal(res.code, 0, res.stderr);
    const rows = (
      JSON.parse(res.stdout) as { balances: { asset: string; total: string; free: string; locked: string }[] }
    ).balances;
    const tl = rows.find((r) => r.asset === 'TRY');
    assert.deepEqual(tl, { asset: 'TRY', total: '1000000.5', free: '994825.5', locked: '5175' });
    const priv = server.requests.filter((r) => r.path === '/api/v1/users/balances');
    assert.ok(priv.length > 0 && priv.every((r) => r.authenticated === true));
  });

  it('fills keeps trade ids above 2^53 exact and reports sells with positive amounts', async () => {
    const res = await runCli(['fills', '--exchange', '--json', '--symbol', 'btc_try'], env(server));
    assert.equal(res.code, 0, res.stderr);
    const { fills } = JSON.parse(res.stdout) as {
      fills: { tradeId: string; side: string; quantity: string; fee: string }[];
    };
    const sell = fills.find((f) => f.tradeId === '1181163798924649598');
    assert.ok(sell, `trade id lost precision: ${res.stdout}`);
    assert.equal(sell.side, 'sell');
    assert.equal(sell.quantity, '0.0005');
    assert.equal(sell.fee, '2.595');
    assert.ok(fills.some((f) => f.tradeId === '9007199254740993'));
  });

  it('exchange-info prints a table where the null minAmount did not erase the minimum order value', async () => {
    const res = await runCli(['exchange-info'], env(server));
    assert.equal(res.code, 0, res.stderr);
    const btc = res.stdout.split('\n').find((l) => l.startsWith('BTCTRY'));
    assert.ok(btc, res.stdout);
    assert.doesNotMatch(btc, /\s-\s+\S+$/); // the minimum-value column is filled in
    const json = await runCli(['exchange-info', '--json'], env(server));
    const info = JSON.parse(json.stdout) as {
      pairs: { symbol: string; minExchangeValue: string | null }[];
    };
    assert.ok(info.pairs.find((s) => s.symbol === 'BTCTRY')?.minExchangeValue);
  });

  it('order-history passes its filters on the wire', async () => {
    const res = await runCli(
      [
        'order-history',
        '--symbol',
        'BTCTRY',
        '--start',
        '1700000000000',
        '--end',
        '1700000500000',
        '--limit',
        '50',
        '--json',
      ],
      env(server),
    );
    assert.equal(res.code, 0, res.stderr);
    const req = server.requests.findLast((r) => r.path === '/api/v1/allOrders');
    assert.ok(req);
    assert.equal(req.query.get('pairSymbol'), 'BTCTRY');
    assert.equal(req.query.get('startTime'), '1700000000000');
    assert.equal(req.query.get('endTime'), '1700000500000');
    assert.equal(req.query.get('limit'), '50');
    assert.ok(Array.isArray((JSON.parse(res.stdout) as { orders: unknown }).orders));
  });

  it('orderbook and open-orders print tables', async () => {
    const book = await runCli(['orderbook', 'BTCTRY', '--limit', '5'], env(server));
    assert.equal(book.code, 0, book.stderr);
    assert.match(book.stdout, /bidQty\s+bid\s+ask\s+askQty/);
    const open = await runCli(['open-orders', '--symbol', 'BTCTRY'], env(server));
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stdout, /exchangeOrderId/);
  });
});

describe('btcbot against a hostile or misbehaving exchange', () => {
  it('waits the full Retry-After of a 429 before the next attempt', async () => {
    let hits = 0;
    const server = await startSigningServer({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      handle: (req) => {
        if (req.path !== '/api/v1/users/balances') return routes(req);
        hits += 1;
        return hits === 1
          ? {
              status: 429,
              headers: { 'retry-after': '2' },
              body: {
                success: false,
                message: 'TOO_MANY_REQUESTS',
                code: 429,
                details: 'Quota exceeded. Maximum allowed: 120 per 1m.',
                limit: '120',
                period: '1m',
                policy: 'ip',
              },
            }
          : routes(req);
      },
    });
    try {
      const res = await runCli(['balances', '--json'], env(server));
      assert.equal(res.code, 0, res.stderr);
      const calls = server.requests.filter((r) => r.path === '/api/v1/users/balances');
      assert.equal(calls.length, 2);
      const [first, second] = calls as [SeenRequest, SeenRequest];
      assert.ok(
        second.at - first.at >= 2000,
        `retried after ${second.at - first.at} ms, Retry-After was 2 s`,
      );
    } finally {
      await server.close();
    }
  });

  it('keeps stamps inside the window when the server clock is 8 s ahead', async () => {
    const server = await startSigningServer({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      clockOffsetMs: 8000,
      handle: routes,
    });
    try {
      const res = await runCli(['balances', '--json'], env(server));
      assert.equal(res.code, 0, res.stderr);
      const last = server.requests.findLast((r) => r.path === '/api/v1/users/balances');
      assert.equal(last?.authenticated, true);
      // the stamp follows the server's clock, not the local one
      assert.ok(
        Math.abs(Number(last.stamp) - (last.at + 8000)) < 2000,
        `stamp ${last.stamp} vs local ${last.at}`,
      );
    } finally {
      await server.close();
    }
  });

  it('never lets the secret, key or signature echoed in an error body reach the output', async () => {
    const server = await startSigningServer({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      handle: (req) =>
        req.path === '/api/v1/users/balances'
          ? {
              status: 400,
              body: {
                success: false,
                code: 1120,
                message: `FAILED_LIMIT_ORDER secret=${API_SECRET} key=${API_KEY} stamp=${req.stamp ?? ''}`,
              },
            }
          : routes(req),
    });
    try {
      const res = await runCli(['balances'], env(server, { BTCBOT_LOG_LEVEL: 'debug' }));
      assert.equal(res.code, 1);
      const out = res.stdout + res.stderr;
      assert.match(out, /FAILED_LIMIT_ORDER/);
      assert.ok(!out.includes(API_SECRET), 'secret leaked');
      assert.ok(!out.includes(API_KEY), 'key leaked');
      const stamp = server.requests.findLast((r) => r.path === '/api/v1/users/balances')?.stamp;
      assert.ok(stamp, 'the request was stamped');
      assert.match(out, /stamp=\[redacted\]/, 'the echoed stamp is redacted');
      // A debug log line's own `"time"` is a millisecond count too and can equal the stamp by
      // coincidence: that is the log's clock, not the echoed stamp, so it is left out of the search.
      assert.ok(!out.replace(/"time":\d+/g, '"time":…').includes(stamp), 'stamp leaked');
    } finally {
      await server.close();
    }
  });
});

describe('btcbot configuration and usage errors (exit code 2, the setting named)', () => {
  const base = { BTCTURK_BASE_URL: 'http://127.0.0.1:9' };
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      'secret not base64',
      ['balances'],
      { ...base, BTCTURK_API_KEY: 'k', BTCTURK_API_SECRET: 'not*base64!' },
      /BTCTURK_API_SECRET/,
    ],
    ['key without secret', ['balances'], { ...base, BTCTURK_API_KEY: 'k' }, /BTCTURK_API_SECRET.*together/],
    ['no credentials for a private call', ['balances'], base, /BTCTURK_API_KEY/],
    [
      'base URL not a URL',
      ['exchange-info'],
      { BTCTURK_BASE_URL: 'api.btcturk' },
      /BTCTURK_BASE_URL: "api.btcturk" is not a URL/,
    ],
    [
      'timeout out of range',
      ['exchange-info', '--request-timeout-ms', '5'],
      base,
      /--request-timeout-ms: must be a whole number/,
    ],
    ['missing symbol argument', ['orderbook'], base, /missing required argument 'symbol'/],
    [
      'bad limit',
      ['orderbook', 'BTCTRY', '--limit', '0'],
      base,
      /--limit must be a whole number from 1 to 100\b/,
    ],
    ['unknown command', ['balancez'], base, /unknown command 'balancez'/],
  ];
  for (const [name, args, environment, message] of cases) {
    it(name, async () => {
      const res = await runCli(args, environment);
      assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stderr, message);
      assert.ok(!res.stderr.includes('not*base64!'), 'the secret value was printed');
    });
  }

  it('reads settings from a config file, environment winning over it', async () => {
    const server = await startSigningServer({ apiKey: API_KEY, apiSecret: API_SECRET, handle: routes });
    const dir = mkdtempSync(join(tmpdir(), 'btcbot-'));
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({ baseUrl: 'http://127.0.0.1:9', apiKey: API_KEY, apiSecret: API_SECRET }),
    );
    try {
      const res = await runCli(['balances', '--json', '--config', path], { BTCTURK_BASE_URL: server.url });
      assert.equal(res.code, 0, res.stderr);
      const bad = await runCli(['balances', '--config', `${path}.missing`], {});
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--config: cannot read/);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
