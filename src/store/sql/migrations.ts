import {
  sql,
  type ColumnBuilderCallback,
  type CreateTableBuilder,
  type Kysely,
  type Migration,
} from 'kysely';
import { alertsMigration } from './alerts.ts';
import { auditMigration } from './audit.ts';
import { leasesMigration } from './leases.ts';

// The store's schema, as ordered migrations applied at open and recorded in `schema_migrations`.
// A released migration is never edited: change the schema by appending a new one. Written with the
// portable schema builder so a PostgreSQL store applies the same list.

// The fills table's columns after `trade_id` (whose constraint each migration states), shared by the
// initial migration and 0003's rebuild so both create the same columns.
const FILL_COLUMNS: readonly (readonly [string, 'text' | 'bigint', ColumnBuilderCallback?])[] = [
  ['order_id', 'text', (c) => c.references('orders.id')],
  ['exchange_order_id', 'text', (c) => c.notNull()],
  ['client_order_id', 'text'],
  ['symbol', 'text', (c) => c.notNull()],
  ['base', 'text', (c) => c.notNull()],
  ['quote', 'text', (c) => c.notNull()],
  ['side', 'text', (c) => c.notNull()],
  ['price', 'text', (c) => c.notNull()],
  ['quantity', 'text', (c) => c.notNull()],
  ['fee', 'text', (c) => c.notNull()],
  ['tax', 'text', (c) => c.notNull()],
  ['fee_asset', 'text', (c) => c.notNull()],
  ['timestamp', 'bigint', (c) => c.notNull()],
  ['source', 'text', (c) => c.notNull()],
  ['recorded_at', 'bigint', (c) => c.notNull()],
];

function fillsTable(
  db: Kysely<unknown>,
  name: string,
  tradeId: ColumnBuilderCallback,
): CreateTableBuilder<string, string> {
  let table = db.schema.createTable(name).addColumn('trade_id', 'text', tradeId);
  for (const [column, type, build] of FILL_COLUMNS) table = table.addColumn(column, type, build);
  return table;
}

