import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classifyReply, unreadableReply, type CallContext } from '../../src/btcturk/common/errors.ts';
import { parseJsonLossless } from '../../src/btcturk/common/json.ts';
import {
  ReplyShapeError,
  parseBalances,
  parseExchangeInfo,
  parseFills,
  parseOpenOrders,
  parseOrderAck,
  parseOrderBook,
  parseOrderHistory,
  parseServerTime,
  parseSingleOrder,
  parseTickers,
  type SentOrder,
} from '../../src/btcturk/http/models.ts';
import { Dec, toDec } from '../../src/domain/decimal.ts';
import { ExchangeError } from '../../src/domain/errors.ts';
import { randomInt, seededRandom, type Random } from '../../src/domain/random.ts';
import type {
  BalanceReport,
  FillReport,
  OrderAck,
  OrderBookSnapshot,
  OrderStatusReport,
  Ticker,
} from '../../src/domain/reports.ts';
import { WIRE, type WireEntry } from './corpus.ts';

// Seeded fuzzing of the REST readers with mutated real bodies (the wire corpus and the adapter's
// fixtures): members dropped, types changed, numbers negated, zeroed or made huge, ids beyond 2^53,
// keys in the wrong case, rows duplicated, bodies truncated, HTML, empty. Two layers, no HTTP:
//  - the model parse functions on a mutated `data`: they return or throw ReplyShapeError, nothing
//    else, and what they return is never silently wrong;
//  - the whole reply (status + text) through classifyReply and the parser, as the client reads it:
//    an ExchangeError or a value, and a value never comes from an error body or a body without data.
// A failure prints the seed and the input, so it replays.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---------------------------------------------------------------- what each body is read with

type Reader =
  | { readonly kind: 'book'; readonly parse: (d: unknown) => OrderBookSnapshot }
  | { readonly kind: 'tickers'; readonly parse: (d: unknown) => { tickers: Ticker[] } }
  | { readonly kind: 'time'; readonly parse: (d: unknown) => number }
  | { readonly kind: 'info'; readonly parse: (d: unknown) => unknown }
  | { readonly kind: 'balances'; readonly parse: (d: unknown) => BalanceReport[] }
  | { readonly kind: 'orders'; readonly parse: (d: unknown) => OrderStatusReport[] }
  | { readonly kind: 'ack'; readonly parse: (d: unknown) => OrderAck }
  | { readonly kind: 'fills'; readonly parse: (d: unknown) => FillReport[] }
  | { readonly kind: 'cancel'; readonly parse: (d: unknown) => undefined };

interface Base {
  readonly name: string;
  readonly status: number;
  readonly text: string;
  readonly reader: Reader;
  readonly effect: 'read' | 'write';
  readonly bareBody: boolean;
}

const SENT_MARKET_SELL: SentOrder = {
  symbol: 'BTCUSDT',
  side: 'sell',
  method: 'market',
  quantity: new Dec('0.0002'),
  clientOrderId: 'BtcTurk Python API Test',
};
const SENT_LIMIT_BUY: SentOrder = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  quantity: new Dec('0.001'),
  price: new Dec('20000'),
  clientOrderId: 'test',
};

const R = {
  book: { kind: 'book', parse: (d: unknown) => parseOrderBook(d, 'BTCTRY') },
  tickers: { kind: 'tickers', parse: parseTickers },
  time: { kind: 'time', parse: parseServerTime },
  info: { kind: 'info', parse: parseExchangeInfo },
  balances: { kind: 'balances', parse: parseBalances },
  open: { kind: 'orders', parse: parseOpenOrders },
  history: { kind: 'orders', parse: parseOrderHistory },
  single: { kind: 'orders', parse: (d: unknown) => [parseSingleOrder(d, '61912740')] },
  singleFixture: { kind: 'orders', parse: (d: unknown) => [parseSingleOrder(d, '21469236270')] },
  ackMarket: { kind: 'ack', parse: (d: unknown) => parseOrderAck(d, SENT_MARKET_SELL) },
  ackLimit: { kind: 'ack', parse: (d: unknown) => parseOrderAck(d, SENT_LIMIT_BUY) },
  fills: { kind: 'fills', parse: parseFills },
  cancel: { kind: 'cancel', parse: () => undefined },
} as const satisfies Record<string, Reader>;

