import type { Transaction } from 'kysely';
import type { EscalationLevel, EscalationState, FillCursor, KillSwitchState } from '../../ports/store.ts';
import type { Db, StoreContext } from './context.ts';
import { oneOf } from './rows.ts';
import type { FillCursorsTable, SettingsTable, StoreSchema } from './schema.ts';

// Small durable facts the bot must remember across restarts: how far fill history has been read,
// whether the kill switch is on, and how far the escalation ladder has stepped down. The switch and
// the ladder move together: HALTED turns the switch on, and turning it off clears the ladder.

const ESCALATION_LEVELS: readonly EscalationLevel[] = ['NORMAL', 'REDUCE_ONLY', 'HALTED'];
const KILL_SWITCH_KEY = 'kill-switch';
const ESCALATION_KEY = 'escalation';

function toCursor(row: FillCursorsTable): FillCursor {
  return { symbol: row.symbol, timestamp: row.timestamp, tradeId: row.trade_id, updatedAt: row.updated_at };
}

/** Trade ids are digit strings beyond 2^53: compare them as numbers without parsing them as floats. */
function isNewer(timestamp: number, tradeId: string, last: FillCursorsTable): boolean {
  if (timestamp !== last.timestamp) return timestamp > last.timestamp;
  if (tradeId.length !== last.trade_id.length) return tradeId.length > last.trade_id.length;
  return tradeId > last.trade_id;
}

export async function fillCursor(db: Db, ctx: StoreContext, symbol: string): Promise<FillCursor | undefined> {
  const row = await ctx.statements.fillCursorOf.first<FillCursorsTable>(db, { symbol });
  return row && toCursor(row);
}

export async function advanceFillCursor(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  symbol: string,
  timestamp: number,
  tradeId: string,
): Promise<FillCursor> {
  const row = await trx
    .selectFrom('fill_cursors')
    .selectAll()
    .where('symbol', '=', symbol)
    .executeTakeFirst();
  if (row && !isNewer(timestamp, tradeId, row)) return toCursor(row);
  const next: FillCursorsTable = { symbol, timestamp, trade_id: tradeId, updated_at: ctx.clock.now() };
  await trx
    .insertInto('fill_cursors')
    .values(next)
    .onConflict((c) =>
      c.column('symbol').doUpdateSet({ timestamp, trade_id: tradeId, updated_at: next.updated_at }),
    )
    .execute();
  return toCursor(next);
}

/** `ctx`: read through its prepared statement (a write's own reads); without, built by Kysely. */
async function readSetting(
  db: Db,
  key: string,
  ctx?: StoreContext,
): Promise<{ value: Record<string, unknown>; at: number } | undefined> {
  const row = ctx
    ? await ctx.statements.setting.first<SettingsTable>(db, { key })
    : await db.selectFrom('settings').selectAll().where('key', '=', key).executeTakeFirst();
  if (!row) return undefined;
  const value: unknown = JSON.parse(row.value);
  if (typeof value !== 'object' || value === null)
    throw new Error(`stored setting ${key} is not an object: ${row.value}`);
  return { value: value as Record<string, unknown>, at: row.updated_at };
}

async function writeSetting(db: Db, ctx: StoreContext, key: string, value: object): Promise<number> {
  const at = ctx.clock.now();
  const json = JSON.stringify(value);
  await db
    .insertInto('settings')
    .values({ key, value: json, updated_at: at })
    .onConflict((c) => c.column('key').doUpdateSet({ value: json, updated_at: at }))
    .execute();
  return at;
}

const reasonOf = (value: Record<string, unknown>): string | null =>
  typeof value.reason === 'string' ? value.reason : null;

export async function killSwitch(db: Db, ctx?: StoreContext): Promise<KillSwitchState> {
  const stored = await readSetting(db, KILL_SWITCH_KEY, ctx);
  if (!stored) return { on: false, reason: null, at: null };
  const { on } = stored.value;
  if (typeof on !== 'boolean')
    throw new Error(`stored kill switch ${JSON.stringify(stored.value)} has no boolean "on"`);
  return { on, reason: reasonOf(stored.value), at: stored.at };
}

export async function setKillSwitch(
  db: Db,
  ctx: StoreContext,
  on: boolean,
  reason: string,
): Promise<KillSwitchState> {
  return { on, reason, at: await writeSetting(db, ctx, KILL_SWITCH_KEY, { on, reason }) };
}

export async function escalation(db: Db, ctx?: StoreContext): Promise<EscalationState> {
  const stored = await readSetting(db, ESCALATION_KEY, ctx);
  if (!stored) return { level: 'NORMAL', reason: null, at: null };
  const level = oneOf(ESCALATION_LEVELS, String(stored.value.level), 'escalation level');
  return { level, reason: reasonOf(stored.value), at: stored.at };
}

/** HALTED turns the kill switch on with it: `trx` makes the two one write. */
export async function setEscalation(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  level: EscalationLevel,
  reason: string,
): Promise<EscalationState> {
  const at = await writeSetting(trx, ctx, ESCALATION_KEY, { level, reason });
  if (level === 'HALTED') await setKillSwitch(trx, ctx, true, `HALTED: ${reason}`);
  return { level, reason, at };
}

export async function clearKillSwitch(
  trx: Transaction<StoreSchema>,
  ctx: StoreContext,
  reason: string,
): Promise<{ killSwitch: KillSwitchState; escalation: EscalationState }> {
  return {
    killSwitch: await setKillSwitch(trx, ctx, false, reason),
    escalation: await setEscalation(trx, ctx, 'NORMAL', `cleared by the operator: ${reason}`),
  };
}
