import type { Decimal } from 'decimal.js';
import { toDec } from '../../domain/decimal.ts';
import type { OrderMethod, Side } from '../../domain/symbols.ts';
import { SimRejection, type SimEngine, type SimOrder } from '../engine/api.ts';
import type { SimAccount } from './auth.ts';
import { acknowledged, success } from './envelope.ts';
import type { Faults } from './faults.ts';
import type { JsonValue } from './json.ts';
import type { SimCurrency, SimPair } from './markets.ts';
import {
  balanceRow,
  exchangeInfoData,
  fillRow,
  historyRow,
  orderAckData,
  orderBookData,
  orderRow,
  publicTradeRow,
  serverTimeData,
  tickerRow,
} from './wire.ts';

// What each BTCTurk endpoint answers (btcturk-api.md §4–5), given an authenticated account. The
// transport concerns — auth, rate limits, faults, latency — are the caller's (rest.ts).

export interface RouteContext {
  readonly engine: SimEngine;
  readonly faults: Faults;
  readonly pairs: ReadonlyMap<string, SimPair>;
  readonly currencies: readonly SimCurrency[];
  /** Completes an accepted cancel later, as BTCTurk's asynchronous DELETE /order does. */
  readonly scheduleCancel: (orderId: string) => void;
  /** Most levels a side the REST book returns, whatever `limit` asks (BTCTurk: 100). */
  readonly bookDepth: number;
}

export interface RouteRequest {
  readonly query: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, string>>;
  readonly body: unknown;
  readonly account: SimAccount | null;
  readonly now: number;
}

export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly authenticated: boolean;
  /** Order writes, where the accept-related faults apply. */
  readonly write: boolean;
  /** The whole reply body (the envelope included: server/time has none); a refusal throws SimRejection. */
  readonly handle: (ctx: RouteContext, req: RouteRequest) => JsonValue;
}

const ORDER_NOT_FOUND = (): SimRejection => new SimRejection('Order not found', 1152, 400);
/** BTCTurk has no documented code for a malformed parameter; the message is its order-parameter one. */
const badParameter = (): SimRejection => new SimRejection('FAILED_ORDER_PARAMETER', 0, 400);

function single(value: unknown): string | undefined {
  const first = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (first === undefined || first === null) return undefined;
  if (typeof first === 'string') return first.trim() === '' ? undefined : first.trim();
  if (typeof first === 'number') return String(first);
  throw badParameter();
}

function list(query: Readonly<Record<string, unknown>>, name: string): string[] {
  const values = [query[name], query[`${name}[]`]].flatMap((value) =>
    value === undefined ? [] : Array.isArray(value) ? (value as unknown[]) : [value],
  );
  return values
    .filter((value): value is string => typeof value === 'string')
    .map((value) => value.toLowerCase());
}

function intParam(query: Readonly<Record<string, unknown>>, name: string): number | undefined {
  const text = single(query[name]);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw badParameter();
  return Number(text);
}

function idParam(value: unknown): string {
  const text = single(value);
  if (text === undefined || !/^\d+$/.test(text)) throw badParameter();
  return text;
}

function pairOf(ctx: RouteContext, value: unknown, required: true): SimPair;
function pairOf(ctx: RouteContext, value: unknown, required: false): SimPair | undefined;
function pairOf(ctx: RouteContext, value: unknown, required: boolean): SimPair | undefined {
  const text = single(value);
  if (text === undefined) {
    if (required) throw badParameter();
    return undefined;
  }
  const pair = lookupPair(ctx, text);
  if (!pair) throw badParameter();
  return pair;
}

/** Tolerant: "btctry" and "BTC_TRY" name the same pair as "BTCTRY". */
function lookupPair(ctx: RouteContext, text: string): SimPair | undefined {
  return ctx.pairs.get(text.replace('_', '').toUpperCase());
}

/** The pair of an engine record; the engine only knows the pairs it was given, so a miss is a bug. */
function listedPair(ctx: RouteContext, symbol: string): SimPair {
  const pair = ctx.pairs.get(symbol);
  if (!pair) throw new Error(`the engine returned a record on ${symbol}, which the simulator does not list`);
  return pair;
}

function accountOf(req: RouteRequest): SimAccount {
  if (!req.account) throw new Error('an authenticated route ran without an account');
  return req.account;
}

/** S7 (`visibility-delay-ms`): a new order is not yet seen by order queries. */
function visible(ctx: RouteContext, order: SimOrder, now: number): boolean {
  const delay = ctx.faults.value('visibility-delay-ms');
  if (order.createdAt + delay <= now) return true;
  // Counted per order a read left out (the fault struck that read).
  if (delay > 0) ctx.faults.hit('visibility-delay-ms');
  return false;
}

function decimalField(body: Record<string, unknown>, name: string): Decimal | null {
  const value = body[name];
  if (value === undefined || value === null || value === '') return null;
  try {
    return toDec(value, name);
  } catch {
    throw badParameter();
  }
}