const WIRE_READERS: Readonly<Record<string, Reader>> = {
  'rest-orderbook-unknown-pair': R.book,
  'rest-orderbook-no-pair': R.book,
  'rest-ticker-unknown-pair': R.tickers,
  'rest-server-time': R.time,
  'rest-429': R.balances,
  'rest-invalid-nonce': R.open,
  'rest-cancel-ok': R.cancel,
  'rest-order-post-ok-2020-04': R.ackMarket,
  'rest-order-post-open-orders-1122': R.ackLimit,
  'rest-order-post-open-orders-1123': R.ackLimit,
  'rest-order-post-price-scale-1126': R.ackLimit,
  'rest-order-delete-not-found-1052': R.cancel,
  'rest-order-delete-accepted': R.cancel,
  'rest-open-orders-2020': R.open,
  'rest-user-trades-empty': R.fills,
  'rest-balance-row-2025': R.balances,
  'rest-ticker-btcusdt-ccxt': R.tickers,
  'rest-user-trades-docs': R.fills,
  'rest-open-orders-docs': R.open,
  'rest-order-post-ok-docs': R.ackLimit,
  'rest-all-orders-docs': R.history,
  'rest-single-order-docs': R.single,
  'rest-single-order-not-found-docs': R.single,
};

const FIXTURE_READERS: Readonly<Record<string, Reader>> = {
  orderbook: R.book,
  ticker: R.tickers,
  'server-time-bare': R.time,
  exchangeinfo: R.info,
  balances: R.balances,
  'open-orders': R.open,
  'all-orders': R.history,
  order: R.singleFixture,
  'order-submit': {
    kind: 'ack',
    parse: (d: unknown) => parseOrderAck(d, { ...SENT_LIMIT_BUY, symbol: 'BTCTRY' }),
  },
  fills: R.fills,
  'cancel-accepted': R.cancel,
};

function base(name: string, status: number, text: string, reader: Reader): Base {
  return {
    name,
    status,
    text,
    reader,
    effect: reader.kind === 'ack' || reader.kind === 'cancel' ? 'write' : 'read',
    bareBody: reader.kind === 'time',
  };
}

function wireBase(entry: WireEntry): Base {
  const reader = WIRE_READERS[entry.id];
  assert.ok(reader, `no reader for ${entry.id}: add it to WIRE_READERS`);
  // The balance row is one element of data[]: fuzz it inside its envelope.
  const text =
    entry.id === 'rest-balance-row-2025'
      ? `{"data":[${entry.text}],"success":true,"message":null,"code":0}`
      : entry.text;
  return base(entry.id, entry.status ?? 200, text, reader);
}

const BASES: readonly Base[] = [
  ...WIRE.filter((e) => e.kind === 'rest').map(wireBase),
  ...Object.entries(FIXTURE_READERS).map(([name, reader]) =>
    base(
      `fixture ${name}`,
      200,
      readFileSync(new URL(`../btcturk/fixtures/${name}.json`, import.meta.url), 'utf8'),
      reader,
    ),
  ),
];

// ---------------------------------------------------------------- reading as the client does

type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: ExchangeError };

function callOf(b: Base): CallContext {
  return { operation: `FUZZ ${b.name}`, effect: b.effect, secrets: [], bareBody: b.bareBody };
}

/** classifyReply then the parser, exactly as BtcturkHttpClient does after the bytes arrive. */
function readReply(b: Base, status: number, text: string): Outcome {
  const call = callOf(b);
  const classified = classifyReply({ status, retryAfter: undefined, text }, call, {
    serverNow: 0,
    fallbackMs: 1_000,
  });
  if (!classified.ok) return { ok: false, error: classified.error };
  try {
    return { ok: true, value: b.reader.parse(classified.data) };
  } catch (error) {
    if (!(error instanceof ReplyShapeError)) throw error;
    return { ok: false, error: unreadableReply(call, status, error.message).error };
  }
}

/** The `data` of an unmutated success body, or undefined when the body is an error. */
function dataOf(b: Base): unknown {
  const classified = classifyReply({ status: b.status, retryAfter: undefined, text: b.text }, callOf(b), {
    serverNow: 0,
    fallbackMs: 1_000,
  });
  return classified.ok ? classified.data : undefined;
}

