import type { Decimal } from 'decimal.js';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../domain/clock.ts';
import type { BalanceReport, FillReport, OrderStatusReport } from '../domain/reports.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { stampHotPath } from '../market/hot-path.ts';
import type { MarketDataEvents, TopOfBook } from '../market/service.ts';
import { DEFAULT_TIMINGS, OrderMovedOnError, OrderRefusedError } from '../oms/context.ts';
import type { CancelResult } from '../oms/execution.ts';
import type { OrderRef, ReconcileOptions, ReconcileReport, SubmitIntent } from '../oms/oms.ts';
import type { ReplaceRequest, ReplaceResult } from '../oms/replace.ts';
import type { Exchange } from '../ports/exchange.ts';
import type { EquitySnapshot, FillSource, Store, StoredOrder } from '../ports/store.ts';
import type { EventQueue, UserStream, UserStreamEvent } from '../ports/user-stream.ts';
import type { BalanceView, RestingOrder, Strategy, WantedOrder } from '../strategies/types.ts';
import { ACTION_COST, diffOrders, type OrderDiff } from './diff.ts';
import { dayStart, equitySnapshotOf, lossLadder } from './equity.ts';
import { planActions, type EngineAction, type EngineGate, type Plan, type Refusal } from './plan.ts';
import { valuePortfolio, type Pair, type Valuation } from './portfolio.ts';
import { PositionBook } from './positions.ts';
import type { BudgetUse, OrderRateBudget } from './rate-budget.ts';
import { strictest, type RiskLimits } from './risk.ts';
import { buildSnapshot, midOf, restingOf } from './snapshot.ts';
import { orderReportOf } from './user-events.ts';

// The run loop. A best price that moved asks for an evaluation at once; other book changes and
// private events ask for one throttled per symbol; a timer asks too. A public trade asks for none:
// it changes nothing a strategy is shown (tops, balances, positions, our orders), the book change
// it leaves behind is a trigger of its own, and a fill of ours arrives as a private event.
// Evaluations run one at a time: snapshot → strategy → diff against what rests → plan through the
// gates → actions, cancels first. A symbol's actions run in the background one after another, and
// the symbol sits out the diff until they are done, so one slow cancel never holds up the others.
// Every refusal is counted by gate; no failure stops the loop.
// ASSUMPTION (BTCTurk): the quantity a trade takes from a resting level reaches us as an obdiff
// change set of that level (a matched order leaves the book). Nothing in ../shared/btcturk-wire
// pairs a trade frame with its change set; the timer evaluation bounds what a missing one delays.

/** Why new orders may not go out on a symbol yet, and since when (ms, the engine's clock). */
export interface Waiting {
  readonly reason: string;
  readonly since: number;
}

/** What the engine needs of the execution core (`Oms`). */
export interface EngineOms {
  /** A reconciliation came out clean (every symbol may trade). */
  readonly ready: boolean;
  /** The symbol's part of a reconciliation came out clean; without it, `ready` decides. */
  readyFor?(symbol: string): boolean;
  /** What blocks new orders on the symbol while it is not ready (null when nothing does). */
  waitingFor?(symbol: string): Waiting | null;
  submit(intent: SubmitIntent): Promise<StoredOrder>;
  cancel(ref: OrderRef): Promise<CancelResult>;
  /**
   * Fails with OrderMovedOnError when the order is no longer OPEN or PARTIALLY_FILLED (it filled,
   * or a cancel started, since the engine read it): the engine leaves it to the next diff. Given
   * the order itself (not its id), it is not read again first: the engine passes it so only when
   * its store is a live view (src/store/live-view.ts), whose copy is the latest this process wrote.
   */
  replace(order: string | StoredOrder, request: ReplaceRequest): Promise<ReplaceResult>;
  onFill(fill: FillReport, source?: FillSource): Promise<void>;
  onOrderReport(report: OrderStatusReport): Promise<void>;
  reconcile(options?: ReconcileOptions): Promise<ReconcileReport>;
  /**
   * How many new fills this OMS has recorded so far, whatever brought them. Given, the engine reads
   * its positions again after a batch of orders only when a fill was recorded; without it, after
   * every batch.
   */
  fillsRecorded?(): number;
}

type MarketListener<K extends keyof MarketDataEvents> = (...args: MarketDataEvents[K]) => void;

/** What the engine needs of the market data (`MarketDataService`). */
export interface EngineMarket {
  top(symbol: string): TopOfBook | null;
  canTrade(symbol: string): boolean;
  on<K extends keyof MarketDataEvents>(event: K, listener: MarketListener<K>): unknown;
  off<K extends keyof MarketDataEvents>(event: K, listener: MarketListener<K>): unknown;
}

export interface EngineTimings {
  /**
   * A symbol's triggers that move no best price (a quantity at the touch, a private event) start at
   * most one evaluation per this long. A moved best price starts one at once.
   */
  readonly debounceMs: number;
  /** An evaluation at least this often, whatever the market does. */
  readonly evaluateEveryMs: number;
  /** Balances read over REST this often (the private stream updates them in between). */
  readonly balancesEveryMs: number;
  /** The account valued and its equity snapshot stored this often; the loss ladder runs with it. */
  readonly equityEveryMs: number;
  /** Private events waiting to be handled before the backlog is dropped for a reconciliation. */
  readonly userQueueCapacity: number;
}

