import { Decimal } from 'decimal.js';
import type { OrderMethod } from '../../domain/symbols.ts';
import type { SimBalance, SimBook, SimFill, SimOrder, SimPublicTrade, SimTicker } from '../engine/api.ts';
import { rawNumber, type JsonValue } from './json.ts';
import { currencyName, currencyPrecision, type SimCurrency, type SimPair } from './markets.ts';

// Engine objects in BTCTurk's REST wire format (btcturk-api.md §4–5), quirks included: ids are bare
// JSON integers, decimals are strings except in the ticker, field names differ between endpoints.

/** Decimal text padded to the pair's scale as BTCTurk writes it ("20000.00"), never rounded. */
export function scaled(value: Decimal, scale: number): string {
  return value.decimalPlaces() <= scale ? value.toFixed(scale) : value.toFixed();
}

/**
 * The amount a fill row reports beside the exact `preciseAmount`: cut (never rounded up) to the
 * pair's quantity scale.
 * ASSUMPTION (BTCTurk): the real `amount` is "truncated" (README of btcturk-wire); to what scale is
 * not documented — the pair's quantity scale is the simulator's reading.
 */
export function truncatedAmount(value: Decimal, scale: number): Decimal {
  return value.toDecimalPlaces(scale, Decimal.ROUND_DOWN);
}

const text = (value: Decimal): string => value.toFixed();
const num = (value: Decimal): JsonValue => rawNumber(value.toFixed());

export function normalizedName(pair: SimPair): string {
  return `${pair.config.rules.base}_${pair.config.rules.quote}`;
}

const METHOD_NAMES: Readonly<Record<OrderMethod, string>> = {
  limit: 'Limit',
  market: 'Market',
  stoplimit: 'StopLimit',
  stopmarket: 'StopMarket',
};

function priceText(pair: SimPair, price: Decimal | null): string {
  // BTCTurk writes "0" where an order has no such price (market orders, non-stop orders).
  return price === null ? '0' : scaled(price, pair.config.rules.priceScale);
}

function left(order: SimOrder): Decimal {
  return order.quantity.minus(order.filled);
}

export function exchangeInfoData(
  pairs: readonly SimPair[],
  currencies: readonly SimCurrency[],
  now: number,
): JsonValue {
  return {
    timeZone: 'UTC',
    serverTime: now,
    symbols: pairs.map((pair) => {
      const rules = pair.config.rules;
      return {
        id: pair.pairId,
        name: rules.symbol,
        nameNormalized: normalizedName(pair),
        status: rules.status,
        numerator: rules.base,
        denominator: rules.quote,
        numeratorScale: rules.quantityScale,
        denominatorScale: rules.priceScale,
        hasFraction: rules.priceScale > 0,
        filters: [
          {
            filterType: 'PRICE_FILTER',
            minPrice: rules.minPrice ? text(rules.minPrice) : '0',
            maxPrice: rules.maxPrice ? text(rules.maxPrice) : '0',
            tickSize: text(rules.tickSize),
            minExchangeValue: rules.minExchangeValue ? text(rules.minExchangeValue) : '0',
            // Present but null on the real exchange: a client must not let them erase known rules.
            minAmount: null,
            maxAmount: null,
          },
        ],
        orderMethods: rules.orderMethods.map((method) => method.replace('stop', 'STOP_').toUpperCase()),
        displayFormat: rules.priceScale > 0 ? `#,###.${'0'.repeat(rules.priceScale)}` : '#,###',
        commissionFromNumerator: false,
        order: pair.pairId * 1000,
        priceRounding: false,
        isNew: false,
        marketPriceWarningThresholdPercentage: 0.25,
        maximumOrderAmount: null,
        maximumLimitOrderPrice: rules.maxPrice ? num(rules.maxPrice) : null,
        minimumLimitOrderPrice: rules.minPrice ? num(rules.minPrice) : null,
      };
    }),
    currencies: currencies.map((currency) => ({
      id: currency.id,
      symbol: currency.symbol,
      minWithdrawal: 0,
      minDeposit: 0,
      precision: currency.precision,
      address: { minLen: null, maxLen: null },
      currencyType: currency.type,
      tag: { enable: false, name: null, minLen: null, maxLen: null },
      color: '#000000',
      name: currency.name,
      isAddressRenewable: false,
      getAutoAddressDisabled: false,
      isPartialWithdrawalEnabled: false,
    })),
  };
}

export function serverTimeData(now: number): JsonValue {
  return { serverTime: now, serverTime2: new Date(now).toISOString() };
}

export function orderBookData(pair: SimPair, book: SimBook): JsonValue {
  const { priceScale, quantityScale } = pair.config.rules;
  const level = (l: { price: Decimal; quantity: Decimal }): JsonValue => [
    scaled(l.price, priceScale),
    scaled(l.quantity, quantityScale),
  ];
  return { timestamp: book.timestamp, bids: book.bids.map(level), asks: book.asks.map(level) };
}

/** A ticker row: keyed `pair`, and the one place BTCTurk sends decimals as JSON numbers. */
export function tickerRow(pair: SimPair, ticker: SimTicker): JsonValue {
  const daily = ticker.last.minus(ticker.open);
  const dailyPercent = ticker.open.isZero()
    ? ticker.open
    : daily.div(ticker.open).mul(100).toDecimalPlaces(2);
  const zero = ticker.last.mul(0);
  return {
    pair: pair.config.symbol,
    pairNormalized: normalizedName(pair),
    timestamp: ticker.timestamp,
    last: num(ticker.last),
    high: num(ticker.high),
    low: num(ticker.low),
    bid: num(ticker.bid ?? zero),
    ask: num(ticker.ask ?? zero),
    open: num(ticker.open),
    volume: num(ticker.volume),
    average: num(ticker.average),
    daily: num(daily),
    dailyPercent: num(dailyPercent),
    denominatorSymbol: pair.config.rules.quote,
    numeratorSymbol: pair.config.rules.base,
    order: pair.pairId * 1000,
  };
}

