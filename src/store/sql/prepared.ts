import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';
import type { Db } from './context.ts';
import type { OrderEventsTable, OrdersTable, StoreSchema } from './schema.ts';

// The journal's hot statements, built by Kysely once per store instead of on every write. Building
// a query (an immutable node tree, then its SQL text) costs more than SQLite takes to run it, and a
// submit runs several. Each statement is compiled with a marker in every value's place; a run binds
// the values in the order the dialect's compiler put the markers, so the SQL text (and its
// placeholders, `?` or `$n`) is the dialect's own, exactly as Kysely writes it.

const MARKER = '\u0000btcbot-slot:';

type Slot<A> = <K extends keyof A & string>(name: K) => A[K];

/** A query compiled once with named slots for its values. */
export class Prepared<A extends object> {
  readonly #sql: string;
  readonly #slots: readonly (keyof A & string)[];
  readonly #guard: (() => void) | undefined;

  /** `guard`: runs before every execution and throws to stop it (PostgreSQL's writer lock). */
  constructor(build: (slot: Slot<A>) => Compilable, guard?: () => void) {
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
    this.#guard = guard;
  }

  execute<R = never>(db: Db, values: A): Promise<QueryResult<R>> {
    this.#guard?.();
    return db.executeQuery<R>(
      CompiledQuery.raw(
        this.#sql,
        this.#slots.map((name) => values[name]),
      ),
    );
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

/** The statements a submit, a status change and a fill run. */
export interface JournalStatements {
  /** A new order row; a client order id already taken makes it a no-op (no row inserted). */
  readonly insertOrder: Prepared<OrdersTable>;
  readonly insertEvent: Prepared<OrderEventsTable>;
  readonly insertEventPair: Prepared<OrderEventPair>;
  readonly updateOrder: Prepared<OrderUpdate>;
  readonly orderById: Prepared<{ id: string }>;
  readonly orderByExchangeId: Prepared<{ exchange_order_id: string }>;
}

export function journalStatements(db: Kysely<StoreSchema>, guard?: () => void): JournalStatements {
  return {
    insertOrder: new Prepared<OrdersTable>(
      (slot) =>
        db
          .insertInto('orders')
          .values(slots(ORDER_COLUMNS, slot))
          .onConflict((oc) => oc.doNothing()),
      guard,
    ),
    insertEvent: new Prepared<OrderEventsTable>(
      (slot) => db.insertInto('order_events').values(slots(EVENT_COLUMNS, slot)),
      guard,
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
      guard,
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
      guard,
    ),
    orderById: new Prepared<{ id: string }>(
      (slot) => db.selectFrom('orders').selectAll().where('id', '=', slot('id')),
      guard,
    ),
    orderByExchangeId: new Prepared<{ exchange_order_id: string }>(
      (slot) =>
        db.selectFrom('orders').selectAll().where('exchange_order_id', '=', slot('exchange_order_id')),
      guard,
    ),
  };
}
