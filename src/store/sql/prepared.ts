import {
  CompiledQuery,
  sql,
  type Compilable,
  type Kysely,
  type QueryResult,
  type SelectQueryBuilder,
} from 'kysely';
import { isClosed } from '../../domain/lifecycle.ts';
import { ORDER_STATES } from '../../domain/orders.ts';
import type { Db } from './context.ts';
import type { FillsTable, OrderEventsTable, OrdersTable, ReplaceTxnsTable, StoreSchema } from './schema.ts';

// The store's hot statements (the journal's writes, and the reads the engine and every
// reconciliation pass repeat), built by Kysely once per store instead of on every run. Building a
// query (an immutable node tree, then its SQL text) costs more than SQLite takes to run it, and a
// submit runs several. Each statement is compiled with a marker in every value's place; a run binds
// the values in the order the dialect's compiler put the markers, so the SQL text (and its
// placeholders, `?` or `$n`) is the dialect's own, exactly as Kysely writes it.

const MARKER = '\u0000btcbot-slot:';

type Slot<A> = <K extends keyof A & string>(name: K) => A[K];

/** Runs a statement at once on a database's only connection (SQLite's; see `PreparedOptions.direct`). */
export type DirectExecutor = (query: CompiledQuery) => QueryResult<unknown>;

export interface PreparedOptions {
  /** Runs before every execution and throws to stop it (PostgreSQL's writer lock). */
  readonly guard?: (() => void) | undefined;
  /**
   * A database with one connection (SQLite) runs a statement inside a transaction on it at once,
   * past Kysely's executor: the transaction holds that connection, so nothing else can be running
   * on it. Outside a transaction the statement goes through Kysely, which waits for the connection.
   */
  readonly direct?: DirectExecutor | undefined;
}

/** A query compiled once with named slots for its values. */
export class Prepared<A extends object> {
  readonly #sql: string;
  readonly #slots: readonly (keyof A & string)[];
  readonly #guard: (() => void) | undefined;
  readonly #direct: DirectExecutor | undefined;

