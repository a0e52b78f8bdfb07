import type { Decimal } from 'decimal.js';
import type { GroupHeadroom, RateLimiter } from '../../btcturk/common/rate-limiter.ts';
import type { BookLevel } from '../../domain/reports.ts';
import type { Engine, EngineDecision, EngineStats, SymbolWait } from '../../engine/engine.ts';
import type { Valuation } from '../../engine/portfolio.ts';
import type { BudgetUse } from '../../engine/rate-budget.ts';
import type { MarketDataService } from '../../market/service.ts';
import type { Oms, ReconcileReport } from '../../oms/index.ts';
import type { EscalationState, KillSwitchState, Store } from '../../ports/store.ts';
import type { RunMode } from '../run-config.ts';

// The session's read model: what a dashboard, an alert evaluator or a heartbeat reads of a running
// bot, from the parts the bot acts on (never a copy kept beside them). `snapshot()` is plain JSON
// (decimals as strings, times in ms since the epoch) and holds no key or secret. Recent engine
// decisions are kept in a ring and can be followed as they happen.

export type SessionPhase = 'starting' | 'running' | 'stopping' | 'stopped';

/** The last reconciliation pass that ran to its end, and when. */
export interface LastReconcile {
  readonly at: number;
  readonly report: ReconcileReport;
}

export interface QuoteView {
  readonly clientOrderId: string | null;
  readonly side: string;
  readonly price: string | null;
  readonly quantity: string;
  readonly filled: string;
  readonly state: string;
}

export interface SymbolView {
  readonly symbol: string;
  readonly status: string;
  readonly dataAgeMs: number | null;
  readonly source: string | null;
  readonly bid: { readonly price: string; readonly quantity: string } | null;
  readonly ask: { readonly price: string; readonly quantity: string } | null;
  /** Our orders resting (or in flight) on the symbol. */
  readonly quotes: readonly QuoteView[];
  /** The bot's own net position from its fills, and the strategy's target where it has one. */
  readonly inventory: { readonly position: string | null; readonly target: string | null };
}

export interface SessionSnapshot {
  readonly at: number;
  readonly mode: RunMode;
  readonly phase: SessionPhase;
  readonly startedAt: number;
  readonly strategy: string;
  readonly escalation: EscalationState;
  readonly killSwitch: KillSwitchState;
  /** When the engine last evaluated (its loop), ms since the epoch; null before the first. */
  readonly lastLoopAt: number | null;
  readonly engine: EngineStats;
  readonly symbols: readonly SymbolView[];
  /** What holds symbols back from trading (empty list: nothing). */
  readonly waiting: readonly SymbolWait[];
  readonly budget: {
    /** The engine's own order budget (new orders and cancels a minute). */
    readonly orders: BudgetUse;
    /** Every REST endpoint group's windows and use; null when the limiter's store cannot tell. */
    readonly rest: readonly GroupHeadroom[] | null;
  };
  readonly lastReconcile: {
    readonly at: number;
    readonly clean: boolean;
    readonly failures: readonly string[];
    readonly divergences: readonly string[];
    readonly unresolved: number;
    readonly openReplaces: number;
  } | null;
  readonly valuation: {
    readonly currency: string;
    readonly equity: string;
    readonly cash: string;
    readonly realised: string;
    readonly unrealised: string;
    readonly fees: string;
  } | null;
  readonly decisions: readonly EngineDecision[];
}

/** The live parts behind the view, for what needs more than a snapshot (a kill-switch button). */
export interface SessionParts {
  readonly store: Store;
  readonly engine: Engine;
  readonly oms: Oms;
  readonly market: MarketDataService;
  readonly limiter: RateLimiter;
}

export interface SessionView {
  readonly mode: RunMode;
  readonly symbols: readonly string[];
  readonly strategy: string;
  readonly prefix: string;
  readonly startedAt: number;
  readonly parts: SessionParts;
  phase(): SessionPhase;
  /** The latest valuation of the account (refreshed with every summary); null while there is none. */
  valuation(): Valuation | null;
  lastReconcile(): LastReconcile | null;
  /** Recent decisions, oldest first (at most DECISIONS_KEPT). */
  decisions(): readonly EngineDecision[];
  /** Calls `listener` with every decision from now on; returns the unsubscribe. */
  onDecision(listener: (decision: EngineDecision) => void): () => void;
  snapshot(): Promise<SessionSnapshot>;
}

export const DECISIONS_KEPT = 200;

/** The ring of recent engine decisions, fed by the engine's `onDecision`. */
export class DecisionLog {
  readonly #kept: EngineDecision[] = [];
  readonly #listeners = new Set<(decision: EngineDecision) => void>();

