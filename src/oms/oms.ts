import type { Decimal } from 'decimal.js';
import { pino, type Logger } from 'pino';
import { isOwnClientOrderId, newClientOrderId, validateClientIdPrefix } from '../domain/client-ids.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { ZERO } from '../domain/decimal.ts';
import { isExchangeError } from '../domain/errors.ts';
import { isClosed, isUnresolved } from '../domain/lifecycle.ts';
import type { OrderMethod, Side } from '../domain/orders.ts';
import { processRandom, type Random } from '../domain/random.ts';
import type { FillReport, OrderStatusReport, VenueOrderStatus } from '../domain/reports.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { Exchange } from '../ports/exchange.ts';
import type { EscalationState, FillSource, ReplaceTxn, Store, StoredOrder } from '../ports/store.ts';
import {
  DEFAULT_TIMINGS,
  emptyStats,
  OrderMovedOnError,
  OrderRefusedError,
  UnknownOrderError,
  type OmsContext,
  type OmsStats,
  type OmsTimings,
} from './context.ts';
import { crashPoint } from './crash-points.ts';
import { DEFAULT_ESCALATION_POLICY, type EscalationPolicy } from './escalation.ts';
import { Execution, type CancelResult, type SendResult } from './execution.ts';
import { refusalReason, selfTradeConflict, selfTradeReason, type OwnRestingOrder } from './gates.ts';
import { HealthMonitor, type Alert } from './health.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { fetchOrderReport } from './lookup.ts';
import { Reconciler, type ActionCounts } from './reconciler.ts';
import {
  Replacer,
  StaleOrderError,
  type ReplaceRequest,
  type ReplaceResult,
  type RiskBudget,
} from './replace.ts';
import { rulesSource } from './rules.ts';

// The execution core's face: submit, cancel, replace, reconcile, and the inputs the private stream
// will call. Work on one symbol runs one piece at a time, in call order.

export interface OmsOptions {
  readonly store: Store;
  readonly exchange: Exchange;
  /** Instance prefix of our client order ids (BTCBOT_CLIENT_ID_PREFIX). */
  readonly prefix: string;
  /** Symbols reconciled even while no order of ours is active on them. */
  readonly symbols?: readonly string[] | undefined;
  /** Trading rules by symbol; those missing are read from the exchange when first needed. */
  readonly rules?: ReadonlyMap<string, SymbolRules> | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: Random | undefined;
  readonly logger?: Logger | undefined;
  readonly timings?: Partial<OmsTimings> | undefined;
  readonly escalation?: Partial<EscalationPolicy> | undefined;
  /** Fast-mode replaces go new-first only when this says both orders may rest at once. */
  readonly riskBudget?: RiskBudget | undefined;
  /** Told of every step down the escalation ladder (HALTED: the kill switch is already on). */
  readonly onAlert?: ((alert: Alert) => void) | undefined;
  /** Told of every reconciliation pass that ran to its end (start-up, continuous, on demand). */
  readonly onReconciled?: ((report: ReconcileReport) => void) | undefined;
}

export interface SubmitIntent {
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly quantity: Decimal;
  readonly price?: Decimal | undefined;
  readonly stopPrice?: Decimal | undefined;
  /**
   * Quote currency to spend: a market or stop-market buy sized in the quote (as BTCTurk sizes
   * them). `quantity` must then be 0: the order's base quantity is what its fills bring.
   */
  readonly quoteAmount?: Decimal | undefined;
  readonly intentId?: string | undefined;
  readonly strategy?: string | undefined;
  /**
   * Sends allowed for the intent (default 1). A send refused without being processed (429, not
   * sent, or resolved as never placed) may go again, each time under a new client order id.
   */
  readonly attempts?: number | undefined;
}

export type OrderRef =
  { readonly orderId: string } | { readonly exchangeOrderId: string } | { readonly clientOrderId: string };

export interface ReconcileOptions {
  /** Order history window to read (default: the start-up window). */
  readonly lookbackMs?: number | undefined;
  /** Resolve unresolved orders by lookup until found, proven absent or out of bound (default true). */
  readonly resolve?: boolean | undefined;
}