// ---------------------------------------------------------------- mutations

const HUGE = ['1e400', '-1e400', '99999999999999999999999999', '1e18', 1e300, 'Infinity', 'NaN'];
const BIG_IDS = ['9007199254740993', '18446744073709551617', '1181163798924649598'];

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[randomInt(random, 0, items.length - 1)];
  return item as T;
}

function clone(value: Json): Json {
  return value === null || typeof value !== 'object' ? value : (JSON.parse(JSON.stringify(value)) as Json);
}

interface Slot {
  readonly parent: Json[] | { [key: string]: Json };
  readonly key: string | number;
}

function slots(root: Json): Slot[] {
  const out: Slot[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node))
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        walk(child);
      });
    else if (node !== null && typeof node === 'object')
      for (const [key, child] of Object.entries(node)) {
        out.push({ parent: node, key });
        walk(child);
      }
  };
  walk(root);
  return out;
}

function get(slot: Slot): Json {
  return (slot.parent as Record<string | number, Json>)[slot.key] as Json;
}

function set(slot: Slot, value: Json): void {
  (slot.parent as Record<string | number, Json>)[slot.key] = value;
}

function negated(value: Json): Json {
  if (typeof value === 'number') return -value || -1;
  if (typeof value === 'string') return value.startsWith('-') ? value.slice(1) : `-${value || '1'}`;
  return -1;
}

function deep(depth: number): Json {
  let node: Json = [];
  for (let i = 0; i < depth; i += 1) node = [node];
  return node;
}

function wrongCase(key: string, random: Random): string {
  const options = [key.toUpperCase(), key.charAt(0).toUpperCase() + key.slice(1), key.toLowerCase()].filter(
    (k) => k !== key,
  );
  return options.length > 0 ? pick(random, options) : `${key}_`;
}

/** Removes a member, leaving the object otherwise as it was. */
function without(record: { [key: string]: Json }, key: string): void {
  Reflect.deleteProperty(record, key);
}

/** One mutation of the tree, in place; returns its name for the failure message. */
function mutateTree(root: Json, random: Random): string {
  const all = slots(root);
  if (all.length === 0) return 'none';
  const slot = pick(random, all);
  const old = get(slot);
  switch (randomInt(random, 0, 11)) {
    case 0:
      if (Array.isArray(slot.parent)) slot.parent.splice(Number(slot.key), 1);
      else without(slot.parent, slot.key as string);
      return `drop ${String(slot.key)}`;
    case 1: {
      const value = pick<Json>(random, [null, true, {}, [], '', 'abc', 0, '12a', 1.5]);
      set(slot, value);
      return `${String(slot.key)} := ${JSON.stringify(value)}`;
    }
    case 2:
      set(
        slot,
        typeof old === 'number' ? String(old) : typeof old === 'string' && old !== '' ? Number(old) : 0,
      );
      return `${String(slot.key)} string<->number`;
    case 3:
    case 4:
      set(slot, negated(old));
      return `negate ${String(slot.key)}`;
    case 5:
      set(slot, pick<Json>(random, ['0', 0, '0.00', '-0']));
      return `zero ${String(slot.key)}`;
    case 6: {
      const value = pick<Json>(random, HUGE);
      set(slot, value);
      return `${String(slot.key)} := ${JSON.stringify(value)}`;
    }
    case 7: {
      const value = pick(random, BIG_IDS);
      set(slot, value);
      return `${String(slot.key)} := ${value}`;
    }
    case 8: {
      if (Array.isArray(slot.parent)) {
        slot.parent.push(clone(old));
        return 'duplicate row';
      }
      const key = slot.key as string;
      const renamed = wrongCase(key, random);
      without(slot.parent, key);
      slot.parent[renamed] = old;
      return `rename ${key} -> ${renamed}`;
    }
    case 9:
      set(slot, deep(randomInt(random, 10, 3_000)));
      return `${String(slot.key)} := deeply nested`;
    case 10:
      if (Array.isArray(old)) {
        set(slot, []);
        return `${String(slot.key)} := []`;
      }
      set(slot, clone(old));
      return 'none';
    default: {
      // Two mutations at once.
      const first = mutateTree(root, random);
      return `${first}; ${mutateTree(root, random)}`;
    }
  }
}