export const DEFAULT_ENGINE_TIMINGS: EngineTimings = {
  debounceMs: 100,
  evaluateEveryMs: 1_000,
  balancesEveryMs: 15_000,
  equityEveryMs: 10_000,
  userQueueCapacity: 10_000,
};

export interface EngineOptions {
  readonly oms: EngineOms;
  readonly store: Store;
  readonly exchange: Pick<Exchange, 'balances'>;
  readonly market: EngineMarket;
  /** The private stream; without it fills and order changes reach the store by reconciliation only. */
  readonly userStream?: UserStream | undefined;
  readonly strategy: Strategy;
  readonly limits: RiskLimits;
  readonly symbols: readonly string[];
  /** Trading rules per symbol, from the exchange info. */
  readonly rules: ReadonlyMap<string, SymbolRules>;
  readonly budget: OrderRateBudget;
  readonly clock?: Clock | undefined;
  /** The timers the engine's periodic work and debounce run on (a backtest's virtual clock); default Node's. */
  readonly timers?: EngineTimers | undefined;
  readonly logger?: Logger | undefined;
  readonly timings?: Partial<EngineTimings> | undefined;
  /** Told of each decision as it is made (for a dashboard's "recent decisions"); must not throw. */
  readonly onDecision?: ((decision: EngineDecision) => void) | undefined;
  /**
   * With a per-symbol strategy (`Strategy.perSymbol`), each evaluation asks the strategy and diffs
   * only the symbols whose inputs changed or that still had something to do (default true; false:
   * every symbol every time, for comparisons). The plan's gates see every order either way.
   */
  readonly incremental?: boolean | undefined;
}

/**
 * One decision of the engine about an order slot, with why: an order placed, a resting one
 * canceled or replaced, or one held back by a gate (told once per slot and reason, as logged).
 */
export interface EngineDecision {
  readonly at: number; // clock ms
  readonly kind: 'placed' | 'refused' | 'canceled' | 'replaced';
  readonly symbol: string;
  /** The strategy's slot tag (a cancel of an untagged order: its client order id). */
  readonly slot: string;
  /** The gate that held it back (refused only). */
  readonly gate?: EngineGate | 'exchange' | undefined;
  readonly reason: string;
}

export interface EngineTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const NODE_TIMERS: EngineTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
  setInterval: (callback, ms) => setInterval(callback, ms),
  clearInterval: (handle) => {
    clearInterval(handle as NodeJS.Timeout);
  },
};

export interface EngineStats {
  readonly evaluations: number;
  readonly evaluationFailures: number;
  readonly submits: number;
  readonly replaces: number;
  /** Replaces that ended without a new order: the cancel was refused, or the replacement was. */
  readonly replacesAborted: number;
  readonly cancels: number;
  /** Actions the execution core failed (an exchange error, a replace it had to abort). */
  readonly actionFailures: number;
  readonly refusals: Readonly<Partial<Record<EngineGate, number>>>;
  readonly streamFills: number;
  /** Reconciliations asked for by a stream resync or a market reconnect. */
  readonly resyncs: number;
  readonly escalations: number;
  readonly lastEvaluationAt: number | null;
}

interface Counters {
  evaluations: number;
  evaluationFailures: number;
  submits: number;
  replaces: number;
  replacesAborted: number;
  cancels: number;
  actionFailures: number;
  refusals: Partial<Record<EngineGate, number>>;
  streamFills: number;
  resyncs: number;
  escalations: number;
  lastEvaluationAt: number | null;
}

/** Counters before the first evaluation: all zero, no refusals, never evaluated. */
export function emptyEngineStats(): Counters {
  return {
    evaluations: 0,
    evaluationFailures: 0,
    submits: 0,
    replaces: 0,
    replacesAborted: 0,
    cancels: 0,
    actionFailures: 0,
    refusals: {},
    streamFills: 0,
    resyncs: 0,
    escalations: 0,
    lastEvaluationAt: null,
  };
}

/** What holds a symbol back from trading, one entry per blocker (empty: it may trade). */
export interface SymbolWait {
  readonly symbol: string;
  readonly blockers: readonly {
    readonly kind: 'reconciliation' | 'market-data' | 'balances';
    readonly reason: string;
    /** When this blocker started (ms since the epoch), when known. */
    readonly since: number | null;
  }[];
}

const NOT_READY_REASON = 'start-up reconciliation has not come out clean yet: no new orders';

/**
 * What a symbol's part of the last evaluation rested on, kept when its diff came out empty: while
 * all of it is unchanged the symbol would diff empty again, and is not evaluated.
 */
interface SettledSymbol {
  readonly bid: Decimal | null;
  readonly ask: Decimal | null;
  readonly status: TopOfBook['status'];
  readonly position: unknown;
  readonly orders: readonly StoredOrder[];
}

const NO_ORDERS: readonly StoredOrder[] = [];

