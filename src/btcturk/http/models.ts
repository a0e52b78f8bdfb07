import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { Dec, toDec } from '../../domain/decimal.ts';
import type {
  BalanceReport,
  ExchangeInfo,
  FillReport,
  OrderAck,
  OrderBookSnapshot,
  OrderStatusReport,
  PublicTrade,
  Ticker,
  VenueOrderStatus,
} from '../../domain/reports.ts';
import type { OrderMethod, Side, SymbolRules } from '../../domain/symbols.ts';
import { completeRules, mergeRules } from '../../domain/symbols.ts';

// Zod models of BTCTurk's replies (btcturk-api.md §4–5, btcturk-wire README) and their translation
// into the venue-neutral reports. Tolerance is deliberate and local to this file: decimals arrive as
// strings or numbers, ids as numbers or (above 2^53, kept exact by the lossless JSON parser) digit
// strings, names in two casings, unknown times as 0. What is never tolerated is a value that would
// silently become a wrong one: a missing payload read as "nothing", a zero or negative price, a
// negative amount made positive with abs(), a sign that contradicts the side. Each of those is a
// ReplyShapeError, which the client turns into a typed ExchangeError (`parse` for a read, `ambiguous`
// for a write) — that error is the unit in which such problems are counted.

/**
 * A reply whose shape or values we do not accept. The message names the field; a value is shown
 * only when it was read as a number (so no echoed secret can pass through it).
 */
export class ReplyShapeError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = 'ReplyShapeError';
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function parseWith<T>(schema: z.ZodType<T>, data: unknown): T {
  // The envelope had no `data` member: refusing here keeps an error body (or `{"success":true}`)
  // from being read as an empty list.
  if (data === undefined) throw new ReplyShapeError('the reply has no data member');
  const result = schema.safeParse(data);
  if (!result.success) throw new ReplyShapeError(describeIssues(result.error));
  return result.data;
}

// ASSUMPTION (BTCTurk): no price, amount or balance reaches 1e18; a larger one is a corrupt value
// (and would turn into Infinity wherever it meets a float, e.g. a metric).
const LIMIT = new Dec('1e18');

/** Which sign a decimal may have. */
type Sign = 'positive' | 'non-negative' | 'non-positive' | 'any';

const SIGN_RULE: Readonly<Record<Sign, (value: Decimal) => boolean>> = {
  positive: (v) => v.gt(0),
  'non-negative': (v) => !v.isNegative() || v.isZero(),
  'non-positive': (v) => v.isNegative() || v.isZero(),
  any: () => true,
};

/** A value read as a number, safe to show in a message. */
function shown(value: string | number): string {
  const text = String(value).trim();
  return text.length <= 40 ? text : `${text.slice(0, 40)}…`;
}

function readDecimal(value: string | number, sign: Sign, ctx: z.RefinementCtx): Decimal {
  let parsed: Decimal;
  try {
    parsed = toDec(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a decimal number' });
    return z.NEVER;
  }
  if (!parsed.isFinite() || parsed.abs().gte(LIMIT)) {
    ctx.addIssue({ code: 'custom', message: `implausibly large: ${shown(value)}` });
    return z.NEVER;
  }
  if (!SIGN_RULE[sign](parsed)) {
    ctx.addIssue({ code: 'custom', message: `must be ${sign}, got ${shown(value)}` });
    return z.NEVER;
  }
  return parsed;
}

/** A decimal with the given sign. */
function decimal(sign: Sign) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => readDecimal(value, sign, ctx));
}

/** An optional decimal: absent, null and "" all mean "not stated". */
function optionalDecimal(sign: Sign) {
  return z
    .union([z.string(), z.number()])
    .nullish()
    .transform((value, ctx): Decimal | null =>
      value === null || value === undefined || value === '' ? null : readDecimal(value, sign, ctx),
    );
}

// Order and trade ids: a positive integer, as a JSON number or (above 2^53) its exact digits.
// Id 0 names nothing (an all-zero event has been seen on a socket that never logged in).
const id = z
  .union([
    z
      .string()
      .regex(/^\d+$/, 'expected an integer id')
      .refine((v) => /[1-9]/.test(v), 'id 0 names nothing'),
    z.number().int().positive(),
  ])
  .transform(String);

