import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { Dec, decText, ZERO } from '../domain/decimal.ts';
import { orderViolations, type OrderRequest, type Side } from '../domain/orders.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { decimalParam, numberParam, parseParams } from '../strategies/params.ts';

// Pre-trade risk: one pure check run before every submit and replace. Cancels never pass through
// it: reducing what rests is always allowed, whatever the kill switch or the escalation level say.

export const ESCALATION_LEVELS = ['NORMAL', 'REDUCE_ONLY', 'HALTED'] as const;
/** NORMAL allows all; REDUCE_ONLY only orders that shrink the position; HALTED nothing new. */
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

/** The most restrictive of several demanded levels (e.g. the loss ladder and reconciliation). */
export function strictest(...levels: EscalationLevel[]): EscalationLevel {
  return levels.reduce<EscalationLevel>(
    (a, b) => (ESCALATION_LEVELS.indexOf(b) > ESCALATION_LEVELS.indexOf(a) ? b : a),
    'NORMAL',
  );
}

const SYMBOL = /^[A-Z0-9]{4,20}$/;

export const riskLimitsSchema = z
  .strictObject({
    maxOrderQuote: decimalParam({ above: 0 })
      .prefault('10000')
      .describe('largest value of one order, in the quote currency (TRY)'),
    maxPositionQuote: decimalParam({ above: 0 })
      .prefault('50000')
      .describe(
        'largest position per symbol, valued at the order price, counting resting orders on the same side',
      ),
    maxPositionBase: z
      .record(z.string().regex(SYMBOL, 'must be a symbol such as "BTCTRY"'), decimalParam({ min: 0 }))
      .prefault({})
      .describe('largest position per symbol in the base asset, e.g. {"BTCTRY":"0.05"}'),
    maxOpenOrders: numberParam({ int: true, min: 1, max: 1000 })
      .prefault(20)
      .describe('open orders across all symbols'),
    maxOpenOrdersPerSymbol: numberParam({ int: true, min: 1, max: 1000 })
      .prefault(10)
      .describe('open orders on one symbol'),
    feeRate: decimalParam({ min: 0, max: '0.05' })
      .prefault('0.003')
      .describe('fee and tax reserved on every buy, as a fraction (above the highest BTCTurk taker tier)'),
    dailyLossSoftPct: numberParam({ above: 0, max: 100 })
      .prefault(2)
      .describe("loss today, in percent of the day's starting equity, that demands REDUCE_ONLY"),
    dailyLossHardPct: numberParam({ above: 0, max: 100 })
      .prefault(4)
      .describe("loss today, in percent of the day's starting equity, that demands HALTED"),
    drawdownSoftPct: numberParam({ above: 0, max: 100 })
      .prefault(5)
      .describe('fall from the equity peak, in percent, that demands REDUCE_ONLY'),
    drawdownHardPct: numberParam({ above: 0, max: 100 })
      .prefault(10)
      .describe('fall from the equity peak, in percent, that demands HALTED'),
  })
  .superRefine((limits, ctx) => {
    const pairs = [
      ['dailyLossSoftPct', 'dailyLossHardPct'],
      ['drawdownSoftPct', 'drawdownHardPct'],
      ['maxOpenOrdersPerSymbol', 'maxOpenOrders'],
    ] as const;
    for (const [low, high] of pairs)
      if (limits[low] > limits[high])
        ctx.addIssue({
          code: 'custom',
          path: [low],
          message: `must not exceed ${high} (${limits[high]})`,
        });
  });

export type RiskLimits = z.output<typeof riskLimitsSchema>;

/** Validates risk limits; unset ones take the safe defaults. Throws a ConfigError naming the limit. */
export function parseRiskLimits(raw: unknown): RiskLimits {
  return parseParams('risk', riskLimitsSchema, raw);
}

export type RiskGate =
  | 'kill-switch'
  | 'escalation'
  | 'rate-budget'
  | 'exchange-rules'
  | 'valuation'
  | 'max-order-value'
  | 'max-open-orders'
  | 'max-position'
  | 'balance';

export type RiskDecision =
  { readonly ok: true } | { readonly ok: false; readonly gate: RiskGate; readonly reason: string };

/** The order a replacement takes the place of: its funds are freed before the new one is sent. */
export interface ReplacedOrder {
  readonly side: Side;
  readonly price: Decimal;
  readonly quantityLeft: Decimal;
}

