import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import type { OrderMethod, Side, SymbolRules } from '../../domain/symbols.ts';
import type { PlaceOrderInput } from './api.ts';
import { isStop, spendsQuote } from './orders.ts';
import { rejections } from './rejections.ts';

const SIDES: readonly string[] = ['buy', 'sell'] satisfies Side[];
const METHODS: readonly string[] = ['limit', 'market', 'stoplimit', 'stopmarket'] satisfies OrderMethod[];
/** BTCTurk refuses limit prices beyond ten times, or below a tenth of, the current price. */
const PRICE_BAND = new Dec(10);

/** What the checks need to know about the market at arrival. */
export interface MarketView {
  readonly bestBid: Decimal | null;
  readonly bestAsk: Decimal | null;
  readonly lastPrice: Decimal | null;
}

/** An order that passed every rule, its numbers carried in the engine's 40-digit Decimal. */
export interface ValidOrder {
  readonly side: Side;
  readonly method: OrderMethod;
  readonly quantity: Decimal;
  readonly price: Decimal | null;
  readonly stopPrice: Decimal | null;
}

const text = (value: Decimal) => value.toFixed();

function positive(value: Decimal | null | undefined, field: string, method: string): Decimal {
  if (value === null || value === undefined)
    throw rejections.parameter(`${field} is required for ${method} orders`);
  if (!value.isFinite() || value.lte(0))
    throw rejections.parameter(`${field} ${value.toString()} must be greater than 0`);
  return new Dec(value);
}

function onGrid(value: Decimal, rules: SymbolRules): boolean {
  return value.decimalPlaces() <= rules.priceScale && value.mod(rules.tickSize).isZero();
}

/**
 * Checks an order as BTCTurk does, first failure wins, in this order: type, method, quantity,
 * price, stop price, tradable market, minimum value. Balance is checked by the caller, which owns it.
 * A price sent with a market order is ignored (BTCTurk ignores it), as is a stop price on a
 * non-stop order.
 */
export function validateOrder(input: PlaceOrderInput, rules: SymbolRules, market: MarketView): ValidOrder {
  if (!SIDES.includes(input.side))
    throw rejections.orderType(`order type "${input.side}" is not buy or sell`);
  const side = input.side;
  if (!METHODS.includes(input.method))
    throw rejections.method(`order method "${input.method}" is not one of ${METHODS.join(', ')}`);
  const method = input.method;
  if (!rules.orderMethods.includes(method)) {
    const detail = `${rules.symbol} does not accept ${method} orders`;
    if (method === 'market') throw rejections.marketOrder(detail);
    if (method === 'limit') throw rejections.limitOrder(detail);
    throw rejections.method(detail);
  }

  const quantity = positive(input.quantity, 'quantity', method);
  // A market buy's quantity is a quote amount; BTCTurk states no separate scale for it, so the
  // tolerant choice is to hold it to the same (wider) quantity scale as every other order.
  if (quantity.decimalPlaces() > rules.quantityScale)
    throw rejections.quantityScale(
      `quantity ${text(quantity)} has more than ${rules.quantityScale} decimals for ${rules.symbol}`,
    );

  let price: Decimal | null = null;
  if (method === 'limit' || method === 'stoplimit') {
    price = positive(input.price, 'price', method);
    if (!onGrid(price, rules))
      throw rejections.priceScale(
        `price ${text(price)} is not on ${rules.symbol}'s grid (${rules.priceScale} decimals, tick ${text(rules.tickSize)})`,
      );
    if (rules.maxPrice && price.gt(rules.maxPrice))
      throw rejections.aboveMaxPrice(
        `price ${text(price)} is above ${rules.symbol}'s maximum ${text(rules.maxPrice)}`,
      );
    if (rules.minPrice && price.lt(rules.minPrice))
      throw rejections.belowMinPrice(
        `price ${text(price)} is below ${rules.symbol}'s minimum ${text(rules.minPrice)}`,
      );
    if (market.lastPrice) {
      if (price.gt(market.lastPrice.mul(PRICE_BAND)))
        throw rejections.priceBandHigh(
          `price ${text(price)} is over 10x the last price ${text(market.lastPrice)}`,
        );
      if (price.lt(market.lastPrice.div(PRICE_BAND)))
        throw rejections.priceBandLow(
          `price ${text(price)} is under 1/10 of the last price ${text(market.lastPrice)}`,
        );
    }
  }

  let stopPrice: Decimal | null = null;
  if (isStop(method)) {
    stopPrice = positive(input.stopPrice, 'stopPrice', method);
    if (!onGrid(stopPrice, rules))
      throw rejections.stopPriceScale(
        `stop price ${text(stopPrice)} is not on ${rules.symbol}'s grid (${rules.priceScale} decimals, tick ${text(rules.tickSize)})`,
      );
    // A stop already on the wrong side of the market would trigger at once: BTCTurk refuses it.
    if (side === 'buy' && market.bestAsk && stopPrice.lte(market.bestAsk))
      throw rejections.stopBuyNotAboveAsk(
        `stop ${text(stopPrice)} is not above the best ask ${text(market.bestAsk)}`,
      );
    if (side === 'sell' && market.bestBid && stopPrice.gte(market.bestBid))
      throw rejections.stopSellNotBelowBid(
        `stop ${text(stopPrice)} is not below the best bid ${text(market.bestBid)}`,
      );
  }

  const opposite = side === 'buy' ? market.bestAsk : market.bestBid;
  if (method === 'market' && opposite === null)
    throw rejections.marketOrder(
      `no ${side === 'buy' ? 'asks' : 'bids'} on ${rules.symbol} for a market ${side}`,
    );

  if (rules.minExchangeValue) {
    const value = orderValue(side, method, quantity, price ?? stopPrice ?? opposite);
    if (value.lt(rules.minExchangeValue))
      throw rejections.minTotal(
        `order value ${text(value)} ${rules.quote} is below ${rules.symbol}'s minimum ${text(rules.minExchangeValue)}`,
      );
  }
  return { side, method, quantity, price, stopPrice };
}

/** The quote value an order is judged by for the minimum: its own quote amount for a market buy. */
function orderValue(side: Side, method: OrderMethod, quantity: Decimal, reference: Decimal | null): Decimal {
  if (spendsQuote(side, method)) return quantity;
  if (reference === null) throw new Error(`no reference price to value a ${method} ${side}`);
  return quantity.mul(reference);
}