export function publicTradeRow(pair: SimPair, trade: SimPublicTrade): JsonValue {
  return {
    pair: pair.config.symbol,
    pairNormalized: normalizedName(pair),
    numerator: pair.config.rules.base,
    denominator: pair.config.rules.quote,
    date: trade.timestamp,
    tid: trade.tradeId,
    price: scaled(trade.price, pair.config.rules.priceScale),
    amount: scaled(trade.quantity, pair.config.rules.quantityScale),
    side: trade.takerSide,
  };
}

export function balanceRow(balance: SimBalance): JsonValue {
  const precision = currencyPrecision(balance.asset);
  return {
    asset: balance.asset,
    assetname: currencyName(balance.asset),
    balance: scaled(balance.free.plus(balance.locked), precision),
    locked: scaled(balance.locked, precision),
    free: scaled(balance.free, precision),
    orderFund: scaled(balance.locked, precision),
    requestFund: '0',
    precision,
  };
}

export function orderAckData(pair: SimPair, order: SimOrder): JsonValue {
  return {
    id: rawNumber(order.id),
    datetime: order.createdAt,
    type: order.side,
    method: order.method,
    price: priceText(pair, order.price),
    stopPrice: priceText(pair, order.stopPrice),
    quantity: scaled(order.quantity, pair.config.rules.quantityScale),
    pairSymbol: pair.config.symbol,
    pairSymbolNormalized: normalizedName(pair),
    newOrderClientId: order.clientOrderId,
  };
}

/**
 * BTCTurk sometimes reports an open order's `time` as 0 (stop orders always, others now and then).
 * Which orders get 0 is a pure function of the id so that a run replays exactly.
 */
export function reportsZeroTime(order: SimOrder): boolean {
  return order.method === 'stoplimit' || order.method === 'stopmarket' || BigInt(order.id) % 5n === 0n;
}

function openStatus(order: SimOrder): string {
  return order.filled.isZero() ? 'Untouched' : 'Partial';
}

function historyStatus(order: SimOrder): string {
  switch (order.status) {
    case 'open':
      return 'Untouched';
    case 'partially_filled':
      return 'Partial';
    case 'canceled':
      return 'Canceled';
    case 'filled':
      // Both words occur for filled orders on BTCTurk; market orders here say Closed.
      return order.method === 'limit' || order.method === 'stoplimit' ? 'Filled' : 'Closed';
  }
}

/** A row of openOrders (`status` Untouched/Partial) and of order/{id} (any status). */
export function orderRow(pair: SimPair, order: SimOrder, status: 'open' | 'any'): JsonValue {
  const { quantityScale } = pair.config.rules;
  return {
    id: rawNumber(order.id),
    price: priceText(pair, order.price),
    amount: scaled(order.quantity, quantityScale),
    quantity: scaled(order.quantity, quantityScale),
    stopPrice: priceText(pair, order.stopPrice),
    pairSymbol: pair.config.symbol,
    pairSymbolNormalized: normalizedName(pair),
    type: order.side,
    method: order.method,
    orderClientId: order.clientOrderId,
    time: reportsZeroTime(order) ? 0 : order.createdAt,
    updateTime: order.updatedAt,
    status: status === 'open' ? openStatus(order) : historyStatus(order),
    leftAmount: scaled(left(order), quantityScale),
  };
}

/** A row of allOrders: lower-case `pairsymbol`, capitalised type and method. */
export function historyRow(pair: SimPair, order: SimOrder): JsonValue {
  const { quantityScale } = pair.config.rules;
  return {
    id: rawNumber(order.id),
    price: priceText(pair, order.price),
    amount: scaled(order.quantity, quantityScale),
    quantity: scaled(order.quantity, quantityScale),
    stopPrice: priceText(pair, order.stopPrice),
    pairsymbol: pair.config.symbol,
    pairsymbolnormalized: normalizedName(pair),
    type: order.side === 'buy' ? 'Buy' : 'Sell',
    method: METHOD_NAMES[order.method],
    orderClientId: order.clientOrderId,
    time: order.createdAt,
    updateTime: order.updatedAt,
    status: historyStatus(order),
    leftAmount: scaled(left(order), quantityScale),
  };
}

/**
 * A fill of users/transactions/trade: sells negative, fee and tax negative, id a bare integer above
 * 2^53; `amount` cut to the pair's quantity scale beside the exact `preciseAmount`.
 * ASSUMPTION (BTCTurk): `preciseAmount` is a JSON number here as in the 423 frame (the only capture
 * of it); the cut `amount` is the simulator's reading of "truncated" (see truncatedAmount).
 */
export function fillRow(pair: SimPair, fill: SimFill): JsonValue {
  const amount = fill.side === 'sell' ? fill.quantity.neg() : fill.quantity;
  const scale = pair.config.rules.quantityScale;
  return {
    price: scaled(fill.price, pair.config.rules.priceScale),
    numeratorSymbol: pair.config.rules.base,
    denominatorSymbol: pair.config.rules.quote,
    orderType: fill.side,
    orderId: rawNumber(fill.orderId),
    id: rawNumber(fill.tradeId),
    timestamp: fill.timestamp,
    amount: scaled(truncatedAmount(amount, scale), scale),
    preciseAmount: num(amount),
    fee: text(fill.fee.neg()),
    tax: text(fill.tax.neg()),
    orderClientId: fill.clientOrderId,
  };
}
