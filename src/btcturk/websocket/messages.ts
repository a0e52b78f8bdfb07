import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { toDec } from '../../domain/decimal.ts';
import type { OrderMethod, Side } from '../../domain/orders.ts';
import type { BalanceReport, FillReport, PublicTrade, Ticker } from '../../domain/reports.ts';
import type { BookLevelChange, BookLevelText, MarketFeedEvent } from '../../ports/market-feed.ts';
import type { OrderMatchEvent, OrderUpdateEvent } from '../../ports/user-stream.ts';
import { parseJsonLossless } from '../common/json.ts';
import { CP_REMOVED, isPlainDecimal, scanBookDiff } from './diff-scanner.ts';

// BTCTurk's WebSocket frames (btcturk-api.md §8), every one `[type, {...}]`, read into venue-neutral
// events. Unknown types are ignored. Field lists marked unofficial there are read tolerantly: ids as
// strings or bare integers (kept exact: a trade id can exceed 2^53), decimals as strings or numbers.
//
// Change kinds (`CP`) of an obdiff (432) row: BTCTurk does not document them. `A` is always the
// level's new total, so a row sets the level to `A`, and a row removes the level when CP is 2 (the
// removal code, as src/sim/server/ws-frames.ts encodes 0 = new level, 1 = amount changed,
// 2 = removed) or when `A` is zero. Any other CP value sets the level like 0 and 1: a wrong guess
// shows up in the periodic full-book cross-check (src/market/book-keeper.ts) and heals there.

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
  /** `symbol`: the pair a book frame was about, when it could be told, so its book can be resynced. */
  | {
      readonly ok: false;
      readonly type: number | null;
      readonly symbol: string | null;
      readonly reason: string;
    };

const NONE: readonly WsMessage[] = [];

// ---- field schemas --------------------------------------------------------------------------------