/** The fills indexes of the initial migration (0002 adds `fills_recorded_at`). */
async function createFillIndexes(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('fills_order_id').on('fills').column('order_id').execute();
  await db.schema.createIndex('fills_exchange_order_id').on('fills').column('exchange_order_id').execute();
  await db.schema
    .createIndex('fills_symbol_timestamp')
    .on('fills')
    .columns(['symbol', 'timestamp'])
    .execute();
}

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('client_order_id', 'text')
      .addColumn('exchange_order_id', 'text')
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('side', 'text', (c) => c.notNull())
      .addColumn('method', 'text', (c) => c.notNull())
      .addColumn('price', 'text')
      .addColumn('stop_price', 'text')
      .addColumn('quantity', 'text', (c) => c.notNull())
      .addColumn('filled_quantity', 'text', (c) => c.notNull())
      .addColumn('filled_quote', 'text', (c) => c.notNull())
      .addColumn('average_price', 'text')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('state_reason', 'text')
      .addColumn('intent_id', 'text')
      .addColumn('strategy', 'text')
      .addColumn('replace_of', 'text', (c) => c.references('orders.id'))
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    // Foreign orders carry whatever client id a person typed, so only ours must be unique.
    await db.schema
      .createIndex('orders_client_order_id')
      .on('orders')
      .column('client_order_id')
      .unique()
      .where(sql.ref('origin'), '<>', 'foreign')
      .execute();
    await db.schema
      .createIndex('orders_exchange_order_id')
      .on('orders')
      .column('exchange_order_id')
      .unique()
      .execute();
    await db.schema.createIndex('orders_state').on('orders').columns(['state', 'symbol']).execute();
    await db.schema.createIndex('orders_created_at').on('orders').column('created_at').execute();
    await db.schema.createIndex('orders_intent_id').on('orders').column('intent_id').execute();

    await db.schema
      .createTable('order_events')
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('from_state', 'text')
      .addColumn('to_state', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('order_events_pk', ['order_id', 'seq'])
      .execute();

    await fillsTable(db, 'fills', (c) => c.primaryKey()).execute();
    await createFillIndexes(db);

    await db.schema
      .createTable('replace_txns')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('old_order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('new_client_order_id', 'text', (c) => c.notNull().unique())
      .addColumn('new_order_id', 'text', (c) => c.references('orders.id'))
      .addColumn('wanted_quantity', 'text', (c) => c.notNull())
      .addColumn('old_filled_at_start', 'text', (c) => c.notNull())
      .addColumn('new_price', 'text')
      .addColumn('new_stop_price', 'text')
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('step', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('reason', 'text')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .execute();
    // One transaction in flight per old order, enforced by the database as well as by the caller.
    await db.schema
      .createIndex('replace_txns_open_per_order')
      .on('replace_txns')
      .column('old_order_id')
      .unique()
      .where(sql.ref('step'), '<>', 'done')
      .execute();

    await db.schema
      .createTable('fill_cursors')
      .addColumn('symbol', 'text', (c) => c.primaryKey())
      .addColumn('timestamp', 'bigint', (c) => c.notNull())
      .addColumn('trade_id', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// What the running bot reads besides the order lifecycle: the equity curve (the account valued at
// its marks every so often, for the loss ladder and `btcbot status`), and fills by when they were
// recorded (its positions are kept current from the fills stored since it last looked).
const engineReads: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.createIndex('fills_recorded_at').on('fills').column('recorded_at').execute();
    await db.schema
      .createTable('equity_snapshots')
      .addColumn('at', 'bigint', (c) => c.primaryKey())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('equity', 'text', (c) => c.notNull())
      .addColumn('cash', 'text', (c) => c.notNull())
      .addColumn('realised', 'text', (c) => c.notNull())
      .addColumn('unrealised', 'text', (c) => c.notNull())
      .addColumn('fees', 'text', (c) => c.notNull())
      .addColumn('peak_equity', 'text', (c) => c.notNull())
      .execute();
  },
};

// A fill is one side of a trade: (trade id, exchange order id). When two orders of the account meet
// (a self-match) the exchange reports one trade id for both, and a key of the trade id alone dropped
// the second side as a duplicate. SQLite cannot change a primary key in place, so the table is
// rebuilt — created under another name, filled from the old one, the old one dropped, the new one
// renamed, its indexes created again — and PostgreSQL runs the same steps, one path for both. Runs
// inside the migration transaction on both (transactional DDL): a failure keeps the old table.
const fillIdentity: Migration = {
  async up(db: Kysely<unknown>) {
    await fillsTable(db, 'fills_next', (c) => c.notNull())
      .addPrimaryKeyConstraint('fills_pk', ['trade_id', 'exchange_order_id'])
      .execute();
    const columns = sql.join(['trade_id', ...FILL_COLUMNS.map(([name]) => name)].map((c) => sql.ref(c)));
    await sql`INSERT INTO ${sql.table('fills_next')} (${columns}) SELECT ${columns} FROM ${sql.table('fills')}`.execute(
      db,
    );
    await db.schema.dropTable('fills').execute();
    await db.schema.alterTable('fills_next').renameTo('fills').execute();
    await createFillIndexes(db);
    await db.schema.createIndex('fills_recorded_at').on('fills').column('recorded_at').execute();
  },
};

// A market buy sized in the quote currency spends a quote amount; its base quantity is what its
// fills bring. A nullable column: every existing order keeps its row and reads back as base-sized.
const quoteAmount: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('orders').addColumn('quote_amount', 'text').execute();
  },
};

// Fewer index pages written per submit (each one a page the commit writes to the log and syncs).
// `orders_intent_id` is read by no query: dropped. The exchange order id is null from the journal
// write until the ack, and no query looks for a null one: its unique index keeps only the orders
// that have one, so the journal write no longer touches it (`exchange_order_id = ?` and `IN (…)`
// still use it: both imply IS NOT NULL, which SQLite and PostgreSQL both see).
const journalIndexes: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropIndex('orders_intent_id').execute();
    await db.schema.dropIndex('orders_exchange_order_id').execute();
    await db.schema
      .createIndex('orders_exchange_order_id')
      .on('orders')
      .column('exchange_order_id')
      .unique()
      .where(sql.ref('exchange_order_id'), 'is not', null)
      .execute();
  },
};

/** Applied in the order of their names. */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': initial,
  '0002_engine_reads': engineReads,
  '0003_fill_identity': fillIdentity,
  '0004_quote_amount': quoteAmount,
  '0005_alerts': alertsMigration,
  '0006_audit': auditMigration,
  '0007_leases': leasesMigration,
  '0008_journal_indexes': journalIndexes,
};