  constructor(build: (slot: Slot<A>) => Compilable, options: PreparedOptions = {}) {
    const slot = (<K extends keyof A & string>(name: K) => `${MARKER}${name}` as A[K]) as Slot<A>;
    const compiled = build(slot).compile();
    this.#sql = compiled.sql;
    this.#slots = compiled.parameters.map((parameter) => {
      if (typeof parameter !== 'string' || !parameter.startsWith(MARKER))
        throw new Error(
          `prepared statement ${compiled.sql} has a value that is not a slot: ${String(parameter)}`,
        );
      return parameter.slice(MARKER.length) as keyof A & string;
    });
    this.#guard = options.guard;
    this.#direct = options.direct;
  }

  /** The statement's SQL text (its plan is tested: test/store/query-plans.ts). */
  get sql(): string {
    return this.#sql;
  }

  execute<R = never>(db: Db, values: A): Promise<QueryResult<R>> {
    this.#guard?.();
    const query = CompiledQuery.raw(
      this.#sql,
      this.#slots.map((name) => values[name]),
    );
    if (this.#direct !== undefined && db.isTransaction)
      return Promise.resolve(this.#direct(query) as QueryResult<R>);
    return db.executeQuery<R>(query);
  }

  /** The first row, if any. */
  async first<R>(db: Db, values: A): Promise<R | undefined> {
    return (await this.execute<R>(db, values)).rows[0];
  }
}

/** A change to an order's current row, guarded by the version it was read at. */
export interface OrderUpdate {
  readonly id: string;
  readonly expected_version: number;
  readonly state: string;
  readonly state_reason: string | null;
  readonly exchange_order_id: string | null;
  readonly filled_quantity: string;
  readonly filled_quote: string;
  readonly average_price: string | null;
  readonly updated_at: number;
  readonly version: number;
}

/** Two events of one order at one time, in one statement: a journal write marked sent in the same write. */
export interface OrderEventPair extends OrderEventsTable {
  readonly seq_2: number;
  readonly type_2: string;
  readonly from_state_2: string | null;
  readonly to_state_2: string;
  readonly payload_2: string;
}

const ORDER_COLUMNS = [
  'id',
  'client_order_id',
  'exchange_order_id',
  'symbol',
  'side',
  'method',
  'price',
  'stop_price',
  'quantity',
  'quote_amount',
  'lease_epoch',
  'filled_quantity',
  'filled_quote',
  'average_price',
  'state',
  'state_reason',
  'intent_id',
  'strategy',
  'replace_of',
  'origin',
  'created_at',
  'updated_at',
  'version',
] as const satisfies readonly (keyof OrdersTable)[];

const EVENT_COLUMNS = [
  'order_id',
  'seq',
  'at',
  'type',
  'from_state',
  'to_state',
  'payload',
] as const satisfies readonly (keyof OrderEventsTable)[];

function slots<A, const C extends readonly (keyof A & string)[]>(
  columns: C,
  slot: Slot<A>,
): { [K in C[number]]: A[K] } {
  return Object.fromEntries(columns.map((column) => [column, slot(column)])) as { [K in C[number]]: A[K] };
}

const FILL_COLUMNS = [
  'trade_id',
  'order_id',
  'exchange_order_id',
  'client_order_id',
  'symbol',
  'base',
  'quote',
  'side',
  'price',
  'quantity',
  'fee',
  'tax',
  'fee_asset',
  'timestamp',
  'source',
  'recorded_at',
] as const satisfies readonly (keyof FillsTable)[];

const REPLACE_COLUMNS = [
  'id',
  'old_order_id',
  'new_client_order_id',
  'new_order_id',
  'wanted_quantity',
  'old_filled_at_start',
  'new_price',
  'new_stop_price',
  'mode',
  'step',
  'outcome',
  'reason',
  'created_at',
  'updated_at',
  'version',
] as const satisfies readonly (keyof ReplaceTxnsTable)[];

/**
 * Values a partial index's condition names, written into the SQL text rather than bound: a query
 * implies the index's condition (and so can search it) only when its text does. With the values
 * bound, SQLite planned the statement again on every run and PostgreSQL's generic plan scanned.
 */
export const NOT_FOREIGN = sql.lit('foreign');
export const NOT_DONE = sql.lit('done');
/** The states of an order not yet closed, as literals (a constant list: one statement text). */
const ACTIVE_STATE_LITERALS = ORDER_STATES.filter((s) => !isClosed(s)).map((s) => sql.lit(s));

/** Fills in the order every listing of them gives: by time, then when recorded, then by key. */
export function inFillOrder<O>(
  query: SelectQueryBuilder<StoreSchema, 'fills', O>,
): SelectQueryBuilder<StoreSchema, 'fills', O> {
  return query.orderBy('timestamp').orderBy('recorded_at').orderBy('trade_id').orderBy('exchange_order_id');
}

/**
 * The statements a submit, a status change, a fill and a replace run, and the reads repeated for
 * every symbol or every fill (the open replaces, fill cursors, fills recorded since a time).
 */
export interface JournalStatements {
  /** A new order row; a client order id already taken makes it a no-op (no row inserted). */
  readonly insertOrder: Prepared<OrdersTable>;
  readonly insertEvent: Prepared<OrderEventsTable>;
  readonly insertEventPair: Prepared<OrderEventPair>;
  readonly updateOrder: Prepared<OrderUpdate>;
  readonly orderById: Prepared<{ id: string }>;
  /** An order's version alone: whether a copy of it is still the row (see order-writes.ts applyEvent). */
  readonly orderVersion: Prepared<{ id: string }>;
  readonly orderByExchangeId: Prepared<{ exchange_order_id: string }>;
  /** Ours only: foreign orders carry client ids we did not choose. */
  readonly ownOrderByClientId: Prepared<{ client_order_id: string }>;
  /** A symbol's orders not yet closed, oldest first (as `Store.activeOrders`). */
  readonly activeOrdersOf: Prepared<{ symbol: string }>;
  readonly setting: Prepared<{ key: string }>;
  readonly replaceById: Prepared<{ id: string }>;
  /** A fill by its key (trade id, exchange order id): whether it was recorded already. */
  readonly fillByKey: Prepared<{ trade_id: string; exchange_order_id: string }>;
  readonly insertFill: Prepared<FillsTable>;
  /** Fills recorded at or after a time, in the order listFills gives (the positions' incremental read). */
  readonly fillsRecordedSince: Prepared<{ recorded_at: number }>;
  /** The replace of an old order that is not done (at most one: a unique partial index). */
  readonly openReplaceOf: Prepared<{ old_order_id: string }>;
  /** Every replace not done, oldest first (reconciliation reads it once per symbol and pass). */
  readonly openReplaces: Prepared<Record<string, never>>;
  /** A symbol's fill cursor (reconciliation reads it once per symbol and pass). */
  readonly fillCursorOf: Prepared<{ symbol: string }>;
  readonly insertReplace: Prepared<ReplaceTxnsTable>;
  /** A replace's new row (read in the same transaction). */
  readonly updateReplace: Prepared<ReplaceTxnsTable>;
}

export function journalStatements(db: Kysely<StoreSchema>, options: PreparedOptions = {}): JournalStatements {
  return {
    insertOrder: new Prepared<OrdersTable>(
      (slot) =>
        db
          .insertInto('orders')
          .values(slots(ORDER_COLUMNS, slot))
          .onConflict((oc) => oc.doNothing()),
      options,
    ),
    insertEvent: new Prepared<OrderEventsTable>(
      (slot) => db.insertInto('order_events').values(slots(EVENT_COLUMNS, slot)),
      options,
    ),
    insertEventPair: new Prepared<OrderEventPair>(
      (slot) =>
        db.insertInto('order_events').values([
          slots(EVENT_COLUMNS, slot),
          {
            order_id: slot('order_id'),
            seq: slot('seq_2'),
            at: slot('at'),
            type: slot('type_2'),
            from_state: slot('from_state_2'),
            to_state: slot('to_state_2'),
            payload: slot('payload_2'),
          },
        ]),
      options,
    ),
    updateOrder: new Prepared<OrderUpdate>(
      (slot) =>
        db
          .updateTable('orders')
          .set({
            state: slot('state'),
            state_reason: slot('state_reason'),
            exchange_order_id: slot('exchange_order_id'),
            filled_quantity: slot('filled_quantity'),
            filled_quote: slot('filled_quote'),
            average_price: slot('average_price'),
            updated_at: slot('updated_at'),
            version: slot('version'),
          })
          .where('id', '=', slot('id'))
          .where('version', '=', slot('expected_version')),
      options,
    ),
    orderById: new Prepared<{ id: string }>(
      (slot) => db.selectFrom('orders').selectAll().where('id', '=', slot('id')),
      options,
    ),
    orderVersion: new Prepared<{ id: string }>(
      (slot) => db.selectFrom('orders').select('version').where('id', '=', slot('id')),
      options,
    ),
    orderByExchangeId: new Prepared<{ exchange_order_id: string }>(
      (slot) =>
        db.selectFrom('orders').selectAll().where('exchange_order_id', '=', slot('exchange_order_id')),
      options,
    ),
    ownOrderByClientId: new Prepared<{ client_order_id: string }>(
      (slot) =>
        db
          .selectFrom('orders')
          .selectAll()
          .where('client_order_id', '=', slot('client_order_id'))
          .where('origin', '<>', NOT_FOREIGN),
      options,
    ),
    activeOrdersOf: new Prepared<{ symbol: string }>(
      (slot) =>
        db
          .selectFrom('orders')
          .selectAll()
          .where('state', 'in', ACTIVE_STATE_LITERALS)
          .where('symbol', '=', slot('symbol'))
          .orderBy('created_at')
          .orderBy('id'),
      options,
    ),
    setting: new Prepared<{ key: string }>(
      (slot) => db.selectFrom('settings').selectAll().where('key', '=', slot('key')),
      options,
    ),
    replaceById: new Prepared<{ id: string }>(
      (slot) => db.selectFrom('replace_txns').selectAll().where('id', '=', slot('id')),
      options,
    ),
    fillByKey: new Prepared<{ trade_id: string; exchange_order_id: string }>(
      (slot) =>
        db
          .selectFrom('fills')
          .selectAll()
          .where('trade_id', '=', slot('trade_id'))
          .where('exchange_order_id', '=', slot('exchange_order_id')),
      options,
    ),
    insertFill: new Prepared<FillsTable>(
      (slot) => db.insertInto('fills').values(slots(FILL_COLUMNS, slot)),
      options,
    ),
    fillsRecordedSince: new Prepared<{ recorded_at: number }>(
      (slot) =>
        db.selectFrom('fills').selectAll().where('recorded_at', '>=', slot('recorded_at')).$call(inFillOrder),
      options,
    ),
    openReplaceOf: new Prepared<{ old_order_id: string }>(
      (slot) =>
        db
          .selectFrom('replace_txns')
          .selectAll()
          .where('old_order_id', '=', slot('old_order_id'))
          .where('step', '<>', NOT_DONE),
      options,
    ),
    openReplaces: new Prepared<Record<string, never>>(
      () =>
        db
          .selectFrom('replace_txns')
          .selectAll()
          .where('step', '<>', NOT_DONE)
          .orderBy('created_at')
          .orderBy('id'),
      options,
    ),
    fillCursorOf: new Prepared<{ symbol: string }>(
      (slot) => db.selectFrom('fill_cursors').selectAll().where('symbol', '=', slot('symbol')),
      options,
    ),
    insertReplace: new Prepared<ReplaceTxnsTable>(
      (slot) => db.insertInto('replace_txns').values(slots(REPLACE_COLUMNS, slot)),
      options,
    ),
    updateReplace: new Prepared<ReplaceTxnsTable>(
      (slot) => db.updateTable('replace_txns').set(slots(REPLACE_COLUMNS, slot)).where('id', '=', slot('id')),
      options,
    ),
  };
}