const textOrNumber = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v));
const priceText = textOrNumber.refine(
  (v) => isPlainDecimal(v, false),
  'expected a plain decimal such as "3400000.00"',
);
const amountText = textOrNumber.refine(
  (v) => isPlainDecimal(v, true),
  'expected a plain decimal such as "0.125"',
);
const decimal = textOrNumber.transform((v, ctx): Decimal => {
  try {
    return toDec(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `expected a decimal, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
});
/** Costs are sometimes sent negative (REST fills do); the report holds them as positive costs. */
const cost = decimal.transform((v) => v.abs());
const id = z.union([z.string().min(1), z.number().int()]).transform(String);
const millis = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)]);
const optionalClientId = z
  .union([z.string(), z.null(), z.undefined()])
  .transform((v) => (v === undefined || v === null || v === '' ? null : v));
const symbol = z.string().min(1);

/** 0/1 codes (0 buy), or the words in any case. */
const side = z.union([z.number().int(), z.string()]).transform((v, ctx): Side => {
  const word = typeof v === 'number' ? (v === 0 ? 'buy' : v === 1 ? 'sell' : '') : v.toLowerCase();
  if (word === 'buy' || word === 'sell') return word;
  ctx.addIssue({ code: 'custom', message: `expected a side (0/1, buy/sell), got ${JSON.stringify(v)}` });
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

const bookRow = z.object({ A: amountText, P: priceText });
const diffRow = bookRow.extend({ CP: z.number().int() });

const orderBook = z.object({
  CS: z.number().int().nonnegative(),
  PS: symbol,
  AO: z.array(bookRow).default([]),
  BO: z.array(bookRow).default([]),
  channel: z.string().optional(),
});

const orderBookDiff = z.object({
  CS: z.number().int().nonnegative(),
  PS: symbol,
  AO: z.array(diffRow).default([]),
  BO: z.array(diffRow).default([]),
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

const tradeRow = z.object({ D: millis, I: id, A: decimal, P: decimal, S: side, PS: symbol });

const userTrade = z.object({
  id,
  orderId: id,
  timestamp: millis,
  numeratorSymbol: symbol,
  denominatorSymbol: symbol,
  amount: cost, // negative for sells in REST fills; the side says the direction
  fee: cost,
  tax: cost,
  price: decimal,
  orderType: side,
  orderClientId: optionalClientId,
});

const orderMatch = z.object({
  id,
  timestamp: millis,
  symbol: z.unknown(),
  pair: z.unknown(),
  isBid: z.boolean(),
  price: decimal,
  amount: decimal,
  clientId: optionalClientId,
});

const userOrder = z.object({
  id,
  symbol,
  price: decimal,
  amount: decimal,
  numLeft: decimal,
  orderType: side,
  method,
  newOrderClientId: optionalClientId,
});

const balanceRow = z.object({ asset: symbol, balance: decimal, free: decimal, locked: decimal });
const balances = z.object({ balances: z.array(balanceRow) });

// ---- conversion ----------------------------------------------------------------------------------

function levels(rows: readonly { A: string; P: string }[]): BookLevelText[] {
  return rows.map((row) => ({ price: row.P, quantity: row.A }));
}

function changes(rows: readonly { A: string; P: string; CP: number }[]): BookLevelChange[] {
  return rows.map((row) => ({ price: row.P, quantity: row.A, remove: row.CP === CP_REMOVED }));
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

function trade(row: z.infer<typeof tradeRow>): PublicTrade {
  return { tradeId: row.I, symbol: row.PS, price: row.P, quantity: row.A, side: row.S, timestamp: row.D };
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
      const b = orderBook.parse(body);
      return [
        {
          kind: 'book-snapshot',
          symbol: b.PS,
          changeSet: b.CS,
          periodic: b.channel === 'orderbook',
          bids: levels(b.BO),
          asks: levels(b.AO),
        },
      ];
    }
    case WS_TYPE.orderBookDiff: {
      const b = orderBookDiff.parse(body);
      return [{ kind: 'book-diff', symbol: b.PS, changeSet: b.CS, bids: changes(b.BO), asks: changes(b.AO) }];
    }
    case WS_TYPE.tickerPair:
      return [{ kind: 'ticker', ticker: ticker(tickerRow.parse(body), now) }];
    case WS_TYPE.tickerAll:
      return z
        .object({ items: z.array(tickerRow) })
        .parse(body)
        .items.map((row) => ({ kind: 'ticker', ticker: ticker(row, now) }));
    case WS_TYPE.trade:
      return [{ kind: 'trade', trade: trade(tradeRow.parse(body)) }];
    case WS_TYPE.tradeList: {
      const list = z.object({ items: z.array(tradeRow), event: z.string().optional() }).parse(body);
      const pair = list.event ?? list.items[0]?.PS;
      return pair === undefined ? NONE : [{ kind: 'trades', symbol: pair, trades: list.items.map(trade) }];
    }
    case WS_TYPE.userTrade: {
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
        quantity: t.amount,
        fee: t.fee,
        tax: t.tax,
        // BTCTurk charges the fee in the quote currency of TRY and USDT pairs.
        feeAsset: t.denominatorSymbol,
        timestamp: t.timestamp,
      };
      return [{ kind: 'fill', fill }];
    }
    case WS_TYPE.orderMatch: {
      const m = orderMatch.parse(body);
      // Unofficial field list: `symbol` names the pair; some clients show `pair` doing so instead.
      const name = typeof m.symbol === 'string' ? m.symbol : typeof m.pair === 'string' ? m.pair : null;
      if (name === null) throw new FrameError('symbol: neither "symbol" nor "pair" names the pair');
      return [
        {
          kind: 'order-match',
          exchangeOrderId: m.id,
          clientOrderId: m.clientId,
          symbol: name,
          side: m.isBid ? 'buy' : 'sell',
          price: m.price,
          quantity: m.amount,
          timestamp: m.timestamp,
        },
      ];
    }
    case WS_TYPE.orderInsert:
    case WS_TYPE.orderDelete:
    case WS_TYPE.orderUpdate: {
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

class FrameError extends Error {}

const LEADING_TYPE = /^\s*\[\s*(\d{1,6})\s*,/;
const BOOK_TYPES: ReadonlySet<number> = new Set([WS_TYPE.orderBook, WS_TYPE.orderBookDiff]);

function describe(error: unknown): string {
  if (error instanceof z.ZodError) {
    return error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`)
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

function pairOf(body: Body | null): string | null {
  if (body === null) return null;
  const name = body.PS ?? body.event;
  return typeof name === 'string' && name.length > 0 ? name : null;
}

/**
 * Reads one frame. `now` (wall-clock ms) dates tickers, which carry no time of their own. A frame
 * that is not `[type, {...}]`, or a known type whose body does not fit, is a failure naming why.
 */
export function parseFrame(text: string, now: number): ParsedFrame {
  // The bulk of the traffic first, without even a regular expression: most frames are change sets.
  if (text.startsWith('[432,')) {
    const diff = scanBookDiff(text);
    if (diff !== undefined) return { ok: true, messages: [diff] };
  }
  const leading = LEADING_TYPE.exec(text);
  const type = leading?.[1] === undefined ? null : Number(leading[1]);
  let parsed: unknown;
  try {
    // Book frames hold no number beyond 2^53 and are the bulk of the traffic: the fast parser.
    parsed = type !== null && BOOK_TYPES.has(type) ? JSON.parse(text) : parseJsonLossless(text);
  } catch {
    return { ok: false, type, symbol: null, reason: 'the frame is not JSON' };
  }
  if (
    !Array.isArray(parsed) ||
    typeof parsed[0] !== 'number' ||
    typeof parsed[1] !== 'object' ||
    parsed[1] === null
  )
    return { ok: false, type, symbol: null, reason: 'the frame is not [type, {...}]' };
  const frameType = parsed[0];
  const body = parsed[1] as Body;
  try {
    return { ok: true, messages: read(frameType, body, now) };
  } catch (error) {
    return {
      ok: false,
      type: frameType,
      symbol: BOOK_TYPES.has(frameType) ? pairOf(body) : null,
      reason: describe(error),
    };
  }
}
