import type { Decimal } from 'decimal.js';
import { decText } from '../../domain/decimal.ts';
import type { OrderMethod } from '../../domain/symbols.ts';
import type { SimBalance, SimFill, SimOrder, SimPublicTrade, SimTicker } from '../engine/api.ts';
import { jsonText, rawNumber, type JsonValue } from './json.ts';
import type { SimPair } from './markets.ts';
import { balanceRow, scaled, truncatedAmount } from './wire.ts';

// BTCTurk's WebSocket frames as the real feed writes them (../shared/btcturk-wire/frames.jsonl):
// `[type, {...}]`, with the body's key order copied from the captured frames — a fast reader keys on
// it. Channel frames (402, 421, 422, 431, 432) end in "channel","event","type"; the session and user
// order frames (100, 114, 991, 441, 451, 452) start with "type"; the user trade 423 has no "type".

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
  welcome: 991,
} as const;

/**
 * Change kinds (`CP`) of an obdiff row, as the real feed uses them: 0 = the level's amount is
 * replaced by `A`, 1 = a new level, 3 = the level is deleted — and `A` then still carries its last
 * non-zero amount. CP 2 never occurs on the real feed, so the simulator never sends it.
 */
export const CHANGE_KIND = { updated: 0, added: 1, deleted: 3 } as const;
export type ChangeKind = (typeof CHANGE_KIND)[keyof typeof CHANGE_KIND];

/** `[type, {"type":type, ...payload}]`: the session frames and the user order events. */
export function frame(type: number, payload: Record<string, JsonValue>): string {
  return jsonText([type, { type, ...payload }]);
}

/** `[type, {...payload, "channel", "event", "type"}]`: the public channel frames. */
function channelFrame(
  type: number,
  payload: Record<string, JsonValue | undefined>,
  channel: string,
  event: string,
): string {
  return jsonText([type, { ...payload, channel, event, type }]);
}

/** `[type, {...payload}]` with no "type" inside: the user trade 423 is written that way. */
function bareFrame(type: number, payload: Record<string, JsonValue>): string {
  return jsonText([type, payload]);
}

export function welcomeFrame(): string {
  return frame(WS.welcome, { current: '6.0.0', min: '2.3.0' });
}

/**
 * The login result, in the two layouts reported: a refusal `{"type","ok":false,"id":0,"message"}`,
 * a success `{"type","id":<user id>,"ok":true,"message":null}`.
 */
export function loginResultFrame(
  result: { ok: true; userId: number } | { ok: false; message: string },
): string {
  return result.ok
    ? frame(WS.login, { id: result.userId, ok: true, message: null })
    : frame(WS.login, { ok: false, id: 0, message: result.message });
}

export function subscribeResultFrame(ok: boolean, message: string): string {
  return frame(WS.subscribeResult, { ok, message });
}

/** A ticker row in the real 402's key order (B, A, BA, AA, PS, H, L, LA, O, V, AV, D, DP, DS, NS, PId). */
function pairTicker(pair: SimPair, ticker: SimTicker): Record<string, JsonValue> {
  const { priceScale, quantityScale } = pair.config.rules;
  const p = (value: Decimal | null): string => (value === null ? '0' : scaled(value, priceScale));
  const q = (value: Decimal | null): string => (value === null ? '0' : scaled(value, quantityScale));
  const daily = ticker.last.minus(ticker.open);
  return {
    B: p(ticker.bid),
    A: p(ticker.ask),
    BA: q(ticker.bidSize),
    AA: q(ticker.askSize),
    PS: pair.config.symbol,
    H: p(ticker.high),
    L: p(ticker.low),
    LA: p(ticker.last),
    O: p(ticker.open),
    V: q(ticker.volume),
    AV: p(ticker.average),
    D: daily.toFixed(),
    DP: ticker.open.isZero() ? '0' : daily.div(ticker.open).mul(100).toDecimalPlaces(2).toFixed(),
    DS: pair.config.rules.quote,
    NS: pair.config.rules.base,
    PId: pair.pairId,
  };
}

export function tickerPairFrame(pair: SimPair, ticker: SimTicker): string {
  return channelFrame(WS.tickerPair, pairTicker(pair, ticker), 'ticker', pair.config.symbol);
}

