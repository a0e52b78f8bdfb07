import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { toDec } from '../../domain/decimal.ts';
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

// Zod models of BTCTurk's replies (btcturk-api.md §4–5) and their translation into the
// venue-neutral reports. Tolerance is deliberate and local to this file: decimals arrive as strings
// or numbers, ids as strings or (above 2^53, kept exact by the lossless JSON parser) digit strings,
// names in two casings, sells with negative amounts, unknown times as 0.

/** A reply whose shape we do not understand; the message names the field and never a value. */
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
  const result = schema.safeParse(data);
  if (!result.success) throw new ReplyShapeError(describeIssues(result.error));
  return result.data;
}

const decimal = z.union([z.string(), z.number()]).transform((value, ctx): Decimal => {
  try {
    return toDec(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected a decimal number' });
    return z.NEVER;
  }
});

/** An optional decimal: absent, null and "" all mean "not stated". */
const optionalDecimal = z
  .union([z.string(), z.number()])
  .nullish()
  .transform((value, ctx): Decimal | null => {
    if (value === null || value === undefined || value === '') return null;
    try {
      return toDec(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a decimal number' });
      return z.NEVER;
    }
  });

const id = z.union([z.string().min(1), z.number().int().nonnegative()]).transform(String);

const millis = z
  .union([z.number().nonnegative(), z.string().regex(/^\d+(\.\d+)?$/, 'expected milliseconds')])
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

// A price of 0 on BTCTurk means "none" (market orders, orders without a stop).
function priceOrNull(value: Decimal | null): Decimal | null {
  return value === null || value.isZero() ? null : value.abs();
}

// ---------------------------------------------------------------- server time

const serverTimeSchema = z.object({ serverTime: millis });

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
  minPrice: optionalDecimal,
  maxPrice: optionalDecimal,
  tickSize: optionalDecimal,
  minExchangeValue: optionalDecimal,
  minAmount: optionalDecimal,
  maxAmount: optionalDecimal,
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
  minimumLimitOrderPrice: optionalDecimal,
  maximumLimitOrderPrice: optionalDecimal,
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

const bookRow = z.tuple([decimal, decimal], z.unknown());
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

const tickerRowSchema = z.object({
  pair: z.string().min(1),
  timestamp: millis,
  last: decimal,
  high: decimal,
  low: decimal,
  bid: decimal,
  ask: decimal,
  open: decimal,
  volume: decimal,
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

const tradeRowSchema = z.object({
  pair: z.string().nullish(),
  date: millis,
  tid: id,
  price: decimal,
  amount: decimal,
  side,
});

export function parseTrades(data: unknown, symbol: string): PublicTrade[] {
  return parseWith(z.array(tradeRowSchema), data).map((row) => ({
    tradeId: row.tid,
    symbol: normalSymbol(row.pair ?? symbol),
    price: row.price,
    quantity: row.amount.abs(),
    side: row.side,
    timestamp: row.date,
  }));
}

// ---------------------------------------------------------------- balances

const balanceRowSchema = z.object({
  asset: z.string().min(1),
  balance: decimal,
  locked: decimal,
  free: decimal,
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

const orderRowSchema = z
  .object({
    id,
    price: optionalDecimal,
    stopPrice: optionalDecimal,
    amount: optionalDecimal,
    quantity: optionalDecimal,
    leftAmount: optionalDecimal,
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
    if (!symbol) ctx.addIssue({ code: 'custom', message: 'pairSymbol is missing', path: ['pairSymbol'] });
    if (!quantity) ctx.addIssue({ code: 'custom', message: 'quantity is missing', path: ['quantity'] });
    const left = row.leftAmount?.abs() ?? null;
    let status: VenueOrderStatus | undefined;
    if (row.status) {
      status = STATUS[row.status.toLowerCase()];
      if (!status)
        ctx.addIssue({ code: 'custom', message: `unknown order status "${row.status}"`, path: ['status'] });
    } else if (quantity && left) {
      // openOrders rows may come without a status: the resting remainder tells it.
      status = left.lt(quantity.abs()) ? 'partially_filled' : 'open';
    } else ctx.addIssue({ code: 'custom', message: 'status is missing', path: ['status'] });
    if (!symbol || !quantity || !status) return z.NEVER;
    return {
      exchangeOrderId: row.id,
      clientOrderId: row.orderClientId ?? row.newOrderClientId,
      symbol: normalSymbol(symbol),
      side: row.type,
      method: row.method,
      price: priceOrNull(row.price),
      stopPrice: priceOrNull(row.stopPrice),
      quantity: quantity.abs(),
      leftQuantity: left,
      status,
      createdAt: row.time,
      updatedAt: row.updateTime,
    };
  });

const openOrdersSchema = z.object({
  asks: z.array(orderRowSchema).nullish(),
  bids: z.array(orderRowSchema).nullish(),
});

export function parseOpenOrders(data: unknown): OrderStatusReport[] {
  const book = parseWith(openOrdersSchema, data);
  return [...(book.bids ?? []), ...(book.asks ?? [])];
}

export function parseOrderHistory(data: unknown): OrderStatusReport[] {
  return parseWith(z.array(orderRowSchema), data);
}

/** GET /order/{id}: one row, or (tolerated) a list holding it. */
export function parseSingleOrder(data: unknown, exchangeOrderId: string): OrderStatusReport {
  if (!Array.isArray(data)) return parseWith(orderRowSchema, data);
  const match = parseWith(z.array(orderRowSchema), data).find((o) => o.exchangeOrderId === exchangeOrderId);
  if (!match) throw new ReplyShapeError(`the reply lists no order with id ${exchangeOrderId}`);
  return match;
}

const orderAckSchema = z.object({
  id,
  datetime: optionalMillis,
  type: side.nullish(),
  method: method.nullish(),
  price: optionalDecimal,
  quantity: optionalDecimal,
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
  readonly clientOrderId: string;
}

export function parseOrderAck(data: unknown, sent: SentOrder): OrderAck {
  const ack = parseWith(orderAckSchema, data);
  return {
    exchangeOrderId: ack.id,
    clientOrderId: ack.newOrderClientId ?? sent.clientOrderId,
    symbol: normalSymbol(ack.pairSymbol ?? sent.symbol),
    side: ack.type ?? sent.side,
    method: ack.method ?? sent.method,
    price: priceOrNull(ack.price) ?? sent.price ?? null,
    quantity: ack.quantity?.abs() ?? sent.quantity,
    createdAt: ack.datetime,
  };
}

// ---------------------------------------------------------------- fills

const fillRowSchema = z.object({
  id,
  orderId: id,
  orderClientId: optionalText,
  timestamp: millis,
  price: decimal,
  amount: decimal,
  preciseAmount: optionalDecimal,
  fee: optionalDecimal,
  tax: optionalDecimal,
  numeratorSymbol: z.string().min(1),
  denominatorSymbol: z.string().min(1),
  orderType: side.nullish(),
});

export function parseFills(data: unknown): FillReport[] {
  return parseWith(z.array(fillRowSchema), data).map((row) => {
    const base = row.numeratorSymbol.toUpperCase();
    const quote = row.denominatorSymbol.toUpperCase();
    const quantity = row.preciseAmount ?? row.amount;
    return {
      tradeId: row.id,
      exchangeOrderId: row.orderId,
      clientOrderId: row.orderClientId,
      symbol: `${base}${quote}`,
      base,
      quote,
      // Sells arrive with negative amounts, fees and taxes: magnitudes here, the side says which way.
      side: row.orderType ?? (row.amount.isNegative() ? 'sell' : 'buy'),
      price: row.price,
      quantity: quantity.abs(),
      fee: (row.fee ?? toDec(0)).abs(),
      tax: (row.tax ?? toDec(0)).abs(),
      // The row names no fee asset; BTCTurk charges trading fees in the quote currency.
      feeAsset: quote,
      timestamp: row.timestamp,
    };
  });
}
