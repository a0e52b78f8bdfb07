import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { toDec } from '../../domain/decimal.ts';
import type { OrderMethod, Side } from '../../domain/orders.ts';
import type { BalanceReport, FillReport, PublicTrade, Ticker } from '../../domain/reports.ts';
import type {
  BookLevelChange,
  BookLevelText,
  BookProblemCause,
  MarketFeedEvent,
} from '../../ports/market-feed.ts';
import type { OrderMatchEvent, OrderUpdateEvent } from '../../ports/user-stream.ts';
import { parseJsonLossless } from '../common/json.ts';
import { scanTicker, scanTrade } from './channel-scanner.ts';
import {
  bookReaderCounts,
  CHANGE_KIND,
  isKnownChangeKind,
  isPlainDecimal,
  isPositivePlainDecimal,
  scanBookDiff,
  scanBookSnapshot,
} from './diff-scanner.ts';

// BTCTurk's WebSocket frames (btcturk-api.md §8, ../shared/btcturk-wire: real frames, which outrank
// the simulator), every one `[type, {...}]`, read into venue-neutral events. Unknown types are
// ignored. Field lists marked unofficial there are read tolerantly where tolerance cannot hide a
// problem: ids as strings or bare integers (kept exact: a trade id can exceed 2^53), decimals as
// strings or numbers, client ids absent or null. Values that would make a wrong state are refused
// with the field and the value named: a price of zero or below, a negative book amount, a fill
// amount whose sign contradicts its side, an order book change kind BTCTurk does not send.
//
// Change kinds (`CP`) of an obdiff (432) row, as BTCTurk sends them (capture C1, see CHANGE_KIND in
// diff-scanner.ts): 0 = the amount at `P` is replaced by `A`, 1 = a new level, 3 = the level is
// deleted although `A` still carries its old, non-zero amount. A row with any other CP fails the
// whole frame with cause `unknown-change-kind` (the book is resynced and the case counted); a zero
// `A` on CP 0 or 1 removes the level too (the book does that), tolerantly.
//
// parseFrame never throws: whatever the text (nested thousands deep, megabytes long, not JSON), the
// answer is events or a typed failure. Book frames in BTCTurk's layout take the readers of
// diff-scanner.ts, trades (422) and pair tickers (402) those of channel-scanner.ts; anything else
// takes parseFrameGeneral (JSON.parse, then hand-written checks for book frames and zod for the
// rest), which gives the same events for every frame the fast readers accept
// (test/wire/ws-fuzz.test.ts, test/btcturk/websocket/channel-scanner.test.ts).

export const WS_TYPE = {
  balance: 201,
  result: 100,
  login: 114,
  subscribe: 151,
  tickerAll: 401,
  tickerPair: 402,
  tradeList: 421,
  trade: 422,
  userTrade: 423,
  orderBook: 431,
  orderBookDiff: 432,
  orderMatch: 441,
  orderInsert: 451,
  orderDelete: 452,
  orderUpdate: 453,
  welcome: 991,
} as const;

export type WsMessage =
  | { readonly kind: 'welcome' }
  | { readonly kind: 'subscription-result'; readonly ok: boolean; readonly message: string }
  | { readonly kind: 'login-result'; readonly ok: boolean; readonly message: string }
  | MarketFeedEvent
  | { readonly kind: 'fill'; readonly fill: FillReport }
  | OrderMatchEvent
  | OrderUpdateEvent
  | { readonly kind: 'balances'; readonly balances: readonly BalanceReport[] };

export type ParsedFrame =
  | { readonly ok: true; readonly messages: readonly WsMessage[] }
  /**
   * `symbol`: the pair a book frame was about, when it could be told, so its book can be resynced.
   * `cause`: `unknown-change-kind` for an obdiff row whose CP is not 0, 1 or 3; `unreadable` for
   * every other failure.
   */
  | {
      readonly ok: false;
      readonly type: number | null;
      readonly symbol: string | null;
      readonly reason: string;
      readonly cause: BookProblemCause;
    };