const HTML_504 =
  '<!DOCTYPE html><html><head><title>api.btcturk.com | 504: Gateway time-out</title></head><body>Cloudflare</body></html>';

/** A mutation of the whole reply: status and text. */
function mutateReply(b: Base, random: Random): { status: number; text: string; what: string } {
  const status =
    random.next() < 0.8
      ? b.status
      : pick(random, [200, 201, 204, 302, 400, 401, 404, 429, 500, 502, 503, 504]);
  const choice = randomInt(random, 0, 9);
  if (choice === 0) {
    const cut = randomInt(random, 0, Math.max(0, b.text.length - 1));
    return { status, text: b.text.slice(0, cut), what: `truncated at ${cut}` };
  }
  if (choice === 1)
    return { status, text: pick(random, ['', ' ', HTML_504, 'null', '[]', '0', '"ok"']), what: 'odd body' };
  if (choice === 2) {
    // Raw numbers beyond 2^53 where ids are, and a duplicate key (refused by the JSON reader).
    const text = b.text
      .replace(/"id":\d+/, `"id":${pick(random, BIG_IDS)}`)
      .replace(/"code":/, pick(random, ['"code":', '"code":1,"code":']));
    return { status, text, what: 'raw big id / duplicate code' };
  }
  let root: Json;
  try {
    root = parseJsonLossless(b.text) as Json;
  } catch {
    return { status, text: b.text, what: 'unparsable base' };
  }
  if (root !== null && typeof root === 'object' && !Array.isArray(root) && choice <= 5) {
    // Envelope-level: flip success, break code, PascalCase, drop data, data:null.
    const env = root;
    const what = pick(random, [
      'success false',
      'code 1037',
      'Pascal',
      'drop data',
      'data null',
      'success "false"',
    ]);
    if (what === 'success false') env.success = false;
    if (what === 'success "false"') env.success = 'false';
    if (what === 'code 1037') env.code = pick<Json>(random, [1037, '1037', 1, {}]);
    if (what === 'drop data') delete env.data;
    if (what === 'data null') env.data = null;
    if (what === 'Pascal') {
      for (const key of Object.keys(env)) {
        const value = env[key] as Json;
        without(env, key);
        env[key.charAt(0).toUpperCase() + key.slice(1)] = value;
      }
    }
    return { status, text: JSON.stringify(root), what };
  }
  const what = mutateTree(root, random);
  return { status, text: JSON.stringify(root), what };
}

// ---------------------------------------------------------------- what a value must never be

const ORDER_FIELDS = new Set(['price', 'stopPrice', 'quantity', 'amount', 'leftAmount']);
const BALANCE_FIELDS = new Set(['balance', 'free', 'locked']);

function decimalOf(value: unknown): Dec | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  try {
    const d = toDec(value);
    return d.isFinite() ? d : null;
  } catch {
    return null;
  }
}

/** Is there a negative decimal under one of `fields` anywhere in the tree? */
function negativeIn(root: unknown, fields: ReadonlySet<string>): string | null {
  if (Array.isArray(root)) {
    for (const child of root) {
      const found = negativeIn(child, fields);
      if (found) return found;
    }
    return null;
  }
  if (root === null || typeof root !== 'object') return null;
  for (const [key, value] of Object.entries(root)) {
    if (fields.has(key)) {
      const d = decimalOf(value);
      if (d?.isNegative() && !d.isZero()) return `${key}=${String(value)}`;
    }
    const found = negativeIn(value, fields);
    if (found) return found;
  }
  return null;
}

function rowsOf(data: unknown): Record<string, unknown>[] {
  if (Array.isArray(data))
    return data.filter((r): r is Record<string, unknown> => typeof r === 'object' && r !== null);
  if (data !== null && typeof data === 'object') {
    const d = data as Record<string, unknown>;
    if (Array.isArray(d.bids) || Array.isArray(d.asks))
      return [...rowsOf(d.bids ?? []), ...rowsOf(d.asks ?? [])];
    return [d];
  }
  return [];
}

const LIMIT = new Dec('1e18');
function sane(d: Dec, what: string): void {
  assert.ok(d.isFinite() && d.abs().lt(LIMIT), `${what} is implausible: ${d.toString()}`);
}

const ID = /^(?!0+$)\d+$/;

