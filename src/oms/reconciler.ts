import { isOwnClientOrderId } from '../domain/client-ids.ts';
import { isExchangeError } from '../domain/errors.ts';
import { isUnresolved } from '../domain/lifecycle.ts';
import { compareFills, type OrderStatusReport } from '../domain/reports.ts';
import type { AdoptResult, StoredOrder } from '../ports/store.ts';
import type { OmsContext } from './context.ts';
import type { Execution } from './execution.ts';
import { fetchOrderReport, historySince } from './lookup.ts';
import { executedQuantity, latestReports, reconcileDiff, type ReconcileAction } from './reconcile-diff.ts';

// The thin shell around reconcileDiff for one symbol: read fills from the cursor, gather what the
// exchange shows, diff, apply. Exchange errors propagate to the caller, which counts the pass as
// failed; nothing here catches and carries on.

export type ActionCounts = Partial<Record<ReconcileAction['kind'], number>>;

export interface SymbolPass {
  readonly symbol: string;
  readonly actions: ActionCounts;
  /** Order id → what contradicts: the divergences this pass found and could not repair. */
  readonly divergences: ReadonlyMap<string, string>;
  /** Exchange calls that failed while the rest of the pass went on; the pass counts as failed. */
  readonly failures: readonly string[];
}

export class Reconciler {
  readonly #ctx: OmsContext;
  readonly #exec: Execution;

  constructor(ctx: OmsContext, exec: Execution) {
    this.#ctx = ctx;
    this.#exec = exec;
  }

  /**
   * Records the symbol's fills from the cursor (less an overlap: a fill can become visible after a
   * later one) and moves the cursor. Returns the exchange ids of our orders whose fills found no
   * stored order: they are to be adopted.
   */
  async pollFills(symbol: string): Promise<Set<string>> {
    const { store, exchange, clock, timings, prefix } = this.#ctx;
    const cursor = await store.fillCursor(symbol);
    const since = cursor ? cursor.timestamp - timings.fillOverlapMs : clock.now() - timings.startLookbackMs;
    const fills = (await exchange.fills({ symbol, startTime: since })).sort(compareFills);
    const orphans = new Set<string>();
    for (const fill of fills) {
      const result = await this.#exec.recordFill(fill, 'poll');
      const ours = fill.clientOrderId !== null && isOwnClientOrderId(fill.clientOrderId, prefix);
      if (result.ok && result.fill.orderId === null && ours) orphans.add(fill.exchangeOrderId);
    }
    const newest = fills.at(-1);
    if (newest) await store.advanceFillCursor(symbol, newest.timestamp, newest.tradeId);
    return orphans;
  }

