import type { Decimal } from 'decimal.js';
import type { OrderMethod } from '../../domain/symbols.ts';
import type { SimBalance, SimFill, SimOrder, SimPublicTrade, SimTicker } from '../engine/api.ts';
import { jsonText, rawNumber, type JsonValue } from './json.ts';
import type { SimPair } from './markets.ts';
import { balanceRow, scaled } from './wire.ts';

// BTCTurk's WebSocket frames (btcturk-api.md §8): `[type, {type, ...}]`. Several frame types and
// field lists are known only from unofficial clients; where so, the builder says it.

export const WS = {
  balance: 201,
  subscribeResult: 100,
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

/**
 * Change kinds (`CP`) of an obdiff row. BTCTurk does not document its values; the simulator uses
 * 0 = a new price level, 1 = a level's total amount changed, 2 = the level is gone (A is "0").
 * `A` is always the level's new total, never a delta.
 */
export const CHANGE_KIND = { added: 0, updated: 1, removed: 2 } as const;
export type ChangeKind = (typeof CHANGE_KIND)[keyof typeof CHANGE_KIND];

export function frame(type: number, payload: Record<string, JsonValue>): string {
  return jsonText([type, { ...payload, type }]);
}

export function welcomeFrame(): string {
  return frame(WS.welcome, { current: '5.4.0', min: '2.3.0' });
}

/** The login result. BTCTurk's reply type for it is unofficial; the simulator answers with 114 itself. */
export function loginResultFrame(ok: boolean, message: string): string {
  return frame(WS.login, { ok, message });
}

export function subscribeResultFrame(ok: boolean, message: string): string {
  return frame(WS.subscribeResult, { ok, message });
}

function pairTicker(pair: SimPair, ticker: SimTicker): Record<string, JsonValue> {
  const { priceScale, quantityScale } = pair.config.rules;
  const p = (value: Decimal | null): string => (value === null ? '0' : scaled(value, priceScale));
  const q = (value: Decimal | null): string => (value === null ? '0' : scaled(value, quantityScale));
  const daily = ticker.last.minus(ticker.open);
  return {
    PId: pair.pairId,
    PS: pair.config.symbol,
    NS: pair.config.rules.base,
    DS: pair.config.rules.quote,
    B: p(ticker.bid),
    A: p(ticker.ask),
    BA: q(ticker.bidSize),
    AA: q(ticker.askSize),
    H: p(ticker.high),
    L: p(ticker.low),
    LA: p(ticker.last),
    O: p(ticker.open),
    V: q(ticker.volume),
    AV: p(ticker.average),
    D: daily.toFixed(),
    DP: ticker.open.isZero() ? '0' : daily.div(ticker.open).mul(100).toDecimalPlaces(2).toFixed(),
  };
}

export function tickerPairFrame(pair: SimPair, ticker: SimTicker): string {
  return frame(WS.tickerPair, { ...pairTicker(pair, ticker), channel: 'ticker', event: pair.config.symbol });
}

export function tickerAllFrame(rows: readonly { pair: SimPair; ticker: SimTicker }[]): string {
  return frame(WS.tickerAll, {
    items: rows.map(({ pair, ticker }) => pairTicker(pair, ticker)),
    channel: 'ticker',
    event: 'all',
  });
}

function tradeItem(pair: SimPair, trade: SimPublicTrade): Record<string, JsonValue> {
  return {
    D: trade.timestamp,
    I: trade.tradeId,
    A: scaled(trade.quantity, pair.config.rules.quantityScale),
    P: scaled(trade.price, pair.config.rules.priceScale),
    S: trade.takerSide === 'buy' ? 0 : 1,
    PS: pair.config.symbol,
  };
}

export function tradeListFrame(pair: SimPair, trades: readonly SimPublicTrade[]): string {
  return frame(WS.tradeList, {
    items: trades.map((trade) => tradeItem(pair, trade)),
    channel: 'trade',
    event: pair.config.symbol,
  });
}

export function tradeFrame(pair: SimPair, trade: SimPublicTrade): string {
  return frame(WS.trade, { ...tradeItem(pair, trade), channel: 'trade', event: pair.config.symbol });
}

export interface BookRow {
  readonly price: Decimal;
  readonly quantity: Decimal;
}

export interface DiffRow extends BookRow {
  readonly kind: ChangeKind;
}

/** A full book (431) for the `orderbook` channel, or the snapshot that opens an `obdiff` stream. */
export function orderBookFrame(
  pair: SimPair,
  channel: 'orderbook' | 'obdiff',
  changeSet: number,
  book: { readonly bids: readonly BookRow[]; readonly asks: readonly BookRow[] },
): string {
  const { priceScale, quantityScale } = pair.config.rules;
  const row = (level: BookRow): JsonValue => ({
    A: scaled(level.quantity, quantityScale),
    P: scaled(level.price, priceScale),
  });
  return frame(WS.orderBook, {
    CS: changeSet,
    PS: pair.config.symbol,
    AO: book.asks.map(row),
    BO: book.bids.map(row),
    channel,
    event: pair.config.symbol,
  });
}

export function orderBookDiffFrame(
  pair: SimPair,
  changeSet: number,
  diff: { readonly bids: readonly DiffRow[]; readonly asks: readonly DiffRow[] },
): string {
  const { priceScale, quantityScale } = pair.config.rules;
  const row = (level: DiffRow): JsonValue => ({
    A: scaled(level.quantity, quantityScale),
    P: scaled(level.price, priceScale),
    CP: level.kind,
  });
  return frame(WS.orderBookDiff, {
    CS: changeSet,
    PS: pair.config.symbol,
    AO: diff.asks.map(row),
    BO: diff.bids.map(row),
    channel: 'obdiff',
    event: pair.config.symbol,
  });
}

/** 423, one execution of the user's order (field list unofficial). Ids are bare integers. */
export function userTradeFrame(pair: SimPair, fill: SimFill): string {
  return frame(WS.userTrade, {
    id: rawNumber(fill.tradeId),
    orderId: rawNumber(fill.orderId),
    timestamp: fill.timestamp,
    numeratorSymbol: pair.config.rules.base,
    denominatorSymbol: pair.config.rules.quote,
    amount: scaled(fill.quantity, pair.config.rules.quantityScale),
    fee: fill.fee.toFixed(),
    tax: fill.tax.toFixed(),
    price: scaled(fill.price, pair.config.rules.priceScale),
    orderType: fill.side,
    orderClientId: fill.clientOrderId,
  });
}

/** Method codes of the user order events: 0 limit and 1 market are known; the stop codes are the simulator's. */
const METHOD_CODES: Readonly<Record<OrderMethod, number>> = {
  limit: 0,
  market: 1,
  stoplimit: 2,
  stopmarket: 3,
};

/** 441, the user's order matched (field list unofficial: `pair` is the pair id, `symbol` the pair name). */
export function orderMatchFrame(pair: SimPair, order: SimOrder, fill: SimFill): string {
  return frame(WS.orderMatch, {
    id: rawNumber(order.id),
    method: METHOD_CODES[order.method],
    pair: pair.pairId,
    timestamp: fill.timestamp,
    symbol: pair.config.symbol,
    isBid: fill.side === 'buy',
    price: scaled(fill.price, pair.config.rules.priceScale),
    amount: scaled(fill.quantity, pair.config.rules.quantityScale),
    clientId: fill.clientOrderId,
  });
}

/** 451 insert, 452 delete (a cancel's final result), 453 update (field lists unofficial). */
export function userOrderFrame(
  type: typeof WS.orderInsert | typeof WS.orderDelete | typeof WS.orderUpdate,
  pair: SimPair,
  order: SimOrder,
): string {
  const { priceScale, quantityScale } = pair.config.rules;
  const numLeft = order.quantity.minus(order.filled);
  const price = order.price ?? order.stopPrice;
  return frame(type, {
    id: rawNumber(order.id),
    pairId: pair.pairId,
    symbol: pair.config.symbol,
    price: price === null ? '0' : scaled(price, priceScale),
    amount: scaled(order.quantity, quantityScale),
    numLeft: scaled(numLeft, quantityScale),
    denomLeft: price === null ? '0' : numLeft.mul(price).toFixed(),
    orderType: order.side === 'buy' ? 0 : 1,
    method: METHOD_CODES[order.method],
    newOrderClientId: order.clientOrderId,
  });
}

/** 201, the account's balances after a change (payload shape unofficial: the REST balance rows). */
export function balanceFrame(balances: readonly SimBalance[]): string {
  return frame(WS.balance, { balances: balances.map(balanceRow) });
}
