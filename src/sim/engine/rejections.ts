// Every refusal the engine can give, worded as BTCTurk words it (btcturk-api.md §6 and
// docs.btcturk.com/errors). Order validation answers HTTP 400, as BTCTurk does for a bad request.
// Messages BTCTurk documents without a numeric code carry code 0 (SimRejection's convention): a
// client must key on the message string for those, exactly as it has to against the real venue.
// Each also carries its venue-neutral reason (RefusalReason): the one mapping from these refusals
// to what they mean, read by in-process users such as dry-run mode's exchange.
import type { RefusalReason } from '../../domain/errors.ts';
import { SimRejection } from './api.ts';

const BAD_REQUEST = 400;

function reject(
  message: string,
  code: number,
  detail: string,
  reason: RefusalReason = 'invalid-order',
): SimRejection {
  return new SimRejection(message, code, BAD_REQUEST, detail, reason);
}

export const rejections = {
  /** "One of the given parameters is not correct": unknown pair, missing or non-positive numbers. */
  parameter: (detail: string) => reject('FAILED_ORDER_PARAMETER', 0, detail),
  /** A pair the venue does not list: BTCTurk answers with the same parameter refusal. */
  unknownPair: (detail: string) => reject('FAILED_ORDER_PARAMETER', 0, detail, 'unknown-symbol'),
  orderType: (detail: string) => reject('ORDER_TYPE_NOT_SUPPORTED', 1193, detail),
  method: (detail: string) => reject('ORDER_METHOD_NOT_SUPPORTED', 1134, detail),
  /** "Market order is not open for the pair"; also a market order with nothing to trade against. */
  marketOrder: (detail: string) => reject('FAILED_MARKET_ORDER', 1118, detail, 'market-unavailable'),
  limitOrder: (detail: string) => reject('FAILED_LIMIT_ORDER', 1120, detail),
  /** The tick is part of the price filter; an off-tick price gets the same code as a bad price scale. */
  priceScale: (detail: string) => reject('FAILED_INVALID_PRICE_SCALE', 1126, detail),
  quantityScale: (detail: string) => reject('FAILED_INVALID_QUANTITY_SCALE', 1127, detail),
  stopPriceScale: (detail: string) => reject('FAILED_INVALID_STOP_PRICE_SCALE', 1128, detail),
  minTotal: (detail: string) => reject('FAILED_MIN_TOTAL_AMOUNT', 1123, detail),
  aboveMaxPrice: (detail: string) => reject('PRICE_MUST_BE_LESS_THAN_MAXPRICE', 1226, detail),
  belowMinPrice: (detail: string) => reject('PRICE_MUST_BE_LESS_THAN_MINPRICE', 1227, detail),
  /** BTCTurk refuses a limit price more than ten times the current price (no numeric code). */
  priceBandHigh: (detail: string) => reject('ORDER_MAX_PRICE_EXCEEDED', 0, detail),
  /** ... and one below a tenth of it (no numeric code). */
  priceBandLow: (detail: string) => reject('ORDER_MIN_PRICE_EXCEEDED', 0, detail),
  /** A stop buy must sit above the market: its stop has to exceed the best ask. */
  stopBuyNotAboveAsk: (detail: string) => reject('FAILED_STOP_PRICE_GREATER_THAN_BEST_ASK', 1124, detail),
  /** A stop sell must sit below the market: its stop has to be under the best bid. */
  stopSellNotBelowBid: (detail: string) => reject('FAILED_STOP_PRICE_LESS_THAN_BEST_BID', 1125, detail),
  /** Free balance short, and it would not suffice even without the open orders (no numeric code). */
  balance: (detail: string) => reject('BALANCE_NOT_ENOUGH', 0, detail, 'insufficient-balance'),
  /** Free balance short only because open orders hold the rest (BTCTurk's 1122 names that case). */
  balanceHeldByOrders: (detail: string) =>
    reject('FAILED_ORDER_WITH_OPEN_ORDERS', 1122, detail, 'insufficient-balance'),
  /** A lookup of an order id this account does not have. */
  orderNotFound: (detail: string) => reject('Order not found', 1152, detail, 'order-not-found'),
  /** Cancel of an id this account does not have (no numeric code). */
  noSuchOrder: (detail: string) => reject('NO_ORDER_MATCHES_YOUR_REQUEST', 0, detail, 'order-not-found'),
  /** Cancel of an order already closed, a market order, or one whose cancel is already under way. */
  notCancelable: (detail: string) => reject('ORDER_COULD_NOT_BE_CANCELED', 0, detail, 'order-closed'),
};