export function tickerAllFrame(rows: readonly { pair: SimPair; ticker: SimTicker }[]): string {
  return channelFrame(
    WS.tickerAll,
    { items: rows.map(({ pair, ticker }) => pairTicker(pair, ticker)) },
    'ticker',
    'all',
  );
}

/**
 * Public trade rows as the 2022 frames write them (frames.jsonl ws-trade-list-421,
 * ws-trade-single-422): `D` (ms) and `I` (the trade id, above 2^53) are STRINGS, `A` and `P` padded
 * to 10 decimal places ("0.0072834700", "586484.0000000000"), `S` an integer (0 buy, 1 sell: the
 * taker's side). A 421 row carries no `PS`; a 422 writes `PS` between `P` and `S`.
 * ASSUMPTION (BTCTurk): the capture padded both A and P to 10 places on BTCTRY; the simulator pads
 * every pair the same way (never rounding a value with more places) and takes `S` as the taker's side.
 */
const TRADE_PLACES = 10;

/** `PS` undefined (a 421 row) leaves the key out: jsonText drops undefined members. */
function tradeRow(trade: SimPublicTrade, PS: string | undefined): Record<string, JsonValue | undefined> {
  return {
    D: String(trade.timestamp),
    I: trade.tradeId,
    A: scaled(trade.quantity, TRADE_PLACES),
    P: scaled(trade.price, TRADE_PLACES),
    PS,
    S: trade.takerSide === 'buy' ? 0 : 1,
  };
}

/** The most trades a 421 carries: the real one holds the last 50, newest first. */
export const TRADE_LIST_MAX = 50;

/**
 * 421, the answer to a trade join: `{"symbol","items","channel","event","type"}`, the pair named in
 * `symbol` and `event` and not on the rows. `trades` must already be newest first (the engine's
 * recentTrades order); more than TRADE_LIST_MAX are cut to the newest.
 */
export function tradeListFrame(pair: SimPair, trades: readonly SimPublicTrade[]): string {
  return channelFrame(
    WS.tradeList,
    {
      symbol: pair.config.symbol,
      items: trades.slice(0, TRADE_LIST_MAX).map((trade) => tradeRow(trade, undefined)),
    },
    'trade',
    pair.config.symbol,
  );
}

/** 422, one public trade: `{"D","I","A","P","PS","S","channel","event","type"}`. */
export function tradeFrame(pair: SimPair, trade: SimPublicTrade): string {
  return channelFrame(WS.trade, tradeRow(trade, pair.config.symbol), 'trade', pair.config.symbol);
}

export interface BookRow {
  readonly price: Decimal;
  readonly quantity: Decimal;
}

export interface DiffRow extends BookRow {
  readonly kind: ChangeKind;
}

/** The body both book frames share: `{"CS","PS","AO","BO"}`, asks before bids, one row shape for both. */
function bookFrame<R>(
  type: typeof WS.orderBook | typeof WS.orderBookDiff,
  channel: 'orderbook' | 'obdiff',
  pair: SimPair,
  changeSet: number,
  book: { readonly bids: readonly R[]; readonly asks: readonly R[] },
  row: (level: R) => JsonValue,
): string {
  const symbol = pair.config.symbol;
  return channelFrame(
    type,
    { CS: changeSet, PS: symbol, AO: book.asks.map(row), BO: book.bids.map(row) },
    channel,
    symbol,
  );
}

/**
 * A 431: the `orderbook` channel's full book, or the snapshot that opens an `obdiff` stream. Rows
 * `{"A","P"}` in that order, asks (AO) before bids (BO), unpadded decimals.
 */
export function orderBookFrame(
  pair: SimPair,
  channel: 'orderbook' | 'obdiff',
  changeSet: number,
  book: { readonly bids: readonly BookRow[]; readonly asks: readonly BookRow[] },
): string {
  return bookFrame(WS.orderBook, channel, pair, changeSet, book, (level) => ({
    A: decText(level.quantity),
    P: decText(level.price),
  }));
}

