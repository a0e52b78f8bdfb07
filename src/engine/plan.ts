import type { Decimal } from 'decimal.js';
import { ZERO } from '../domain/decimal.ts';
import type { OrderRequest } from '../domain/orders.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { BalanceView, RestingOrder, WantedOrder } from '../strategies/types.ts';
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

/**
 * Why an order was held back: a risk gate, one of the engine's own, or (`execution`) the execution
 * core's admission refusing it when it was sent.
 */
export type EngineGate = RiskGate | 'not-ready' | 'stale-market' | 'no-rules' | 'execution';

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

  for (const { resting, wanted } of input.diff.replaces) {
    const refusal = gate(wanted, resting);
    if (refusal) refusals.push(refusal);
    else {
      actions.push({ kind: 'replace', resting, wanted });
      available -= ACTION_COST.replace;
    }
  }
  for (const wanted of input.diff.submits) {
    const refusal = gate(wanted);
    if (refusal) refusals.push(refusal);
    else {
      actions.push({ kind: 'submit', wanted });
      available -= ACTION_COST.submit;
    }
  }
  return { actions, refusals };
}
