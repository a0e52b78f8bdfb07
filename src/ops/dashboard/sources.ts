import type { Decimal } from 'decimal.js';
import type { GroupHeadroom } from '../../btcturk/common/rate-limiter.ts';
import type { Valuation } from '../../engine/portfolio.ts';
import type { EngineDecision, EngineStats, SymbolWait } from '../../engine/engine.ts';
import type { BudgetUse } from '../../engine/rate-budget.ts';
import type { TopOfBook } from '../../market/service.ts';
import type { ReconcileReport } from '../../oms/oms.ts';
import type { StoreReader } from '../../ports/store.ts';
import { assemble, type LiveMarket, type LiveState } from './assemble.ts';
import { PRICE_WINDOW_MS, type TopSample } from './charts.ts';
import type {
  DashboardSnapshot,
  DashboardSource,
  DecisionView,
  LimiterView,
  ReconciliationView,
} from './model.ts';
import { amount, MONEY_PLACES, StoreViewReader, type StoreViewLimits } from './store-view.ts';

// The two read models behind the dashboard: a store read alone (`btcbot dashboard --db`), where
// what only a running bot knows shows as "not running", and a running session's, which adds its
// engine, market data, order budget, valuation and last reconciliation to what its store says.

interface SourceOptions {
  /** Whether the dashboard may engage and release the kill switch. */
  readonly canControl: boolean;
  readonly limits?: Partial<StoreViewLimits> | undefined;
  readonly now?: (() => number) | undefined;
}

/** A store alone, read-only. Closing it closes nothing it was given. */
export class StoreDashboardSource implements DashboardSource {
  readonly #view: StoreViewReader;
  readonly #options: SourceOptions;

  constructor(reader: StoreReader, options: SourceOptions) {
    this.#view = new StoreViewReader(reader, options.limits, options.now);
    this.#options = options;
  }

