import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type {
  AdvanceReplaceResult,
  BeginReplaceResult,
  NewReplace,
  ReplaceChange,
  ReplaceTxn,
} from '../../ports/store.ts';
import type { Db, StoreContext } from './context.ts';
import { findOrder, mustFindOrder } from './order-reads.ts';
import { text, textOrNull, toReplace } from './rows.ts';
import type { ReplaceTxnsTable, StoreSchema } from './schema.ts';

// Persisted cancel/replace transactions: the store keeps where each one stands so a crash resumes
// it; the order of steps is the OMS's to decide.

export async function beginReplace(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  replace: NewReplace,
  fence?: (symbol: string) => Promise<unknown>,
): Promise<BeginReplaceResult> {
  const old = await mustFindOrder(trx, ctx, replace.oldOrderId);
  // Cluster mode: a replace starts only under the symbol's current lease (throws when it moved on).
  if (fence !== undefined) await fence(old.symbol);
  const open = await trx
    .selectFrom('replace_txns')
    .selectAll()
    .where('old_order_id', '=', old.id)
    .where('step', '<>', 'done')
    .executeTakeFirst();
  if (open) {
    const txn = toReplace(open);
    return {
      ok: false,
      reason: 'replace-in-progress',
      message: `order ${old.id} (client id ${old.clientOrderId}) already has replace ${txn.id} at step ${txn.step}: finish or abort it first`,
      txn,
    };
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
    step: 'started',
    outcome: null,
    reason: replace.reason ?? null,
    created_at: now,
    updated_at: now,
    version: 1,
  };
  await trx.insertInto('replace_txns').values(row).execute();
  return { ok: true, txn: toReplace(row) };
}

export async function advanceReplace(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  id: string,
  change: ReplaceChange,
  expectedVersion: number,
): Promise<AdvanceReplaceResult> {
  if ((change.step === 'done') !== (change.outcome !== undefined))
    throw new Error(
      `replace ${id}: give an outcome exactly when the step is "done" (got step ${change.step})`,
    );
  const row = await trx.selectFrom('replace_txns').selectAll().where('id', '=', id).executeTakeFirst();
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
  if (change.newOrderId !== undefined && !(await findOrder(trx, ctx, change.newOrderId)))
    throw new Error(`replace ${id}: new order ${change.newOrderId} is not in ${ctx.location}`);
  const updated: ReplaceTxnsTable = {
    ...row,
    step: change.step,
    new_order_id: change.newOrderId ?? row.new_order_id,
    mode: change.mode ?? row.mode,
    outcome: change.outcome ?? null,
    reason: change.reason ?? row.reason,
    updated_at: ctx.clock.now(),
    version: row.version + 1,
  };
  await trx.updateTable('replace_txns').set(updated).where('id', '=', id).execute();
  return { ok: true, txn: toReplace(updated) };
}

export async function findReplace(db: Db, id: string): Promise<ReplaceTxn | undefined> {
  const row = await db.selectFrom('replace_txns').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toReplace(row);
}

export async function openReplaces(db: Db): Promise<ReplaceTxn[]> {
  const rows = await db
    .selectFrom('replace_txns')
    .selectAll()
    .where('step', '<>', 'done')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map(toReplace);
}