const NONE: readonly WsMessage[] = [];

/** A value as a failure shows it: JSON, cut short (a hostile frame can hold megabytes in one string). */
function shown(value: unknown): string {
  let text: string;
  try {
    // JSON.stringify answers undefined (not a string) for these
    const unwritable = value === undefined || typeof value === 'function' || typeof value === 'symbol';
    text = unwritable ? String(value) : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 40)}… (${text.length} characters)` : text;
}

// ---- field schemas --------------------------------------------------------------------------------

const textOrNumber = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v));

/**
 * Decimal exponents a value may have. toDec accepts "20e9700000000", a Decimal whose toFixed() would
 * write trillions of digits and exhaust the heap wherever it is printed or stored (found by
 * test/wire/ws-fuzz.test.ts). ASSUMPTION (BTCTurk): no amount, price or fee of a private event or
 * ticker comes near 1e±30 (BTCTurk's scales are at most 16 decimals, the 452 padding).
 */
const MAX_EXPONENT = 30;

/** A decimal meeting `test` (described by `wanted`), or an issue naming the value. */
function decimalWhere(test: ((d: Decimal) => boolean) | null, wanted: string) {
  return textOrNumber.transform((v, ctx): Decimal => {
    let value: Decimal;
    try {
      value = toDec(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected a decimal, got ${shown(v)}` });
      return z.NEVER;
    }
    if (!value.isZero() && Math.abs(value.e) > MAX_EXPONENT) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a decimal within 1e±${MAX_EXPONENT}, got ${shown(v)}`,
      });
      return z.NEVER;
    }
    if (test !== null && !test(value)) {
      ctx.addIssue({ code: 'custom', message: `expected ${wanted}, got ${shown(v)}` });
      return z.NEVER;
    }
    return value;
  });
}
const decimal = decimalWhere(null, 'a decimal');
const positive = decimalWhere((d) => d.gt(0), 'a decimal above zero');
const nonNegative = decimalWhere((d) => !d.isNeg(), 'a decimal of zero or more');
/**
 * Fees and taxes: BTCTurk sends them negative on both sides (the REST example shows a negative fee
 * on a buy); their sign says "cost", not a direction, so the report keeps the magnitude.
 * ASSUMPTION (BTCTurk): a fee or tax is never a rebate, so a positive one is read as the same cost
 * (no frame with one has been seen; the REST docs and the 423 paste show only negative ones).
 */
const cost = decimal.transform((v) => v.abs());
const id = z.union([z.string().min(1), z.number().int()]).transform(String);
const millis = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);
/** Absent, null or empty: no client id (orders placed by hand or on another client have none). */
const optionalClientId = z
  .string()
  .nullish()
  .transform((v) => (v === undefined || v === null || v === '' ? null : v));
const symbol = z.string().min(1);

/** 0/1 codes (0 buy), or the words in any case. */
const side = z.union([z.number().int(), z.string()]).transform((v, ctx): Side => {
  const word = typeof v === 'number' ? (v === 0 ? 'buy' : v === 1 ? 'sell' : '') : v.toLowerCase();
  if (word === 'buy' || word === 'sell') return word;
  ctx.addIssue({ code: 'custom', message: `expected a side (0/1, buy/sell), got ${shown(v)}` });
  return z.NEVER;
});

/** Method codes of the user order events: 0 limit and 1 market are known; 2 and 3 as the simulator sends them. */
const METHOD_CODES: readonly OrderMethod[] = ['limit', 'market', 'stoplimit', 'stopmarket'];
const method = z.union([z.number().int(), z.string()]).transform((v): OrderMethod | null => {
  if (typeof v === 'number') return METHOD_CODES[v] ?? null;
  const word = v.toLowerCase().replace('_', '');
  return (METHOD_CODES as readonly string[]).includes(word) ? (word as OrderMethod) : null;
});

// ---- frame schemas --------------------------------------------------------------------------------

const result = z.object({
  ok: z.boolean(),
  message: z
    .string()
    .nullish()
    .transform((v) => v ?? ''),
});

const tickerRow = z.object({
  PS: symbol,
  B: decimal,
  A: decimal,
  H: decimal,
  L: decimal,
  LA: decimal,
  O: decimal,
  V: decimal,
});
const tickerList = z.object({ items: z.array(tickerRow) });

const tradeFields = { D: millis, I: id, A: decimal, P: decimal, S: side };
const tradeRow = z.object({ ...tradeFields, PS: symbol });
/** A 421 names its pair in `symbol`/`event`, not on each row (2022 frames). */
const tradeListRow = z.object({ ...tradeFields, PS: symbol.optional() });
const tradeList = z.object({
  items: z.array(tradeListRow),
  symbol: symbol.optional(),
  event: z.string().optional(),
});

/**
 * 423. No `type` key inside; `id` (the trade id, above 2^53) and `orderId` bare integers, read
 * exactly (the frame is parsed losslessly); `amount`, `fee` and `tax` negative strings for a sell;
 * `preciseAmount` an exact JSON number beside the truncated `amount`.
 */
const userTrade = z.object({
  id,
  orderId: id,
  timestamp: millis,
  numeratorSymbol: symbol,
  denominatorSymbol: symbol,
  amount: decimal,
  preciseAmount: decimal.nullish(),
  fee: cost,
  tax: cost,
  price: positive,
  orderType: side,
  orderClientId: optionalClientId,
});

/**
 * 441. `id` is the ORDER id (one 441 per fill of it); `pair` is the pair id (a number), `symbol`
 * the name; `timestamp` absent in the 2022 shape, a string of ms in the current one.
 */
const orderMatch = z.object({
  id,
  timestamp: millis.optional(),
  symbol: z.string().min(1).nullish(),
  pair: z.union([z.number().int(), z.string().min(1)]).nullish(),
  isBid: z.boolean(),
  price: positive,
  amount: positive,
  clientId: optionalClientId,
});

/** 451 insert, 452 delete, 453 update (no 453 in practice). 452 pads decimals to 16 places. */
const userOrder = z.object({
  id,
  symbol,
  price: nonNegative, // 0 for an order without a price (market)
  amount: nonNegative,
  numLeft: nonNegative,
  orderType: side,
  method,
  newOrderClientId: optionalClientId,
});

const balanceRow = z.object({ asset: symbol, balance: decimal, free: decimal, locked: decimal });
const balances = z.object({ balances: z.array(balanceRow) });

// ---- conversion ----------------------------------------------------------------------------------

class FrameError extends Error {
  constructor(
    message: string,
    readonly problem: BookProblemCause = 'unreadable',
  ) {
    super(message);
  }
}

// Book bodies are read by hand rather than by zod: they are the bulk of the traffic and, on the
// general path, the frames a hostile server can make megabytes long; a plain loop over the parsed
// rows costs a tenth of a schema's per-row work and names the first problem it meets.

/** A book decimal as plain text: BTCTurk quotes them; a bare number is written out plainly (1e-7 → "0.0000001"). */
function bookText(value: unknown, path: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (value === 0) return '0'; // -0 too
    if (Number.isFinite(value)) return toDec(value).toFixed();
  }
  throw new FrameError(`${path}: expected a decimal string, got ${shown(value)}`);
}

function priceOf(row: Body, path: string): string {
  const price = bookText(row.P, `${path}.P`);
  if (!isPositivePlainDecimal(price))
    throw new FrameError(`${path}.P: expected a price above zero such as "2900", got ${shown(price)}`);
  return price;
}

function amountOf(row: Body, path: string): string {
  const amount = bookText(row.A, `${path}.A`);
  if (!isPlainDecimal(amount, false))
    throw new FrameError(
      `${path}.A: expected an amount of zero or more such as "0.0092056", got ${shown(amount)}`,
    );
  return amount;
}

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The rows of one side (absent: none), each a plain object. */
function rowsOf(body: Body, side: 'AO' | 'BO'): readonly unknown[] {
  const rows = body[side];
  if (rows === undefined) return [];
  if (!Array.isArray(rows)) throw new FrameError(`${side}: expected a list of levels, got ${shown(rows)}`);
  return rows;
}

function rowAt(rows: readonly unknown[], index: number, side: string): Body {
  const row = rows[index];
  if (!isObject(row)) throw new FrameError(`${side}.${index}: expected a level {…}, got ${shown(row)}`);
  return row;
}

function bookHead(body: Body): { symbol: string; changeSet: number } {
  const { CS, PS } = body;
  if (typeof CS !== 'number' || !Number.isSafeInteger(CS) || CS < 0)
    throw new FrameError(`CS: expected a whole number of zero or more, got ${shown(CS)}`);
  if (typeof PS !== 'string' || PS.length === 0)
    throw new FrameError(`PS: expected a pair name, got ${shown(PS)}`);
  return { symbol: PS, changeSet: CS };
}

function levels(body: Body, side: 'AO' | 'BO'): BookLevelText[] {
  const rows = rowsOf(body, side);
  const out: BookLevelText[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rowAt(rows, i, side);
    const path = `${side}.${i}`;
    const price = priceOf(row, path);
    out.push({ price, quantity: amountOf(row, path) });
  }
  return out;
}

function changes(body: Body, side: 'AO' | 'BO'): BookLevelChange[] {
  const rows = rowsOf(body, side);
  const out: BookLevelChange[] = [];
  for (let i = 0; i < rows.length; i++) {
    const row = rowAt(rows, i, side);
    const path = `${side}.${i}`;
    const kind = row.CP;
    if (typeof kind !== 'number' || !Number.isSafeInteger(kind))
      throw new FrameError(`${path}.CP: expected a whole number, got ${shown(kind)}`);
    const price = priceOf(row, path);
    const quantity = amountOf(row, path);
    if (!isKnownChangeKind(kind))
      throw new FrameError(
        `${path}.CP: unknown change kind CP ${kind} at price ${shown(price)} ` +
          '(BTCTurk sends CP 0 amount replaced, 1 new level, 3 deleted)',
        'unknown-change-kind',
      );
    out.push({ price, quantity, remove: kind === CHANGE_KIND.deleted });
  }
  return out;
}

function ticker(row: z.infer<typeof tickerRow>, now: number): Ticker {
  // The stream's ticker carries no time of its own: it is as new as its arrival.
  return {
    symbol: row.PS,
    timestamp: now,
    last: row.LA,
    bid: row.B,
    ask: row.A,
    high: row.H,
    low: row.L,
    open: row.O,
    volume: row.V,
  };
}

function trade(row: z.infer<typeof tradeListRow>, pair: string | undefined): PublicTrade {
  const name = row.PS ?? pair;
  if (name === undefined) throw new FrameError('items: a trade names no pair, and neither does the list');
  return { tradeId: row.I, symbol: name, price: row.P, quantity: row.A, side: row.S, timestamp: row.D };
}

/**
 * The quantity of a 423 fill: `preciseAmount` when present (exact), else `amount` (truncated).
 * BTCTurk signs the amount by side (a sell's is negative): a sign that contradicts the side is a
 * problem, never silently flipped, and a zero fill is no fill. ASSUMPTION (BTCTurk): `preciseAmount`
 * is signed like `amount` (the one real 423, a sell, has both negative), and a truncated `amount`
 * of zero beside a non-zero `preciseAmount` (a fill below the amount's scale) is no contradiction.
 */
function fillQuantity(t: z.infer<typeof userTrade>): Decimal {
  const sellSign = t.orderType === 'sell';
  const contradicts = (d: Decimal): boolean => !d.isZero() && d.isNeg() !== sellSign;
  const expected = sellSign ? 'negative for a sell' : 'positive for a buy';
  for (const [name, value] of [
    ['amount', t.amount],
    ['preciseAmount', t.preciseAmount],
  ] as const) {
    if (value !== undefined && value !== null && contradicts(value))
      throw new FrameError(`${name}: ${value.toFixed()} on a ${t.orderType} fill (BTCTurk's is ${expected})`);
  }
  const quantity = t.preciseAmount ?? t.amount;
  if (quantity.isZero())
    throw new FrameError(`${t.preciseAmount ? 'preciseAmount' : 'amount'}: a fill of zero`);
  return quantity.abs();
}