  async symbolPass(
    symbol: string,
    lookbackMs: number,
    replaceOwned: ReadonlySet<string>,
  ): Promise<SymbolPass> {
    const { store, exchange, clock, timings, prefix } = this.#ctx;
    const failures: string[] = [];
    // Without this pass's fills an unresolved order cannot be concluded absent, but every other
    // repair can still go ahead: the failure is counted, not allowed to stall them.
    let orphans = new Set<string>();
    let fillsRead = true;
    try {
      orphans = await this.pollFills(symbol);
    } catch (error) {
      if (!isExchangeError(error)) throw error;
      failures.push(`fills: ${error.message}`);
      fillsRead = false;
    }
    const reports: OrderStatusReport[] = [
      ...(await exchange.openOrders(symbol)),
      ...(await historySince(this.#ctx, symbol, clock.now() - lookbackMs)),
    ];
    const active = await store.activeOrders(symbol);
    const seen = new Set(reports.map((r) => r.exchangeOrderId));
    // Orders the lists did not show (older than the window, or not yet visible): asked one by one.
    const missing = [...active.flatMap((o) => o.exchangeOrderId ?? []), ...orphans].filter(
      (id) => !seen.has(id),
    );
    for (const id of new Set(missing)) {
      const report = await fetchOrderReport(this.#ctx, id);
      if (report) reports.push(report);
    }
    const local = await this.#withNamedOrders(active, reports);
    const actions = reconcileDiff({
      prefix,
      now: clock.now(),
      local,
      reports,
      replaceOwned,
      notFoundAfterMs: timings.notFoundAfterMs,
      cancelRetryAfterMs: timings.cancelRetryAfterMs,
    });
    const counts: ActionCounts = {};
    const divergences = new Map<string, string>();
    const adopted = await this.#adoptAll(actions);
    for (const action of actions) {
      if (action.kind === 'not-found' && !fillsRead) continue;
      counts[action.kind] = (counts[action.kind] ?? 0) + 1;
      const key = 'order' in action ? action.order.id : action.report.exchangeOrderId;
      try {
        const problem = await this.#apply(action, adopted);
        if (problem !== null) divergences.set(key, problem);
      } catch (error) {
        if (!isExchangeError(error)) throw error;
        failures.push(`${action.kind} ${key}: ${error.message}`);
      }
    }
    return { symbol, actions: counts, divergences, failures };
  }

  /** Adds the stored orders that reports name but that are no longer active (closed here, maybe not there). */
  async #withNamedOrders(
    active: StoredOrder[],
    reports: readonly OrderStatusReport[],
  ): Promise<StoredOrder[]> {
    const { store } = this.#ctx;
    const local = new Map(active.map((o) => [o.id, o]));
    const knownIds = new Set(active.flatMap((o) => o.exchangeOrderId ?? []));
    const knownClientIds = new Set(active.flatMap((o) => o.clientOrderId ?? []));
    const named = [...latestReports(reports).values()].filter(
      (r) =>
        !knownIds.has(r.exchangeOrderId) &&
        !(r.clientOrderId !== null && knownClientIds.has(r.clientOrderId)),
    );
    if (named.length === 0) return [...local.values()];
    // One set-based read for all of them (a first pass may name thousands), then per report: by
    // exchange id, else ours by client id.
    const found = await store.ordersByIds({
      exchangeOrderIds: named.map((r) => r.exchangeOrderId),
      clientOrderIds: named.flatMap((r) => r.clientOrderId ?? []),
    });
    const byExchangeId = new Map(
      found.flatMap((o) => (o.exchangeOrderId === null ? [] : [[o.exchangeOrderId, o]])),
    );
    const byClientId = new Map(
      found.flatMap((o) =>
        o.clientOrderId === null || o.origin === 'foreign' ? [] : [[o.clientOrderId, o]],
      ),
    );
    for (const report of named) {
      const stored =
        byExchangeId.get(report.exchangeOrderId) ??
        (report.clientOrderId === null ? undefined : byClientId.get(report.clientOrderId));
      if (stored) local.set(stored.id, stored);
    }
    return [...local.values()];
  }

  /**
   * Adopts every order of the pass's `adopt` and `foreign` actions in two store calls (one
   * transaction each) instead of one per order; each action then goes on with its result.
   */
  async #adoptAll(actions: readonly ReconcileAction<StoredOrder>[]): Promise<Map<string, AdoptResult>> {
    const { store } = this.#ctx;
    const results = new Map<string, AdoptResult>();
    for (const origin of ['adopted', 'foreign'] as const) {
      const kind = origin === 'adopted' ? 'adopt' : 'foreign';
      const reports = actions.flatMap((a) => (a.kind === kind ? [a.report] : []));
      const adopted = await store.adoptOrders(reports, origin);
      reports.forEach((report, i) => {
        const result = adopted[i];
        if (result) results.set(`${origin} ${report.exchangeOrderId}`, result);
      });
    }
    return results;
  }

  /** Applies one repair; returns the divergence it leaves, or null. */
  async #apply(
    action: ReconcileAction<StoredOrder>,
    adopted: ReadonlyMap<string, AdoptResult>,
  ): Promise<string | null> {
    const { store, stats, log } = this.#ctx;
    const exec = this.#exec;
    switch (action.kind) {
      case 'apply-status': {
        stats.repairs += 1;
        await exec.applyReport(await this.#reload(action.order), action.report);
        return null;
      }
      case 'fetch-fills': {
        const executed = executedQuantity(action.report);
        let order = await this.#reload(action.order);
        if (executed === null || !executed.gt(order.filledQuantity)) return null;
        order = await exec.recordOrderFills(order, action.report.exchangeOrderId);
        if (!executed.gt(order.filledQuantity)) return null;
        return `the exchange shows ${executed.toFixed()} executed, but its fills account for ${order.filledQuantity.toFixed()}`;
      }
      case 'adopt': {
        const { order, created } =
          adopted.get(`adopted ${action.report.exchangeOrderId}`) ??
          (await store.adoptOrder(action.report, 'adopted'));
        if (created) {
          stats.adopted += 1;
          log.warn(
            { orderId: order.id, exchangeOrderId: order.exchangeOrderId },
            'adopted an order of ours the store did not know',
          );
        }
        // Like every other path: the fills must account for what the exchange shows executed, or
        // the pass reports the shortfall (and the next one fetches again) instead of coming out clean.
        // (A report that does not say what executed asks for no fetch: the fills poll of this pass
        // has linked what the trade list holds, and a first pass may adopt thousands.)
        const executed = executedQuantity(action.report);
        if (executed === null || !executed.gt(order.filledQuantity)) return null;
        const filled = await exec.recordOrderFills(order, action.report.exchangeOrderId);
        if (!executed.gt(filled.filledQuantity)) return null;
        return `adopted; the exchange shows ${executed.toFixed()} executed, but its fills account for ${filled.filledQuantity.toFixed()}`;
      }
      case 'foreign': {
        const { order, created } =
          adopted.get(`foreign ${action.report.exchangeOrderId}`) ??
          (await store.adoptOrder(action.report, 'foreign'));
        if (created) {
          stats.foreign += 1;
          log.warn(
            { orderId: order.id, exchangeOrderId: order.exchangeOrderId },
            'foreign order on the account: recorded, not touched',
          );
        }
        return null;
      }
      case 'never-sent': {
        const order = await this.#reload(action.order);
        if (order.state !== 'PENDING_SUBMIT') return this.#stale(action, order);
        await exec.apply(order, {
          type: 'rejected',
          reason: 'journaled but never sent: the process stopped before sending it',
        });
        return null;
      }
      case 'not-found': {
        if (!action.conclusive) return null;
        let order = await this.#reload(action.order);
        // The stream or a lookup found it since the pass read it: nothing to conclude.
        if (!isUnresolved(order.state)) return this.#stale(action, order);
        if (order.state === 'SUBMITTED')
          order = await exec.apply(order, {
            type: 'send-ambiguous',
            reason: 'sent, but its reply was never recorded',
          });
        stats.resolvedNotFound += 1;
        await exec.apply(order, {
          type: 'resolved-not-found',
          reason: 'not in open orders, order history or fills past the visibility horizon: never placed',
        });
        return null;
      }
      case 'retry-cancel':
        return exec.resendCancel(await this.#reload(action.order));
      case 'divergence': {
        const problem = await this.#stillDiverges(action);
        if (problem === null) return this.#stale(action, await this.#reload(action.order));
        stats.divergences += 1;
        log.error({ orderId: action.order.id, problem }, 'local state diverges from the exchange');
        return problem;
      }
    }
  }

  /**
   * A contradiction between an order and its own report is decided again on a fresh read of both:
   * the stream may have moved the order on after the pass read the exchange (its cancel landed
   * between the two reads, say), and that is no divergence. A second order for one client id is
   * no matter of timing: it stands as found.
   */
  async #stillDiverges(
    action: Extract<ReconcileAction<StoredOrder>, { kind: 'divergence' }>,
  ): Promise<string | null> {
    const { prefix, clock, timings } = this.#ctx;
    const fresh = await this.#reload(action.order);
    const ownReport = action.report === null || action.report.exchangeOrderId === fresh.exchangeOrderId;
    if (!ownReport || fresh.exchangeOrderId === null) return action.problem;
    const report = await fetchOrderReport(this.#ctx, fresh.exchangeOrderId);
    const again = reconcileDiff({
      prefix,
      now: clock.now(),
      local: [fresh],
      reports: report ? [report] : [],
      replaceOwned: new Set(),
      notFoundAfterMs: timings.notFoundAfterMs,
      cancelRetryAfterMs: timings.cancelRetryAfterMs,
    }).find((a) => a.kind === 'divergence' && a.order.id === fresh.id);
    return again?.kind === 'divergence' ? again.problem : null;
  }

  /** A repair decided on a read the order has since moved past (another path got there first). */
  #stale(action: ReconcileAction<StoredOrder>, now: StoredOrder): null {
    this.#ctx.stats.staleRepairs += 1;
    this.#ctx.log.info(
      { orderId: now.id, repair: action.kind, state: now.state },
      'repair dropped: the order moved on since the pass read it',
    );
    return null;
  }

  async #reload(order: StoredOrder): Promise<StoredOrder> {
    const fresh = await this.#ctx.store.order(order.id);
    if (!fresh) throw new Error(`order ${order.id} vanished from ${this.#ctx.store.location}`);
    return fresh;
  }
}