function lowerText(value: unknown): string {
  return typeof value === 'string' ? value.toLowerCase() : '';
}

const ORDER_TYPES: readonly Side[] = ['buy', 'sell'];
const ORDER_METHODS: readonly OrderMethod[] = ['limit', 'market', 'stoplimit', 'stopmarket'];

function placeOrder(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  if (typeof req.body !== 'object' || req.body === null) throw badParameter();
  const body = req.body as Record<string, unknown>;
  const pair = pairOf(ctx, body.pairSymbol, true);
  const side = lowerText(body.orderType) as Side;
  if (!ORDER_TYPES.includes(side)) throw new SimRejection('ORDER_TYPE_NOT_SUPPORTED', 1193, 400);
  const method = lowerText(body.orderMethod) as OrderMethod;
  if (!ORDER_METHODS.includes(method)) throw new SimRejection('ORDER_METHOD_NOT_SUPPORTED', 1134, 400);
  const quantity = decimalField(body, 'quantity');
  if (quantity === null) throw badParameter();
  // BTCTurk's documented name is newOrderClientId; some clients send newClientOrderId.
  const clientId = body.newOrderClientId ?? body.newClientOrderId;
  if (clientId !== undefined && clientId !== null && typeof clientId !== 'string') throw badParameter();
  const order = ctx.engine.placeOrder({
    accountId: account.accountId,
    symbol: pair.config.symbol,
    side,
    method,
    quantity,
    price: decimalField(body, 'price'),
    stopPrice: decimalField(body, 'stopPrice'),
    clientOrderId: clientId ?? null,
  });
  return success(orderAckData(pair, order), 'SUCCESS');
}

/** BTCTurk's reply to a cancel of an order it does not know (frames.jsonl rest-order-delete-not-found-1052). */
const NO_ORDER_CODE = 1052;

/**
 * DELETE /api/v1/order. Since about November 2024 BTCTurk answers a cancel of an order that is
 * already canceled with the plain success reply (btcturk-wire README, "REST replies"): the simulator
 * does the same, and sends no 452 then (the order left the book long ago), so a client must settle
 * such an order from its REST state, not wait for an event.
 * ASSUMPTION (BTCTurk): what the real venue answers for a cancel of a FILLED order is not captured;
 * the simulator keeps refusing it (400 ORDER_COULD_NOT_BE_CANCELED), as it refuses a second cancel
 * of an order whose first cancel is still under way.
 */
function cancelOrder(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  const id = idParam(req.query.id);
  if (ctx.engine.order(account.accountId, id)?.status === 'canceled') return acknowledged('SUCCESS');
  let order: SimOrder;
  try {
    order = ctx.engine.requestCancel(account.accountId, id);
  } catch (error) {
    // The engine words the refusal; the wire's code for this one is 1052.
    if (error instanceof SimRejection && error.venueMessage === 'NO_ORDER_MATCHES_YOUR_REQUEST')
      throw new SimRejection(error.venueMessage, NO_ORDER_CODE, 400);
    throw error;
  }
  ctx.scheduleCancel(order.id);
  // An accepted cancel has no `data` member (frames.jsonl rest-cancel-ok); its result comes as a 452.
  return acknowledged('SUCCESS');
}

/** The book's pair: a missing one and an unknown one are refused as BTCTurk refuses them (code 1037). */
function bookPair(ctx: RouteContext, value: unknown): SimPair {
  const text = single(value);
  if (text === undefined) throw new SimRejection('INVALID_REQUEST_ERROR', 1037, 400);
  const pair = lookupPair(ctx, text);
  // ASSUMPTION (BTCTurk): the message names the pair as the request wrote it.
  if (!pair) throw new SimRejection(`Pair ${text} does not exists.`, 1037, 400);
  return pair;
}

function openOrders(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  // The current docs require pairSymbol, older ones allowed all pairs: both are accepted.
  const pair = pairOf(ctx, req.query.pairSymbol, false);
  const orders = ctx.engine
    .openOrders(account.accountId, pair?.config.symbol)
    .filter((order) => visible(ctx, order, req.now));
  const rows = (side: Side): JsonValue[] =>
    orders
      .filter((order) => order.side === side)
      .map((order) => orderRow(listedPair(ctx, order.symbol), order, 'open'));
  return success({ asks: rows('sell'), bids: rows('buy') });
}

function allOrders(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  const pair = pairOf(ctx, req.query.pairSymbol, false);
  const limit = intParam(req.query, 'limit');
  const fromOrderId = single(req.query.orderId);
  if (fromOrderId !== undefined && !/^\d+$/.test(fromOrderId)) throw badParameter();
  const orders = ctx.engine.allOrders(account.accountId, {
    symbol: pair?.config.symbol,
    fromOrderId,
    startTime: intParam(req.query, 'startTime'),
    endTime: intParam(req.query, 'endTime'),
    page: intParam(req.query, 'page'),
    limit: limit === undefined ? 100 : Math.min(limit, 1000),
  });
  return success(
    orders
      .filter((order) => visible(ctx, order, req.now))
      .map((order) => historyRow(listedPair(ctx, order.symbol), order)),
  );
}

