import type { Decimal } from 'decimal.js';
import type { SymbolRules } from '../domain/symbols.ts';
import type { TopOfBook } from '../market/service.ts';
import type { PositionPnl } from '../oms/accounting.ts';
import type { StoredOrder } from '../ports/store.ts';
import type {
  BalanceView,
  MarketView,
  PositionView,
  RestingOrder,
  StrategySnapshot,
} from '../strategies/types.ts';

// What a strategy is shown, assembled from the engine's inputs. Pure.

/**
 * One of our active orders as the diff sees it, its slot tag being the intent id it was journaled
 * with. Foreign orders are not ours to manage, and an order without a price is none of the
 * strategy's quotes: neither is shown.
 */
export function restingOf(order: StoredOrder): RestingOrder | null {
  if (order.origin === 'foreign' || order.price === null || order.clientOrderId === null) return null;
  return {
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    price: order.price,
    quantityLeft: order.quantity.sub(order.filledQuantity),
    state: order.state,
    tag: order.intentId,
  };
}

export function marketViewOf(top: TopOfBook | null): MarketView {
  if (top === null) return { bestBid: null, bestAsk: null, status: 'stale' };
  return { bestBid: top.bid?.price ?? null, bestAsk: top.ask?.price ?? null, status: top.status };
}

/** The mid of a two-sided, uncrossed top; null otherwise. */
export function midOf(top: TopOfBook | null): Decimal | null {
  const bid = top?.bid?.price;
  const ask = top?.ask?.price;
  if (bid === undefined || ask === undefined || bid.gte(ask)) return null;
  return bid.add(ask).div(2);
}

export function positionViewOf(position: PositionPnl): PositionView {
  return { base: position.quantity, avgCost: position.averagePrice };
}

export interface SnapshotInput {
  readonly now: number;
  readonly symbols: readonly string[];
  readonly rules: ReadonlyMap<string, SymbolRules>;
  readonly tops: ReadonlyMap<string, TopOfBook | null>;
  readonly balances: ReadonlyMap<string, BalanceView>;
  readonly positions: ReadonlyMap<string, PositionPnl>;
  readonly resting: readonly RestingOrder[];
}

export function buildSnapshot(input: SnapshotInput): StrategySnapshot {
  const markets = new Map<string, MarketView>();
  const rules = new Map<string, SymbolRules>();
  const positions = new Map<string, PositionView>();
  for (const symbol of input.symbols) {
    markets.set(symbol, marketViewOf(input.tops.get(symbol) ?? null));
    const symbolRules = input.rules.get(symbol);
    if (symbolRules) rules.set(symbol, symbolRules);
    const position = input.positions.get(symbol);
    if (position) positions.set(symbol, positionViewOf(position));
  }
  return {
    now: input.now,
    rules,
    markets,
    balances: input.balances,
    positions,
    resting: input.resting.filter((r) => markets.has(r.symbol)),
  };
}