export interface RiskContext {
  readonly rules: SymbolRules;
  readonly limits: RiskLimits;
  readonly level: EscalationLevel;
  readonly killSwitch: boolean;
  /** Free balances: funds locked by open orders (including ones about to be canceled) are not free. */
  readonly freeBase: Decimal;
  readonly freeQuote: Decimal;
  /** Base quantity held on the symbol (negative: short). */
  readonly position: Decimal;
  /** Quantity left on our open orders on the symbol, per side, the replaced order included. */
  readonly restingBuyBase: Decimal;
  readonly restingSellBase: Decimal;
  /** Our open orders, in total and on the symbol, the replaced order included. */
  readonly openOrders: number;
  readonly openOrdersOnSymbol: number;
  /** Order requests the rate limiter allows now. */
  readonly ordersAvailable: number;
  /** Values an order that carries no limit price (e.g. the touch for a market order). */
  readonly referencePrice?: Decimal | undefined;
  /** Set when the order replaces one of ours (cancel confirmed before the new one is sent). */
  readonly replacing?: ReplacedOrder | undefined;
}

const OK: RiskDecision = { ok: true };

function refuse(gate: RiskGate, reason: string): RiskDecision {
  return { ok: false, gate, reason };
}

const txt = (value: Decimal) => decText(value);

/** The replaced order's quantity when it is on `side`, else zero. */
function replacedOn(ctx: RiskContext, side: Side): Decimal {
  return ctx.replacing?.side === side ? ctx.replacing.quantityLeft : ZERO;
}

function escalationGate(order: OrderRequest, ctx: RiskContext): RiskDecision {
  if (ctx.level === 'NORMAL') return OK;
  if (ctx.level === 'HALTED') return refuse('escalation', 'escalation level HALTED: no new orders');
  // REDUCE_ONLY: every order on the reducing side together may at most flatten the position.
  const reducing: Side = ctx.position.gt(0) ? 'sell' : 'buy';
  const held = ctx.position.abs();
  const resting = (reducing === 'sell' ? ctx.restingSellBase : ctx.restingBuyBase).sub(
    replacedOn(ctx, reducing),
  );
  const room = held.sub(resting);
  if (held.isZero() || order.side !== reducing)
    return refuse(
      'escalation',
      `escalation level REDUCE_ONLY: a ${order.side} on ${order.symbol} would not reduce the position ${txt(ctx.position)}`,
    );
  if (order.quantity.gt(room))
    return refuse(
      'escalation',
      `escalation level REDUCE_ONLY: ${order.side} ${txt(order.quantity)} on ${order.symbol} exceeds what ` +
        `reduces the position ${txt(ctx.position)} with ${txt(resting)} already resting on that side (at most ${txt(Dec.max(room, ZERO))})`,
    );
  return OK;
}

function positionGate(order: OrderRequest, ctx: RiskContext, price: Decimal): RiskDecision {
  const sign = order.side === 'buy' ? 1 : -1;
  const resting = (order.side === 'buy' ? ctx.restingBuyBase : ctx.restingSellBase).sub(
    replacedOn(ctx, order.side),
  );
  const projected = ctx.position.add(resting.add(order.quantity).mul(sign)).abs();
  if (projected.lte(ctx.position.abs())) return OK; // it shrinks the exposure
  const what = `${order.side} ${txt(order.quantity)} on ${order.symbol} (position ${txt(ctx.position)}, ${txt(resting)} resting on that side)`;
  const baseLimit = ctx.limits.maxPositionBase[order.symbol];
  if (baseLimit && projected.gt(baseLimit))
    return refuse(
      'max-position',
      `${what} could take the position to ${txt(projected)} ${ctx.rules.base}, above maxPositionBase ${txt(baseLimit)}`,
    );
  const value = projected.mul(price);
  if (value.gt(ctx.limits.maxPositionQuote))
    return refuse(
      'max-position',
      `${what} could take the position to ${txt(value)} ${ctx.rules.quote} at ${txt(price)}, above maxPositionQuote ${txt(ctx.limits.maxPositionQuote)}`,
    );
  return OK;
}

function balanceGate(order: OrderRequest, ctx: RiskContext, price: Decimal): RiskDecision {
  const replaced = ctx.replacing?.side === order.side ? ctx.replacing : undefined;
  if (order.side === 'buy') {
    const need = price.mul(order.quantity).mul(ctx.limits.feeRate.add(1));
    const freed = replaced ? replaced.price.mul(replaced.quantityLeft) : ZERO;
    const available = ctx.freeQuote.add(freed);
    if (need.gt(available))
      return refuse(
        'balance',
        `buy ${txt(order.quantity)} ${ctx.rules.base} at ${txt(price)} needs ${txt(need)} ${ctx.rules.quote} ` +
          `with fees (rate ${txt(ctx.limits.feeRate)}), only ${txt(available)} free`,
      );
    return OK;
  }
  const available = ctx.freeBase.add(replaced?.quantityLeft ?? ZERO);
  if (order.quantity.gt(available))
    return refuse(
      'balance',
      `sell ${txt(order.quantity)} ${ctx.rules.base} needs that much free, only ${txt(available)} ${ctx.rules.base} free`,
    );
  return OK;
}