// Milliseconds since the epoch, as a number or digit string, within what a Date can hold.
const millis = z
  .union([
    z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
    z.string().regex(/^\d{1,15}(\.\d+)?$/, 'expected milliseconds'),
  ])
  .transform((value) => Math.floor(Number(value)));

/** BTCTurk sends `time: 0` for times it does not know. */
const optionalMillis = millis
  .nullish()
  .transform((value) => (value === null || value === undefined || value === 0 ? null : value));

const optionalText = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value) => (value === null || value === undefined || value === '' ? null : String(value)));

const side = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['buy', 'sell']));

// "limit", "Limit", "STOP_LIMIT", "stoplimit" all name the same method.
const method = z
  .string()
  .transform((value) => value.toLowerCase().replace(/[^a-z]/g, ''))
  .pipe(z.enum(['limit', 'market', 'stoplimit', 'stopmarket']));

const STATUS: Readonly<Record<string, VenueOrderStatus>> = {
  untouched: 'open',
  partial: 'partially_filled',
  canceled: 'canceled',
  cancelled: 'canceled',
  closed: 'filled',
  filled: 'filled',
};

/** "BTC_TRY", "btctry" and "BTCTRY" all name BTCTRY. */
export function normalSymbol(symbol: string): string {
  return symbol.replace(/[^A-Za-z0-9]/g, '').toUpperCase();
}

function positiveOrNull(value: Decimal | null): Decimal | null {
  return value !== null && value.gt(0) ? value : null;
}

// A price of 0 on BTCTurk means "none" (market orders, orders without a stop); a negative one was
// already refused by the schema.
function priceOrNull(value: Decimal | null): Decimal | null {
  return value === null || value.isZero() ? null : value;
}

// ---------------------------------------------------------------- server time

// Bare on the wire (btcturk-wire rest-server-time), wrapped in the envelope elsewhere. A zero time
// would shift every stamp by decades.
const serverTimeSchema = z.object({
  serverTime: millis.refine((ms) => ms > 0, 'must be positive'),
});

export function parseServerTime(data: unknown): number {
  return parseWith(serverTimeSchema, data).serverTime;
}

// ---------------------------------------------------------------- exchange info

const ORDER_METHODS: Readonly<Record<string, OrderMethod>> = {
  LIMIT: 'limit',
  MARKET: 'market',
  STOP_LIMIT: 'stoplimit',
  STOP_MARKET: 'stopmarket',
};

const scale = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a whole number')])
  .transform(Number);

const priceFilterSchema = z.object({
  filterType: z.literal('PRICE_FILTER'),
  // Bounds that are zero or negative state no rule: positiveOrNull drops them.
  minPrice: optionalDecimal('any'),
  maxPrice: optionalDecimal('any'),
  tickSize: optionalDecimal('any'),
  minExchangeValue: optionalDecimal('any'),
  minAmount: optionalDecimal('any'),
  maxAmount: optionalDecimal('any'),
});

const symbolRowSchema = z.object({
  name: z.string().min(1),
  status: z.string().min(1),
  numerator: z.string().min(1),
  denominator: z.string().min(1),
  numeratorScale: scale,
  denominatorScale: scale,
  filters: z.array(z.unknown()).nullish(),
  orderMethods: z.array(z.string()).nullish(),
  minimumLimitOrderPrice: optionalDecimal('any'),
  maximumLimitOrderPrice: optionalDecimal('any'),
});

const exchangeInfoSchema = z.object({
  serverTime: optionalMillis,
  symbols: z.array(z.unknown()),
});

/** The tighter of two optional bounds (larger minimum, smaller maximum). */
function tighter(a: Decimal | null, b: Decimal | null, keep: 'max' | 'min'): Decimal | null {
  if (a === null) return b;
  if (b === null) return a;
  return keep === 'max' ? (a.gt(b) ? a : b) : a.lt(b) ? a : b;
}

