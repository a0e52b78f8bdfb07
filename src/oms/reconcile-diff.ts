import type { Decimal } from 'decimal.js';
import { isOwnClientOrderId } from '../domain/client-ids.ts';
import type { OrderState } from '../domain/orders.ts';
import type { OrderStatusReport, VenueOrderStatus } from '../domain/reports.ts';
import type { OrderOrigin } from '../ports/store.ts';

// What reconciliation must do, decided from what we hold and what the exchange shows, with no I/O:
// the shell gathers both sides, this function lists the repairs, the shell applies them.

/** What the diff needs of a stored order. */
export interface LocalOrder {
  readonly id: string;
  readonly clientOrderId: string | null;
  readonly exchangeOrderId: string | null;
  readonly state: OrderState;
  readonly origin: OrderOrigin;
  readonly filledQuantity: Decimal;
  /** When the order last changed: for an unresolved order, when it was sent or went UNKNOWN. */
  readonly updatedAt: number;
  /**
   * When it was journaled (just before it was sent), when known. A resting order whose journal
   * entry or last recorded change (its ack among them) is younger than the visibility horizon, and
   * that the exchange's lists and lookups do not show yet, is not yet a divergence: a slow POST
   * places it well after it was journaled.
   */
  readonly createdAt?: number | undefined;
}

export interface DiffInput<T extends LocalOrder = LocalOrder> {
  readonly prefix: string;
  readonly now: number;
  /** Our active orders, and any stored order that one of the reports names. */
  readonly local: readonly T[];
  /** Every report the exchange gave in this pass: open orders, history, single lookups. */
  readonly reports: readonly OrderStatusReport[];
  /** Journaled orders a replace transaction owns: the replace decides whether they are sent. */
  readonly replaceOwned: ReadonlySet<string>;
  /** An unresolved order not seen for this long after it was sent is concluded never placed. */
  readonly notFoundAfterMs: number;
  /** A cancel the exchange still shows resting this long after it was asked is asked again. */
  readonly cancelRetryAfterMs: number;
}

export type ReconcileAction<T extends LocalOrder = LocalOrder> =
  /** The exchange's status teaches the order something (includes resolving an unresolved submit). */
  | { readonly kind: 'apply-status'; readonly order: T; readonly report: OrderStatusReport }
  /** The exchange shows more executed than we counted: fetch the order's fills. */
  | { readonly kind: 'fetch-fills'; readonly order: T; readonly report: OrderStatusReport }
  /** Ours by prefix, unknown here (e.g. the database was restored from an older copy). */
  | { readonly kind: 'adopt'; readonly report: OrderStatusReport }
  /** Not ours: recorded as foreign, never touched. */
  | { readonly kind: 'foreign'; readonly report: OrderStatusReport }
  /** Journaled but never sent (`sent` is recorded before the send): refuse it. */
  | { readonly kind: 'never-sent'; readonly order: T }
  /** An unresolved order nowhere to be seen; `conclusive` once the visibility horizon has passed. */
  | { readonly kind: 'not-found'; readonly order: T; readonly conclusive: boolean }
  | { readonly kind: 'retry-cancel'; readonly order: T; readonly report: OrderStatusReport }
  /** The two sides contradict each other in a way no event can repair: escalate, never guess. */
  | {
      readonly kind: 'divergence';
      readonly order: T;
      readonly report: OrderStatusReport | null;
      readonly problem: string;
    };

const STATUS_RANK: Readonly<Record<VenueOrderStatus, number>> = {
  open: 0,
  partially_filled: 1,
  canceled: 2,
  filled: 3,
};

/** One report per exchange order: the furthest along when two queries caught it at different moments. */
export function latestReports(reports: readonly OrderStatusReport[]): Map<string, OrderStatusReport> {
  const out = new Map<string, OrderStatusReport>();
  for (const report of reports) {
    const seen = out.get(report.exchangeOrderId);
    if (!seen || STATUS_RANK[report.status] > STATUS_RANK[seen.status])
      out.set(report.exchangeOrderId, report);
  }
  return out;
}

/** Quantity the report shows executed, when it says (never for a quote-sized buy: its fills say). */
export function executedQuantity(report: OrderStatusReport): Decimal | null {
  if (report.quoteSized === true) return null;
  if (report.status === 'filled') return report.quantity;
  return report.leftQuantity === null ? null : report.quantity.sub(report.leftQuantity);
}

const RESTING_ON_VENUE: ReadonlySet<VenueOrderStatus> = new Set(['open', 'partially_filled']);

/** Whether a venue status moves the local state (the table in domain/lifecycle.ts decides how). */
function statusTeaches(state: OrderState, status: VenueOrderStatus): boolean {
  switch (status) {
    case 'open':
      return state === 'PENDING_SUBMIT' || state === 'SUBMITTED' || state === 'UNKNOWN';
    case 'partially_filled':
      return ['PENDING_SUBMIT', 'SUBMITTED', 'UNKNOWN', 'OPEN'].includes(state);
    case 'filled':
      return state !== 'FILLED';
    case 'canceled':
      return state !== 'FILLED' && state !== 'CANCELED';
  }
}

