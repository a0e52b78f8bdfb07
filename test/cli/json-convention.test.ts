import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { runCli } from '../helpers/cli.ts';
import { startSimProcess, tempDir, type SimProcess } from '../run/helpers.ts';

// Issue 11, item 8: one `--json` convention for every command (README, "JSON output";
// src/cli/output.ts): one object, never a bare array; times as ISO-8601 strings in fields named
// `at` or ending in `At`, never epoch milliseconds; decimals as exact plain strings; an order's
// lifecycle is `state` in upper case, whether the store or the exchange reports it. Every command
// with --json runs here as the real binary against `btcbot sim`, on a store with an order and fills.

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Every way `value` breaks the convention, as "path: problem" lines. */
function breaches(value: unknown, path = '$'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => breaches(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && Math.abs(value) >= 1e11)
      return [`${path}: ${value} looks like epoch milliseconds`];
    if (typeof value === 'string' && /^-?\d+(\.\d+)?e[-+]?\d+$/i.test(value))
      return [`${path}: decimal in exponent notation ${value}`];
    return [];
  }
  const out: string[] = [];
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [key, v] of entries) {
    const at = `${path}.${key}`;
    if (['timestamp', 'time', 'serverTime', 'date'].includes(key)) out.push(`${at}: a time not named at/…At`);
    if ((key === 'at' || /[a-z]At$/.test(key)) && v !== null && !(typeof v === 'string' && ISO.test(v)))
      out.push(`${at}: ${JSON.stringify(v)} is not an ISO-8601 time`);
    out.push(...breaches(v, at));
  }
  const keys = entries.map(([k]) => k);
  if (keys.includes('exchangeOrderId') && keys.includes('side') && !keys.includes('tradeId')) {
    if (keys.includes('status')) out.push(`${path}: an order's lifecycle is "state", not "status"`);
    const state = (value as { state?: unknown }).state;
    if (typeof state === 'string' && state !== state.toUpperCase())
      out.push(`${path}.state: ${state} is not upper case`);
  }
  return out;
}

function expectConvention(name: string, stdout: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    assert.fail(`${name}: stdout is not one JSON document:\n${stdout.slice(0, 2000)}`);
  }
  assert.ok(
    parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed),
    `${name}: not an object`,
  );
  assert.deepEqual(breaches(parsed), [], `${name} breaks the --json convention`);
  return parsed as Record<string, unknown>;
}