/**
 * ASSUMPTION (BTCTurk): an order id of 0 marks no order. A 451 with every field zero arrives on a
 * socket that never logged in (ExchangeSharp ignores it); the same is assumed of 441/452/453 with
 * id 0 and of a 423 with orderId 0: such an event is dropped, never turned into an order event.
 */
function isNoOrder(value: unknown): boolean {
  return value === 0 || value === '0';
}

type Body = Record<string, unknown>;

/** Reads one frame's body; throws a ZodError or a FrameError on a body it cannot read. */
function read(type: number, body: Body, now: number): readonly WsMessage[] {
  switch (type) {
    case WS_TYPE.welcome:
      return [{ kind: 'welcome' }];
    case WS_TYPE.result: {
      const r = result.parse(body);
      return [{ kind: 'subscription-result', ok: r.ok, message: r.message }];
    }
    case WS_TYPE.login: {
      const r = result.parse(body);
      return [{ kind: 'login-result', ok: r.ok, message: r.message }];
    }
    case WS_TYPE.orderBook: {
      const { symbol, changeSet } = bookHead(body);
      const channel = body.channel;
      if (channel !== undefined && typeof channel !== 'string')
        throw new FrameError(`channel: expected a channel name, got ${shown(channel)}`);
      const asks = levels(body, 'AO');
      const bids = levels(body, 'BO');
      return [{ kind: 'book-snapshot', symbol, changeSet, periodic: channel === 'orderbook', bids, asks }];
    }
    case WS_TYPE.orderBookDiff: {
      const { symbol, changeSet } = bookHead(body);
      const asks = changes(body, 'AO');
      const bids = changes(body, 'BO');
      return [{ kind: 'book-diff', symbol, changeSet, bids, asks }];
    }
    case WS_TYPE.tickerPair:
      return [{ kind: 'ticker', ticker: ticker(tickerRow.parse(body), now) }];
    case WS_TYPE.tickerAll:
      return tickerList.parse(body).items.map((row) => ({ kind: 'ticker', ticker: ticker(row, now) }));
    case WS_TYPE.trade:
      return [{ kind: 'trade', trade: trade(tradeRow.parse(body), undefined) }];
    case WS_TYPE.tradeList: {
      const list = tradeList.parse(body);
      const pair = list.symbol ?? list.event ?? list.items[0]?.PS;
      if (pair === undefined) return NONE;
      return [{ kind: 'trades', symbol: pair, trades: list.items.map((row) => trade(row, pair)) }];
    }
    case WS_TYPE.userTrade: {
      if (isNoOrder(body.orderId)) return NONE;
      const t = userTrade.parse(body);
      const fill: FillReport = {
        tradeId: t.id,
        exchangeOrderId: t.orderId,
        clientOrderId: t.orderClientId,
        symbol: `${t.numeratorSymbol}${t.denominatorSymbol}`,
        base: t.numeratorSymbol,
        quote: t.denominatorSymbol,
        side: t.orderType,
        price: t.price,
        quantity: fillQuantity(t),
        fee: t.fee,
        tax: t.tax,
        // BTCTurk charges the fee in the quote currency of TRY and USDT pairs.
        feeAsset: t.denominatorSymbol,
        timestamp: t.timestamp,
      };
      return [{ kind: 'fill', fill }];
    }
    case WS_TYPE.orderMatch: {
      if (isNoOrder(body.id)) return NONE;
      const m = orderMatch.parse(body);
      // `symbol` names the pair and `pair` is its id; a `pair` given as a name (an older reading of
      // the unofficial field list) is taken as the name. ASSUMPTION (BTCTurk): a 441's `amount` is
      // positive on both sides (every real 441 is a sell with a positive amount; `isBid` says the side),
      // so a negative one is refused rather than read by its sign.
      const name = m.symbol ?? (typeof m.pair === 'string' ? m.pair : null);
      const pairId = typeof m.pair === 'number' ? m.pair : null;
      if (name === null && pairId === null)
        throw new FrameError('symbol: neither "symbol" nor "pair" names the pair');
      return [
        {
          kind: 'order-match',
          exchangeOrderId: m.id,
          clientOrderId: m.clientId,
          symbol: name,
          pairId,
          side: m.isBid ? 'buy' : 'sell',
          price: m.price,
          quantity: m.amount,
          timestamp: m.timestamp ?? null,
        },
      ];
    }
    case WS_TYPE.orderInsert:
    case WS_TYPE.orderDelete:
    case WS_TYPE.orderUpdate: {
      if (isNoOrder(body.id)) return NONE;
      const o = userOrder.parse(body);
      const change =
        type === WS_TYPE.orderInsert ? 'inserted' : type === WS_TYPE.orderDelete ? 'deleted' : 'updated';
      return [
        {
          kind: 'order',
          change,
          exchangeOrderId: o.id,
          clientOrderId: o.newOrderClientId,
          symbol: o.symbol,
          side: o.orderType,
          method: o.method,
          price: o.price.isZero() ? null : o.price, // BTCTurk writes 0 where an order has no price
          quantity: o.amount,
          leftQuantity: o.numLeft,
        },
      ];
    }
    case WS_TYPE.balance:
      return [
        {
          kind: 'balances',
          balances: balances
            .parse(body)
            .balances.map((b) => ({ asset: b.asset, total: b.balance, free: b.free, locked: b.locked })),
        },
      ];
    default:
      return NONE;
  }
}