  async snapshot(): Promise<DashboardSnapshot> {
    const store = await this.#view.read();
    const at = (this.#options.now ?? Date.now)();
    return assemble({
      at,
      store,
      live: null,
      canControl: this.#options.canControl,
      limits: this.#view.limits,
    });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** A finished reconciliation pass, as the session saw it end. */
export interface ReconciledPass {
  readonly at: number;
  readonly report: ReconcileReport;
}

/** What the dashboard reads of a running session: narrow views of its parts. */
export interface LiveBot {
  readonly mode: string;
  readonly symbols: readonly string[];
  readonly engine: {
    stats(): EngineStats;
    waiting(): SymbolWait[];
    budgetUse(): BudgetUse;
    /** The account valued at the latest marks; null until every symbol has one. */
    valuation(): Promise<Valuation | null>;
  };
  readonly market: {
    top(symbol: string): TopOfBook | null;
  };
  /** The exchange rate limiter's headroom (RateLimiter.headroom); null when its store cannot tell. */
  readonly limiter?: { headroom(): Promise<GroupHeadroom[] | null> } | undefined;
  /** The last reconciliation pass that finished; null before the first. */
  lastReconciliation(): ReconciledPass | null;
  /** The base position the strategy aims to hold on a symbol; null when it has no such aim. */
  target(symbol: string): Decimal | null;
  /**
   * The engine's recent decisions with why, oldest first. Without them the dashboard tells
   * refusals only by their count per gate.
   */
  decisions?: (() => readonly EngineDecision[]) | undefined;
}

/** An engine decision as the page shows it. */
export function engineDecisionView(d: EngineDecision): DecisionView {
  const gate = d.gate === undefined ? '' : ` [${d.gate}]`;
  return { at: d.at, symbol: d.symbol, kind: d.kind, text: `${d.slot}${gate}: ${d.reason}` };
}

/** What a reconciliation found, in one line. */
export function reconciliationView(pass: ReconciledPass): ReconciliationView {
  const { report } = pass;
  const problems = [...report.failures, ...report.divergences];
  const actions = Object.entries(report.actions)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${String(n)}`)
    .join(', ');
  const found = report.clean
    ? `clean${actions === '' ? '' : ` (${actions})`}`
    : problems.length > 0
      ? problems.join('; ')
      : `${report.unresolved} unresolved, ${report.openReplaces} replaces open`;
  return { at: pass.at, clean: report.clean, found };
}

/** Keeps the last reconciliation pass: give `note` to the session's OmsOptions.onReconciled. */
export class ReconciliationTracker {
  #last: ReconciledPass | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  readonly note = (report: ReconcileReport): void => {
    this.#last = { at: this.now(), report };
  };

  last(): ReconciledPass | null {
    return this.#last;
  }
}

export function limiterView(groups: readonly GroupHeadroom[]): LimiterView[] {
  return groups.flatMap((g) =>
    g.windows.map((w) => ({
      group: g.group,
      periodMs: w.periodMs,
      limit: w.limit,
      used: w.used,
      remaining: Math.max(0, w.limit - w.used),
      blockedForMs: g.blockedForMs,
    })),
  );
}

const MAX_LIVE_DECISIONS = 40;
/** Book samples kept per symbol (one per snapshot, about a second apart): the price chart's window. */
const MAX_SAMPLES = Math.ceil(PRICE_WINDOW_MS / 1_000) + 60;

const price = (top: TopOfBook | null, side: 'bid' | 'ask'): Decimal | null => top?.[side]?.price ?? null;

/** A running session's read model: its store plus what only the running bot knows. */
export class LiveDashboardSource implements DashboardSource {
  readonly #view: StoreViewReader;
  readonly #bot: LiveBot;
  readonly #options: SourceOptions;
  readonly #samples = new Map<string, TopSample[]>();
  #refusals: Readonly<Record<string, number>> = {};
  readonly #decisions: DecisionView[] = [];
  /** Snapshots are built one at a time (each samples the book once). */
  #building: Promise<DashboardSnapshot> | null = null;

  constructor(reader: StoreReader, bot: LiveBot, options: SourceOptions) {
    this.#view = new StoreViewReader(reader, options.limits, options.now);
    this.#bot = bot;
    this.#options = options;
  }

  snapshot(): Promise<DashboardSnapshot> {
    this.#building ??= this.#build().finally(() => {
      this.#building = null;
    });
    return this.#building;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async #build(): Promise<DashboardSnapshot> {
    const now = (this.#options.now ?? Date.now)();
    const [store, valuation, headroom] = await Promise.all([
      this.#view.read(),
      this.#bot.engine.valuation(),
      this.#bot.limiter?.headroom() ?? null,
    ]);
    const live = this.#live(now, valuation, headroom);
    return assemble({
      at: now,
      store,
      live,
      canControl: this.#options.canControl,
      limits: this.#view.limits,
    });
  }

  #sample(symbol: string, top: TopOfBook | null, now: number): void {
    const samples = this.#samples.get(symbol) ?? [];
    const bid = price(top, 'bid');
    const ask = price(top, 'ask');
    samples.push({ t: now, bid: bid?.toNumber() ?? null, ask: ask?.toNumber() ?? null });
    if (samples.length > MAX_SAMPLES) samples.splice(0, samples.length - MAX_SAMPLES);
    this.#samples.set(symbol, samples);
  }

  /** Refusals counted since the last snapshot, by gate: the engine counts them, and logs why. */
  #noteRefusals(stats: EngineStats, now: number): void {
    for (const [gate, count] of Object.entries(stats.refusals)) {
      const more = count - (this.#refusals[gate] ?? 0);
      if (more > 0)
        this.#decisions.unshift({
          at: now,
          symbol: null,
          kind: 'refused',
          text: `${more} order${more === 1 ? '' : 's'} held back by the ${gate} gate`,
        });
    }
    this.#refusals = { ...stats.refusals };
    this.#decisions.splice(MAX_LIVE_DECISIONS);
  }

  #live(now: number, valuation: Valuation | null, headroom: GroupHeadroom[] | null): LiveState {
    const { engine, market, symbols } = this.#bot;
    const stats = engine.stats();
    const told = this.#bot.decisions?.();
    if (told === undefined) this.#noteRefusals(stats, now);
    const waits = new Map(engine.waiting().map((w) => [w.symbol, w.blockers]));
    const bySymbol = new Map(valuation?.symbols.map((s) => [s.symbol, s]) ?? []);
    const markets = new Map<string, LiveMarket>();
    for (const symbol of symbols) {
      const top = market.top(symbol);
      this.#sample(symbol, top, now);
      markets.set(symbol, {
        status: top?.status ?? 'no book',
        dataAgeMs: top === null ? null : Math.round(top.ageMs),
        bid: price(top, 'bid'),
        ask: price(top, 'ask'),
        blockers: (waits.get(symbol) ?? []).map((b) => `${b.kind}: ${b.reason}`),
        target: this.#bot.target(symbol),
        unrealised: bySymbol.get(symbol)?.unrealised ?? null,
      });
    }
    const pass = this.#bot.lastReconciliation();
    return {
      mode: this.#bot.mode,
      symbols,
      markets,
      engine: {
        lastLoopAt: stats.lastEvaluationAt,
        evaluations: stats.evaluations,
        submits: stats.submits,
        cancels: stats.cancels,
        replaces: stats.replaces,
        actionFailures: stats.actionFailures,
      },
      budget: engine.budgetUse(),
      limiter: headroom === null ? null : limiterView(headroom),
      reconciliation: pass === null ? null : reconciliationView(pass),
      pnl:
        valuation === null
          ? null
          : {
              currency: valuation.currency,
              at: now,
              equity: amount(valuation.equity, MONEY_PLACES),
              cash: amount(valuation.cash, MONEY_PLACES),
              realised: amount(valuation.realised, MONEY_PLACES),
              unrealised: amount(valuation.unrealised, MONEY_PLACES),
              fees: amount(valuation.fees, MONEY_PLACES),
            },
      decisions:
        told === undefined ? this.#decisions : told.slice(-MAX_LIVE_DECISIONS).map(engineDecisionView),
      engineDecides: told !== undefined,
      samples: this.#samples,
    };
  }
}
