import type { Kysely, Migration } from 'kysely';
import type {
  AlertChange,
  AlertStateRow,
  AlertStore,
  OutboxMessage,
  OutboxQuery,
  OutboxStatus,
} from '../../ports/alerts.ts';
import type { Store } from '../../ports/store.ts';
import type { Db } from './context.ts';
import type { Work, WriteOptions } from './group-commit.ts';
import type { AlertOutboxTable, StoreSchema } from './schema.ts';
import { SqlStore } from './sql-store.ts';

// The alert rules' state and the outbox, on the store's own database and writer: an evaluation's
// state and the messages it produced commit together (a state never says "fired" without its
// message), and every write here is an unsynced commit, so alerting never waits for the disk.

/** Migration 0005: the tables of the alerts (src/ops/alerts/). */
export const alertsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('alert_states')
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('key', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('alert_states_pk', ['rule', 'key'])
      .execute();
    await db.schema
      .createTable('alert_outbox')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('receiver', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('delivered_at', 'bigint')
      .addColumn('last_error', 'text')
      .execute();
    await db.schema
      .createIndex('alert_outbox_due')
      .on('alert_outbox')
      .columns(['receiver', 'status', 'next_attempt_at'])
      .execute();
  },
};

/** How a port beside the Store reaches its database: the same connection and group-commit writer. */
export interface SqlAccess {
  write<T>(work: Work<T>, options?: WriteOptions): Promise<T>;
  /** The connection, once the writes asked for before are committed. */
  read(): Promise<Kysely<StoreSchema>>;
}

const UNSYNCED: WriteOptions = { durable: false };

function toMessage(row: AlertOutboxTable): OutboxMessage {
  return {
    id: row.id,
    receiver: row.receiver,
    payload: row.payload,
    createdAt: row.created_at,
    status: row.status as OutboxStatus,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
  };
}

async function putState(db: Db, row: AlertStateRow): Promise<void> {
  await db
    .insertInto('alert_states')
    .values({ rule: row.rule, key: row.key, state: row.state, updated_at: row.updatedAt })
    .onConflict((oc) =>
      oc.columns(['rule', 'key']).doUpdateSet({ state: row.state, updated_at: row.updatedAt }),
    )
    .execute();
}

export class SqlAlertStore implements AlertStore {
  readonly #access: SqlAccess;

  constructor(access: SqlAccess) {
    this.#access = access;
  }

  async alertStates(): Promise<AlertStateRow[]> {
    const rows = await (
      await this.#access.read()
    )
      .selectFrom('alert_states')
      .selectAll()
      .orderBy('rule')
      .orderBy('key')
      .execute();
    return rows.map((r) => ({ rule: r.rule, key: r.key, state: r.state, updatedAt: r.updated_at }));
  }

  async commitAlerts(change: AlertChange): Promise<void> {
    if (change.put.length + change.remove.length + change.enqueue.length === 0) return;
    await this.#access.write(async (trx) => {
      for (const row of change.put) await putState(trx, row);
      for (const { rule, key } of change.remove)
        await trx.deleteFrom('alert_states').where('rule', '=', rule).where('key', '=', key).execute();
      for (const m of change.enqueue)
        await trx
          .insertInto('alert_outbox')
          .values({
            id: m.id,
            receiver: m.receiver,
            payload: m.payload,
            status: 'pending',
            attempts: 0,
            next_attempt_at: m.createdAt,
            created_at: m.createdAt,
            delivered_at: null,
            last_error: null,
          })
          // The same message enqueued twice (an evaluation repeated after a lost commit) is one.
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
    }, UNSYNCED);
  }

  async claimOutbox(receiver: string, now: number, leaseMs: number, limit: number): Promise<OutboxMessage[]> {
    return this.#access.write(async (trx) => {
      const due = await trx
        .selectFrom('alert_outbox')
        .selectAll()
        .where('receiver', '=', receiver)
        .where('status', '=', 'pending')
        .where('next_attempt_at', '<=', now)
        .orderBy('next_attempt_at')
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      const out: OutboxMessage[] = [];
      for (const row of due) {
        const claimed = { ...row, attempts: row.attempts + 1, next_attempt_at: now + leaseMs };
        await trx
          .updateTable('alert_outbox')
          .set({ attempts: claimed.attempts, next_attempt_at: claimed.next_attempt_at })
          .where('id', '=', row.id)
          .execute();
        out.push(toMessage(claimed));
      }
      return out;
    }, UNSYNCED);
  }

  async markDelivered(id: string, at: number): Promise<void> {
    await this.#access.write(
      (trx) =>
        trx
          .updateTable('alert_outbox')
          .set({ status: 'delivered', delivered_at: at, last_error: null })
          .where('id', '=', id)
          .execute(),
      UNSYNCED,
    );
  }

  async markFailed(id: string, error: string, retryAt: number | null): Promise<void> {
    await this.#access.write(
      (trx) =>
        trx
          .updateTable('alert_outbox')
          .set(
            retryAt === null
              ? { status: 'dead', last_error: error }
              : { status: 'pending', last_error: error, next_attempt_at: retryAt },
          )
          .where('id', '=', id)
          .execute(),
      UNSYNCED,
    );
  }

  async nextOutboxDue(receiver: string): Promise<number | null> {
    const row = await (
      await this.#access.read()
    )
      .selectFrom('alert_outbox')
      .select((eb) => eb.fn.min<number | null>('next_attempt_at').as('due'))
      .where('receiver', '=', receiver)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return row?.due ?? null;
  }

  async outbox(query: OutboxQuery = {}): Promise<OutboxMessage[]> {
    let q = (await this.#access.read()).selectFrom('alert_outbox').selectAll();
    if (query.receiver !== undefined) q = q.where('receiver', '=', query.receiver);
    if (query.status !== undefined) q = q.where('status', '=', query.status);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map(toMessage);
  }

  async pruneOutbox(before: number): Promise<number> {
    const result = await this.#access.write(
      (trx) =>
        trx
          .deleteFrom('alert_outbox')
          .where('status', 'in', ['delivered', 'dead'])
          .where('created_at', '<', before)
          .executeTakeFirst(),
      UNSYNCED,
    );
    return Number(result.numDeletedRows);
  }
}

/** The alert store on the same database and writer as `store`: a SQL store opened for writing. */
export function alertStoreOf(store: Store): AlertStore {
  if (!(store instanceof SqlStore))
    throw new Error('alerts need the SQL store (SQLite or PostgreSQL) opened for writing');
  return new SqlAlertStore(store.sqlAccess());
}