export interface ReconcileReport {
  /** No failure, no divergence, nothing unresolved, no replace left waiting. */
  readonly clean: boolean;
  readonly symbols: readonly string[];
  readonly actions: ActionCounts;
  readonly failures: readonly string[];
  readonly divergences: readonly string[];
  readonly unresolved: number;
  readonly openReplaces: number;
  readonly escalation: EscalationState;
}

export class Oms {
  readonly #ctx: OmsContext;
  readonly #exec: Execution;
  readonly #replacer: Replacer;
  readonly #reconciler: Reconciler;
  readonly #health: HealthMonitor;
  readonly #queue = new KeyedQueue();
  readonly #symbols: readonly string[];
  readonly #riskBudget: RiskBudget | undefined;
  readonly #onReconciled: ((report: ReconcileReport) => void) | undefined;
  #ready = false;
  /** Symbols whose part of a reconciliation came out clean: new orders may go out there. */
  readonly #readySymbols = new Set<string>();
  /** What a symbol not ready yet waits for, and since when (clock ms). */
  readonly #waiting = new Map<string, { reason: string; since: number }>();
  readonly #createdAt: number;
  #timer: NodeJS.Timeout | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: OmsOptions) {
    const log = (options.logger ?? pino({ enabled: false })).child({ component: 'oms' });
    this.#ctx = {
      store: options.store,
      exchange: options.exchange,
      clock: options.clock ?? systemClock,
      random: options.random ?? processRandom(),
      prefix: validateClientIdPrefix(options.prefix),
      timings: { ...DEFAULT_TIMINGS, ...options.timings },
      escalation: { ...DEFAULT_ESCALATION_POLICY, ...options.escalation },
      rules: rulesSource(options.exchange, options.rules),
      log,
      stats: emptyStats(),
    };
    this.#symbols = options.symbols ?? [];
    this.#createdAt = this.#ctx.clock.now();
    this.#riskBudget = options.riskBudget;
    this.#onReconciled = options.onReconciled;
    this.#exec = new Execution(this.#ctx);
    this.#replacer = new Replacer(this.#ctx, this.#exec);
    this.#reconciler = new Reconciler(this.#ctx, this.#exec);
    this.#health = new HealthMonitor(
      this.#ctx,
      options.onAlert ??
        ((alert) => {
          log.fatal({ alert }, `ALERT: trading stepped down to ${alert.level}`);
        }),
    );
  }

  /** True once a reconciliation came out clean: only then may new orders go out. */
  get ready(): boolean {
    return this.#ready;
  }

  /**
   * True once the symbol's part of a reconciliation came out clean (its passes without failure or
   * divergence, no order of it unresolved, no replace of it open), or a whole pass did: new orders
   * may go out on it while other symbols still wait.
   */
  readyFor(symbol: string): boolean {
    return this.#ready || this.#readySymbols.has(symbol);
  }

  /** What keeps new orders off the symbol now, and since when (clock ms); null once it is ready. */
  waitingFor(symbol: string): { reason: string; since: number } | null {
    if (this.readyFor(symbol)) return null;
    return this.#waiting.get(symbol) ?? { reason: 'not reconciled yet', since: this.#createdAt };
  }

  /** Notes what a symbol not ready yet waits for (the start kept while the reason stays the same). */
  #wait(symbol: string, reason: string): void {
    if (this.readyFor(symbol) || this.#waiting.get(symbol)?.reason === reason) return;
    this.#waiting.set(symbol, { reason, since: this.#ctx.clock.now() });
  }

  /**
   * The symbol is ready when nothing of it is unresolved or left in a replace; else what it waits for.
   * `open` is the store's open replaces, read in the symbol's queue turn (none of the symbol's can
   * begin or move on outside it).
   */
  async #checkSymbol(
    symbol: string,
    problems: readonly string[],
    open: readonly ReplaceTxn[],
  ): Promise<void> {
    if (this.readyFor(symbol)) return;
    const { store } = this.#ctx;
    const owned = new Set(open.flatMap((t) => t.newOrderId ?? []));
    let replaces = 0;
    for (const txn of open) if ((await store.order(txn.oldOrderId))?.symbol === symbol) replaces += 1;
    const unresolved = (await store.activeOrders(symbol)).filter(
      (o) => isUnresolved(o.state) || (o.state === 'PENDING_SUBMIT' && !owned.has(o.id)),
    ).length;
    if (problems.length === 0 && unresolved === 0 && replaces === 0) {
      this.#readySymbols.add(symbol);
      this.#waiting.delete(symbol);
      this.#ctx.log.info({ symbol }, 'symbol reconciled clean: new orders may go out on it');
      return;
    }
    const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
    this.#wait(
      symbol,
      problems.length > 0
        ? `last pass not clean (${problems[0] ?? ''}${problems.length > 1 ? ` and ${problems.length - 1} more` : ''}); the next pass tries again`
        : replaces > 0
          ? `${plural(replaces, 'replace')} still open`
          : `resolving ${plural(unresolved, 'unresolved order')}`,
    );
  }

  stats(): Readonly<OmsStats> {
    return { ...this.#ctx.stats };
  }

  /** New fills recorded so far (`stats().fillsNew`, without copying every counter). */
  fillsRecorded(): number {
    return this.#ctx.stats.fillsNew;
  }

  /** Start-up: finishes replaces, resolves and repairs everything before any new order is allowed. */
  start(): Promise<ReconcileReport> {
    return this.reconcile({ lookbackMs: this.#ctx.timings.startLookbackMs, resolve: true });
  }

  /** One reconciliation pass over every symbol we hold orders on (and the configured ones). */
  async reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const { store, stats, timings } = this.#ctx;
    stats.reconcileRuns += 1;
    const failures: string[] = [];
    const fail = (scope: string, error: unknown): void => {
      if (!isExchangeError(error)) throw error;
      failures.push(`${scope}: ${error.message}`);
    };
    // Per symbol, what made its part of this pass unclean (a symbol may trade once its part is clean).
    const problems = new Map<string, string[]>();
    const problem = (symbol: string, text: string): void => {
      problems.set(symbol, [...(problems.get(symbol) ?? []), text]);
    };
    // The list is only where to look: by the time the symbol's turn comes the engine (or another
    // pass) may have moved a transaction on, so resume() reads it again and goes on from there.
    for (const txn of await store.openReplaces()) {
      const old = await store.order(txn.oldOrderId);
      if (!old)
        throw new Error(`replace ${txn.id} names order ${txn.oldOrderId}, which is not in ${store.location}`);
      this.#wait(old.symbol, 'finishing a replace left open');
      await this.#queue
        .run(old.symbol, () => this.#replacer.resume(txn))
        .catch((e: unknown) => {
          fail(`replace ${txn.id}`, e);
          problem(old.symbol, `replace ${txn.id} failed`);
        });
    }
    const openReplaces = await store.openReplaces();
    const replaceOwned = new Set(openReplaces.flatMap((t) => t.newOrderId ?? []));
    const activeAtStart = await store.activeOrders();
    const symbols = [...new Set([...this.#symbols, ...activeAtStart.map((o) => o.symbol)])].sort();
    const actions: ActionCounts = {};
    for (const symbol of symbols)
      if (!this.#waiting.has(symbol)) this.#wait(symbol, "reading the exchange's orders and fills");
    for (const symbol of symbols) {
      await this.#queue
        .run(symbol, async () => {
          // Read in the symbol's turn: a replace begun since the list above owns its new order too.
          const open = await store.openReplaces();
          const owned = new Set(open.flatMap((t) => t.newOrderId ?? []));
          const pass = await this.#reconciler.symbolPass(
            symbol,
            options.lookbackMs ?? timings.startLookbackMs,
            owned,
          );
          for (const failure of pass.failures) failures.push(`${symbol}: ${failure}`);
          for (const [kind, n] of Object.entries(pass.actions)) {
            const key = kind as keyof ActionCounts;
            actions[key] = (actions[key] ?? 0) + n;
          }
          this.#health.setDivergences(symbol, pass.divergences);
          for (const failure of pass.failures) problem(symbol, failure);
          for (const d of pass.divergences.values()) problem(symbol, d);
          // Ready at once when nothing of it is left to resolve: other symbols' lookups do not hold it.
          await this.#checkSymbol(symbol, problems.get(symbol) ?? [], open);
        })
        .catch((e: unknown) => {
          fail(symbol, e);
          problem(symbol, 'pass failed');
        });
    }
    // Unresolved orders are looked up after every symbol's pass, each symbol's concurrently: one
    // order waiting out its visibility horizon holds back only its own symbol.
    if (options.resolve !== false)
      await Promise.all(
        symbols.map((symbol) =>
          this.#queue
            .run(symbol, async () => {
              for (const order of await store.activeOrders(symbol))
                if (isUnresolved(order.state)) await this.#exec.resolve(order);
              if (!this.readyFor(symbol))
                await this.#checkSymbol(symbol, problems.get(symbol) ?? [], await store.openReplaces());
            })
            .catch((e: unknown) => {
              fail(symbol, e);
            }),
        ),
      );
    if (failures.length > 0) this.#health.passFailed(failures.join('; '));
    else this.#health.passSucceeded();
    const escalation = await this.#health.evaluate();
    // Orders journaled while the pass ran are new work in flight on symbols already ready (their
    // sends resolve them), not something this pass left unresolved.
    const existed = new Set(activeAtStart.map((o) => o.id));
    const unresolved = (await store.activeOrders()).filter(
      (o) =>
        existed.has(o.id) &&
        (isUnresolved(o.state) || (o.state === 'PENDING_SUBMIT' && !replaceOwned.has(o.id))),
    ).length;
    const divergences = this.#health.divergences();
    const clean =
      failures.length === 0 && divergences.length === 0 && unresolved === 0 && openReplaces.length === 0;
    if (clean) this.#ready = true;
    const report: ReconcileReport = {
      clean,
      symbols,
      actions,
      failures,
      divergences,
      unresolved,
      openReplaces: openReplaces.length,
      escalation,
    };
    this.#ctx.log.info({ report }, 'reconciled');
    this.#onReconciled?.(report);
    return report;
  }

  /** Reconciles every `intervalMs` (continuous reconciliation) until stop(). */
  startContinuous(intervalMs: number): void {
    if (this.#timer !== undefined || this.#loop !== undefined) return;
    const tick = (): void => {
      this.#loop = this.reconcile({ lookbackMs: this.#ctx.timings.continuousLookbackMs, resolve: false })
        .then(
          () => undefined,
          (error: unknown) => {
            // Not an exchange failure (those are in the report): a store or programming error.
            this.#health.passFailed(error instanceof Error ? error.message : String(error));
            this.#ctx.log.error({ err: error }, 'reconciliation pass crashed');
          },
        )
        .finally(() => {
          this.#loop = undefined;
          if (this.#timer !== undefined) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    this.#timer = setTimeout(tick, intervalMs);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#loop;
  }

  /** Places an intent: journaled, sent once per client id, resolved by lookup when the outcome is unknown. */
  async submit(intent: SubmitIntent): Promise<StoredOrder> {
    const attempts = intent.attempts ?? 1;
    for (let attempt = 1; ; attempt += 1) {
      const sent = await this.#queue.run(intent.symbol, () => this.#submitOnce(intent, attempt));
      if (!sent.retryable || attempt >= attempts) return sent.order;
      // A 429 asked for a pause: the next attempt waits all of it, or it only earns another 429.
      if (sent.retryAfterMs !== undefined) await this.#ctx.clock.sleep(sent.retryAfterMs);
    }
  }

  async #submitOnce(intent: SubmitIntent, attempt = 1): Promise<SendResult> {
    const { store, prefix, random, clock } = this.#ctx;
    await this.#admit(intent.symbol, intent.side, intent.quantity, intent);
    await this.#settleUnresolved(intent.symbol);
    // Journaled and marked sent in one synced write: this path sends it next, so it owns the send
    // from the start (a crash before the request leaves is resolved by lookup, like any sent order).
    const journaled = await store.journalOrder(
      {
        clientOrderId: newClientOrderId(prefix, random, clock),
        symbol: intent.symbol,
        side: intent.side,
        method: intent.method,
        quantity: intent.quantity,
        price: intent.price,
        stopPrice: intent.stopPrice,
        quoteAmount: intent.quoteAmount,
        intentId: intent.intentId,
        strategy: intent.strategy,
      },
      { sent: true },
    );
    crashPoint(attempt > 1 ? 'submit.retry-after-journal' : 'submit.after-journal');
    const sent = await this.#exec.send(journaled, {
      marked: true,
      sentMark: 'submit.after-sent-mark',
      written: attempt > 1 ? 'submit.retry-after-post' : 'submit.after-post',
      replied: 'submit.after-reply',
    });
    if (!isUnresolved(sent.order.state)) return sent;
    const resolved = await this.#exec.resolve(sent.order);
    if (isUnresolved(resolved.state)) await this.#health.evaluate();
    // Proven never placed: the intent may go again, under a new client order id.
    return { order: resolved, retryable: resolved.state === 'REJECTED' };
  }

  /** New submits on a symbol wait until every earlier order there is resolved (order of effects). */
  async #settleUnresolved(symbol: string): Promise<void> {
    for (const order of await this.#ctx.store.activeOrders(symbol)) {
      if (!isUnresolved(order.state)) continue;
      const resolved = await this.#exec.resolve(order);
      if (isUnresolved(resolved.state)) {
        await this.#health.evaluate();
        throw new OrderRefusedError(
          symbol,
          `order ${order.id} (client id ${order.clientOrderId ?? '-'}) is still ${resolved.state}: ` +
            'its lookups have not settled it, so nothing new goes out on this symbol until they do',
        );
      }
    }
  }

  async #admit(
    symbol: string,
    side: Side,
    quantity: Decimal,
    order?: { readonly method: OrderMethod; readonly price?: Decimal | null | undefined },
  ): Promise<void> {
    const { store } = this.#ctx;
    const [killSwitch, escalation] = await Promise.all([store.killSwitch(), store.escalation()]);
    let position = ZERO;
    let reducingResting = ZERO;
    if (escalation.level === 'REDUCE_ONLY') {
      position = (await store.positions(symbol))[0]?.net ?? ZERO;
      for (const order of await store.activeOrders(symbol))
        if (order.side === side && order.origin !== 'foreign')
          reducingResting = reducingResting.add(order.quantity.sub(order.filledQuantity));
    }
    const reason = refusalReason({
      ready: this.readyFor(symbol),
      killSwitch,
      level: escalation.level,
      side,
      quantity,
      position,
      reducingResting,
    });
    if (reason !== null) throw new OrderRefusedError(symbol, reason);
    if (order) await this.#refuseSelfTrade(symbol, side, order);
  }

  /**
   * Self-trade prevention: an order that would trade at once with one of our own resting orders is
   * refused (counted, logged). Stop orders are not checked: they take no liquidity when placed, and
   * a triggered one that meets ours is booked on both sides (fill identity).
   */
  async #refuseSelfTrade(
    symbol: string,
    side: Side,
    order: { readonly method: OrderMethod; readonly price?: Decimal | null | undefined },
  ): Promise<void> {
    const reason = this.#selfTradeRefusal(symbol, side, order, await this.#ctx.store.activeOrders(symbol));
    if (reason !== null) throw new OrderRefusedError(symbol, reason);
  }

  /** Why the order would trade with one of `active` (counted and logged), or null. */
  #selfTradeRefusal(
    symbol: string,
    side: Side,
    order: { readonly method: OrderMethod; readonly price?: Decimal | null | undefined },
    active: readonly StoredOrder[],
  ): string | null {
    if (order.method !== 'limit' && order.method !== 'market') return null;
    const price = order.method === 'market' ? null : (order.price ?? null);
    if (order.method === 'limit' && price === null) return null; // the exchange rules refuse it
    const resting: OwnRestingOrder[] = [];
    for (const o of active)
      if (o.origin !== 'foreign' && o.method === 'limit' && o.price !== null && !isClosed(o.state))
        resting.push({ id: o.id, clientOrderId: o.clientOrderId, side: o.side, price: o.price });
    const candidate = { symbol, side, price };
    const conflict = selfTradeConflict(candidate, resting);
    if (conflict === null) return null;
    const reason = selfTradeReason(candidate, conflict);
    this.#ctx.stats.selfTradeRefusals += 1;
    this.#ctx.log.warn(
      {
        symbol,
        side,
        price: price?.toFixed() ?? 'market',
        resting: {
          orderId: conflict.id,
          clientOrderId: conflict.clientOrderId,
          price: conflict.price.toFixed(),
        },
      },
      'self-trade refused',
    );
    return reason;
  }

  /** Cancels one order (by local, exchange or client id) and waits, bounded, for the exchange to confirm. */
  async cancel(ref: OrderRef): Promise<CancelResult> {
    const order = await this.#find(ref);
    return this.#queue.run(order.symbol, () => this.#cancelNow(order));
  }

  /** Cancels every resting order of ours (foreign ones are left alone), on one symbol or all. */
  async cancelAll(symbol?: string): Promise<CancelResult[]> {
    const results: CancelResult[] = [];
    for (const order of await this.#ctx.store.activeOrders(symbol)) {
      if (order.origin === 'foreign' || order.state === 'PENDING_SUBMIT') continue;
      results.push(await this.#queue.run(order.symbol, () => this.#cancelNow(order)));
    }
    return results;
  }

  async #cancelNow(order: StoredOrder): Promise<CancelResult> {
    let current = await this.#reload(order);
    if (isUnresolved(current.state)) current = await this.#exec.resolve(current);
    if (isUnresolved(current.state) || current.state === 'PENDING_SUBMIT')
      throw new OrderMovedOnError(
        current.id,
        current.state,
        `order ${current.id} is ${current.state}: it cannot be cancelled before it is resolved; run btcbot reconcile`,
      );
    return this.#exec.cancel(current, {
      before: 'cancel.before-request',
      requested: 'cancel.after-request',
      replied: 'cancel.after-reply',
    });
  }

  /**
   * Cancel/replace as a persisted transaction (safe mode unless fast mode is asked for and budgeted).
   * Give the order as the caller holds it (the engine's snapshot) and nothing is read on the way to
   * the cancel: the write that begins the replace refuses a copy that is no longer current, and then
   * it is decided again on the order as the store has it.
   */
  async replace(ref: string | StoredOrder, request: ReplaceRequest): Promise<ReplaceResult> {
    const held = typeof ref === 'string' ? await this.#find({ orderId: ref }) : ref;
    return this.#queue.run(held.symbol, async () => {
      let old = held;
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await this.#beginReplace(old, request);
        } catch (error) {
          // Moved on since it was read (a fill, an ack): decide again on the order as it is now.
          if (!(error instanceof StaleOrderError) || attempt >= 3) throw error;
          old = error.current;
        }
      }
    });
  }

  async #beginReplace(old: StoredOrder, request: ReplaceRequest): Promise<ReplaceResult> {
    const quantity = request.quantity ?? old.quantity.sub(old.filledQuantity);
    // A replacement adds no risk beyond the old order's open quantity; more is a new order's risk.
    const extra = quantity.sub(old.quantity.sub(old.filledQuantity));
    // The replacement's price is checked for a self-trade like a new order's (the old one is on its side).
    const order = { method: old.method, price: request.price ?? old.price };
    if (extra.gt(0)) {
      await this.#admit(old.symbol, old.side, extra, order);
      return this.#replacer.begin(old, request, this.#riskBudget);
    }
    // Nothing added: the switches and the self-trade check are decided inside the write that
    // begins the replace, on what it reads there (no reads of their own on the way to the cancel).
    return this.#replacer.begin(old, request, this.#riskBudget, (view) => {
      const reason = refusalReason({
        ready: this.readyFor(old.symbol),
        killSwitch: view.killSwitch,
        level: view.escalation.level,
        side: old.side,
        quantity: ZERO,
        position: ZERO,
        reducingResting: ZERO,
      });
      return reason ?? this.#selfTradeRefusal(old.symbol, old.side, order, view.active);
    });
  }

  /** A fill from the private stream (or any other source): recorded once by (trade id, exchange order id). */
  async onFill(fill: FillReport, source: FillSource = 'stream'): Promise<void> {
    await this.#exec.recordFill(fill, source);
  }

  /** An order's status from the private stream: resolves, confirms a cancel, or adopts. */
  async onOrderReport(report: OrderStatusReport): Promise<void> {
    const { store, prefix } = this.#ctx;
    const clientId = report.clientOrderId;
    const ours = clientId !== null && isOwnClientOrderId(clientId, prefix);
    const known =
      (await store.orderByExchangeId(report.exchangeOrderId)) ??
      (ours ? await store.orderByClientId(clientId) : undefined);
    if (known) {
      const status = await this.#confirmedStatus(known, report);
      if (status === null) return;
      await this.#exec.apply(known, {
        type: 'venue-status',
        status,
        exchangeOrderId: report.exchangeOrderId,
      });
      return;
    }
    const adopted = await store.adoptOrder(report, ours ? 'adopted' : 'foreign');
    if (adopted.created) this.#ctx.stats[ours ? 'adopted' : 'foreign'] += 1;
  }

  /**
   * The status to apply for a pushed report. A cancel nobody here asked for (the order is not
   * PENDING_CANCEL) is read again over REST before it is believed: a pushed cancel can be half of
   * something else (BTCTurk sends an order update as a delete then an insert, and the insert may be
   * late or lost), and taking it at its word would stop tracking an order that still rests. What
   * REST says is applied instead; when REST cannot say, nothing is applied and the reconciliation
   * settles the order. Null: apply nothing.
   */
  async #confirmedStatus(known: StoredOrder, report: OrderStatusReport): Promise<VenueOrderStatus | null> {
    if (report.status !== 'canceled' || known.state === 'PENDING_CANCEL' || isClosed(known.state))
      return report.status;
    const ctx = this.#ctx;
    ctx.stats.unaskedCancelChecks += 1;
    let checked: OrderStatusReport | null;
    try {
      checked = await fetchOrderReport(ctx, report.exchangeOrderId);
    } catch (error) {
      ctx.stats.lookupFailures += 1;
      ctx.log.warn(
        { err: error instanceof Error ? error.message : String(error), orderId: known.id },
        'a pushed cancel we did not ask for could not be checked over REST; the reconciliation will settle it',
      );
      return null;
    }
    if (checked?.status === 'canceled') return 'canceled';
    ctx.stats.unaskedCancelsContradicted += 1;
    ctx.log.warn(
      { orderId: known.id, rest: checked?.status ?? 'not found' },
      'the stream said canceled, REST does not: REST is believed',
    );
    return checked === null ? null : checked.status;
  }

  async #find(ref: OrderRef): Promise<StoredOrder> {
    const { store } = this.#ctx;
    let order: StoredOrder | undefined;
    if ('orderId' in ref)
      order = (await store.order(ref.orderId)) ?? (await store.orderByExchangeId(ref.orderId));
    else if ('exchangeOrderId' in ref) order = await store.orderByExchangeId(ref.exchangeOrderId);
    else order = await store.orderByClientId(ref.clientOrderId);
    if (!order) throw new UnknownOrderError(Object.values(ref).join(''));
    return order;
  }

  async #reload(order: StoredOrder): Promise<StoredOrder> {
    const fresh = await this.#ctx.store.order(order.id);
    if (!fresh) throw new Error(`order ${order.id} vanished from ${this.#ctx.store.location}`);
    return fresh;
  }
}
