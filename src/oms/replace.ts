import type { Decimal } from 'decimal.js';
import { newClientOrderId } from '../domain/client-ids.ts';
import { Dec } from '../domain/decimal.ts';
import { isClosed, isResting, isUnresolved } from '../domain/lifecycle.ts';
import type { StatusEvent } from '../domain/lifecycle.ts';
import type { OrderStatusReport } from '../domain/reports.ts';
import type {
  AdvanceReplaceResult,
  ReplaceAdmissionView,
  ReplaceChange,
  ReplaceMode,
  ReplaceTxn,
  ReplaceWriteOptions,
  StoredOrder,
} from '../ports/store.ts';
import { OrderMovedOnError, OrderRefusedError, type OmsContext } from './context.ts';
import { crashPoint, replacePoint, type CrashPoint, type ReplaceStepPoint } from './crash-points.ts';
import type { CancelPoints, Execution } from './execution.ts';
import { fetchOrderReport } from './lookup.ts';
import { executedQuantity } from './reconcile-diff.ts';
import { replacementSize } from './remainder.ts';

// Cancel/replace as a persisted transaction (BTCTurk has no amend). Safe mode: cancel, wait until
// the exchange shows the old order gone, then place the replacement for what is still wanted after
// the fills that came in meanwhile; when that is less than the exchange takes, nothing is left to
// replace. Fast mode places the new order first, only when the risk budget allows both to rest at
// once. Every step is stored before it acts, so a restart resumes from it.
//
// Each request waits for one synced commit at most, and reads nothing on the way: safe mode's
// begin records the old order's cancel request with the transaction (then the DELETE); the step
// that journals the replacement (marked sent) also records the old order's close (then the POST);
// fast mode's step after the replacement's ack records the cancel request (then the DELETE). What
// a restart learns again from the exchange (the old order gone, an ack, `done` once the replacement
// rests) is written without a disk sync of its own. The run carries the orders its writes return.

export interface ReplaceRequest {
  readonly price?: Decimal | undefined;
  readonly stopPrice?: Decimal | undefined;
  /** What the replacement should rest with; default: what the old order still has open. */
  readonly quantity?: Decimal | undefined;
  readonly mode?: ReplaceMode | undefined;
}

/** Says whether the old order and its replacement may both rest at once (fast mode). */
export type RiskBudget = (
  old: StoredOrder,
  replacement: { quantity: Decimal; price: Decimal | null },
) => boolean;

/** The old order changed since the caller read it: decide again on `current`. */
export class StaleOrderError extends Error {
  constructor(readonly current: StoredOrder) {
    super(`order ${current.id} changed since it was read (now version ${current.version}, ${current.state})`);
    this.name = 'StaleOrderError';
  }
}

export interface ReplaceResult {
  readonly txn: ReplaceTxn;
  readonly old: StoredOrder;
  readonly replacement: StoredOrder | null;
}

/** Where a run stands: the transaction and the orders as its own writes left them. */
interface Held {
  readonly txn: ReplaceTxn;
  readonly old: StoredOrder;
  readonly replacement: StoredOrder | null;
  /** This run journaled the replacement marked sent: it owns the send. */
  readonly owned?: boolean;
  /** The step must wait for the exchange (a cancel not yet confirmed, a replacement unresolved). */
  readonly waiting?: boolean;
}

function closingEvent(report: OrderStatusReport | undefined): StatusEvent | undefined {
  return report && { type: 'venue-status', status: report.status, exchangeOrderId: report.exchangeOrderId };
}

export class Replacer {
  readonly #ctx: OmsContext;
  readonly #exec: Execution;
  /** Transactions being run now, by id: the one owner each has. */
  readonly #running = new Map<string, Promise<ReplaceResult>>();

  constructor(ctx: OmsContext, exec: Execution) {
    this.#ctx = ctx;
    this.#exec = exec;
  }

