import type { Decimal } from 'decimal.js';
import { newClientOrderId } from '../domain/client-ids.ts';
import { Dec } from '../domain/decimal.ts';
import { isClosed, isResting, isUnresolved } from '../domain/lifecycle.ts';
import type { ReplaceChange, ReplaceMode, ReplaceTxn, StoredOrder } from '../ports/store.ts';
import { OrderMovedOnError, type OmsContext } from './context.ts';
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

export interface ReplaceResult {
  readonly txn: ReplaceTxn;
  readonly old: StoredOrder;
  readonly replacement: StoredOrder | null;
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

  async begin(
    old: StoredOrder,
    request: ReplaceRequest,
    budget: RiskBudget | undefined,
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
    const begun = await store.beginReplace({
      oldOrderId: old.id,
      newClientOrderId: newClientOrderId(prefix, random, clock),
      wantedQuantity: wanted,
      newPrice: price,
      newStopPrice: request.stopPrice ?? old.stopPrice,
      mode,
      reason,
    });
    if (!begun.ok) throw new Error(begun.message);
    crashPoint(replacePoint(mode, 'after-begin'));
    stats.replaces += 1;
    return this.resume(begun.txn);
  }

  /**
   * Runs the transaction from its stored step until it is done or must wait for the exchange. One
   * owner at a time: a caller that finds the transaction already running (the engine's replace
   * while a reconciliation pass reaches it, two passes at once) waits for that run to end, then
   * reads the transaction again and goes on from wherever it was left, never from its own copy.
   */
  async resume(start: ReplaceTxn): Promise<ReplaceResult> {
    for (let running = this.#running.get(start.id); running; running = this.#running.get(start.id))
      await running.catch(() => undefined);
    const run = this.#run(start.id);
    this.#running.set(start.id, run);
    try {
      return await run;
    } finally {
      if (this.#running.get(start.id) === run) this.#running.delete(start.id);
    }
  }

  async #run(id: string): Promise<ReplaceResult> {
    const stored = await this.#ctx.store.replace(id);
    if (!stored) throw new Error(`replace ${id} is not in ${this.#ctx.store.location}`);
    let txn = stored;
    if (txn.step === 'done') return this.#result(txn);
    for (;;) {
      const next = txn.mode === 'safe' ? await this.#safeStep(txn) : await this.#fastStep(txn);
      if (next === null || next.step === 'done') return this.#result(next ?? txn);
      txn = next;
    }
  }

  /** One step of safe mode; null when it must wait (the cancel is not yet confirmed, the new order unresolved). */
  async #safeStep(txn: ReplaceTxn): Promise<ReplaceTxn | null> {
    const old = await this.#order(txn.oldOrderId);
    switch (txn.step) {
      case 'started':
        if (!isClosed(old.state) && old.state !== 'PENDING_CANCEL')
          await this.#exec.apply(old, { type: 'cancel-requested' });
        return this.#advance(txn, { step: 'cancel-sent' });
      case 'cancel-sent': {
        const cancel = await this.#exec.cancel(old, this.#cancelPoints(txn));
        if (cancel.outcome === 'pending') return null;
        if (cancel.outcome === 'refused')
          return this.#advance(txn, {
            step: 'done',
            outcome: 'aborted',
            reason: `the old order's cancel was refused: ${cancel.order.stateReason ?? '-'}`,
          });
        const closed = await this.#advance(txn, { step: 'old-closed' });
        crashPoint('replace.after-cancel-confirmed');
        return closed;
      }
      case 'old-closed':
        return this.#journalReplacement(txn, old);
      case 'new-journaled':
        return this.#placeReplacement(txn, (placed) => ({
          step: 'done',
          outcome: placed ? 'replaced' : 'aborted',
        }));
      case 'done':
        return txn;
    }
  }

  /** One step of fast mode: new order first, then the cancel of the old one. */
  async #fastStep(txn: ReplaceTxn): Promise<ReplaceTxn | null> {
    const old = await this.#order(txn.oldOrderId);
    switch (txn.step) {
      case 'started':
        return this.#journalReplacement(txn, old);
      case 'new-journaled':
        return this.#placeReplacement(txn, (placed) =>
          placed ? { step: 'cancel-sent' } : { step: 'done', outcome: 'aborted' },
        );
      case 'cancel-sent': {
        if (!isClosed(old.state)) {
          const cancel = await this.#exec.cancel(old, this.#cancelPoints(txn));
          if (cancel.outcome === 'pending' || cancel.outcome === 'refused') return null;
        }
        return this.#advance(txn, { step: 'old-closed' });
      }
      case 'old-closed':
        crashPoint('replace-fast.after-cancel-confirmed');
        return this.#advance(txn, { step: 'done', outcome: 'replaced' });
      case 'done':
        return txn;
    }
  }

  /**
   * Journals the replacement for what is still wanted; ends the replace without one when what is
   * left is no order the exchange would take, or when the kill switch went on since it began.
   */
  async #journalReplacement(txn: ReplaceTxn, old: StoredOrder): Promise<ReplaceTxn> {
    const size = replacementSize(
      await this.#stillWanted(txn, old),
      txn.newPrice,
      await this.#ctx.rules(old.symbol),
    );
    if ('nothingLeft' in size)
      return this.#advance(txn, { step: 'done', outcome: 'nothing-left', reason: size.nothingLeft });
    const killSwitch = await this.#ctx.store.killSwitch();
    if (killSwitch.on)
      return this.#advance(txn, {
        step: 'done',
        outcome: 'aborted',
        reason: `the kill switch is on (${killSwitch.reason ?? 'no reason given'}): the replacement was not placed`,
      });
    const replacement = await this.#journal(txn, old, size.quantity);
    crashPoint(replacePoint(txn.mode, 'after-new-journal'));
    return this.#advance(txn, { step: 'new-journaled', newOrderId: replacement.id });
  }

  /** Sends (or resolves) the journaled replacement; `then` maps placed-or-not to the next step. */
  async #placeReplacement(
    txn: ReplaceTxn,
    then: (placed: boolean) => ReplaceChange,
  ): Promise<ReplaceTxn | null> {
    if (txn.newOrderId === null) throw new Error(`replace ${txn.id} is at new-journaled without a new order`);
    let replacement = await this.#order(txn.newOrderId);
    if (replacement.state === 'PENDING_SUBMIT')
      replacement = (
        await this.#exec.send(replacement, {
          sentMark: replacePoint(txn.mode, 'after-new-sent-mark'),
          written: replacePoint(txn.mode, 'after-new-sent'),
          replied: replacePoint(txn.mode, 'after-new-reply'),
        })
      ).order;
    if (isUnresolved(replacement.state)) replacement = await this.#exec.resolve(replacement);
    if (isUnresolved(replacement.state)) return null;
    crashPoint(replacePoint(txn.mode, 'after-new-acked'));
    const placed = replacement.state !== 'REJECTED';
    const change = then(placed);
    return this.#advance(
      txn,
      placed
        ? change
        : { ...change, reason: `the replacement was refused: ${replacement.stateReason ?? '-'}` },
    );
  }

  /**
   * What the replacement should still carry: the wanted quantity less what the old order filled
   * since the replace began. The exchange's own executed quantity is a floor, so fills it has not
   * yet listed cannot make the replacement too big.
   */
  async #stillWanted(txn: ReplaceTxn, old: StoredOrder): Promise<Decimal> {
    let filled = old.filledQuantity;
    if (old.exchangeOrderId !== null) {
      const report = await fetchOrderReport(this.#ctx, old.exchangeOrderId);
      const executed = report ? executedQuantity(report) : null;
      if (executed !== null) filled = Dec.max(filled, executed);
    }
    return txn.wantedQuantity.sub(filled.sub(txn.oldFilledAtStart));
  }

  async #journal(txn: ReplaceTxn, old: StoredOrder, quantity: Decimal): Promise<StoredOrder> {
    const { store } = this.#ctx;
    // Journaled by an earlier run that stopped before recording the step: the same order, not a second.
    const existing = await store.orderByClientId(txn.newClientOrderId);
    if (existing) return existing;
    return store.journalOrder({
      clientOrderId: txn.newClientOrderId,
      symbol: old.symbol,
      side: old.side,
      method: old.method,
      quantity,
      price: txn.newPrice ?? undefined,
      stopPrice: txn.newStopPrice ?? undefined,
      intentId: old.intentId,
      strategy: old.strategy,
      replaceOf: old.id,
    });
  }

  #cancelPoints(txn: ReplaceTxn): CancelPoints {
    const point = (step: ReplaceStepPoint): CrashPoint => replacePoint(txn.mode, step);
    return {
      before: point('before-cancel-request'),
      requested: point('after-cancel-sent'),
      replied: point('after-cancel-reply'),
    };
  }

  async #advance(txn: ReplaceTxn, change: ReplaceChange): Promise<ReplaceTxn> {
    const result = await this.#ctx.store.advanceReplace(txn.id, change, txn.version);
    if (result.ok) return result.txn;
    // Another owner (an earlier run, another process) took the step first: go on from where the
    // transaction is now, which resume() reads from the store (done included), not from our copy.
    this.#ctx.stats.replaceConflicts += 1;
    this.#ctx.log.info(
      { replaceId: txn.id, wanted: change.step, at: result.txn.step, problem: result.message },
      'replace step already taken by another owner: continuing from where it is',
    );
    return result.txn;
  }

  async #order(id: string): Promise<StoredOrder> {
    const order = await this.#ctx.store.order(id);
    if (!order) throw new Error(`order ${id} of a replace is not in ${this.#ctx.store.location}`);
    return order;
  }

  async #result(txn: ReplaceTxn): Promise<ReplaceResult> {
    return {
      txn,
      old: await this.#order(txn.oldOrderId),
      replacement: txn.newOrderId === null ? null : await this.#order(txn.newOrderId),
    };
  }
}
