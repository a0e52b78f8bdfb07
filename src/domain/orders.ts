import type { Decimal } from 'decimal.js';
import { decText } from './decimal.ts';
import type { OrderMethod, Side, SymbolRules } from './symbols.ts';

export type { OrderMethod, Side } from './symbols.ts';

/** States of DESIGN §2. `UNKNOWN`: the outcome of a send is ambiguous until resolved by lookup. */
export const ORDER_STATES = [
  'PENDING_SUBMIT',
  'SUBMITTED',
  'UNKNOWN',
  'OPEN',
  'PARTIALLY_FILLED',
  'PENDING_CANCEL',
  'FILLED',
  'CANCELED',
  'REJECTED',
] as const;
export type OrderState = (typeof ORDER_STATES)[number];

/**
 * What the bot asks the exchange for. Quantity is in the base asset — except for an order sized in
 * the quote currency (`quoteAmount`): a market or stop-market buy that spends that much quote; its
 * `quantity` is then 0, and its base quantity is what its fills bring.
 */
export interface OrderRequest {
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly quantity: Decimal;
  readonly price?: Decimal | undefined; // limit and stop-limit
  readonly stopPrice?: Decimal | undefined; // stop orders
  /** Quote currency to spend: market and stop-market buys only, with a quantity of 0. */
  readonly quoteAmount?: Decimal | undefined;
  readonly clientOrderId: string;
}

/** Whether an order is sized by the quote it spends (a market or stop-market buy with a quote amount). */
export function isQuoteSized(order: { readonly quoteAmount?: Decimal | null | undefined }): boolean {
  return order.quoteAmount !== undefined && order.quoteAmount !== null;
}

/** Methods whose buys may be sized in the quote currency (they take liquidity at whatever price). */
export function takesQuoteAmount(side: Side, method: OrderMethod): boolean {
  return side === 'buy' && (method === 'market' || method === 'stopmarket');
}

export interface RuleViolation {
  readonly field: string;
  readonly value: string;
  readonly rule: string;
}

export class OrderValidationError extends Error {
  constructor(
    readonly symbol: string,
    readonly violations: readonly RuleViolation[],
  ) {
    super(
      `order on ${symbol} breaks the exchange rules: ` +
        violations.map((v) => `${v.field}=${v.value}: ${v.rule}`).join('; '),
    );
    this.name = 'OrderValidationError';
  }
}

export const CLIENT_ORDER_ID_MAX = 50;
const CLIENT_ID_CHARS = /^[A-Za-z0-9_-]+$/;

function decimals(value: Decimal): number {
  return value.decimalPlaces();
}

/** Every rule an order breaks, each naming the field, its value and the rule. Empty when valid. */
export function orderViolations(rules: SymbolRules, order: OrderRequest): RuleViolation[] {
  const out: RuleViolation[] = [];
  const add = (field: string, value: Decimal | string, rule: string) =>
    out.push({ field, value: typeof value === 'string' ? value : decText(value), rule });

  if (order.symbol !== rules.symbol) add('symbol', order.symbol, `rules are for ${rules.symbol}`);
  if (rules.status !== 'TRADING') add('symbol', order.symbol, `pair status is ${rules.status}, not TRADING`);
  if (!rules.orderMethods.includes(order.method))
    add('method', order.method, `pair accepts ${rules.orderMethods.join(', ')}`);
  if (order.clientOrderId.length === 0 || order.clientOrderId.length > CLIENT_ORDER_ID_MAX)
    add('clientOrderId', order.clientOrderId, `must be 1 to ${CLIENT_ORDER_ID_MAX} characters`);
  else if (!CLIENT_ID_CHARS.test(order.clientOrderId))
    add('clientOrderId', order.clientOrderId, 'must use only letters, digits, "-" and "_"');

  const q = order.quantity;
  const quote = order.quoteAmount;
  if (quote !== undefined) {
    if (!takesQuoteAmount(order.side, order.method))
      add(
        'quoteAmount',
        quote,
        `only market and stopmarket buys are sized in ${rules.quote}, not a ${order.method} ${order.side}`,
      );
    if (!q.isZero())
      add('quantity', q, 'must be 0 on an order sized by quoteAmount (its fills bring the base quantity)');
    if (!quote.isFinite() || quote.lte(0)) add('quoteAmount', quote, 'must be greater than 0');
    else {
      // ASSUMPTION (BTCTurk): a quote amount is held to the quote currency's scale (the pair's
      // denominatorScale, our priceScale): a market buy of 196.665 TRY came back
      // FAILED_INVALID_QUANTITY_SCALE (broker-api-docs#363), amounts in 2 decimals went through.
      if (decimals(quote) > rules.priceScale)
        add('quoteAmount', quote, `at most ${rules.priceScale} decimals (the ${rules.quote} scale)`);
      if (rules.minExchangeValue && quote.lt(rules.minExchangeValue))
        add(
          'quoteAmount',
          quote,
          `order value ${decText(quote)} ${rules.quote} is below the minimum ${decText(rules.minExchangeValue)}`,
        );
    }
  } else if (!q.isFinite() || q.lte(0)) add('quantity', q, 'must be greater than 0');
  else {
    if (decimals(q) > rules.quantityScale) add('quantity', q, `at most ${rules.quantityScale} decimals`);
    if (rules.minQuantity && q.lt(rules.minQuantity))
      add('quantity', q, `at least ${decText(rules.minQuantity)}`);
    if (rules.maxQuantity && q.gt(rules.maxQuantity))
      add('quantity', q, `at most ${decText(rules.maxQuantity)}`);
  }

  const needsPrice = order.method === 'limit' || order.method === 'stoplimit';
  const needsStop = order.method === 'stoplimit' || order.method === 'stopmarket';
  if (needsPrice) {
    const p = order.price;
    if (!p) add('price', 'missing', `required for ${order.method} orders`);
    else if (!p.isFinite() || p.lte(0)) add('price', p, 'must be greater than 0');
    else {
      if (decimals(p) > rules.priceScale) add('price', p, `at most ${rules.priceScale} decimals`);
      if (!p.mod(rules.tickSize).isZero())
        add('price', p, `must be a multiple of the tick ${decText(rules.tickSize)}`);
      if (rules.minPrice && p.lt(rules.minPrice)) add('price', p, `at least ${decText(rules.minPrice)}`);
      if (rules.maxPrice && p.gt(rules.maxPrice)) add('price', p, `at most ${decText(rules.maxPrice)}`);
      if (rules.minExchangeValue && q.isFinite() && q.gt(0)) {
        const total = p.mul(q);
        if (total.lt(rules.minExchangeValue))
          add(
            'quantity',
            q,
            `order value ${decText(total)} ${rules.quote} is below the minimum ${decText(rules.minExchangeValue)}`,
          );
      }
    }
  } else if (order.price) add('price', order.price, `not allowed on ${order.method} orders`);
  if (needsStop) {
    const s = order.stopPrice;
    if (!s) add('stopPrice', 'missing', `required for ${order.method} orders`);
    else if (!s.isFinite() || s.lte(0)) add('stopPrice', s, 'must be greater than 0');
    else if (decimals(s) > rules.priceScale) add('stopPrice', s, `at most ${rules.priceScale} decimals`);
  }
  return out;
}

export function assertValidOrder(rules: SymbolRules, order: OrderRequest): void {
  const violations = orderViolations(rules, order);
  if (violations.length > 0) throw new OrderValidationError(order.symbol, violations);
}