function symbolRules(row: z.infer<typeof symbolRowSchema>): SymbolRules {
  const filter = (row.filters ?? []).map((f) => priceFilterSchema.safeParse(f)).find((r) => r.success)?.data;
  const methods = (row.orderMethods ?? []).flatMap((m) => {
    const known = ORDER_METHODS[m.toUpperCase()];
    return known ? [known] : [];
  });
  // Each source may state a rule or send null; a null never erases a rule stated by another source.
  return completeRules(
    mergeRules(
      {
        symbol: normalSymbol(row.name),
        base: row.numerator.toUpperCase(),
        quote: row.denominator.toUpperCase(),
        status: row.status,
        quantityScale: row.numeratorScale,
        priceScale: row.denominatorScale,
        orderMethods: methods.length > 0 ? methods : null,
      },
      {
        tickSize: positiveOrNull(filter?.tickSize ?? null),
        minExchangeValue: positiveOrNull(filter?.minExchangeValue ?? null),
        minQuantity: positiveOrNull(filter?.minAmount ?? null),
        maxQuantity: positiveOrNull(filter?.maxAmount ?? null),
        // The filter's static bounds and the row's current price band both bind: keep the tighter.
        minPrice: tighter(
          positiveOrNull(filter?.minPrice ?? null),
          positiveOrNull(row.minimumLimitOrderPrice),
          'max',
        ),
        maxPrice: tighter(
          positiveOrNull(filter?.maxPrice ?? null),
          positiveOrNull(row.maximumLimitOrderPrice),
          'min',
        ),
      },
    ),
  );
}

/** A market-wide row that could not be read; the rest of the list stays usable. */
export interface SkippedRow {
  readonly name: string;
  readonly problem: string;
}

function rowName(row: unknown, ...keys: string[]): string {
  if (typeof row !== 'object' || row === null) return '?';
  const record = row as Record<string, unknown>;
  const name = keys.map((k) => record[k]).find((v) => typeof v === 'string');
  return typeof name === 'string' ? name : '?';
}

function problemOf(error: unknown): string {
  if (error instanceof z.ZodError) return describeIssues(error);
  return error instanceof Error ? error.message : String(error);
}

/**
 * Market-wide lists skip a row they cannot read (a new pair with odd fields must not take every
 * other pair down) and say which; our own orders, fills and balances never skip anything.
 */
export function parseExchangeInfo(data: unknown): { info: ExchangeInfo; skipped: SkippedRow[] } {
  const body = parseWith(exchangeInfoSchema, data);
  const symbols: SymbolRules[] = [];
  const skipped: SkippedRow[] = [];
  for (const row of body.symbols) {
    try {
      symbols.push(symbolRules(symbolRowSchema.parse(row)));
    } catch (error) {
      skipped.push({ name: rowName(row, 'name'), problem: problemOf(error) });
    }
  }
  return { info: { serverTime: body.serverTime, symbols }, skipped };
}

// ---------------------------------------------------------------- public market data

/** BTCTurk's REST book holds at most this many levels a side, whatever `limit` asks (btcturk-wire). */
export const REST_BOOK_MAX_LEVELS = 100;

// A level is a price with something at it: a price of 0 or a negative size is no level.
const bookRow = z.tuple([decimal('positive'), decimal('positive')], z.unknown());
const orderBookSchema = z.object({
  timestamp: millis,
  bids: z.array(bookRow),
  asks: z.array(bookRow),
});

export function parseOrderBook(data: unknown, symbol: string): OrderBookSnapshot {
  const book = parseWith(orderBookSchema, data);
  const levels = (rows: typeof book.bids) => rows.map(([price, quantity]) => ({ price, quantity }));
  return {
    symbol: normalSymbol(symbol),
    timestamp: book.timestamp,
    bids: levels(book.bids).sort((a, b) => b.price.comparedTo(a.price)),
    asks: levels(book.asks).sort((a, b) => a.price.comparedTo(b.price)),
  };
}

// ASSUMPTION (BTCTurk): a ticker's prices are positive (the ccxt capture sends JSON numbers); a row
// with a zero or negative price is skipped and reported like any other unreadable row.
const tickerRowSchema = z.object({
  pair: z.string().min(1),
  timestamp: millis,
  last: decimal('positive'),
  high: decimal('positive'),
  low: decimal('positive'),
  bid: decimal('positive'),
  ask: decimal('positive'),
  open: decimal('positive'),
  volume: decimal('non-negative'),
});