/** A 432: rows `{"CP","P","A"}` in that order; a deleted level (CP 3) carries its last non-zero amount. */
export function orderBookDiffFrame(
  pair: SimPair,
  changeSet: number,
  diff: { readonly bids: readonly DiffRow[]; readonly asks: readonly DiffRow[] },
): string {
  return bookFrame(WS.orderBookDiff, 'obdiff', pair, changeSet, diff, (level) => ({
    CP: level.kind,
    P: decText(level.price),
    A: decText(level.quantity),
  }));
}

/**
 * 423, one execution of the user's order, in the key order of the real frame and with no "type"
 * inside. `id` (trade id) and `orderId` are bare integers; `amount` is signed by side (a sell is
 * negative), `fee` and `tax` are negative costs as in the REST fill rows; `preciseAmount` is the
 * exact signed amount as a JSON number.
 */
export function userTradeFrame(pair: SimPair, fill: SimFill): string {
  const { quantityScale, priceScale } = pair.config.rules;
  const signed = fill.side === 'sell' ? fill.quantity.neg() : fill.quantity;
  return bareFrame(WS.userTrade, {
    id: rawNumber(fill.tradeId),
    orderId: rawNumber(fill.orderId),
    timestamp: fill.timestamp,
    numeratorSymbol: pair.config.rules.base,
    denominatorSymbol: pair.config.rules.quote,
    amount: scaled(truncatedAmount(signed, quantityScale), quantityScale),
    fee: scaled(fill.fee.neg(), 8),
    tax: scaled(fill.tax.neg(), 8),
    price: scaled(fill.price, priceScale),
    orderType: fill.side,
    orderClientId: fill.clientOrderId,
    preciseAmount: rawNumber(signed.toFixed()),
  });
}

/** Method codes of the user order events: 0 limit and 1 market are seen on the wire. */
const METHOD_CODES: Readonly<Record<OrderMethod, number>> = {
  limit: 0,
  market: 1,
  // ASSUMPTION (BTCTurk): the stop methods' codes are not documented; 2 and 3 are the simulator's.
  stoplimit: 2,
  stopmarket: 3,
};

/**
 * 441, one fill of the user's order: `id` is the ORDER id, `user` the numeric user id, `pair` the
 * pair id, amount and price padded to 10 places, and the current shape's trailing `timestamp`, a
 * string of ms.
 */
export function orderMatchFrame(pair: SimPair, userId: number, order: SimOrder, fill: SimFill): string {
  return frame(WS.orderMatch, {
    id: rawNumber(order.id),
    user: userId,
    isBid: fill.side === 'buy',
    method: METHOD_CODES[order.method],
    pair: pair.pairId,
    symbol: pair.config.symbol,
    amount: scaled(fill.quantity, 10),
    price: scaled(fill.price, 10),
    clientId: fill.clientOrderId,
    timestamp: String(fill.timestamp),
  });
}

/**
 * 451 insert and 452 delete, in the real key order. The real 451 writes decimals unpadded, the same
 * order's 452 pads them to 16 places: the simulator does both, so a client must compare by value.
 */
export function userOrderFrame(
  type: typeof WS.orderInsert | typeof WS.orderDelete,
  pair: SimPair,
  userId: number,
  order: SimOrder,
): string {
  const numLeft = order.quantity.minus(order.filled);
  const price = order.price ?? order.stopPrice;
  const text = (value: Decimal): string => (type === WS.orderDelete ? scaled(value, 16) : decText(value));
  return frame(type, {
    pairId: pair.pairId,
    symbol: pair.config.symbol,
    id: rawNumber(order.id),
    method: METHOD_CODES[order.method],
    userId,
    orderType: order.side === 'buy' ? 0 : 1,
    price: price === null ? '0' : text(price),
    amount: text(order.quantity),
    numLeft: text(numLeft),
    denomLeft: price === null ? '0' : text(numLeft.mul(price)),
    newOrderClientId: order.clientOrderId,
  });
}

/** 201, the account's balances after a change (payload shape unofficial: the REST balance rows). */
export function balanceFrame(balances: readonly SimBalance[]): string {
  return frame(WS.balance, { balances: balances.map(balanceRow) });
}
