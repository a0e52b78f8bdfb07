import { ExchangeError, isExchangeError, type RefusalReason } from '../domain/errors.ts';
import {
  isClosed,
  isLateEvent,
  isStaleStatus,
  isUnresolved,
  type OrderProgress,
  type StatusEvent,
} from '../domain/lifecycle.ts';
import type { OrderRequest } from '../domain/orders.ts';
import type { FillReport, OrderStatusReport } from '../domain/reports.ts';
import type { FillSource, RecordFillResult, StoredOrder } from '../ports/store.ts';
import type { OmsContext } from './context.ts';
import { crashPoint, crashWhenWritten, type CrashPoint } from './crash-points.ts';
import { executedQuantity } from './reconcile-diff.ts';
import { fetchOrderReport, findOnExchange, orderFills, type Sighting } from './lookup.ts';

// The steps every OMS flow is made of: send a journaled order, resolve an ambiguous one by lookup,
// cancel and confirm, and record what the exchange reports. Each step writes its event before or
// right after the exchange call it stands for, so a crash between any two leaves a state a restart
// can finish from.

export interface SendPoints {
  /**
   * The caller journaled the order marked sent (Store.journalOrder's `sent`): it owns the send, and
   * no mark is written here. Only the path that journaled it may say so.
   */
  readonly marked?: boolean | undefined;
  readonly sentMark?: CrashPoint | undefined;
  readonly written: CrashPoint;
  readonly replied: CrashPoint;
}

export interface CancelPoints {
  /** Reached once PENDING_CANCEL is recorded, before the first DELETE is written. */
  readonly before?: CrashPoint | undefined;
  readonly requested: CrashPoint;
  readonly replied?: CrashPoint | undefined;
}

export interface SendResult {
  readonly order: StoredOrder;
  /** Refused without being processed for a passing reason (429, not sent): the intent may go again. */
  readonly retryable: boolean;
  /** How long the exchange (or the rate limiter) asked to wait before that. */
  readonly retryAfterMs?: number | undefined;
}

export type CancelOutcome = 'canceled' | 'filled' | 'pending' | 'refused' | 'already-closed';

export interface CancelResult {
  readonly order: StoredOrder;
  readonly outcome: CancelOutcome;
  /**
   * The report that showed the order gone. With `deferClose`, when it brings no fill the store lacks,
   * it is not recorded here (`order` is still PENDING_CANCEL): the caller records it with its next write.
   */
  readonly report?: OrderStatusReport | undefined;
  /** True when `report` is still to be recorded (see `deferClose`). */
  readonly deferred?: boolean | undefined;
}

export interface CancelOptions {
  /**
   * Leave the closing status for the caller's next write (a replace journals its replacement in
   * the same commit): a restart that finds it unrecorded asks the exchange again. A report that
   * brings fills is recorded here, fills and all.
   */
  readonly deferClose?: boolean | undefined;
}

/** What a cancel request came back with. */
type CancelReply = 'accepted' | 'maybe' | 'gone' | 'unprocessed' | 'blocked';

/** Refusals of a cancel that mean the order is already gone (or its cancel under way): a lookup says which. */
const GONE_REASONS: ReadonlySet<RefusalReason | undefined> = new Set(['order-not-found', 'order-closed']);

function requestOf(order: StoredOrder): OrderRequest {
  if (order.clientOrderId === null)
    throw new Error(`order ${order.id} has no client order id: it cannot be sent`);
  return {
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    quantity: order.quantity,
    price: order.price ?? undefined,
    stopPrice: order.stopPrice ?? undefined,
    quoteAmount: order.quoteAmount ?? undefined,
    clientOrderId: order.clientOrderId,
  };
}