  readonly record = (decision: EngineDecision): void => {
    this.#kept.push(decision);
    if (this.#kept.length > DECISIONS_KEPT) this.#kept.shift();
    for (const listener of this.#listeners) listener(decision);
  };

  list(): readonly EngineDecision[] {
    return [...this.#kept];
  }

  subscribe(listener: (decision: EngineDecision) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/** What the view is built from: the parts, and the session's own state the parts do not hold. */
export interface ViewSources {
  readonly mode: RunMode;
  readonly symbols: readonly string[];
  readonly strategy: string;
  readonly strategyParams: Readonly<Record<string, unknown>>;
  readonly prefix: string;
  readonly parts: SessionParts;
  readonly decisions: DecisionLog;
  readonly phase: () => SessionPhase;
  readonly lastReconcile: () => LastReconcile | null;
}

const text = (value: Decimal | null | undefined): string | null => (value == null ? null : value.toFixed());
const level = (l: BookLevel | null) =>
  l === null ? null : { price: l.price.toFixed(), quantity: l.quantity.toFixed() };

/** The strategy's inventory target, where its parameters name one (market-maker's targetBase). */
function targetOf(params: Readonly<Record<string, unknown>>): string | null {
  const target = params.targetBase;
  if (typeof target === 'string' || typeof target === 'number') return String(target);
  if (typeof target === 'object' && target !== null && 'toFixed' in target)
    return (target as Decimal).toFixed();
  return null;
}

export function sessionView(sources: ViewSources): SessionView & { refreshValuation(): Promise<void> } {
  const { parts } = sources;
  const startedAt = Date.now();
  let valuation: Valuation | null = null;
  const target = targetOf(sources.strategyParams);
  const view = {
    mode: sources.mode,
    symbols: sources.symbols,
    strategy: sources.strategy,
    prefix: sources.prefix,
    startedAt,
    parts,
    phase: sources.phase,
    valuation: () => valuation,
    /** Values the account again; a failed valuation keeps the last one. */
    refreshValuation: async () => {
      valuation = (await parts.engine.valuation()) ?? valuation;
    },
    lastReconcile: sources.lastReconcile,
    decisions: () => sources.decisions.list(),
    onDecision: (listener: (decision: EngineDecision) => void) => sources.decisions.subscribe(listener),
    snapshot: async (): Promise<SessionSnapshot> => {
      const { store, engine, market, limiter } = parts;
      const [active, escalation, killSwitch, rest] = await Promise.all([
        store.activeOrders(),
        store.escalation(),
        store.killSwitch(),
        limiter.headroom(),
      ]);
      const stats = market.stats();
      const engineStats = engine.stats();
      const last = sources.lastReconcile();
      const v = valuation;
      return {
        at: Date.now(),
        mode: sources.mode,
        phase: sources.phase(),
        startedAt,
        strategy: sources.strategy,
        escalation,
        killSwitch,
        lastLoopAt: engineStats.lastEvaluationAt,
        engine: engineStats,
        symbols: sources.symbols.map((symbol) => {
          const top = market.top(symbol);
          const own = stats.symbols[symbol];
          return {
            symbol,
            status: market.status(symbol),
            dataAgeMs: own?.dataAgeMs ?? null,
            source: own?.source ?? null,
            bid: level(top?.bid ?? null),
            ask: level(top?.ask ?? null),
            quotes: active
              .filter((o) => o.symbol === symbol && o.origin !== 'foreign')
              .map((o) => ({
                clientOrderId: o.clientOrderId,
                side: o.side,
                price: text(o.price),
                quantity: o.quantity.toFixed(),
                filled: o.filledQuantity.toFixed(),
                state: o.state,
              })),
            inventory: {
              position: text(v?.symbols.find((s) => s.symbol === symbol)?.quantity),
              target,
            },
          };
        }),
        waiting: engine.waiting(),
        budget: { orders: engine.budgetUse(), rest },
        lastReconcile:
          last === null
            ? null
            : {
                at: last.at,
                clean: last.report.clean,
                failures: last.report.failures,
                divergences: last.report.divergences,
                unresolved: last.report.unresolved,
                openReplaces: last.report.openReplaces,
              },
        valuation:
          v === null
            ? null
            : {
                currency: v.currency,
                equity: v.equity.toFixed(),
                cash: v.cash.toFixed(),
                realised: v.realised.toFixed(),
                unrealised: v.unrealised.toFixed(),
                fees: v.fees.toFixed(),
              },
        decisions: sources.decisions.list(),
      };
    },
  };
  return view;
}