/**
 * Every gate a new order (or a replacement) must pass, in order: kill switch, escalation level,
 * rate budget, exchange rules, order value, open orders, position, balance. The first refusal is
 * returned with the gate's name and the numbers behind it.
 */
export function checkOrder(order: OrderRequest, ctx: RiskContext): RiskDecision {
  if (ctx.killSwitch) return refuse('kill-switch', 'kill switch is on: no new orders (cancels still go out)');

  const escalation = escalationGate(order, ctx);
  if (!escalation.ok) return escalation;

  const cost = ctx.replacing ? 2 : 1;
  if (ctx.ordersAvailable < cost)
    return refuse(
      'rate-budget',
      `${ctx.replacing ? 'a replace needs 2 order requests' : 'a submit needs 1 order request'}, ` +
        `the rate budget has ${ctx.ordersAvailable} left`,
    );

  const violations = orderViolations(ctx.rules, order);
  if (violations.length > 0)
    return refuse('exchange-rules', violations.map((v) => `${v.field}=${v.value}: ${v.rule}`).join('; '));

  const price = order.price ?? ctx.referencePrice;
  if (price === undefined)
    return refuse(
      'valuation',
      `${order.method} order on ${order.symbol} has no price and no reference price`,
    );

  const value = price.mul(order.quantity);
  if (value.gt(ctx.limits.maxOrderQuote))
    return refuse(
      'max-order-value',
      `order value ${txt(value)} ${ctx.rules.quote} (${txt(order.quantity)} at ${txt(price)}) is above maxOrderQuote ${txt(ctx.limits.maxOrderQuote)}`,
    );

  if (!ctx.replacing) {
    if (ctx.openOrders >= ctx.limits.maxOpenOrders)
      return refuse(
        'max-open-orders',
        `${ctx.openOrders} orders open, maxOpenOrders is ${ctx.limits.maxOpenOrders}`,
      );
    if (ctx.openOrdersOnSymbol >= ctx.limits.maxOpenOrdersPerSymbol)
      return refuse(
        'max-open-orders',
        `${ctx.openOrdersOnSymbol} orders open on ${order.symbol}, maxOpenOrdersPerSymbol is ${ctx.limits.maxOpenOrdersPerSymbol}`,
      );
  }

  const position = positionGate(order, ctx, price);
  if (!position.ok) return position;
  return balanceGate(order, ctx, price);
}

export interface LadderStep {
  readonly level: EscalationLevel;
  /** Why the level is demanded; null at NORMAL. */
  readonly reason: string | null;
}

export type LossLimits = Pick<
  RiskLimits,
  'dailyLossSoftPct' | 'dailyLossHardPct' | 'drawdownSoftPct' | 'drawdownHardPct'
>;

const pct = (value: Decimal) => value.toDecimalPlaces(2).toFixed();

/**
 * The level that today's loss and the fall from the equity peak demand: REDUCE_ONLY from a soft
 * limit, HALTED from a hard one. The day's starting equity is `equityNow - pnlToday`.
 */
export function ladderFor(
  pnlToday: Decimal,
  equityPeak: Decimal,
  equityNow: Decimal,
  limits: LossLimits,
): LadderStep {
  const hard: string[] = [];
  const soft: string[] = [];
  const start = equityNow.sub(pnlToday);
  if (start.gt(0) && pnlToday.lt(0)) {
    const loss = pnlToday.neg().div(start).mul(100);
    const text = (limit: number, kind: string) =>
      `daily loss ${txt(pnlToday.neg())} is ${pct(loss)}% of the day's starting equity ${txt(start)}, at or above the ${kind} limit ${limit}%`;
    if (loss.gte(limits.dailyLossHardPct)) hard.push(text(limits.dailyLossHardPct, 'hard'));
    else if (loss.gte(limits.dailyLossSoftPct)) soft.push(text(limits.dailyLossSoftPct, 'soft'));
  }
  if (equityPeak.gt(0) && equityNow.lt(equityPeak)) {
    const fall = equityPeak.sub(equityNow).div(equityPeak).mul(100);
    const text = (limit: number, kind: string) =>
      `drawdown ${pct(fall)}% from the equity peak ${txt(equityPeak)} to ${txt(equityNow)}, at or above the ${kind} limit ${limit}%`;
    if (fall.gte(limits.drawdownHardPct)) hard.push(text(limits.drawdownHardPct, 'hard'));
    else if (fall.gte(limits.drawdownSoftPct)) soft.push(text(limits.drawdownSoftPct, 'soft'));
  }
  if (hard.length > 0) return { level: 'HALTED', reason: [...hard, ...soft].join('; ') };
  if (soft.length > 0) return { level: 'REDUCE_ONLY', reason: soft.join('; ') };
  return { level: 'NORMAL', reason: null };
}