/** The same orders, object for object (the live store view keeps an order's object until it changes). */
function sameOrders(a: readonly StoredOrder[], b: readonly StoredOrder[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** Two best prices (null: no level on that side) are the same. */
function samePrice(a: Decimal | null, b: Decimal | null): boolean {
  return a === null ? b === null : b !== null && a.eq(b);
}

/** Whether midOf(top) is a price (a two-sided, uncrossed top), without working it out. */
function hasMid(top: TopOfBook | null): top is TopOfBook {
  const bid = top?.bid?.price;
  const ask = top?.ask?.price;
  return bid !== undefined && ask !== undefined && bid.lt(ask);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Engine {
  readonly #o: EngineOptions;
  readonly #clock: Clock;
  readonly #timerApi: EngineTimers;
  readonly #log: Logger;
  readonly #timings: EngineTimings;
  readonly #pairs: ReadonlyMap<string, Pair>;
  readonly #currency: string;
  readonly #counters: Counters = emptyEngineStats();
  /** The store is a live view: the orders it answers are the latest this process wrote. */
  readonly #liveStore: boolean;

  #balances = new Map<string, BalanceView>();
  readonly #book: PositionBook;
  #positionsDirty = true;
  /** `oms.fillsRecorded()` when the positions were last read. */
  #fillsAtRefresh: number | undefined;
  readonly #marks = new Map<string, Decimal>();
  /**
   * Per symbol, the latest top an evaluation saw with a two-sided, uncrossed book: its mid becomes
   * the symbol's mark when the account is next valued (a division not worth doing every evaluation).
   */
  readonly #markTops = new Map<string, TopOfBook>();
  #lastSnapshot: EquitySnapshot | undefined;
  #dayOpen: EquitySnapshot | undefined;

  #running: Promise<Plan | null> | null = null;
  /** Evaluations started, for the hot-path stamps. */
  #evaluationNo = 0;
  #again = false;
  readonly #busy = new Map<string, Promise<void>>();
  #reconciling: Promise<void> | null = null;
  /** A resync asked for while a reconciliation ran: run once it is over (its reason). */
  #resyncPending: string | null = null;
  #balancesRead = false;
  readonly #lastTrigger = new Map<string, number>();
  /** The best bid and ask prices of the last `top` seen per symbol (null: no level on that side). */
  readonly #lastPrices = new Map<string, { bid: Decimal | null; ask: Decimal | null }>();
  readonly #throttled = new Map<string, unknown>();
  readonly #loggedRefusals = new Map<string, string>();
  /** Per symbol, the inputs of its last evaluation when that left nothing to do (incremental mode). */
  readonly #settled = new Map<string, SettledSymbol>();
  /** Orders already turned into their resting view (object for object, see restingOf). */
  readonly #restingViews = new WeakMap<StoredOrder, RestingOrder | null>();
  #timers: unknown[] = [];
  #detach: (() => void)[] = [];
  #queue: EventQueue<UserStreamEvent> | null = null;
  #userLoop: Promise<void> | null = null;
  #started = false;
  #stopped = false;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#timerApi = options.timers ?? NODE_TIMERS;
    this.#log = (options.logger ?? pino({ enabled: false })).child({ component: 'engine' });
    this.#timings = { ...DEFAULT_ENGINE_TIMINGS, ...options.timings };
    const pairs = new Map<string, Pair>();
    for (const symbol of options.symbols) {
      const rules = options.rules.get(symbol);
      if (!rules)
        throw new Error(
          `engine: no trading rules for ${symbol}; the exchange info must list every symbol run`,
        );
      pairs.set(symbol, { base: rules.base, quote: rules.quote });
    }
    this.#pairs = pairs;
    this.#book = new PositionBook(options.store, options.symbols);
    // src/store/live-view.ts marks the stores it decorates with their view (`live`).
    this.#liveStore = (options.store as { readonly live?: unknown }).live !== undefined;
    // The account is valued in the quote currency of the first symbol (TRY on BTCTurk).
    this.#currency = pairs.values().next().value?.quote ?? 'TRY';
  }

  /** Listens to the market and the private stream and starts the timers. Call before the sockets connect. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const { market, userStream } = this.#o;
    const { reads } = this.#o.strategy; // a symbol it does not read changes nothing it decides
    const onTop: MarketListener<'top'> = (top) => {
      if (reads?.has(top.symbol) === false) return;
      // A best price that moved is reacted to at once; a quantity at the touch that changed waits
      // out the debounce with the other triggers.
      if (this.#pricesMoved(top)) this.#now(top.symbol);
      else this.#throttle(top.symbol);
    };
    const onStatus: MarketListener<'status'> = () => {
      this.#request();
    };
    const onReconnected: MarketListener<'reconnected'> = () => {
      this.#resync('the market data connection came back');
    };
    market.on('top', onTop);
    market.on('status', onStatus);
    market.on('reconnected', onReconnected);
    this.#detach.push(() => {
      market.off('top', onTop);
      market.off('status', onStatus);
      market.off('reconnected', onReconnected);
    });
    if (userStream) {
      const queue = userStream.userEvents(this.#timings.userQueueCapacity);
      this.#queue = queue;
      this.#userLoop = this.#consume(queue);
    }
    const every = (ms: number, work: () => Promise<unknown>): void => {
      const timer = this.#timerApi.setInterval(() => {
        work().catch((error: unknown) => {
          this.#log.error({ err: describe(error) }, 'periodic engine work failed');
        });
      }, ms);
      this.#timers.push(timer);
    };
    every(this.#timings.evaluateEveryMs, () => {
      this.#request();
      return Promise.resolve();
    });
    every(this.#timings.balancesEveryMs, () => this.refreshBalances());
    every(this.#timings.equityEveryMs, () => this.recordEquity());
    this.refreshBalances()
      .then(() => {
        this.#request();
      })
      .catch((error: unknown) => {
        this.#log.error({ err: describe(error) }, 'first balance read failed; retried on the next tick');
      });
  }

  /** Stops asking for evaluations and waits for the one running and every symbol's actions. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) this.#timerApi.clearInterval(timer);
    this.#timers = [];
    for (const timer of this.#throttled.values()) this.#timerApi.clearTimeout(timer);
    this.#throttled.clear();
    for (const detach of this.#detach) detach();
    this.#detach = [];
    this.#queue?.close();
    await this.#userLoop;
    await this.#running;
    await this.settle();
    await this.#reconciling;
  }

  /** Waits until no symbol has actions in flight. */
  async settle(): Promise<void> {
    while (this.#busy.size > 0) await Promise.all(this.#busy.values());
  }

  stats(): EngineStats {
    return { ...this.#counters, refusals: { ...this.#counters.refusals } };
  }

  /**
   * The start-up reconciliation now running: a resync asked for meanwhile (a stream gap, a market
   * reconnect) waits for it to end and then runs once, instead of reconciling beside it.
   */
  startupReconciliation(pass: Promise<unknown>): void {
    const tracked = pass.then(
      () => {
        this.#positionsDirty = true;
      },
      () => undefined, // the caller reports the start-up pass's failure
    );
    this.#reconciling = tracked;
    void tracked.finally(() => {
      if (this.#reconciling === tracked) this.#reconciling = null;
      this.#request();
      this.#runPendingResync();
    });
  }

  /** Asks for an evaluation now (e.g. a symbol just became ready to trade). */
  poke(): void {
    this.#request();
  }

  /**
   * Per symbol, what holds new orders back now: the execution core's reconciliation, the market
   * data (no book yet, or stale), the first balance read. Cancels are never held back.
   */
  waiting(): SymbolWait[] {
    const { oms, market, symbols } = this.#o;
    return symbols.map((symbol) => {
      const blockers: SymbolWait['blockers'][number][] = [];
      if (!this.#readyFor(symbol)) {
        const why = oms.waitingFor?.(symbol) ?? null;
        blockers.push({
          kind: 'reconciliation',
          reason: why?.reason ?? 'waiting for a clean reconciliation',
          since: why?.since ?? null,
        });
      }
      if (market.top(symbol) === null)
        blockers.push({ kind: 'market-data', reason: 'no book yet', since: null });
      else if (!market.canTrade(symbol)) blockers.push({ kind: 'market-data', reason: 'stale', since: null });
      if (!this.#balancesRead) blockers.push({ kind: 'balances', reason: 'not read yet', since: null });
      return { symbol, blockers };
    });
  }

  budgetUse(): BudgetUse {
    return this.#o.budget.use(this.#clock.now());
  }

  /** One evaluation now (after the one running, if any). Null when the engine has been stopped. */
  async evaluate(): Promise<Plan | null> {
    while (this.#running) await this.#running;
    const run = this.#evaluateOnce();
    this.#running = run;
    try {
      return await run;
    } finally {
      if (this.#running === run) this.#running = null;
    }
  }

  async refreshBalances(): Promise<void> {
    this.#setBalances(await this.#o.exchange.balances(), true);
    this.#balancesRead = true;
    this.#positionsDirty = true; // fills the stream missed reach the store by polling
  }

  /** The account valued at the latest marks; null until every symbol has had a mark. */
  async valuation(): Promise<Valuation | null> {
    for (const [symbol, top] of this.#markTops) {
      const mid = midOf(top);
      if (mid !== null) this.#marks.set(symbol, mid);
    }
    this.#markTops.clear();
    for (const symbol of this.#o.symbols) {
      const mid = midOf(this.#o.market.top(symbol));
      if (mid !== null) this.#marks.set(symbol, mid);
    }
    if (this.#o.symbols.some((s) => !this.#marks.has(s))) return null;
    await this.#refreshPositions();
    const holdings = new Map<string, Decimal>();
    for (const [asset, balance] of this.#balances) holdings.set(asset, balance.free.add(balance.locked));
    return valuePortfolio({
      currency: this.#currency,
      holdings,
      positions: this.#book.positions,
      marks: this.#marks,
      pairs: this.#pairs,
    });
  }

  /**
   * Values the account, stores the equity snapshot and applies the loss ladder: a level stricter
   * than the stored one is persisted (HALTED also turns the kill switch on). Null while there is
   * no valuation yet.
   */
  async recordEquity(): Promise<EquitySnapshot | null> {
    const { store, limits } = this.#o;
    const valuation = await this.valuation();
    if (valuation === null || this.#balances.size === 0) return null;
    const now = this.#clock.now();
    const previous = this.#lastSnapshot ?? (await store.lastEquitySnapshot());
    const snapshot = equitySnapshotOf(valuation, now, previous);
    await store.recordEquitySnapshot(snapshot);
    this.#lastSnapshot = snapshot;
    if (this.#dayOpen === undefined || dayStart(this.#dayOpen.at) !== dayStart(now))
      this.#dayOpen = (await store.equitySnapshots({ since: dayStart(now), limit: 1 }))[0];
    const step = lossLadder(snapshot, this.#dayOpen, limits);
    const current = await store.escalation();
    if (step.reason !== null && strictest(step.level, current.level) !== current.level) {
      await store.setEscalation(step.level, step.reason); // HALTED turns the kill switch on with it
      this.#counters.escalations += 1;
      this.#log.error({ level: step.level, reason: step.reason }, 'loss limit reached: escalated');
    }
    return snapshot;
  }

  #setBalances(balances: readonly BalanceReport[], complete: boolean): void {
    const next = complete ? new Map<string, BalanceView>() : new Map(this.#balances);
    for (const b of balances) next.set(b.asset, { free: b.free, locked: b.locked });
    this.#balances = next;
  }

  async #refreshPositions(): Promise<void> {
    const recorded = this.#o.oms.fillsRecorded?.();
    if (recorded !== this.#fillsAtRefresh) this.#positionsDirty = true;
    if (!this.#positionsDirty) return;
    this.#positionsDirty = false;
    this.#fillsAtRefresh = recorded;
    await this.#book.refresh();
  }

  /** True when the top's best bid or ask price differs from the last top seen for its symbol. */
  #pricesMoved(top: TopOfBook): boolean {
    const bid = top.bid?.price ?? null;
    const ask = top.ask?.price ?? null;
    const last = this.#lastPrices.get(top.symbol);
    if (last === undefined) {
      this.#lastPrices.set(top.symbol, { bid, ask });
      return true;
    }
    if (samePrice(last.bid, bid) && samePrice(last.ask, ask)) return false;
    last.bid = bid;
    last.ask = ask;
    return true;
  }

  /**
   * A market move: an evaluation now (or right after the one running), without waiting out the
   * debounce. It stands for any trigger the debounce was holding back, and starts its interval.
   * The order budget still bounds what the evaluation sends.
   */
  #now(symbol: string): void {
    if (this.#stopped) return;
    const held = this.#throttled.get(symbol);
    if (held !== undefined) {
      this.#timerApi.clearTimeout(held);
      this.#throttled.delete(symbol);
    }
    this.#lastTrigger.set(symbol, this.#clock.monotonic());
    this.#request();
  }

  #throttle(symbol: string): void {
    if (this.#stopped || this.#throttled.has(symbol)) return;
    const now = this.#clock.monotonic();
    const wait = (this.#lastTrigger.get(symbol) ?? -Infinity) + this.#timings.debounceMs - now;
    if (wait <= 0) {
      this.#lastTrigger.set(symbol, now);
      this.#request();
      return;
    }
    this.#throttled.set(
      symbol,
      this.#timerApi.setTimeout(() => {
        this.#throttled.delete(symbol);
        this.#lastTrigger.set(symbol, this.#clock.monotonic());
        this.#request();
      }, wait),
    );
  }

  /** Asks for an evaluation: now, or right after the one running. */
  #request(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    const run = this.#evaluateOnce();
    this.#running = run;
    void run.finally(() => {
      if (this.#running === run) this.#running = null;
      if (this.#again) {
        this.#again = false;
        this.#request();
      }
    });
  }

  async #evaluateOnce(): Promise<Plan | null> {
    if (this.#stopped) return null;
    try {
      return await this.#evaluate();
    } catch (error) {
      this.#counters.evaluationFailures += 1;
      this.#log.error({ err: describe(error) }, 'evaluation failed');
      return null;
    }
  }

  async #evaluate(): Promise<Plan> {
    const { store, strategy, market, symbols, rules, budget, limits } = this.#o;
    const evaluation = ++this.#evaluationNo;
    stampHotPath('wake', evaluation);
    const now = this.#clock.now();
    const [active, killSwitch, escalation] = await Promise.all([
      store.activeOrders(),
      store.killSwitch(),
      store.escalation(),
    ]);
    await this.#refreshPositions();
    stampHotPath('read', evaluation);
    const byClientId = new Map<string, StoredOrder>();
    const resting: RestingOrder[] = [];
    const incremental = strategy.perSymbol === true && this.#o.incremental !== false;
    const ordersOf = new Map<string, StoredOrder[]>();
    for (const order of active) {
      let view = this.#restingViews.get(order);
      if (view === undefined) {
        view = restingOf(order);
        this.#restingViews.set(order, view);
      }
      if (view === null) continue;
      resting.push(view);
      byClientId.set(view.clientOrderId, order);
      if (!incremental) continue;
      const list = ordersOf.get(order.symbol);
      if (list) list.push(order);
      else ordersOf.set(order.symbol, [order]);
    }
    const tops = new Map<string, TopOfBook | null>();
    for (const symbol of symbols) {
      const top = market.top(symbol);
      tops.set(symbol, top);
      if (hasMid(top)) this.#markTops.set(symbol, top);
    }
    // A symbol whose earlier actions are still under way sits this diff out.
    const free = (o: { symbol: string }) => !this.#busy.has(o.symbol);
    // Incremental: only the symbols whose market, position or orders changed since an evaluation
    // that left them nothing to do, or that still had something to do (refused, deferred).
    const asked = incremental ? this.#changedSymbols(tops, ordersOf) : symbols;
    const askedSet = incremental ? new Set(asked) : null;
    const snapshot = buildSnapshot({
      now,
      symbols: asked,
      rules,
      tops,
      balances: this.#balances,
      positions: this.#book.positions,
      resting: askedSet ? resting.filter((r) => askedSet.has(r.symbol)) : resting,
    });
    const wanted = strategy.want(snapshot).filter(free);
    stampHotPath('strategy', evaluation);
    const full = diffOrders(wanted, snapshot.resting.filter(free), strategy.tolerance, {
      ordersAvailable: budget.available(now),
    });
    if (incremental) this.#noteSettled(asked, full, tops, ordersOf);
    // New orders (and replacements) go out only on symbols the execution core has reconciled
    // clean; the others are held back here, with what they wait for. Cancels always go.
    const notReady: Refusal[] = [];
    const holdBack = (wanted: WantedOrder): boolean => {
      if (this.#readyFor(wanted.symbol)) return false;
      notReady.push({
        gate: 'not-ready',
        reason: this.#notReadyReason(wanted.symbol),
        symbol: wanted.symbol,
        tag: wanted.tag,
      });
      return true;
    };
    const diff = {
      cancels: full.cancels,
      replaces: full.replaces.filter((r) => !holdBack(r.wanted)),
      submits: full.submits.filter((w) => !holdBack(w)),
    };
    stampHotPath('diff', evaluation);
    // Nothing to send or hold back: the plan is empty, without building the exposure of every order.
    const plan: Plan =
      diff.cancels.length + diff.replaces.length + diff.submits.length === 0
        ? { actions: [], refusals: [] }
        : planActions({
            diff,
            ready: true, // held back above, symbol by symbol
            tradable: (symbol) => market.canTrade(symbol),
            rules,
            limits,
            level: escalation.level,
            killSwitch: killSwitch.on,
            balances: this.#balances,
            positions: this.#positionQuantities(),
            open: resting,
            ordersAvailable: budget.available(now),
          });
    stampHotPath('gates', evaluation);
    this.#counters.evaluations += 1;
    this.#counters.lastEvaluationAt = now;
    // Before the first balance read succeeds the balance gate sees nothing free: say so, not "only 0 free".
    const refusals = [...notReady, ...plan.refusals].map((r) =>
      r.gate === 'balance' && !this.#balancesRead
        ? { ...r, reason: 'balances not read yet (the first read is still being retried)' }
        : r,
    );
    for (const refusal of refusals) this.#refused(refusal);
    // Stopped while this evaluation ran: nothing new goes out during the shutdown.
    if (!this.#stopped) this.#dispatch(plan.actions, byClientId, now);
    stampHotPath('dispatch', evaluation);
    return { actions: plan.actions, refusals };
  }

  /** The bot's own position per symbol, as the plan's gates take it. */
  #positionQuantities(): Map<string, Decimal> {
    const positions = new Map<string, Decimal>();
    for (const [symbol, position] of this.#book.positions) positions.set(symbol, position.quantity);
    return positions;
  }

  /** The symbols to evaluate (incremental mode): not busy, and not settled on unchanged inputs. */
  #changedSymbols(
    tops: ReadonlyMap<string, TopOfBook | null>,
    ordersOf: ReadonlyMap<string, readonly StoredOrder[]>,
  ): string[] {
    const out: string[] = [];
    for (const symbol of this.#o.symbols) {
      if (this.#busy.has(symbol)) {
        this.#settled.delete(symbol); // evaluated again once its actions are done
        continue;
      }
      const settled = this.#settled.get(symbol);
      const top = tops.get(symbol) ?? null;
      if (
        settled !== undefined &&
        settled.status === (top?.status ?? 'stale') &&
        samePrice(settled.bid, top?.bid?.price ?? null) &&
        samePrice(settled.ask, top?.ask?.price ?? null) &&
        settled.position === this.#book.positions.get(symbol) &&
        sameOrders(settled.orders, ordersOf.get(symbol) ?? NO_ORDERS)
      )
        continue;
      out.push(symbol);
    }
    return out;
  }

  /** Remembers the inputs of every evaluated symbol whose diff asked for nothing (incremental mode). */
  #noteSettled(
    asked: readonly string[],
    diff: OrderDiff,
    tops: ReadonlyMap<string, TopOfBook | null>,
    ordersOf: ReadonlyMap<string, readonly StoredOrder[]>,
  ): void {
    const pending = new Set<string>();
    for (const r of [...diff.cancels, ...diff.deferred.cancels]) pending.add(r.symbol);
    for (const p of [...diff.replaces, ...diff.deferred.replaces]) pending.add(p.wanted.symbol);
    for (const w of [...diff.submits, ...diff.deferred.submits]) pending.add(w.symbol);
    for (const symbol of asked) {
      if (pending.has(symbol)) {
        this.#settled.delete(symbol);
        continue;
      }
      const top = tops.get(symbol) ?? null;
      this.#settled.set(symbol, {
        bid: top?.bid?.price ?? null,
        ask: top?.ask?.price ?? null,
        status: top?.status ?? 'stale',
        position: this.#book.positions.get(symbol),
        orders: ordersOf.get(symbol) ?? NO_ORDERS,
      });
    }
  }

  #readyFor(symbol: string): boolean {
    const { oms } = this.#o;
    return oms.readyFor?.(symbol) ?? oms.ready;
  }

  /** The refusal's reason: stable while the symbol waits (no timer in it), so it is logged once. */
  #notReadyReason(symbol: string): string {
    const why = this.#o.oms.waitingFor?.(symbol)?.reason;
    return why === undefined
      ? NOT_READY_REASON
      : `${symbol} is not reconciled clean yet (${why}): no new orders on it`;
  }

  /**
   * Counts every refusal and logs one when its slot's gate or reason changed (not on every tick).
   * Waiting for the reconciliation is counted once per slot and reason too: it is one wait, not
   * one refusal per evaluation.
   */
  #refused(refusal: Refusal): void {
    const counts = this.#counters.refusals;
    // Amounts and prices in a reason move with the market: the same refusal with new figures is
    // the same refusal of the slot, logged once (not-ready's reasons carry no figures that move).
    const said = `${refusal.gate}: ${refusal.reason.replace(/\d+(?:\.\d+)?/g, '#')}`;
    const repeated = this.#loggedRefusals.get(refusal.tag) === said;
    if (refusal.gate !== 'not-ready' || !repeated) counts[refusal.gate] = (counts[refusal.gate] ?? 0) + 1;
    if (repeated) return;
    this.#loggedRefusals.set(refusal.tag, said);
    this.#decided('refused', refusal.symbol, refusal.tag, refusal.reason, refusal.gate);
    // Waiting for the start-up reconciliation is expected; every other refusal is worth a look.
    this.#log[refusal.gate === 'not-ready' ? 'info' : 'warn'](
      { symbol: refusal.symbol, slot: refusal.tag, gate: refusal.gate, reason: refusal.reason },
      'order held back',
    );
  }

  #dispatch(actions: readonly EngineAction[], orders: ReadonlyMap<string, StoredOrder>, now: number): void {
    const bySymbol = new Map<string, EngineAction[]>();
    for (const action of actions) {
      const symbol = action.kind === 'submit' ? action.wanted.symbol : action.resting.symbol;
      bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), action]);
    }
    for (const [symbol, list] of bySymbol) {
      const batch = this.#runBatch(list, orders, now).finally(() => {
        this.#busy.delete(symbol);
        // A batch may record a fill (a replace finding its old order filled). With the OMS's fill
        // count the next evaluation sees that the count moved; without it, every batch marks them.
        if (this.#o.oms.fillsRecorded === undefined) this.#positionsDirty = true;
        this.#request();
      });
      this.#busy.set(symbol, batch);
    }
  }

  async #runBatch(
    actions: readonly EngineAction[],
    orders: ReadonlyMap<string, StoredOrder>,
    now: number,
  ): Promise<void> {
    for (const action of actions) {
      if (!this.#o.budget.take(ACTION_COST[action.kind], now)) continue; // the next diff asks again
      try {
        await this.#act(action, orders);
      } catch (error) {
        const symbol = action.kind === 'submit' ? action.wanted.symbol : action.resting.symbol;
        const tag =
          action.kind === 'cancel' ? (action.resting.tag ?? action.resting.clientOrderId) : action.wanted.tag;
        if (error instanceof OrderRefusedError) {
          this.#refused({ gate: 'execution', reason: error.reason, symbol, tag });
          continue;
        }
        this.#counters.actionFailures += 1;
        this.#log.error(
          { symbol, slot: tag, action: action.kind, err: describe(error) },
          'order action failed',
        );
      }
    }
  }

  async #act(action: EngineAction, orders: ReadonlyMap<string, StoredOrder>): Promise<void> {
    const { oms, strategy } = this.#o;
    switch (action.kind) {
      case 'cancel': {
        this.#counters.cancels += 1;
        const result = await oms.cancel({ clientOrderId: action.resting.clientOrderId });
        this.#decided(
          'canceled',
          action.resting.symbol,
          action.resting.tag ?? action.resting.clientOrderId,
          `no longer wanted by the strategy (cancel ${result.outcome})`,
        );
        if (result.outcome === 'pending' || result.outcome === 'refused')
          this.#log.warn(
            { orderId: result.order.id, outcome: result.outcome },
            'cancel not confirmed yet: reconciliation follows it up',
          );
        return;
      }
      case 'replace': {
        const old = orders.get(action.resting.clientOrderId);
        if (!old) return;
        // It may have filled or started a cancel since the snapshot: the execution core reads it
        // again in its symbol's turn and says so (OrderMovedOnError); then the next diff decides
        // again. (No read of it here as well: that would only lengthen the path to the cancel.)
        let result: ReplaceResult;
        try {
          result = await oms.replace(this.#liveStore ? old : old.id, {
            price: action.wanted.price,
            quantity: action.wanted.quantity,
          });
        } catch (error) {
          if (error instanceof OrderMovedOnError) return;
          this.#counters.replaces += 1;
          throw error;
        }
        this.#counters.replaces += 1;
        this.#decided(
          'replaced',
          old.symbol,
          action.wanted.tag,
          `moved to ${action.wanted.quantity.toFixed()} @ ${action.wanted.price.toFixed()} (${result.txn.outcome}${result.txn.reason ? `: ${result.txn.reason}` : ''})`,
        );
        if (result.txn.outcome === 'aborted') {
          this.#counters.replacesAborted += 1;
          this.#log.warn({ orderId: old.id, reason: result.txn.reason }, 'replace aborted');
        } else if (result.txn.outcome === 'nothing-left')
          this.#log.info(
            { orderId: old.id, reason: result.txn.reason },
            'replace done: nothing left to place',
          );
        return;
      }
      case 'submit': {
        this.#counters.submits += 1;
        const { wanted } = action;
        const order = await oms.submit({
          symbol: wanted.symbol,
          side: wanted.side,
          method: 'limit',
          quantity: wanted.quantity,
          price: wanted.price,
          intentId: wanted.tag,
          strategy: strategy.name,
        });
        if (order.state === 'REJECTED')
          this.#decided('refused', wanted.symbol, wanted.tag, order.stateReason ?? 'rejected', 'exchange');
        else
          this.#decided(
            'placed',
            wanted.symbol,
            wanted.tag,
            `${strategy.name} wants ${wanted.side} ${wanted.quantity.toFixed()} @ ${wanted.price.toFixed()} (${order.state})`,
          );
        if (order.state === 'REJECTED') {
          this.#counters.actionFailures += 1;
          this.#log.warn({ orderId: order.id, reason: order.stateReason }, 'order rejected by the exchange');
        }
        return;
      }
    }
  }

  #decided(
    kind: EngineDecision['kind'],
    symbol: string,
    slot: string,
    reason: string,
    gate?: EngineDecision['gate'],
  ): void {
    this.#o.onDecision?.({ at: this.#clock.now(), kind, symbol, slot, gate, reason });
  }

  async #consume(queue: EventQueue<UserStreamEvent>): Promise<void> {
    for await (const event of queue) {
      try {
        await this.#onUserEvent(event);
      } catch (error) {
        this.#log.error({ event: event.kind, err: describe(error) }, 'private event could not be applied');
        this.#resync(`a private ${event.kind} event could not be applied`);
      }
    }
  }

  async #onUserEvent(event: UserStreamEvent): Promise<void> {
    const { oms } = this.#o;
    switch (event.kind) {
      case 'fill':
        this.#counters.streamFills += 1;
        await oms.onFill(event.fill, 'stream');
        this.#positionsDirty = true;
        this.#throttle(event.fill.symbol);
        return;
      case 'order': {
        const report = orderReportOf(event);
        if (report) await oms.onOrderReport(report);
        this.#throttle(event.symbol);
        return;
      }
      case 'balances':
        this.#setBalances(event.balances, false);
        return;
      case 'resync':
        this.#resync(event.reason);
        return;
      case 'order-match':
      case 'logged-in':
        return;
    }
  }

  #runPendingResync(): void {
    const reason = this.#resyncPending;
    if (reason === null || this.#reconciling || this.#stopped) return;
    this.#resyncPending = null;
    this.#startResync(reason);
  }

  /**
   * Reconciles over REST (once at a time): events were or may have been missed. Asked for while a
   * reconciliation runs, it runs once more after it: the gap may have come after that pass read
   * the symbol.
   */
  #resync(reason: string): void {
    this.#counters.resyncs += 1;
    if (this.#stopped) return;
    if (this.#reconciling) {
      this.#resyncPending = reason;
      return;
    }
    this.#startResync(reason);
  }

  #startResync(reason: string): void {
    this.#log.info({ reason }, 'reconciling after a gap in the streams');
    this.#reconciling = this.#o.oms
      .reconcile({ lookbackMs: DEFAULT_TIMINGS.continuousLookbackMs })
      .then(
        () => {
          this.#positionsDirty = true;
          this.#request();
        },
        (error: unknown) => {
          this.#log.error({ err: describe(error) }, 'reconciliation after a stream gap failed');
        },
      )
      .finally(() => {
        this.#reconciling = null;
        this.#runPendingResync();
      });
  }
}
