import { isOwnClientOrderId } from '../domain/client-ids.ts';
import { isExchangeError } from '../domain/errors.ts';
import { compareFills, type OrderStatusReport } from '../domain/reports.ts';
import type { StoredOrder } from '../ports/store.ts';
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
    for (const action of actions) {
      if (action.kind === 'not-found' && !fillsRead) continue;
      counts[action.kind] = (counts[action.kind] ?? 0) + 1;
      const key = 'order' in action ? action.order.id : action.report.exchangeOrderId;
      try {
        const problem = await this.#apply(action);
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
    for (const report of latestReports(reports).values()) {
      if (knownIds.has(report.exchangeOrderId)) continue;
      if (report.clientOrderId !== null && knownClientIds.has(report.clientOrderId)) continue;
      const stored =
        (await store.orderByExchangeId(report.exchangeOrderId)) ??
        (report.clientOrderId === null ? undefined : await store.orderByClientId(report.clientOrderId));
      if (stored) local.set(stored.id, stored);
    }
    return [...local.values()];
  }

  /** Applies one repair; returns the divergence it leaves, or null. */
  async #apply(action: ReconcileAction<StoredOrder>): Promise<string | null> {
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
        const { order, created } = await store.adoptOrder(action.report, 'adopted');
        if (created) {
          stats.adopted += 1;
          log.warn(
            { orderId: order.id, exchangeOrderId: order.exchangeOrderId },
            'adopted an order of ours the store did not know',
          );
        }
        const executed = executedQuantity(action.report);
        if (executed !== null && executed.gt(order.filledQuantity))
          await exec.recordOrderFills(order, action.report.exchangeOrderId);
        return null;
      }
      case 'foreign': {
        const { order, created } = await store.adoptOrder(action.report, 'foreign');
        if (created) {
          stats.foreign += 1;
          log.warn(
            { orderId: order.id, exchangeOrderId: order.exchangeOrderId },
            'foreign order on the account: recorded, not touched',
          );
        }
        return null;
      }
      case 'never-sent':
        await exec.apply(await this.#reload(action.order), {
          type: 'rejected',
          reason: 'journaled but never sent: the process stopped before sending it',
        });
        return null;
      case 'not-found': {
        if (!action.conclusive) return null;
        let order = await this.#reload(action.order);
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
      case 'divergence':
        stats.divergences += 1;
        log.error(
          { orderId: action.order.id, problem: action.problem },
          'local state diverges from the exchange',
        );
        return action.problem;
    }
  }

  async #reload(order: StoredOrder): Promise<StoredOrder> {
    const fresh = await this.#ctx.store.order(order.id);
    if (!fresh) throw new Error(`order ${order.id} vanished from ${this.#ctx.store.location}`);
    return fresh;
  }
}