export function parseTickers(data: unknown): { tickers: Ticker[]; skipped: SkippedRow[] } {
  const rows = parseWith(z.array(z.unknown()), data);
  const tickers: Ticker[] = [];
  const skipped: SkippedRow[] = [];
  for (const raw of rows) {
    const parsed = tickerRowSchema.safeParse(raw);
    if (!parsed.success) {
      skipped.push({ name: rowName(raw, 'pair'), problem: describeIssues(parsed.error) });
      continue;
    }
    const row = parsed.data;
    tickers.push({
      symbol: normalSymbol(row.pair),
      timestamp: row.timestamp,
      last: row.last,
      bid: row.bid,
      ask: row.ask,
      high: row.high,
      low: row.low,
      open: row.open,
      volume: row.volume,
    });
  }
  return { tickers, skipped };
}

// ASSUMPTION (BTCTurk): public trades carry an unsigned amount and say the side in `side`; a
// negative amount is refused rather than turned positive.
const tradeRowSchema = z.object({
  pair: z.string().nullish(),
  date: millis,
  tid: id,
  price: decimal('positive'),
  amount: decimal('positive'),
  side,
});

export function parseTrades(data: unknown, symbol: string): PublicTrade[] {
  return parseWith(z.array(tradeRowSchema), data).map((row) => ({
    tradeId: row.tid,
    symbol: normalSymbol(row.pair ?? symbol),
    price: row.price,
    quantity: row.amount,
    side: row.side,
    timestamp: row.date,
  }));
}

// ---------------------------------------------------------------- balances

// Rows as on the wire (btcturk-wire rest-balance-row-2025): strings for amounts, an integer
// precision. A negative balance cannot be: refused, never treated as zero.
const balanceRowSchema = z.object({
  asset: z.string().min(1),
  balance: decimal('non-negative'),
  locked: decimal('non-negative'),
  free: decimal('non-negative'),
});

export function parseBalances(data: unknown): BalanceReport[] {
  return parseWith(z.array(balanceRowSchema), data).map((row) => ({
    asset: row.asset.toUpperCase(),
    total: row.balance,
    free: row.free,
    locked: row.locked,
  }));
}

// ---------------------------------------------------------------- orders

