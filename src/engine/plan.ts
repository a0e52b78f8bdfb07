import type { Decimal } from 'decimal.js';
import { ZERO } from '../domain/decimal.ts';
import type { OrderRequest, Side } from '../domain/orders.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { BalanceView, RestingOrder, WantedOrder } from '../strategies/types.ts';
import { selfTradeConflict, selfTradeReason, type OwnRestingOrder } from '../oms/gates.ts';
import { ACTION_COST, type OrderDiff } from './diff.ts';
import {
  checkOrder,
  type EscalationLevel,
  type RiskContext,
  type RiskGate,
  type RiskLimits,
} from './risk.ts';

// From a diff to the actions that may go out now. Pure: every submit and replace passes the
// engine's own gates (start-up reconciliation done, fresh market data) and then the risk gates, in
// the order the diff gives them, each one seeing the exposure the approved ones before it add.
// Cancels are never gated: taking risk off is always allowed.
//
// No planned order crosses one of our own resting orders (self-trade prevention, which the
// execution core also enforces). The actions of a symbol run one after another in plan order, a
// replace cancelling its old order before placing the new one, so the plan keeps the set of our
// orders that will rest at each point: cancels first, then each replace whose new price crosses
// nothing still resting (a quote moving away from the other side goes before the one moving
// towards it), then submits. What would still cross is held back (gate `self-trade`) until the
// next diff, when the orders in its way have moved.

/**
 * Why an order was held back: a risk gate, one of the engine's own, or (`execution`) the execution
 * core's admission refusing it when it was sent.
 */
export type EngineGate = RiskGate | 'not-ready' | 'stale-market' | 'no-rules' | 'self-trade' | 'execution';

export type EngineAction =
  | { readonly kind: 'cancel'; readonly resting: RestingOrder }
  | { readonly kind: 'replace'; readonly resting: RestingOrder; readonly wanted: WantedOrder }
  | { readonly kind: 'submit'; readonly wanted: WantedOrder };

export interface Refusal {
  readonly gate: EngineGate;
  readonly reason: string;
  readonly symbol: string;
  readonly tag: string;
}

export interface PlanInput {
  readonly diff: Pick<OrderDiff, 'cancels' | 'replaces' | 'submits'>;
  /** The execution core's start-up reconciliation came out clean. */
  readonly ready: boolean;
  /** Whether the symbol's market data is fresh enough to place orders on. */
  readonly tradable: (symbol: string) => boolean;
  readonly rules: ReadonlyMap<string, SymbolRules>;
  readonly limits: RiskLimits;
  readonly level: EscalationLevel;
  readonly killSwitch: boolean;
  readonly balances: ReadonlyMap<string, BalanceView>;
  /** The bot's own position per symbol, from its fills. */
  readonly positions: ReadonlyMap<string, Decimal>;
  /** Every active order of ours (in flight included): what already uses the limits. */
  readonly open: readonly RestingOrder[];
  readonly ordersAvailable: number;
}

export interface Plan {
  readonly actions: EngineAction[];
  readonly refusals: Refusal[];
}

/** Exposure as the plan grows: free funds, resting quantity and open orders after each approval. */
class Exposure {
  readonly #free = new Map<string, Decimal>();
  readonly #resting = new Map<string, Decimal>(); // `${symbol}:${side}` → base quantity left
  readonly #openBySymbol = new Map<string, number>();
  #open = 0;

  constructor(balances: ReadonlyMap<string, BalanceView>, open: readonly RestingOrder[]) {
    for (const [asset, balance] of balances) this.#free.set(asset, balance.free);
    for (const order of open) {
      this.#addResting(order.symbol, order.side, order.quantityLeft);
      this.#countOpen(order.symbol, 1);
    }
  }

  #addResting(symbol: string, side: string, quantity: Decimal): void {
    const key = `${symbol}:${side}`;
    this.#resting.set(key, (this.#resting.get(key) ?? ZERO).add(quantity));
  }

  #countOpen(symbol: string, n: number): void {
    this.#open += n;
    this.#openBySymbol.set(symbol, (this.#openBySymbol.get(symbol) ?? 0) + n);
  }

  free(asset: string): Decimal {
    return this.#free.get(asset) ?? ZERO;
  }

  resting(symbol: string, side: string): Decimal {
    return this.#resting.get(`${symbol}:${side}`) ?? ZERO;
  }

  get open(): number {
    return this.#open;
  }

  openOn(symbol: string): number {
    return this.#openBySymbol.get(symbol) ?? 0;
  }

  /** The funds an approved order takes, less what the order it replaces frees. */
  commit(rules: SymbolRules, feeRate: Decimal, order: WantedOrder, replacing?: RestingOrder): void {
    const spend = (asset: string, amount: Decimal) => this.#free.set(asset, this.free(asset).sub(amount));
    if (order.side === 'buy') spend(rules.quote, order.price.mul(order.quantity).mul(feeRate.add(1)));
    else spend(rules.base, order.quantity);
    this.#addResting(order.symbol, order.side, order.quantity);
    if (!replacing) {
      this.#countOpen(order.symbol, 1);
      return;
    }
    if (replacing.side === 'buy') spend(rules.quote, replacing.price.mul(replacing.quantityLeft).neg());
    else spend(rules.base, replacing.quantityLeft.neg());
    this.#addResting(replacing.symbol, replacing.side, replacing.quantityLeft.neg());
  }
}