  /**
   * Begins a replace of `old` as the caller holds it: the store refuses (StaleOrderError) when the
   * order changed since, and `admit` decides admission on what the beginning transaction reads.
   */
  async begin(
    old: StoredOrder,
    request: ReplaceRequest,
    budget: RiskBudget | undefined,
    admit?: (view: ReplaceAdmissionView) => string | null,
  ): Promise<ReplaceResult> {
    const { store, prefix, random, clock, stats } = this.#ctx;
    if (!isResting(old.state) || old.state === 'PENDING_CANCEL')
      throw new OrderMovedOnError(
        old.id,
        old.state,
        `order ${old.id} is ${old.state}: only an OPEN or PARTIALLY_FILLED order can be replaced`,
      );
    const wanted = request.quantity ?? old.quantity.sub(old.filledQuantity);
    const price = request.price ?? old.price;
    let mode = request.mode ?? 'safe';
    let reason: string | null = null;
    if (mode === 'fast' && budget?.(old, { quantity: wanted, price }) !== true) {
      mode = 'safe';
      reason =
        'fast mode fell back to safe: the risk budget does not allow the old and new order to rest at once';
    }
    // Safe mode: the transaction and the old order's cancel request are one synced commit, the
    // only one before the DELETE.
    const begun = await store.beginReplace({
      oldOrderId: old.id,
      newClientOrderId: newClientOrderId(prefix, random, clock),
      wantedQuantity: wanted,
      newPrice: price,
      newStopPrice: request.stopPrice ?? old.stopPrice,
      mode,
      reason,
      requestCancel: mode === 'safe',
      oldVersion: old.version,
      admit,
    });
    if (!begun.ok) {
      if (begun.reason === 'refused') throw new OrderRefusedError(old.symbol, begun.message);
      if (begun.reason === 'version-conflict') throw new StaleOrderError(begun.order);
      if (begun.reason === 'invalid-transition')
        throw new OrderMovedOnError(old.id, begun.order.state, begun.message);
      throw new Error(begun.message);
    }
    crashPoint(replacePoint(mode, 'after-begin'));
    stats.replaces += 1;
    return this.#own(begun.txn.id, () =>
      this.#run(begun.txn.id, { txn: begun.txn, old: begun.old, replacement: null }),
    );
  }

  /**
   * Runs the transaction from its stored step until it is done or must wait for the exchange. One
   * owner at a time: a caller that finds the transaction already running (the engine's replace
   * while a reconciliation pass reaches it, two passes at once) waits for that run to end, then
   * reads the transaction again and goes on from wherever it was left, never from its own copy.
   */
  resume(start: ReplaceTxn): Promise<ReplaceResult> {
    return this.#own(start.id, () => this.#run(start.id));
  }

  async #own(id: string, work: () => Promise<ReplaceResult>): Promise<ReplaceResult> {
    for (let running = this.#running.get(id); running; running = this.#running.get(id))
      await running.catch(() => undefined);
    const run = work();
    this.#running.set(id, run);
    try {
      return await run;
    } finally {
      if (this.#running.get(id) === run) this.#running.delete(id);
    }
  }

  /** From `held` (what begin wrote), else from the store. */
  async #run(id: string, held?: Held): Promise<ReplaceResult> {
    let state = held ?? (await this.#read(id));
    for (;;) {
      if (state.txn.step === 'done') break;
      state = state.txn.mode === 'safe' ? await this.#safeStep(state) : await this.#fastStep(state);
      if (state.waiting === true) break;
    }
    return { txn: state.txn, old: state.old, replacement: state.replacement };
  }

  /** One step of safe mode (`waiting` when the cancel is not yet confirmed, the new order unresolved). */
  async #safeStep(state: Held): Promise<Held> {
    const { txn, old } = state;
    switch (txn.step) {
      case 'started': // begun without the cancel request (an earlier version, a test): record it now
        return this.#advance(state, {
          step: 'cancel-sent',
          oldEvent:
            isClosed(old.state) || old.state === 'PENDING_CANCEL' ? undefined : { type: 'cancel-requested' },
        });
      case 'cancel-sent': {
        const cancel = await this.#exec.cancel(old, this.#cancelPoints(txn), { deferClose: true });
        const now = { ...state, old: cancel.order };
        if (cancel.outcome === 'pending') return { ...now, waiting: true };
        if (cancel.outcome === 'refused')
          return this.#advance(now, {
            step: 'done',
            outcome: 'aborted',
            reason: `the old order's cancel was refused: ${cancel.order.stateReason ?? '-'}`,
          });
        // The exchange shows the old order gone; recorded only if it brought fills (deferred else).
        crashPoint('replace.after-cancel-confirmed');
        return this.#journalReplacement(now, cancel.report, cancel.deferred === true);
      }
      case 'old-closed': // left here by an earlier version
        return this.#journalReplacement(state, undefined, false);
      case 'new-journaled':
        return this.#placeReplacement(state, (placed) => ({
          step: 'done',
          outcome: placed ? 'replaced' : 'aborted',
        }));
      case 'done':
        return state;
    }
  }

  /** One step of fast mode: new order first, then the cancel of the old one. */
  async #fastStep(state: Held): Promise<Held> {
    const { txn, old } = state;
    switch (txn.step) {
      case 'started':
        return this.#journalReplacement(state, undefined, false);
      case 'new-journaled':
        // Placed: the step to the cancel records the old order's cancel request with it.
        return this.#placeReplacement(state, (placed) =>
          placed
            ? {
                step: 'cancel-sent',
                oldEvent: isClosed(old.state) ? undefined : { type: 'cancel-requested' },
              }
            : { step: 'done', outcome: 'aborted' },
        );
      case 'cancel-sent': {
        let closed = old;
        if (!isClosed(old.state)) {
          const cancel = await this.#exec.cancel(old, this.#cancelPoints(txn));
          if (cancel.outcome === 'pending' || cancel.outcome === 'refused')
            return { ...state, old: cancel.order, waiting: true };
          closed = cancel.order;
        }
        return this.#advance({ ...state, old: closed }, { step: 'old-closed' }, { durable: false });
      }
      case 'old-closed':
        crashPoint('replace-fast.after-cancel-confirmed');
        return this.#advance(state, { step: 'done', outcome: 'replaced' }, { durable: false });
      case 'done':
        return state;
    }
  }

  /**
   * Journals the replacement for what is still wanted, marked sent, in one write with the step and
   * the old order's close (`closing`, when `deferred`); ends the replace without one when what is
   * left is no order the exchange would take, or when the kill switch is on at that write.
   */
  async #journalReplacement(
    state: Held,
    closing: OrderStatusReport | undefined,
    deferred: boolean,
  ): Promise<Held> {
    const { txn, old } = state;
    const oldEvent = deferred ? closingEvent(closing) : undefined;
    const size = replacementSize(
      await this.#stillWanted(txn, old, closing),
      txn.newPrice,
      await this.#ctx.rules(old.symbol),
    );
    if ('nothingLeft' in size)
      return this.#advance(state, {
        step: 'done',
        outcome: 'nothing-left',
        reason: size.nothingLeft,
        oldEvent,
      });
    const change: ReplaceChange = {
      step: 'new-journaled',
      oldEvent,
      newOrder: {
        clientOrderId: txn.newClientOrderId,
        symbol: old.symbol,
        side: old.side,
        method: old.method,
        quantity: size.quantity,
        price: txn.newPrice ?? undefined,
        stopPrice: txn.newStopPrice ?? undefined,
        intentId: old.intentId,
        strategy: old.strategy,
        replaceOf: old.id,
      },
    };
    const result = await this.#ctx.store.advanceReplace(txn.id, change, txn.version);
    if (!result.ok && result.reason === 'kill-switch')
      return this.#advance(state, {
        step: 'done',
        outcome: 'aborted',
        reason: `${result.message}: the replacement was not placed`,
        oldEvent,
      });
    const next = await this.#took(state, change, result);
    if (result.ok) crashPoint(replacePoint(txn.mode, 'after-new-journal'));
    return next;
  }

  /** Sends (or resolves) the journaled replacement; `then` maps placed-or-not to the next step. */
  async #placeReplacement(state: Held, then: (placed: boolean) => ReplaceChange): Promise<Held> {
    const { txn } = state;
    if (txn.newOrderId === null) throw new Error(`replace ${txn.id} is at new-journaled without a new order`);
    let replacement = state.replacement ?? (await this.#order(txn.newOrderId));
    // Only the run whose write marked it sent sends it (or one that takes the mark now: a row an
    // earlier version journaled unmarked). Marked by anyone else: resolved by lookup, never resent.
    const owned = state.owned === true && replacement.state === 'SUBMITTED';
    if (owned || replacement.state === 'PENDING_SUBMIT')
      replacement = (
        await this.#exec.send(replacement, {
          marked: owned,
          sentMark: replacePoint(txn.mode, 'after-new-sent-mark'),
          written: replacePoint(txn.mode, 'after-new-sent'),
          replied: replacePoint(txn.mode, 'after-new-reply'),
        })
      ).order;
    if (isUnresolved(replacement.state)) replacement = await this.#exec.resolve(replacement);
    const now: Held = { ...state, replacement, owned: false };
    if (isUnresolved(replacement.state)) return { ...now, waiting: true };
    crashPoint(replacePoint(txn.mode, 'after-new-acked'));
    const placed = replacement.state !== 'REJECTED';
    const change = then(placed);
    // Safe mode's `done` over a resting replacement is learned again by a restart: no sync of its own.
    const durable = !(placed && change.step === 'done');
    return this.#advance(
      now,
      placed
        ? change
        : { ...change, reason: `the replacement was refused: ${replacement.stateReason ?? '-'}` },
      { durable },
    );
  }

  /**
   * What the replacement should still carry: the wanted quantity less what the old order filled
   * since the replace began. The exchange's own executed quantity (`report`, else read now) is a
   * floor, so fills it has not yet listed cannot make the replacement too big.
   */
  async #stillWanted(txn: ReplaceTxn, old: StoredOrder, report?: OrderStatusReport): Promise<Decimal> {
    let filled = old.filledQuantity;
    if (old.exchangeOrderId !== null) {
      const seen = report ?? (await fetchOrderReport(this.#ctx, old.exchangeOrderId));
      const executed = seen ? executedQuantity(seen) : null;
      if (executed !== null) filled = Dec.max(filled, executed);
    }
    return txn.wantedQuantity.sub(filled.sub(txn.oldFilledAtStart));
  }

  #cancelPoints(txn: ReplaceTxn): CancelPoints {
    const point = (step: ReplaceStepPoint): CrashPoint => replacePoint(txn.mode, step);
    return {
      before: point('before-cancel-request'),
      requested: point('after-cancel-sent'),
      replied: point('after-cancel-reply'),
    };
  }

  async #advance(state: Held, change: ReplaceChange, options?: ReplaceWriteOptions): Promise<Held> {
    const result = await this.#ctx.store.advanceReplace(state.txn.id, change, state.txn.version, options);
    return this.#took(state, change, result);
  }

  /** The run's state after a step's write: what the write returned, or the store's when another owner took the step. */
  async #took(state: Held, change: ReplaceChange, result: AdvanceReplaceResult): Promise<Held> {
    if (result.ok)
      return {
        txn: result.txn,
        old: result.old ?? state.old,
        replacement: result.newOrder ?? state.replacement,
        owned: result.journaled === true,
      };
    // Another owner (an earlier run, another process) took the step first: go on from where the
    // transaction is now, as the store has it (done included), not from our copy.
    this.#ctx.stats.replaceConflicts += 1;
    this.#ctx.log.info(
      { replaceId: state.txn.id, wanted: change.step, at: result.txn.step, problem: result.message },
      'replace step already taken by another owner: continuing from where it is',
    );
    return this.#read(state.txn.id);
  }

  async #read(id: string): Promise<Held> {
    const txn = await this.#ctx.store.replace(id);
    if (!txn) throw new Error(`replace ${id} is not in ${this.#ctx.store.location}`);
    return {
      txn,
      old: await this.#order(txn.oldOrderId),
      replacement: txn.newOrderId === null ? null : await this.#order(txn.newOrderId),
    };
  }

  async #order(id: string): Promise<StoredOrder> {
    const order = await this.#ctx.store.order(id);
    if (!order) throw new Error(`order ${id} of a replace is not in ${this.#ctx.store.location}`);
    return order;
  }
}