// ASSUMPTION (BTCTurk): order rows (openOrders, allOrders, order/{id}, the POST reply) carry
// unsigned amounts and prices for both sides — every capture and docs example does. Unlike fills,
// nothing here is signed by side, so a negative amount or price is a corrupt row, refused.
const orderRowSchema = z
  .object({
    id,
    // 0 for market orders. ASSUMPTION (BTCTurk): every order row has a price (every sample does);
    // a missing one would otherwise read as "no price" on a limit order.
    price: decimal('non-negative'),
    stopPrice: optionalDecimal('non-negative'), // allOrders rows may leave it out
    amount: optionalDecimal('non-negative'),
    quantity: optionalDecimal('non-negative'),
    leftAmount: optionalDecimal('non-negative'),
    pairSymbol: z.string().nullish(),
    pairsymbol: z.string().nullish(), // allOrders' spelling
    type: side,
    method,
    orderClientId: optionalText,
    newOrderClientId: optionalText,
    time: optionalMillis,
    updateTime: optionalMillis,
    status: z.string().nullish(),
  })
  .transform((row, ctx): OrderStatusReport => {
    const symbol = row.pairSymbol ?? row.pairsymbol;
    const quantity = row.quantity ?? row.amount;
    // A market buy is sized in the quote currency. ASSUMPTION (BTCTurk): its row's quantity, amount
    // and leftAmount are no base amounts to count fills against — one capture (broker-api-docs#429,
    // allOrders, a closed market buy) shows quantity "0.0000000000000001", amount the base bought
    // and leftAmount 0, the simulator states them in the quote — so the report is marked quote-sized
    // and only its status is read: its fills give its base quantity, and a quantity of 0 is no error.
    const quoteSized = row.type === 'buy' && (row.method === 'market' || row.method === 'stopmarket');
    if (!symbol) ctx.addIssue({ code: 'custom', message: 'pairSymbol is missing', path: ['pairSymbol'] });
    if (!quantity) ctx.addIssue({ code: 'custom', message: 'quantity is missing', path: ['quantity'] });
    else if (quantity.isZero() && !quoteSized)
      ctx.addIssue({ code: 'custom', message: 'must be positive, got 0', path: ['quantity'] });
    if ((row.method === 'limit' || row.method === 'stoplimit') && row.price.isZero())
      ctx.addIssue({
        code: 'custom',
        message: `a ${row.method} order needs a price, got 0`,
        path: ['price'],
      });
    const left = row.leftAmount;
    let status: VenueOrderStatus | undefined;
    if (row.status) {
      status = STATUS[row.status.toLowerCase()];
      if (!status)
        ctx.addIssue({ code: 'custom', message: `unknown order status "${row.status}"`, path: ['status'] });
    } else if (quantity && left) {
      // openOrders rows may come without a status: the resting remainder tells it.
      status = left.lt(quantity) ? 'partially_filled' : 'open';
    } else ctx.addIssue({ code: 'custom', message: 'status is missing', path: ['status'] });
    if (!symbol || !quantity || (quantity.isZero() && !quoteSized) || !status) return z.NEVER;
    return {
      exchangeOrderId: row.id,
      clientOrderId: row.orderClientId ?? row.newOrderClientId,
      symbol: normalSymbol(symbol),
      side: row.type,
      method: row.method,
      price: priceOrNull(row.price),
      stopPrice: priceOrNull(row.stopPrice),
      quantity,
      leftQuantity: left,
      ...(quoteSized ? { quoteSized: true } : {}),
      status,
      createdAt: row.time,
      updatedAt: row.updateTime,
    };
  });

// Both sides are always there on the wire (btcturk-wire rest-open-orders-*), even when empty: a
// reply without them is not "no open orders".
// ASSUMPTION (BTCTurk): openOrders always sends both `asks` and `bids` (every sample does).
const openOrdersSchema = z.object({
  asks: z.array(orderRowSchema),
  bids: z.array(orderRowSchema),
});

export function parseOpenOrders(data: unknown): OrderStatusReport[] {
  const book = parseWith(openOrdersSchema, data);
  return [...book.bids, ...book.asks];
}

export function parseOrderHistory(data: unknown): OrderStatusReport[] {
  return parseWith(z.array(orderRowSchema), data);
}

/** GET /order/{id}: one row, or (tolerated) a list holding it. */
export function parseSingleOrder(data: unknown, exchangeOrderId: string): OrderStatusReport {
  if (!Array.isArray(data)) {
    const order = parseWith(orderRowSchema, data);
    if (order.exchangeOrderId !== exchangeOrderId)
      throw new ReplyShapeError(
        `asked for order ${exchangeOrderId}, the reply is order ${order.exchangeOrderId}`,
      );
    return order;
  }
  const match = parseWith(z.array(orderRowSchema), data).find((o) => o.exchangeOrderId === exchangeOrderId);
  if (!match) throw new ReplyShapeError(`the reply lists no order with id ${exchangeOrderId}`);
  return match;
}

// POST /order's data: since 2020 lower-case type/method and message "SUCCESS"; older replies and the
// docs say "OK" and "Buy"/"Limit" (btcturk-wire rest-order-post-*). A market order's price is "0".
const orderAckSchema = z.object({
  id,
  datetime: optionalMillis,
  type: side.nullish(),
  method: method.nullish(),
  price: optionalDecimal('non-negative'),
  stopPrice: optionalDecimal('non-negative'),
  quantity: optionalDecimal('positive'),
  pairSymbol: z.string().nullish(),
  newOrderClientId: optionalText,
});

/** What POST /order answered; a field the reply leaves out is taken from what was sent. */
export interface SentOrder {
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly quantity: Decimal;
  readonly price?: Decimal | undefined;
  readonly quoteAmount?: Decimal | undefined;
  readonly clientOrderId: string;
}