function requestOf(wanted: WantedOrder): OrderRequest {
  // The client order id is the execution core's to make; the rules only check its shape.
  return { ...wanted, method: 'limit', clientOrderId: 'planned' };
}

/** The actions to send now, and every order held back with its gate and reason. */
export function planActions(input: PlanInput): Plan {
  const exposure = new Exposure(input.balances, input.open);
  const actions: EngineAction[] = input.diff.cancels.map((resting) => ({ kind: 'cancel', resting }));
  const refusals: Refusal[] = [];
  let available = input.ordersAvailable - input.diff.cancels.length * ACTION_COST.cancel;

  const gate = (wanted: WantedOrder, replacing?: RestingOrder): Refusal | null => {
    const refuse = (g: EngineGate, reason: string): Refusal => ({
      gate: g,
      reason,
      symbol: wanted.symbol,
      tag: wanted.tag,
    });
    if (!input.ready)
      return refuse('not-ready', 'start-up reconciliation has not come out clean yet: no new orders');
    if (!input.tradable(wanted.symbol))
      return refuse('stale-market', `market data for ${wanted.symbol} is stale: no new orders on it`);
    const rules = input.rules.get(wanted.symbol);
    if (!rules) return refuse('no-rules', `the exchange states no trading rules for ${wanted.symbol}`);
    const ctx: RiskContext = {
      rules,
      limits: input.limits,
      level: input.level,
      killSwitch: input.killSwitch,
      freeBase: exposure.free(rules.base),
      freeQuote: exposure.free(rules.quote),
      position: input.positions.get(wanted.symbol) ?? ZERO,
      restingBuyBase: exposure.resting(wanted.symbol, 'buy'),
      restingSellBase: exposure.resting(wanted.symbol, 'sell'),
      openOrders: exposure.open,
      openOrdersOnSymbol: exposure.openOn(wanted.symbol),
      ordersAvailable: available,
      replacing: replacing && {
        side: replacing.side,
        price: replacing.price,
        quantityLeft: replacing.quantityLeft,
      },
    };
    const decision = checkOrder(requestOf(wanted), ctx);
    if (!decision.ok) return refuse(decision.gate, decision.reason);
    exposure.commit(rules, input.limits.feeRate, wanted, replacing);
    return null;
  };

  const ours = new OwnBook(input.open, input.diff.cancels);
  const selfTrade = (wanted: WantedOrder): Refusal | null => {
    const reason = ours.crossing(wanted);
    return reason === null ? null : { gate: 'self-trade', reason, symbol: wanted.symbol, tag: wanted.tag };
  };

  // Replaces in an order that never crosses: each pass takes every one that is clear now; one
  // that only crosses an order another replace moves away waits for that one.
  let pending = [...input.diff.replaces];
  for (let progressed = true; progressed && pending.length > 0;) {
    progressed = false;
    const blocked: typeof pending = [];
    for (const pair of pending) {
      if (selfTrade(pair.wanted) !== null) {
        blocked.push(pair);
        continue;
      }
      progressed = true;
      const refusal = gate(pair.wanted, pair.resting);
      if (refusal) refusals.push(refusal);
      else {
        actions.push({ kind: 'replace', resting: pair.resting, wanted: pair.wanted });
        available -= ACTION_COST.replace;
        ours.replace(pair.resting, pair.wanted);
      }
    }
    pending = blocked;
  }
  for (const { wanted } of pending) refusals.push(selfTrade(wanted) ?? never());

  for (const wanted of input.diff.submits) {
    const refusal = selfTrade(wanted) ?? gate(wanted);
    if (refusal) refusals.push(refusal);
    else {
      actions.push({ kind: 'submit', wanted });
      available -= ACTION_COST.submit;
      ours.add(wanted);
    }
  }
  return { actions, refusals };
}

function never(): never {
  throw new Error('a replace held back for a self-trade no longer crosses anything');
}

/** Our orders on the book as the plan's actions will leave them, for the self-trade check. */
class OwnBook {
  readonly #orders: { key: string; order: OwnRestingOrder; symbol: string }[] = [];

  constructor(open: readonly RestingOrder[], cancels: readonly RestingOrder[]) {
    const canceled = new Set(cancels.map((c) => c.clientOrderId));
    for (const order of open) if (!canceled.has(order.clientOrderId)) this.#push(order.clientOrderId, order);
  }

  #push(key: string, order: { symbol: string; side: Side; price: Decimal }): void {
    this.#orders.push({
      key,
      symbol: order.symbol,
      order: {
        id: key,
        clientOrderId: key.startsWith('planned:') ? null : key,
        side: order.side,
        price: order.price,
      },
    });
  }

  /** Why the wanted order would cross one of ours, or null. */
  crossing(wanted: WantedOrder): string | null {
    const candidate = { symbol: wanted.symbol, side: wanted.side, price: wanted.price };
    const conflict = selfTradeConflict(
      candidate,
      this.#orders.filter((o) => o.symbol === wanted.symbol).map((o) => o.order),
    );
    return conflict === null ? null : selfTradeReason(candidate, conflict);
  }

  replace(old: RestingOrder, wanted: WantedOrder): void {
    const at = this.#orders.findIndex((o) => o.key === old.clientOrderId);
    if (at >= 0) this.#orders.splice(at, 1);
    this.add(wanted);
  }

  add(wanted: WantedOrder): void {
    this.#push(`planned:${wanted.tag}`, wanted);
  }
}
