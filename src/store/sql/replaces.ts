import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type {
  AdvanceReplaceResult,
  BeginReplaceResult,
  NewReplace,
  ReplaceChange,
  ReplaceTxn,
  StoredOrder,
} from '../../ports/store.ts';
import type { Db, StoreContext } from './context.ts';
import { escalation, killSwitch } from './control.ts';
import {
  activeOrdersOf,
  currentOrder,
  findOwnByClientId,
  orderExists,
  type KnownOrders,
} from './order-reads.ts';
import { applyEvent, journalOrder } from './order-writes.ts';
import { text, textOrNull, toReplace } from './rows.ts';
import type { ReplaceTxnsTable, StoreSchema } from './schema.ts';

// Persisted cancel/replace transactions: the store keeps where each one stands so a crash resumes
// it; the order of steps is the OMS's to decide. A step may carry the order writes that go with it
// (the old order's cancel request, the replacement's journal row), so each request of a replace
// waits for one commit, and a crash never finds the step and its order write apart.

export async function beginReplace(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  replace: NewReplace,
  fence?: (symbol: string) => Promise<unknown>,
  known?: KnownOrders,
): Promise<BeginReplaceResult> {
  let old = await currentOrder(trx, ctx, replace.oldOrderId, known);
  // Cluster mode: a replace starts only under the symbol's current lease (throws when it moved on).
  if (fence !== undefined) await fence(old.symbol);
  if (replace.oldVersion !== undefined && replace.oldVersion !== old.version)
    return {
      ok: false,
      reason: 'version-conflict',
      message: `order ${old.id} is at version ${old.version}, not ${replace.oldVersion}: read it again`,
      order: old,
    };
  const open = await ctx.statements.openReplaceOf.first<ReplaceTxnsTable>(trx, { old_order_id: old.id });
  if (open) {
    const txn = toReplace(open);
    return {
      ok: false,
      reason: 'replace-in-progress',
      message: `order ${old.id} (client id ${old.clientOrderId}) already has replace ${txn.id} at step ${txn.step}: finish or abort it first`,
      txn,
    };
  }
  if (replace.admit !== undefined) {
    const refusal = replace.admit({
      killSwitch: await killSwitch(trx, ctx),
      escalation: await escalation(trx, ctx),
      active: await activeOrdersOf(trx, ctx, old.symbol),
    });
    if (refusal !== null) return { ok: false, reason: 'refused', message: refusal, order: old };
  }
  if (replace.requestCancel === true) {
    // `old` is the row as it is in this transaction: applyEvent need not read it again.
    const current = old;
    const requested = await applyEvent(
      trx,
      ctx,
      old.id,
      { type: 'cancel-requested' },
      old.version,
      undefined,
      (id) => (id === current.id ? current : undefined),
    );
    if (!requested.ok)
      return { ok: false, reason: 'invalid-transition', message: requested.message, order: requested.order };
    old = requested.order;
  }
  const now = ctx.clock.now();
  const row: ReplaceTxnsTable = {
    id: randomUUID(),
    old_order_id: old.id,
    new_client_order_id: replace.newClientOrderId,
    new_order_id: null,
    wanted_quantity: text(replace.wantedQuantity),
    old_filled_at_start: text(old.filledQuantity),
    new_price: textOrNull(replace.newPrice),
    new_stop_price: textOrNull(replace.newStopPrice),
    mode: replace.mode,
    step: replace.requestCancel === true ? 'cancel-sent' : 'started',
    outcome: null,
    reason: replace.reason ?? null,
    created_at: now,
    updated_at: now,
    version: 1,
  };
  await ctx.statements.insertReplace.execute(trx, row);
  return { ok: true, txn: toReplace(row), old };
}

export async function advanceReplace(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  id: string,
  change: ReplaceChange,
  expectedVersion: number,
  fence?: (symbol: string) => Promise<number | null>,
  known?: KnownOrders,
): Promise<AdvanceReplaceResult> {
  if ((change.step === 'done') !== (change.outcome !== undefined))
    throw new Error(
      `replace ${id}: give an outcome exactly when the step is "done" (got step ${change.step})`,
    );
  const row = await ctx.statements.replaceById.first<ReplaceTxnsTable>(trx, { id });
  if (!row) throw new Error(`replace ${id} is not in ${ctx.location}`);
  const txn = toReplace(row);
  if (txn.step === 'done')
    return { ok: false, reason: 'finished', message: `replace ${id} is already done (${txn.outcome})`, txn };
  if (txn.version !== expectedVersion)
    return {
      ok: false,
      reason: 'version-conflict',
      message: `replace ${id} is at version ${txn.version}, not ${expectedVersion}: read it again`,
      txn,
    };
  if (change.newOrderId !== undefined && !(await orderExists(trx, ctx, change.newOrderId)))
    throw new Error(`replace ${id}: new order ${change.newOrderId} is not in ${ctx.location}`);
  if (change.newOrder !== undefined) {
    const ks = await killSwitch(trx, ctx);
    if (ks.on)
      return {
        ok: false,
        reason: 'kill-switch',
        message: `the kill switch is on (${ks.reason ?? 'no reason given'})`,
        txn,
      };
  }
  let old: StoredOrder | undefined;
  if (change.oldEvent !== undefined) {
    const applied = await applyEvent(trx, ctx, txn.oldOrderId, change.oldEvent, undefined, undefined, known);
    // Refused: the old order already moved past it (the stream got there first); the step goes on.
    old = applied.order;
  }
  let newOrder: StoredOrder | undefined;
  let journaled = false;
  if (change.newOrder !== undefined) {
    // Journaled by an earlier run (a version before the journal and the step were one write).
    newOrder = await findOwnByClientId(trx, ctx, change.newOrder.clientOrderId);
    if (newOrder === undefined) {
      const epoch = fence === undefined ? null : await fence(change.newOrder.symbol);
      newOrder = await journalOrder(trx, ctx, change.newOrder, true, epoch);
      journaled = true;
    }
  }
  const updated: ReplaceTxnsTable = {
    ...row,
    step: change.step,
    new_order_id: newOrder?.id ?? change.newOrderId ?? row.new_order_id,
    mode: change.mode ?? row.mode,
    outcome: change.outcome ?? null,
    reason: change.reason ?? row.reason,
    updated_at: ctx.clock.now(),
    version: row.version + 1,
  };
  await ctx.statements.updateReplace.execute(trx, updated);
  return { ok: true, txn: toReplace(updated), newOrder, journaled, old };
}

export async function findReplace(db: Db, id: string): Promise<ReplaceTxn | undefined> {
  const row = await db.selectFrom('replace_txns').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toReplace(row);
}

export async function openReplaces(db: Db, ctx: StoreContext): Promise<ReplaceTxn[]> {
  const { rows } = await ctx.statements.openReplaces.execute<ReplaceTxnsTable>(db, {});
  return rows.map(toReplace);
}