/**
 * The acknowledgement of a placed order. A negative quantity or price is refused, never made
 * positive: the client reports the unreadable reply as ambiguous and a lookup finds out what the
 * exchange really holds.
 */
export function parseOrderAck(data: unknown, sent: SentOrder): OrderAck {
  const ack = parseWith(orderAckSchema, data);
  return {
    exchangeOrderId: ack.id,
    clientOrderId: ack.newOrderClientId ?? sent.clientOrderId,
    symbol: normalSymbol(ack.pairSymbol ?? sent.symbol),
    side: ack.type ?? sent.side,
    method: ack.method ?? sent.method,
    price: priceOrNull(ack.price) ?? sent.price ?? null,
    // A quote-sized buy's `quantity` on the wire is the quote amount, not a base quantity.
    quantity: sent.quoteAmount === undefined ? (ack.quantity ?? sent.quantity) : sent.quantity,
    createdAt: ack.datetime,
  };
}

// ---------------------------------------------------------------- fills

// users/transactions/trade signs amounts: a sell's amount is negative, a buy's positive, and fee and
// tax are negative (charged) on both sides (btcturk-wire rest-user-trades-docs, ws-user-trade-423).
// A sign that contradicts the side is refused, never flipped with abs().
// ASSUMPTION (BTCTurk): every fill row states its fee and tax, and neither is ever positive (no
// rebates); `preciseAmount` is optional (the docs example has none) and signed like `amount`.
const fillRowSchema = z
  .object({
    id,
    orderId: id,
    orderClientId: optionalText,
    timestamp: millis,
    price: decimal('positive'),
    amount: decimal('any'),
    preciseAmount: optionalDecimal('any'),
    fee: decimal('non-positive'),
    tax: decimal('non-positive'),
    numeratorSymbol: z.string().min(1),
    denominatorSymbol: z.string().min(1),
    orderType: side.nullish(),
  })
  .transform((row, ctx): FillReport => {
    const signed = [
      ['amount', row.amount],
      ['preciseAmount', row.preciseAmount],
    ] as const;
    const negative = signed.some(([, v]) => v !== null && v.lt(0));
    const positive = signed.some(([, v]) => v !== null && v.gt(0));
    if (negative && positive)
      ctx.addIssue({
        code: 'custom',
        message: 'amount and preciseAmount have opposite signs',
        path: ['amount'],
      });
    const fillSide: Side = row.orderType ?? (negative ? 'sell' : 'buy');
    for (const [field, value] of signed) {
      if (value === null) continue;
      if (fillSide === 'sell' ? value.gt(0) : value.lt(0))
        ctx.addIssue({
          code: 'custom',
          message: `a ${fillSide} is ${fillSide === 'sell' ? 'negative' : 'positive'} on BTCTurk, got ${value.toFixed()}`,
          path: [field],
        });
    }
    // `amount` is truncated, `preciseAmount` exact: a tiny fill can show amount "0" beside a
    // non-zero precise one, so only the amount used must be non-zero.
    // ASSUMPTION (BTCTurk): no fill row is for nothing; one whose amount used is 0 is refused.
    const quantity = (row.preciseAmount ?? row.amount).abs();
    if (quantity.isZero())
      ctx.addIssue({ code: 'custom', message: 'a fill of nothing: the amount is 0', path: ['amount'] });
    const base = row.numeratorSymbol.toUpperCase();
    const quote = row.denominatorSymbol.toUpperCase();
    return {
      tradeId: row.id,
      exchangeOrderId: row.orderId,
      clientOrderId: row.orderClientId,
      symbol: `${base}${quote}`,
      base,
      quote,
      side: fillSide,
      price: row.price,
      quantity,
      // Charged amounts arrive negative: costs here are their magnitudes.
      fee: row.fee.abs(),
      tax: row.tax.abs(),
      // The row names no fee asset; BTCTurk charges trading fees in the quote currency.
      feeAsset: quote,
      timestamp: row.timestamp,
    };
  });

export function parseFills(data: unknown): FillReport[] {
  return parseWith(z.array(fillRowSchema), data);
}
