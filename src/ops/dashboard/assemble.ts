import type { Decimal } from 'decimal.js';
import { isClosed } from '../../domain/lifecycle.ts';
import type { StoredOrder } from '../../ports/store.ts';
import { equityChart, priceChart, type TopSample } from './charts.ts';
import type { ClusterView } from '../leases/cluster-status.ts';
import type {
  BudgetView,
  ClusterSectionView,
  DashboardSnapshot,
  DecisionView,
  EngineView,
  LimiterView,
  PnlView,
  ReconciliationView,
  SymbolView,
} from './model.ts';
import { amount, fillView, MONEY_PLACES, orderView, ourQuotes, type StoreView } from './store-view.ts';

// One snapshot from what the store says and, with a running bot, what only it knows. Pure.

/** Per symbol, what a running bot knows now. */
export interface LiveMarket {
  readonly status: string;
  readonly dataAgeMs: number | null;
  readonly bid: Decimal | null;
  readonly ask: Decimal | null;
  readonly blockers: readonly string[];
  /** The position the strategy aims for; null when it has none. */
  readonly target: Decimal | null;
  /** The bot's mark and the unrealised result of its position at it. */
  readonly unrealised: Decimal | null;
}

export interface LiveState {
  readonly mode: string;
  readonly symbols: readonly string[];
  readonly markets: ReadonlyMap<string, LiveMarket>;
  readonly engine: EngineView;
  readonly budget: { readonly used: number; readonly limit: number };
  readonly limiter: readonly LimiterView[] | null;
  readonly reconciliation: ReconciliationView | null;
  readonly pnl: Omit<PnlView, 'from'> | null;
  readonly decisions: readonly DecisionView[];
  /**
   * The engine tells its decisions itself (placed, replaced, canceled, refused — exchange
   * rejections included): of the store's journal only what it does not tell is added.
   */
  readonly engineDecides?: boolean | undefined;
  readonly samples: ReadonlyMap<string, readonly TopSample[]>;
}

export interface AssembleInput {
  readonly at: number;
  readonly store: StoreView;
  readonly live: LiveState | null;
  readonly canControl: boolean;
  readonly limits: { readonly fills: number; readonly orders: number; readonly decisions: number };
}

const closed = (order: StoredOrder): boolean => isClosed(order.state);

function symbolsOf(input: AssembleInput): string[] {
  const { store, live } = input;
  const seen = new Set(live?.symbols ?? []);
  for (const symbol of store.positions.keys()) seen.add(symbol);
  for (const order of store.active) seen.add(order.symbol);
  // A running bot's own symbols first, in its order; then the rest by name.
  const own = live?.symbols ?? [];
  return [...own, ...[...seen].filter((s) => !own.includes(s)).sort()];
}

function budgetView(budget: LiveState['budget']): BudgetView {
  return { ...budget, headroom: Math.max(0, budget.limit - budget.used) };
}

/** The cluster section: hidden (null) when no process row is on the store (not in cluster mode). */
function clusterSection(view: ClusterView | null): ClusterSectionView | null {
  if (view === null || view.processes.length === 0) return null;
  return {
    at: view.at,
    processes: view.processes.map((p) => ({
      id: p.id,
      host: p.host,
      pid: p.pid,
      alive: p.alive,
      heartbeatAt: p.heartbeatAt,
      pairs: p.pairs.map((x) => ({ symbol: x.symbol, epoch: x.epoch })),
      budget: p.budget === null ? null : { ...p.budget },
    })),
    unheld: view.unheld.map((l) => ({ symbol: l.symbol, holder: l.holder, epoch: l.epoch })),
  };
}

export function assemble(input: AssembleInput): DashboardSnapshot {
  const { store, live, at } = input;
  const symbols = symbolsOf(input);
  const symbolViews: SymbolView[] = symbols.map((symbol) => {
    const position = store.positions.get(symbol);
    const market = live?.markets.get(symbol);
    const ours = ourQuotes(store.active, symbol);
    const opt = (value: Decimal | null | undefined, places?: number): string | null =>
      value === null || value === undefined ? null : amount(value, places);
    return {
      symbol,
      status: market?.status ?? null,
      dataAgeMs: market?.dataAgeMs ?? null,
      bookBid: opt(market?.bid),
      bookAsk: opt(market?.ask),
      ourBid: opt(ours.bid),
      ourAsk: opt(ours.ask),
      position: position === undefined ? '0' : amount(position.quantity),
      target: opt(market?.target),
      averagePrice: opt(position?.averagePrice, MONEY_PLACES),
      realised: position === undefined ? '0' : amount(position.realised, MONEY_PLACES),
      unrealised: opt(market?.unrealised, MONEY_PLACES),
      fees: position === undefined ? '0' : amount(position.costs, MONEY_PLACES),
      fills: position?.fillCount ?? 0,
      blockers: market?.blockers ?? [],
    };
  });
  const last = store.lastEquity;
  const pnl: PnlView | null =
    live?.pnl != null
      ? { ...live.pnl, from: 'live' }
      : last === undefined
        ? null
        : {
            currency: last.currency,
            at: last.at,
            equity: amount(last.equity, MONEY_PLACES),
            cash: amount(last.cash, MONEY_PLACES),
            realised: amount(last.realised, MONEY_PLACES),
            unrealised: amount(last.unrealised, MONEY_PLACES),
            fees: amount(last.fees, MONEY_PLACES),
            from: 'store',
          };
  // Without a running bot the price chart ends at the store's last activity, not now.
  const lastActivity = Math.max(
    0,
    ...store.recent.slice(0, 1).map((o) => o.updatedAt),
    ...store.allFills.slice(-1).map((f) => f.timestamp),
  );
  const end = live === null ? lastActivity || at : at;
  const fromStore =
    live?.engineDecides === true
      ? store.decisions.filter((d) => d.kind === 'cancel-refused')
      : store.decisions;
  const decisions = [...fromStore, ...(live?.decisions ?? [])]
    .sort((a, b) => b.at - a.at)
    .slice(0, input.limits.decisions);
  return {
    at,
    source: live === null ? 'store' : 'live',
    running: live !== null,
    database: store.database,
    mode: live?.mode ?? null,
    symbols: symbolViews,
    escalation: store.escalation,
    killSwitch: store.killSwitch,
    canControl: input.canControl,
    engine: live?.engine ?? null,
    budget: live === null ? null : budgetView(live.budget),
    limiter: live?.limiter ?? null,
    reconciliation: live?.reconciliation ?? null,
    pnl,
    openOrders: store.active.slice(0, input.limits.orders).map(orderView),
    fills: store.allFills.slice(-input.limits.fills).reverse().map(fillView),
    decisions,
    audit: store.audit,
    cluster: clusterSection(store.cluster),
    charts: {
      equity: equityChart(store.equity),
      prices: symbols.map((symbol) => ({
        symbol,
        svg: priceChart({
          symbol,
          samples: live?.samples.get(symbol) ?? [],
          orders: store.recent,
          fills: store.allFills,
          closed,
          end,
        }),
      })),
    },
  };
}