function progress(order: StoredOrder): OrderProgress {
  return {
    state: order.state,
    quantity: order.quantity,
    filled: order.filledQuantity,
    exchangeOrderId: order.exchangeOrderId,
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Execution {
  readonly #ctx: OmsContext;

  constructor(ctx: OmsContext) {
    this.#ctx = ctx;
  }

  /**
   * Applies an event decided on `order` as the caller read it. A refusal is a divergence (logged
   * and counted, the order returned as it is), except when the order moved on since that read and
   * the event is merely late (a timeout reply after the stream showed the order OPEN, a repair
   * after a lookup resolved it): that is information, counted as a late reply.
   */
  async apply(order: StoredOrder, event: StatusEvent): Promise<StoredOrder> {
    const result = await this.#ctx.store.applyEvent(order.id, event);
    if (result.ok) return result.order;
    if (
      result.reason === 'invalid-transition' &&
      (isLateEvent(progress(order), progress(result.order), event) ||
        isStaleStatus(progress(result.order), event))
    ) {
      this.#ctx.stats.lateReplies += 1;
      this.#ctx.log.info(
        { orderId: order.id, event: event.type, was: order.state, now: result.order.state },
        'late event about an order that has moved on: recorded, nothing to change',
      );
      return result.order;
    }
    this.#ctx.stats.divergences += 1;
    this.#ctx.log.error(
      { orderId: order.id, event: event.type, problem: result.message },
      'order event refused',
    );
    return result.order;
  }

  /** Records a fill once by (trade id, exchange order id); one that contradicts its order is kept unlinked, never dropped. */
  async recordFill(fill: FillReport, source: FillSource, orderId?: string): Promise<RecordFillResult> {
    const { store, stats, log } = this.#ctx;
    const result = await store.recordFill(fill, source, orderId);
    if (result.ok) {
      if (!result.isNew) stats.fillsDuplicate += 1;
      else {
        stats.fillsNew += 1;
        if (result.order === null) stats.fillsUnlinked += 1;
      }
      return result;
    }
    stats.divergences += 1;
    log.error(
      { tradeId: fill.tradeId, exchangeOrderId: fill.exchangeOrderId, problem: result.message },
      'fill contradicts its order: kept unlinked',
    );
    const kept = await store.recordFill(fill, source, null);
    if (kept.ok && kept.isNew) {
      stats.fillsNew += 1;
      stats.fillsUnlinked += 1;
    }
    return kept;
  }

  /** Records every fill the exchange holds for the order; returns the order as it is afterwards. */
  async recordOrderFills(order: StoredOrder, exchangeOrderId: string): Promise<StoredOrder> {
    for (const fill of await orderFills(this.#ctx, order, exchangeOrderId))
      await this.recordFill(fill, 'reconcile', order.id);
    return this.#reload(order);
  }

  /** Teaches the order what the exchange shows, fills included. */
  async applyReport(order: StoredOrder, report: OrderStatusReport): Promise<StoredOrder> {
    const updated = await this.apply(order, {
      type: 'venue-status',
      status: report.status,
      exchangeOrderId: report.exchangeOrderId,
    });
    // The fills endpoint has the tightest budget (120/min): asked only when fills are missing.
    const executed = executedQuantity(report);
    const missing = executed === null ? report.status !== 'open' : executed.gt(updated.filledQuantity);
    if (missing && isUnresolved(order.state)) crashPoint('resolve.after-status');
    return missing ? this.recordOrderFills(updated, report.exchangeOrderId) : updated;
  }

  async applySighting(order: StoredOrder, sighting: Sighting): Promise<StoredOrder> {
    if (sighting.report) return this.applyReport(order, sighting.report);
    // Seen only in the trade history: it was placed; its fills move it on.
    const acked = await this.apply(order, { type: 'acked', exchangeOrderId: sighting.exchangeOrderId });
    return this.recordOrderFills(acked, sighting.exchangeOrderId);
  }

  /** Marks the journaled order sent, sends it once, and records the answer. Never re-sends. */
  async send(order: StoredOrder, points: SendPoints): Promise<SendResult> {
    const { exchange, stats, log } = this.#ctx;
    // The mark is the send's ownership: only the path whose mark was written sends. Another owner
    // that marked (or settled) it first is sending or has sent it: never a second send.
    let marked = order;
    if (points.marked === true) {
      if (order.state !== 'SUBMITTED')
        throw new Error(`order ${order.id} is ${order.state}, not journaled as sent: not sending it`);
    } else {
      const mark = await this.#ctx.store.applyEvent(order.id, { type: 'sent' });
      if (!mark.ok) {
        if (order.state !== 'PENDING_SUBMIT' || mark.order.state === 'PENDING_SUBMIT')
          throw new Error(`order ${order.id} could not be marked sent (${mark.message}): not sending it`);
        stats.lateReplies += 1;
        log.info(
          { orderId: order.id, state: mark.order.state },
          'order already sent or settled by another owner: not sending it again',
        );
        return { order: mark.order, retryable: false };
      }
      marked = mark.order;
    }
    if (points.sentMark) crashPoint(points.sentMark);
    stats.submits += 1;
    const disarm = crashWhenWritten(points.written, 'submit');
    let exchangeOrderId: string;
    try {
      exchangeOrderId = (await exchange.submitOrder(requestOf(marked))).exchangeOrderId;
    } catch (error) {
      if (error instanceof ExchangeError && error.unprocessed) {
        stats.rejected += 1;
        const rejected = await this.apply(marked, { type: 'rejected', reason: error.message });
        if (rejected.state !== 'REJECTED') {
          // The stream or a lookup already showed it placed: the refusal was not what it said.
          log.warn(
            { orderId: order.id, state: rejected.state, err: error.message },
            'submit refused as unprocessed, yet the exchange shows the order: kept, not sent again',
          );
          return { order: rejected, retryable: false };
        }
        return {
          order: rejected,
          retryable: error.kind === 'rate-limited' || error.kind === 'not-sent',
          retryAfterMs: error.retryAfterMs,
        };
      }
      // Anything else may have placed the order: it stays in flight until a lookup says. A failure
      // that is not the exchange's (a bug in between) is logged as the error it is. A reply that
      // comes after the stream (or a lookup) already moved the order on is only late: apply says so.
      stats.ambiguous += 1;
      const after = await this.apply(marked, { type: 'send-ambiguous', reason: describe(error) });
      const fields = { orderId: order.id, clientOrderId: order.clientOrderId, err: describe(error) };
      if (!isUnresolved(after.state))
        log.info({ ...fields, state: after.state }, 'submit reply late: the order had moved on');
      else if (isExchangeError(error)) log.warn(fields, 'submit outcome unknown');
      else log.error(fields, 'submit failed outside the exchange: outcome unknown');
      return { order: after, retryable: false };
    } finally {
      disarm();
    }
    crashPoint(points.replied);
    stats.acked += 1;
    return { order: await this.apply(marked, { type: 'acked', exchangeOrderId }), retryable: false };
  }

  /**
   * Looks for an unresolved order until it is found, proven never placed (unseen past the
   * visibility horizon), or the escalation bound runs out (then it is returned still unresolved:
   * nothing is guessed).
   */
  async resolve(order: StoredOrder): Promise<StoredOrder> {
    const { clock, timings, escalation, stats, log } = this.#ctx;
    let current = order;
    if (current.state === 'SUBMITTED')
      current = await this.apply(current, {
        type: 'send-ambiguous',
        reason: 'sent, but its reply was never recorded',
      });
    let attempt = 0;
    while (isUnresolved(current.state)) {
      try {
        const unseenFor = clock.now() - current.updatedAt;
        const pastHorizon = unseenFor >= timings.notFoundAfterMs;
        const sighting = await findOnExchange(this.#ctx, current, pastHorizon);
        if (sighting) {
          stats.resolvedFound += 1;
          return await this.applySighting(current, sighting);
        }
        if (pastHorizon) {
          stats.resolvedNotFound += 1;
          return await this.apply(current, {
            type: 'resolved-not-found',
            reason: `not in open orders, order history or fills ${unseenFor} ms after it was sent: never placed`,
          });
        }
      } catch (error) {
        if (!isExchangeError(error)) throw error;
        stats.lookupFailures += 1;
        log.warn({ orderId: current.id, err: error.message }, 'lookup of an unresolved order failed');
      }
      if (clock.now() - current.updatedAt >= escalation.unresolvedReduceMs) return current;
      await clock.sleep(this.#backoff(attempt));
      attempt += 1;
      current = await this.#reload(current);
    }
    return current;
  }

  /**
   * Cancels a resting order and waits, bounded, for the exchange to show it gone. BTCTurk cancels
   * asynchronously: the order stays PENDING_CANCEL until a lookup shows it canceled or filled.
   */
  async cancel(
    order: StoredOrder,
    points?: CancelPoints,
    options: CancelOptions = {},
  ): Promise<CancelResult> {
    const { timings, stats } = this.#ctx;
    if (isClosed(order.state)) return { order, outcome: 'already-closed' };
    const exchangeOrderId = order.exchangeOrderId;
    if (exchangeOrderId === null)
      throw new Error(
        `order ${order.id} is ${order.state} with no exchange id: resolve it before cancelling`,
      );
    stats.cancels += 1;
    let current =
      order.state === 'PENDING_CANCEL' ? order : await this.apply(order, { type: 'cancel-requested' });
    // Filled or canceled (the stream got there) since the caller read it: nothing left to cancel.
    if (isClosed(current.state)) return { order: current, outcome: 'already-closed' };
    if (points?.before) crashPoint(points.before);
    let reached = false; // whether any request may have reached the exchange
    let lastReason = 'no cancel request was processed';
    for (let attempt = 0; attempt < timings.cancelAttempts; attempt += 1) {
      const reply = await this.#requestCancel(exchangeOrderId, points);
      if (reply.kind !== 'unprocessed' && reply.kind !== 'blocked') reached = true;
      lastReason = reply.reason;
      const settled = await this.confirmGone(current, exchangeOrderId, options.deferClose === true);
      current = settled.order;
      if (settled.gone) return this.#cancelResult(current, settled.report, settled.deferred);
      if (reply.kind === 'blocked') break;
    }
    if (!reached) {
      stats.cancelsRefused += 1;
      current = await this.apply(current, { type: 'cancel-refused', reason: lastReason });
      return { order: current, outcome: 'refused' };
    }
    stats.cancelsPending += 1;
    return { order: current, outcome: 'pending' };
  }

  /**
   * Asks once more for a cancel the exchange still shows resting (reconciliation does, once per
   * pass). Returns the divergence it leaves when the exchange will neither cancel nor close it.
   */
  async resendCancel(order: StoredOrder): Promise<string | null> {
    if (order.exchangeOrderId === null || order.state !== 'PENDING_CANCEL') return null;
    const reply = await this.#requestCancel(order.exchangeOrderId, undefined);
    if (reply.kind === 'blocked') {
      this.#ctx.stats.cancelsRefused += 1;
      await this.apply(order, { type: 'cancel-refused', reason: reply.reason });
      return null;
    }
    return reply.kind === 'gone'
      ? `the exchange shows it resting, yet refuses to cancel it: ${reply.reason}`
      : null;
  }

  /** Polls the order until the exchange shows it closed or the confirmation window passes. */
  async confirmGone(
    order: StoredOrder,
    exchangeOrderId: string,
    deferClose = false,
  ): Promise<{ order: StoredOrder; gone: boolean; report?: OrderStatusReport; deferred?: boolean }> {
    const { clock, timings, stats, log } = this.#ctx;
    const until = clock.now() + timings.cancelConfirmMs;
    let current = order;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const report = await fetchOrderReport(this.#ctx, exchangeOrderId);
        if (report && (report.status === 'canceled' || report.status === 'filled')) {
          // Nothing to learn beyond the status: the caller records it with its own next write.
          const executed = executedQuantity(report);
          if (deferClose && executed !== null && executed.lte(current.filledQuantity))
            return { order: current, gone: true, report, deferred: true };
          current = await this.applyReport(current, report);
          return { order: current, gone: true, report };
        }
        // The private stream showed it gone before REST does: a lagging read is no reason to wait.
        current = await this.#reload(current);
        if (isClosed(current.state)) return { order: current, gone: true };
        if (report) current = await this.applyReport(current, report);
      } catch (error) {
        if (!isExchangeError(error)) throw error;
        stats.lookupFailures += 1;
        log.warn({ orderId: order.id, err: error.message }, 'cancel confirmation lookup failed');
      }
      const wait = Math.min(this.#backoff(attempt), until - clock.now());
      if (wait <= 0) return { order: current, gone: false };
      await clock.sleep(wait);
    }
  }

  #cancelResult(order: StoredOrder, report?: OrderStatusReport, deferred = false): CancelResult {
    this.#ctx.stats.cancelsConfirmed += 1;
    const filled = deferred ? report?.status === 'filled' : order.state === 'FILLED';
    return { order, outcome: filled ? 'filled' : 'canceled', report, deferred };
  }

  async #requestCancel(
    exchangeOrderId: string,
    points: CancelPoints | undefined,
  ): Promise<{ kind: CancelReply; reason: string }> {
    const disarm = points ? crashWhenWritten(points.requested, 'cancel') : () => undefined;
    try {
      await this.#ctx.exchange.cancelOrder(exchangeOrderId);
      if (points?.replied) crashPoint(points.replied);
      return { kind: 'accepted', reason: 'cancel accepted' };
    } catch (error) {
      if (!(error instanceof ExchangeError)) throw error;
      // Already gone, or a cancel already under way: a lookup settles which.
      if (error.unprocessed && GONE_REASONS.has(error.reason)) return { kind: 'gone', reason: error.message };
      // Refused for any other reason ('cancel-blocked': the pair is in maintenance): blocked for now.
      if (error.kind === 'rejected' || error.kind === 'exchange-failure')
        return { kind: 'blocked', reason: error.message };
      return { kind: error.unprocessed ? 'unprocessed' : 'maybe', reason: error.message };
    } finally {
      disarm();
    }
  }

  #backoff(attempt: number): number {
    const { timings, random } = this.#ctx;
    const ceiling = Math.min(timings.lookupCapMs, timings.lookupBaseMs * 2 ** attempt);
    // Half fixed, half jitter: lookups keep a floor, and several processes do not fall into step.
    return ceiling / 2 + (random.next() * ceiling) / 2;
  }

  async #reload(order: StoredOrder): Promise<StoredOrder> {
    const fresh = await this.#ctx.store.order(order.id);
    if (!fresh) throw new Error(`order ${order.id} vanished from ${this.#ctx.store.location}`);
    return fresh;
  }
}