/** Checks a value the readers returned for `data` (the input they were given). */
function checkValue(reader: Reader, value: unknown, data: unknown): void {
  switch (reader.kind) {
    case 'book': {
      const book = value as OrderBookSnapshot;
      for (const level of [...book.bids, ...book.asks]) {
        assert.ok(level.price.gt(0), `book price ${level.price.toString()}`);
        assert.ok(level.quantity.gt(0), `book quantity ${level.quantity.toString()}`);
        sane(level.price, 'book price');
        sane(level.quantity, 'book quantity');
      }
      book.bids.forEach((l, i) => {
        assert.ok(i === 0 || l.price.lte(book.bids[i - 1]?.price ?? l.price), 'bids out of order');
      });
      book.asks.forEach((l, i) => {
        assert.ok(i === 0 || l.price.gte(book.asks[i - 1]?.price ?? l.price), 'asks out of order');
      });
      return;
    }
    case 'tickers':
      for (const t of (value as { tickers: Ticker[] }).tickers) {
        for (const p of [t.last, t.bid, t.ask, t.high, t.low, t.open]) {
          assert.ok(p.gt(0), `ticker price ${p.toString()}`);
          sane(p, 'ticker price');
        }
        assert.ok(!t.volume.isNegative() || t.volume.isZero(), 'negative volume');
      }
      return;
    case 'time': {
      const ms = value as number;
      assert.ok(Number.isSafeInteger(ms) && ms > 0, `server time ${ms}`);
      return;
    }
    case 'info':
      return;
    case 'balances': {
      assert.equal(negativeIn(data, BALANCE_FIELDS), null, 'a negative balance was accepted');
      for (const b of value as BalanceReport[])
        for (const d of [b.total, b.free, b.locked]) {
          assert.ok(!d.isNegative() || d.isZero(), `balance ${d.toString()}`);
          sane(d, 'balance');
        }
      return;
    }
    case 'orders':
    case 'ack': {
      const negative = negativeIn(data, ORDER_FIELDS);
      assert.equal(negative, null, `an order with ${negative ?? ''} was accepted`);
      const ids = new Set(rowsOf(data).map((r) => String(r.id)));
      const orders = reader.kind === 'ack' ? [value as OrderAck] : (value as OrderStatusReport[]);
      for (const o of orders) {
        assert.match(o.exchangeOrderId, ID);
        assert.ok(ids.has(o.exchangeOrderId), `order id ${o.exchangeOrderId} is not one the reply sent`);
        const report = reader.kind === 'orders' ? (o as OrderStatusReport) : null;
        // A market buy's row is sized in the quote: its quantity is not read (0 included), only its status.
        if (report?.quoteSized === true)
          assert.ok(!o.quantity.isNegative(), `order quantity ${o.quantity.toString()}`);
        else assert.ok(o.quantity.gt(0), `order quantity ${o.quantity.toString()}`);
        sane(o.quantity, 'order quantity');
        if (o.price !== null) assert.ok(o.price.gt(0), `order price ${o.price.toString()}`);
        const stop = report?.stopPrice ?? null;
        const left = report?.leftQuantity ?? null;
        if (stop !== null) assert.ok(stop.gt(0), `stop price ${stop.toString()}`);
        if (left !== null) assert.ok(!left.isNegative() || left.isZero(), `left ${left.toString()}`);
        if (reader.kind === 'orders' && (o.method === 'limit' || o.method === 'stoplimit'))
          assert.ok(o.price !== null, 'a limit order without a price');
      }
      return;
    }
    case 'fills': {
      const rows = rowsOf(data);
      const fills = value as FillReport[];
      assert.equal(fills.length, rows.length, 'a fill row was dropped or invented');
      fills.forEach((f, i) => {
        const row = rows[i] ?? {};
        assert.match(f.tradeId, ID);
        assert.equal(f.tradeId, String(row.id), 'trade id changed');
        assert.ok(f.quantity.gt(0) && f.price.gt(0), 'a fill of nothing or at no price');
        assert.ok(!f.fee.isNegative() && !f.tax.isNegative());
        for (const key of ['amount', 'preciseAmount']) {
          const d = decimalOf(row[key]);
          if (d === null || d.isZero()) continue;
          assert.equal(
            f.side,
            d.isNegative() ? 'sell' : 'buy',
            `${key}=${String(row[key])} read as a ${f.side}`,
          );
        }
        for (const key of ['fee', 'tax']) {
          const d = decimalOf(row[key]);
          assert.ok(d !== null && !d.gt(0), `${key}=${String(row[key])} was accepted`);
        }
        const type = typeof row.orderType === 'string' ? row.orderType.toLowerCase() : null;
        if (type !== null) assert.equal(f.side, type);
      });
      return;
    }
    case 'cancel':
      assert.equal(value, undefined);
  }
}