function singleOrder(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  const id = req.params.id ?? '';
  if (!/^\d+$/.test(id)) throw ORDER_NOT_FOUND();
  const order = ctx.engine.order(account.accountId, id);
  if (!order || !visible(ctx, order, req.now)) throw ORDER_NOT_FOUND();
  return success(orderRow(listedPair(ctx, order.symbol), order, 'any'));
}

const THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000;

function userTrades(ctx: RouteContext, req: RouteRequest): JsonValue {
  const account = accountOf(req);
  const pair = pairOf(ctx, req.query.pairSymbol, false);
  const orderId = single(req.query.orderId);
  if (orderId !== undefined && !/^\d+$/.test(orderId)) throw badParameter();
  const types = list(req.query, 'type');
  const symbols = list(req.query, 'symbol');
  const startTime = intParam(req.query, 'startDate') ?? req.now - THIRTY_DAYS_MS;
  const fills = ctx.engine
    .fills(account.accountId, {
      symbol: pair?.config.symbol,
      orderId,
      startTime,
      endTime: intParam(req.query, 'endDate'),
    })
    .filter((fill) => types.length === 0 || types.includes(fill.side))
    .filter((fill) => {
      if (symbols.length === 0) return true;
      const rules = listedPair(ctx, fill.symbol).config.rules;
      return symbols.includes(rules.base.toLowerCase()) || symbols.includes(rules.quote.toLowerCase());
    });
  return success(fills.map((fill) => fillRow(listedPair(ctx, fill.symbol), fill)));
}

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    url: '/api/v2/server/exchangeinfo',
    authenticated: false,
    write: false,
    handle: (ctx, req) => success(exchangeInfoData([...ctx.pairs.values()], ctx.currencies, req.now)),
  },
  {
    method: 'GET',
    url: '/api/v2/server/time',
    authenticated: false,
    write: false,
    // BTCTurk answers this one without the envelope.
    handle: (_ctx, req) => serverTimeData(req.now),
  },
  {
    method: 'GET',
    url: '/api/v2/orderbook',
    authenticated: false,
    write: false,
    handle: (ctx, req) => {
      const pair = bookPair(ctx, req.query.pairSymbol);
      // Capped at the window the feed shows (100 on BTCTurk) whatever `limit` asks.
      const limit = Math.min(intParam(req.query, 'limit') ?? ctx.bookDepth, ctx.bookDepth);
      return success(orderBookData(pair, ctx.engine.book(pair.config.symbol, limit)));
    },
  },
  {
    method: 'GET',
    url: '/api/v2/ticker',
    authenticated: false,
    write: false,
    handle: (ctx, req) => {
      const text = single(req.query.pairSymbol);
      // An unknown pair is not an error here: 200 with no rows (frames.jsonl rest-ticker-unknown-pair).
      const pair = text === undefined ? undefined : lookupPair(ctx, text);
      const pairs = text === undefined ? [...ctx.pairs.values()] : pair ? [pair] : [];
      return success(pairs.map((p) => tickerRow(p, ctx.engine.ticker(p.config.symbol))));
    },
  },
  {
    method: 'GET',
    url: '/api/v2/trades',
    authenticated: false,
    write: false,
    handle: (ctx, req) => {
      const pair = pairOf(ctx, req.query.pairSymbol, true);
      const last = Math.min(intParam(req.query, 'last') ?? 50, 50);
      return success(
        ctx.engine.recentTrades(pair.config.symbol, last).map((trade) => publicTradeRow(pair, trade)),
      );
    },
  },
  {
    method: 'GET',
    url: '/api/v1/users/balances',
    authenticated: true,
    write: false,
    handle: (ctx, req) => success(ctx.engine.balances(accountOf(req).accountId).map(balanceRow)),
  },
  { method: 'POST', url: '/api/v1/order', authenticated: true, write: true, handle: placeOrder },
  { method: 'DELETE', url: '/api/v1/order', authenticated: true, write: true, handle: cancelOrder },
  { method: 'GET', url: '/api/v1/openOrders', authenticated: true, write: false, handle: openOrders },
  { method: 'GET', url: '/api/v1/allOrders', authenticated: true, write: false, handle: allOrders },
  { method: 'GET', url: '/api/v1/order/:id', authenticated: true, write: false, handle: singleOrder },
  {
    method: 'GET',
    url: '/api/v1/users/transactions/trade',
    authenticated: true,
    write: false,
    handle: userTrades,
  },
];