function secondOrder(order: LocalOrder, report: OrderStatusReport): string {
  return (
    `client id ${order.clientOrderId ?? '-'} is exchange order ${order.exchangeOrderId ?? '-'} here, ` +
    `but the exchange also shows it as order ${report.exchangeOrderId}: a second order for one client id`
  );
}

function contradiction(order: LocalOrder, report: OrderStatusReport): string | null {
  if (order.exchangeOrderId !== null && order.exchangeOrderId !== report.exchangeOrderId)
    return secondOrder(order, report);
  if (order.state === 'REJECTED')
    return `the exchange shows order ${report.exchangeOrderId} ${report.status}, but it was concluded never placed`;
  if ((order.state === 'CANCELED' || order.state === 'FILLED') && RESTING_ON_VENUE.has(report.status))
    return `closed here as ${order.state}, but the exchange shows it ${report.status}`;
  return null;
}

function compare<T extends LocalOrder>(
  order: T,
  report: OrderStatusReport | undefined,
  input: DiffInput<T>,
): ReconcileAction<T>[] {
  const { now } = input;
  if (report === undefined) {
    switch (order.state) {
      case 'PENDING_SUBMIT':
        return input.replaceOwned.has(order.id) ? [] : [{ kind: 'never-sent', order }];
      case 'SUBMITTED':
      case 'UNKNOWN':
        return [{ kind: 'not-found', order, conclusive: now - order.updatedAt >= input.notFoundAfterMs }];
      case 'OPEN':
      case 'PARTIALLY_FILLED':
      case 'PENDING_CANCEL':
        // Acked (or streamed) moments ago: the exchange's reads may not show it yet (S7).
        if (
          order.createdAt !== undefined &&
          now - Math.max(order.createdAt, order.updatedAt) < input.notFoundAfterMs
        )
          return [];
        return [
          {
            kind: 'divergence',
            order,
            report: null,
            problem: `resting here as ${order.state}, but the exchange shows no such order`,
          },
        ];
      default:
        return [];
    }
  }
  const problem = contradiction(order, report);
  if (problem !== null) return [{ kind: 'divergence', order, report, problem }];
  const actions: ReconcileAction<T>[] = [];
  if (statusTeaches(order.state, report.status)) actions.push({ kind: 'apply-status', order, report });
  const executed = executedQuantity(report);
  if (executed !== null && executed.gt(order.filledQuantity))
    actions.push({ kind: 'fetch-fills', order, report });
  if (
    order.state === 'PENDING_CANCEL' &&
    RESTING_ON_VENUE.has(report.status) &&
    now - order.updatedAt >= input.cancelRetryAfterMs
  )
    actions.push({ kind: 'retry-cancel', order, report });
  return actions;
}

/** Every repair that brings the local view to the exchange's, in a deterministic order. */
export function reconcileDiff<T extends LocalOrder>(input: DiffInput<T>): ReconcileAction<T>[] {
  const reports = latestReports(input.reports);
  const byClientId = new Map<string, OrderStatusReport[]>();
  for (const report of reports.values()) {
    if (report.clientOrderId === null) continue;
    const list = byClientId.get(report.clientOrderId) ?? [];
    list.push(report);
    byClientId.set(report.clientOrderId, list);
  }

  const actions: ReconcileAction<T>[] = [];
  const claimed = new Set<string>();
  const locals = [...new Map(input.local.map((order) => [order.id, order])).values()];
  for (const order of locals) {
    const byId = order.exchangeOrderId === null ? undefined : reports.get(order.exchangeOrderId);
    // A foreign order's client id is whatever a person typed: only our own are matched by it.
    const sameClientId =
      order.origin === 'foreign' || order.clientOrderId === null
        ? []
        : (byClientId.get(order.clientOrderId) ?? []);
    if (byId) claimed.add(byId.exchangeOrderId);
    const others = sameClientId.filter((r) => r.exchangeOrderId !== byId?.exchangeOrderId);
    for (const other of others) claimed.add(other.exchangeOrderId);
    if (byId) {
      actions.push(...compare(order, byId, input));
      for (const other of others)
        actions.push({ kind: 'divergence', order, report: other, problem: secondOrder(order, other) });
    } else if (others.length > 1) {
      actions.push({
        kind: 'divergence',
        order,
        report: others[0] ?? null,
        problem: `the exchange shows ${others.length} orders with client id ${order.clientOrderId ?? '-'}: ${others.map((r) => r.exchangeOrderId).join(', ')}`,
      });
    } else {
      actions.push(...compare(order, others[0], input));
    }
  }

  for (const report of reports.values()) {
    if (claimed.has(report.exchangeOrderId)) continue;
    const ours = report.clientOrderId !== null && isOwnClientOrderId(report.clientOrderId, input.prefix);
    actions.push({ kind: ours ? 'adopt' : 'foreign', report });
  }
  return actions;
}