/** Does the body say "failure" in any spelling? */
function saysFailure(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  return Object.entries(body).some(([key, value]) => {
    const k = key.toLowerCase();
    if (k === 'success')
      return value === false || (typeof value === 'string' && value.toLowerCase() === 'false');
    if (k === 'code') return value !== null && String(value).trim() !== '0' && String(value).trim() !== '';
    return false;
  });
}

function namesOrder(body: unknown): boolean {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  return Object.entries(body).some(
    ([key, data]) =>
      key.toLowerCase() === 'data' &&
      data !== null &&
      typeof data === 'object' &&
      !Array.isArray(data) &&
      Object.entries(data as Record<string, unknown>).some(
        ([k, v]) => k.toLowerCase() === 'id' && v !== null && v !== '',
      ),
  );
}

function bodyOf(text: string): { ok: true; body: unknown } | { ok: false } {
  try {
    return { ok: true, body: parseJsonLossless(text) };
  } catch {
    return { ok: false };
  }
}

function checkReply(b: Base, status: number, text: string, result: Outcome): void {
  const parsed = bodyOf(text);
  if (!result.ok) {
    assert.ok(result.error instanceof ExchangeError);
    if (b.effect === 'write' && status >= 500) assert.equal(result.error.kind, 'ambiguous');
    if (b.effect === 'write' && parsed.ok && namesOrder(parsed.body) && saysFailure(parsed.body))
      assert.equal(result.error.kind, 'ambiguous', 'a failure naming an order id must stay ambiguous');
    if (b.effect === 'write' && status >= 200 && status < 300 && result.error.kind === 'parse')
      assert.fail('a write is never a parse error: its effect is unknown');
    return;
  }
  assert.ok(status >= 200 && status < 300, `HTTP ${status} read as data`);
  assert.ok(parsed.ok, 'a body that is not JSON read as data');
  assert.ok(!saysFailure(parsed.body), 'an error body read as data');
  const body = parsed.body;
  const envelope =
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : null;
  if (b.reader.kind !== 'cancel' && !b.bareBody)
    assert.ok(envelope !== null && Object.hasOwn(envelope, 'data'), 'a reply without `data` read as data');
  const data = b.bareBody && envelope !== null && !Object.hasOwn(envelope, 'data') ? body : envelope?.data;
  checkValue(b.reader, result.value, data);
}

// ---------------------------------------------------------------- the runs

const SEED = 20260923;
const TREE_RUNS = 4_000;
const REPLY_RUNS = 4_000;