const LEADING_TYPE = /^\s*\[\s*(\d{1,6})\s*,/;
const BOOK_TYPES: ReadonlySet<number> = new Set([WS_TYPE.orderBook, WS_TYPE.orderBookDiff]);
/** A pair name near the start of a book frame that is not JSON, so that its book can be resynced. */
const PAIR_NEAR_START = /"PS":"([A-Za-z0-9_]{1,32})"/;
/**
 * lossless-json parses recursively and runs out of stack a few thousand levels deep; no frame of
 * BTCTurk's nests deeper than four. JSON.parse (used for book frames) is iterative in V8.
 */
const MAX_LOSSLESS_DEPTH = 64;
/**
 * A bare JSON number of 16 digits or more (or digits and a dot), or with an exponent: one JSON.parse
 * might round (a double keeps up to 15 significant digits exactly). Only a frame with one needs the
 * lossless parser, a JS loop several times slower per character than JSON.parse. A bare number
 * always follows `[`, `:` or `,` (and whitespace), so none is missed; decimals in strings (BTCTurk
 * quotes its prices, amounts and trade ids: a ticker's 18-character `AV`, a 422's `I`) survive
 * JSON.parse and no longer cost the slow parser. The test may still match inside a string (a
 * message ":12345678901234567"), which only costs that frame the slower parser.
 */
const MAYBE_INEXACT_NUMBER = /[[:,]\s*-?(?:[\d.]{16,}|[\d.]+[eE])/;
const MAX_REASON = 300;

function describe(error: unknown): string {
  let text: string;
  if (error instanceof z.ZodError) {
    text = error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
      .join('; ');
  } else {
    text = error instanceof Error ? error.message : String(error);
  }
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text;
}

function pairOf(body: Body | null): string | null {
  if (body === null) return null;
  const name = body.PS ?? body.event;
  return typeof name === 'string' && name.length > 0 && name.length <= 64 ? name : null;
}

/** True when arrays and objects in `text` nest deeper than `limit` (strings skipped). Linear. */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

function failure(
  type: number | null,
  symbol: string | null,
  reason: string,
  cause: BookProblemCause = 'unreadable',
): ParsedFrame {
  return { ok: false, type, symbol, reason, cause };
}

function readGeneral(text: string, now: number): ParsedFrame {
  const leading = LEADING_TYPE.exec(text);
  const type = leading?.[1] === undefined ? null : Number(leading[1]);
  const isBook = type !== null && BOOK_TYPES.has(type);
  let parsed: unknown;
  try {
    if (isBook || !MAYBE_INEXACT_NUMBER.test(text)) {
      // Book frames hold no number beyond 2^53 and are the bulk of the traffic, and a frame without
      // a long number loses nothing to a double: the fast (and iterative) parser.
      parsed = JSON.parse(text);
    } else {
      if (nestsDeeperThan(text, MAX_LOSSLESS_DEPTH))
        return failure(type, null, `the frame nests deeper than ${MAX_LOSSLESS_DEPTH} levels`);
      parsed = parseJsonLossless(text);
    }
  } catch {
    const pair = isBook ? PAIR_NEAR_START.exec(text.slice(0, 256))?.[1] : undefined;
    return failure(type, pair ?? null, 'the frame is not JSON');
  }
  if (
    !Array.isArray(parsed) ||
    typeof parsed[0] !== 'number' ||
    typeof parsed[1] !== 'object' ||
    parsed[1] === null ||
    Array.isArray(parsed[1])
  )
    return failure(type, null, 'the frame is not [type, {...}]');
  const frameType = parsed[0];
  const body = parsed[1] as Body;
  try {
    return { ok: true, messages: read(frameType, body, now) };
  } catch (error) {
    return failure(
      frameType,
      BOOK_TYPES.has(frameType) ? pairOf(body) : null,
      describe(error),
      error instanceof FrameError ? error.problem : 'unreadable',
    );
  }
}

/**
 * The general reader alone: JSON.parse (lossless where a number might not survive a double) and
 * the field checks, for any layout.
 * parseFrame gives the same answer for every frame; exported for the differential tests.
 */
export function parseFrameGeneral(text: string, now: number): ParsedFrame {
  try {
    return readGeneral(text, now);
  } catch (error) {
    // Nothing above should throw; if something does, it is still a typed failure, never a crash.
    return failure(null, null, `the frame could not be read: ${describe(error)}`);
  }
}

/**
 * Reads one frame. `now` (wall-clock ms) dates tickers, which carry no time of their own. A frame
 * that is not `[type, {...}]`, or a known type whose body does not fit, is a failure naming why.
 * Never throws.
 */
export function parseFrame(text: string, now: number): ParsedFrame {
  // The bulk of the traffic first, without even a regular expression: most frames are change sets.
  try {
    if (text.startsWith('[432,')) {
      const diff = scanBookDiff(text);
      if (diff !== undefined) return { ok: true, messages: [diff] };
      bookReaderCounts.general++;
    } else if (text.startsWith('[422,')) {
      const trade = scanTrade(text);
      if (trade !== undefined) return { ok: true, messages: [trade] };
    } else if (text.startsWith('[402,')) {
      const ticker = scanTicker(text, now);
      if (ticker !== undefined) return { ok: true, messages: [ticker] };
    } else if (text.startsWith('[431,')) {
      const snapshot = scanBookSnapshot(text);
      if (snapshot !== undefined) return { ok: true, messages: [snapshot] };
      bookReaderCounts.general++;
    }
  } catch {
    // The fast readers give up rather than throw; should one throw anyway, the general reader decides.
  }
  return parseFrameGeneral(text, now);
}