describe('one --json convention for every command', () => {
  let sim: SimProcess;
  let env: Record<string, string>;
  let db: string;
  const json = async (args: readonly string[], codes: readonly number[] = [0]) => {
    const res = await runCli([...args, '--json'], env, 120_000);
    assert.ok(codes.includes(res.code ?? -1), `btcbot ${args.join(' ')}: exit ${res.code}\n${res.stderr}`);
    return expectConvention(`btcbot ${args.join(' ')} --json`, res.stdout);
  };

  before(async () => {
    sim = await startSimProcess(['--seed', '17', '--symbols', 'BTCTRY', '--balances', 'TRY=10000000,BTC=5']);
    env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_WS_URL: sim.ws,
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
      BTCBOT_CLIENT_ID_PREFIX: 'jc',
    };
  });
  after(async () => {
    await sim.stop();
  });

  it('store, exchange and operator commands all print one object in the convention', async (t) => {
    db = join(tempDir(t), 'bot.db');
    // A market buy brings fills; a limit buy far below the market rests.
    const market = await json(['order', 'buy', 'BTCTRY', '--market', '--quote-amount', '1500', '--db', db]);
    assert.equal(typeof market.createdAt, 'string');
    const book = await json(['orderbook', 'BTCTRY', '--limit', '5']);
    const bid = Number((book.bids as { price: string }[])[0]?.price);
    const resting = await json([
      'order',
      'buy',
      'BTCTRY',
      '0.001',
      '--price',
      String(Math.floor(bid * 0.9)),
      '--db',
      db,
    ]);
    assert.equal(resting.state, 'OPEN');

    const status = await json(['status', '--db', db]);
    assert.ok(status.fills !== 0);
    const orders = await json(['orders', '--db', db]);
    assert.ok(Array.isArray(orders.orders) && orders.orders.length === 2);
    const fills = await json(['fills', '--db', db]);
    assert.ok(Array.isArray(fills.fills) && fills.fills.length > 0);
    const exchangeFills = await json(['fills', '--exchange', '--symbol', 'BTCTRY']);
    assert.ok(Array.isArray(exchangeFills.fills) && exchangeFills.fills.length > 0);
    const open = await json(['open-orders', '--symbol', 'BTCTRY']);
    assert.deepEqual(
      (open.orders as { state: string }[]).map((o) => o.state),
      ['OPEN'],
    );
    const history = await json(['order-history', '--symbol', 'BTCTRY']);
    assert.ok(Array.isArray(history.orders));
    const balances = await json(['balances']);
    assert.ok(Array.isArray(balances.balances));
    const info = await json(['exchange-info']);
    assert.ok(Array.isArray(info.pairs));
    const reconcile = await json(['reconcile', '--db', db]);
    assert.equal(reconcile.clean, true);
    const kill = await json(['kill-switch', 'status', '--db', db]);
    assert.equal(typeof kill.killSwitch, 'object');
    const cancel = await json(['cancel', String(resting.exchangeOrderId), '--db', db]);
    assert.ok(Array.isArray(cancel.cancels) && cancel.cancels.length === 1);
    const cancelAll = await json(['cancel-all', '--db', db]);
    assert.deepEqual(cancelAll.cancels, []);
    const doctor = await json(['doctor', '--db', db, '--symbol', 'BTCTRY'], [0, 1]);
    assert.ok(Array.isArray(doctor.checks));
  });

  it("an unknown pair is named as --symbol (exit 2), not as the exchange's FAILED_ORDER_PARAMETER", async () => {
    for (const args of [
      ['open-orders', '--symbol', 'NOPETRY'],
      ['order-history', '--symbol', 'NOPETRY'],
      ['fills', '--exchange', '--symbol', 'NOPETRY'],
    ]) {
      const res = await runCli(args, env);
      assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, /--symbol: NOPETRY is not a pair the exchange lists/);
      assert.doesNotMatch(res.stderr, /FAILED_ORDER_PARAMETER/);
    }
  });

  it('cancel-all finds our orders on the exchange by prefix: with a store that never held them, and with no store', async (t) => {
    const dir = tempDir(t);
    const elsewhere = join(dir, 'placed-by-another-store.db');
    const place = async () => {
      const book = await json(['orderbook', 'BTCTRY', '--limit', '1']);
      const bid = Number((book.bids as { price: string }[])[0]?.price);
      const placed = await json([
        'order',
        'buy',
        'BTCTRY',
        '0.001',
        '--price',
        String(Math.floor(bid * 0.8)),
        '--db',
        elsewhere,
      ]);
      assert.equal(placed.state, 'OPEN');
      return String(placed.exchangeOrderId);
    };
    const openIds = async () =>
      ((await json(['open-orders'])).orders as { exchangeOrderId: string; clientOrderId: string | null }[])
        .filter((o) => o.clientOrderId?.startsWith('jc-'))
        .map((o) => o.exchangeOrderId);

    // A store of this bot that never held the order (a restore, a second machine): adopted and canceled.
    const first = await place();
    const empty = join(dir, 'empty.db');
    await (await openSqliteStore({ path: empty })).close();
    const all = await json(['cancel-all', '--db', empty]);
    assert.deepEqual(
      (all.cancels as { order: { exchangeOrderId: string }; outcome: string }[]).map((c) => [
        c.order.exchangeOrderId,
        c.outcome,
      ]),
      [[first, 'canceled']],
    );
    assert.deepEqual(await openIds(), []);

    // No store at all: the exchange is still asked, our order canceled, and --db named (exit 2).
    const second = await place();
    const missing = join(dir, 'typo', 'bot.db');
    const res = await runCli(['cancel-all', '--db', missing], env);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, new RegExp(`cancel requested for ${second} `));
    assert.match(
      res.stderr,
      /configuration error: --db: no database at .*typo\/bot\.db.*1 cancel\(s\) requested/,
    );
    assert.equal(existsSync(join(dir, 'typo')), false);
    for (let i = 0; i < 50 && (await openIds()).length > 0; i += 1)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await openIds(), []);
  });
});