describe('REST fuzz', () => {
  it('every unmutated success body reads, and passes the same checks', () => {
    let read = 0;
    for (const b of BASES) {
      const result = readReply(b, b.status, b.text);
      if (result.ok) {
        read += 1;
        checkReply(b, b.status, b.text, result);
      }
    }
    assert.ok(read >= 20, `only ${read} bodies read`);
  });

  it(`model readers on ${TREE_RUNS} mutated data trees: ReplyShapeError or a value that is not wrong (seed ${SEED})`, () => {
    const random = seededRandom(SEED);
    const usable = BASES.map((b) => ({ b, data: dataOf(b) })).filter(
      (x): x is { b: Base; data: Json } => x.data !== undefined && x.b.reader.kind !== 'cancel',
    );
    const tally = { values: 0, refused: 0 };
    for (let run = 0; run < TREE_RUNS; run += 1) {
      const { b, data } = pick(random, usable);
      const tree = clone(data);
      const what = randomInt(random, 0, 9) === 0 ? 'data replaced' : mutateTree(tree, random);
      const input: Json = what === 'data replaced' ? pick<Json>(random, [null, {}, [], 'x', 0, true]) : tree;
      const replay = `run ${run} (seed ${SEED}) on ${b.name}, ${what}: ${JSON.stringify(input).slice(0, 400)}`;
      let value: unknown;
      try {
        value = b.reader.parse(input);
      } catch (error) {
        assert.ok(error instanceof ReplyShapeError, `${replay}\nthrew ${String(error)}`);
        tally.refused += 1;
        continue;
      }
      tally.values += 1;
      try {
        checkValue(b.reader, value, input);
      } catch (error) {
        assert.fail(`${replay}\n${String(error)}`);
      }
    }
    // Both ways were exercised: mutation is neither always fatal nor always harmless.
    assert.ok(tally.values > TREE_RUNS / 10 && tally.refused > TREE_RUNS / 10, JSON.stringify(tally));
  });

  it(`whole replies on ${REPLY_RUNS} mutations: an ExchangeError or a value, never data from an error (seed ${SEED + 1})`, () => {
    const random = seededRandom(SEED + 1);
    const tally = { values: 0, errors: 0 };
    for (let run = 0; run < REPLY_RUNS; run += 1) {
      const b = pick(random, BASES);
      const { status, text, what } = mutateReply(b, random);
      const replay = `run ${run} (seed ${SEED + 1}) on ${b.name}, ${what}, HTTP ${status}: ${text.slice(0, 400)}`;
      let result: Outcome;
      try {
        result = readReply(b, status, text);
      } catch (error) {
        assert.fail(`${replay}\nthrew ${String(error)}`);
      }
      if (result.ok) tally.values += 1;
      else tally.errors += 1;
      try {
        checkReply(b, status, text, result);
      } catch (error) {
        assert.fail(`${replay}\n${String(error)}`);
      }
    }
    assert.ok(tally.values > REPLY_RUNS / 20 && tally.errors > REPLY_RUNS / 10, JSON.stringify(tally));
  });

  it('the cases of issue 9 item 8, each typed', () => {
    const open = BASES.find((b) => b.name === 'rest-open-orders-docs');
    const post = BASES.find((b) => b.name === 'rest-order-post-ok-docs');
    const fills = BASES.find((b) => b.name === 'rest-user-trades-docs');
    assert.ok(open && post && fills);
    for (const body of [
      '{"Success":false,"Message":"Unauthorized - Invalid Nonce","Code":1037}',
      '{"success":true,"code":0}',
      '{}',
    ]) {
      const result = readReply(open, 200, body);
      assert.ok(
        !result.ok && ['auth', 'parse'].includes(result.error.kind),
        `${body}: ${JSON.stringify(result)}`,
      );
    }
    const failed = readReply(
      post,
      200,
      '{"success":false,"code":1120,"message":"FAILED_LIMIT_ORDER","data":{"id":1}}',
    );
    assert.ok(!failed.ok && failed.error.kind === 'ambiguous');
    const negative = readReply(
      post,
      200,
      '{"success":true,"code":0,"data":{"id":9932534,"type":"buy","method":"limit","price":"-20000","quantity":"-0.001"}}',
    );
    assert.ok(
      !negative.ok && negative.error.kind === 'ambiguous',
      'a negative order must not become a positive one',
    );
    assert.match(negative.error.message, /price: must be non-negative, got -20000/);
    // A sell fill with a positive amount contradicts its side: refused, not flipped.
    const flipped = fills.text.replace('"amount":"-0.00040000"', '"amount":"0.00040000"');
    const contradiction = readReply(fills, 200, flipped);
    assert.ok(!contradiction.ok && contradiction.error.kind === 'parse');
    assert.match(contradiction.error.message, /0\.amount: a sell is negative on BTCTurk, got 0\.0004/);
    const positiveFee = readReply(
      fills,
      200,
      fills.text.replace('"fee":"-0.15226792"', '"fee":"0.15226792"'),
    );
    assert.ok(!positiveFee.ok && positiveFee.error.kind === 'parse');
    const balances = BASES.find((b) => b.name === 'rest-balance-row-2025');
    assert.ok(balances);
    const negativeBalance = readReply(
      balances,
      200,
      balances.text.replace('"free":"5273"', '"free":"-5273"'),
    );
    assert.ok(!negativeBalance.ok);
    assert.match(negativeBalance.error.message, /0\.free: must be non-negative, got -5273/);
  });
});
