import { sql, type Kysely, type Migration } from 'kysely';
import type { Clock } from '../../domain/clock.ts';
import {
  AUDIT_ACTIONS,
  AUDIT_SOURCES,
  CREDENTIAL_NAME,
  type AuditDetail,
  type AuditEntry,
  type AuditLog,
  type AuditQuery,
  type AuditRecord,
  type Audited,
} from '../../ports/audit.ts';
import type { KillSwitchControl, StoreReader } from '../../ports/store.ts';
import type { Db } from './context.ts';
import { oneOf } from './rows.ts';
import type { AuditLogTable } from './schema.ts';

// The operator-action trail in the store's own database, so that it lives and is backed up with
// the orders it explains. Every opener has it: the writer store (the bot's start), the kill-switch
// control an operator command opens beside a running bot (one row, as the switch itself: SQLite's
// WAL and PostgreSQL's row locks let it in between the bot's transactions), and the read-only
// reader (`btcbot audit`, the dashboard).

/** Migration 0006: the table. `id` is given by the insert itself (MAX + 1), the same on both dialects. */
export const auditMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_log')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
  },
};

const DEFAULT_LIMIT = 100;
const MAX_REASON = 1_000;
const INSERT_ATTEMPTS = 5;

function checkRecord(entry: AuditRecord): AuditDetail {
  if (!AUDIT_ACTIONS.includes(entry.action))
    throw new Error(`audit action ${JSON.stringify(entry.action)} is not one of ${AUDIT_ACTIONS.join(', ')}`);
  if (!AUDIT_SOURCES.includes(entry.source))
    throw new Error(`audit source ${JSON.stringify(entry.source)} is not one of ${AUDIT_SOURCES.join(', ')}`);
  if (entry.reason.length > MAX_REASON)
    throw new Error(`audit reason is ${entry.reason.length} characters; at most ${MAX_REASON} are kept`);
  const detail = entry.detail ?? {};
  for (const key of Object.keys(detail))
    if (CREDENTIAL_NAME.test(key))
      throw new Error(`audit detail key "${key}" names a credential: credentials are never recorded`);
  return detail;
}

function toEntry(row: AuditLogTable): AuditEntry {
  const detail: unknown = JSON.parse(row.detail);
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail))
    throw new Error(`stored audit entry ${row.id} has detail that is not an object: ${row.detail}`);
  return {
    id: row.id,
    at: row.at,
    action: oneOf(AUDIT_ACTIONS, row.action, 'audit_log.action'),
    source: oneOf(AUDIT_SOURCES, row.source, 'audit_log.source'),
    reason: row.reason,
    detail: detail as AuditDetail,
  };
}

/** PostgreSQL's unique violation: two writers took the same next id; the later one takes the next. */
const isIdRace = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';

export class SqlAuditLog implements AuditLog {
  /**
   * `conn` hands over the store's connection once the writes asked for before are done (as the
   * kill switch's own write takes it), so an entry lands in order with the store's other writes.
   */
  constructor(
    private readonly conn: () => Promise<Db>,
    private readonly clock: Clock,
  ) {}

  async record(entry: AuditRecord): Promise<AuditEntry> {
    const detail = checkRecord(entry);
    const row = {
      at: this.clock.now(),
      action: entry.action,
      source: entry.source,
      reason: entry.reason,
      detail: JSON.stringify(detail),
    };
    const db = await this.conn();
    for (let attempt = 1; ; attempt += 1) {
      try {
        // One statement: SQLite runs it under its write lock, so two processes never take one id.
        const inserted = await db
          .insertInto('audit_log')
          .columns(['id', 'at', 'action', 'source', 'reason', 'detail'])
          .expression(
            db
              .selectFrom('audit_log')
              .select([
                sql<number>`COALESCE(MAX(${sql.ref('id')}), 0) + 1`.as('id'),
                sql.val(row.at).as('at'),
                sql.val(row.action).as('action'),
                sql.val(row.source).as('source'),
                sql.val(row.reason).as('reason'),
                sql.val(row.detail).as('detail'),
              ]),
          )
          .returningAll()
          .executeTakeFirstOrThrow();
        return toEntry(inserted);
      } catch (error) {
        if (!isIdRace(error) || attempt >= INSERT_ATTEMPTS) throw error;
      }
    }
  }

  async entries(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const db = await this.conn();
    let select = db.selectFrom('audit_log').selectAll();
    if (query.since !== undefined) select = select.where('at', '>=', query.since);
    if (query.action !== undefined) select = select.where('action', '=', query.action);
    const rows = await select
      .orderBy('id', 'desc')
      .limit(query.limit ?? DEFAULT_LIMIT)
      .execute();
    return rows.map(toEntry);
  }
}

/**
 * The trail of an opened store, reader or kill-switch control (each SQL opener carries one): what
 * a command, the dashboard or the session calls to record or read operator actions.
 */
export function auditLogOf(opened: StoreReader | KillSwitchControl): AuditLog {
  const audit = (opened as Partial<Audited>).audit;
  if (audit === undefined) throw new Error(`the store at ${opened.location} keeps no audit trail`);
  return audit;
}
