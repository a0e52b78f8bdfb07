import type { Kysely } from 'kysely';
import { journalStatements, type JournalStatements } from '../../src/store/sql/prepared.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';

// Lookups on tables that grow for as long as the bot trades (every order, every replace): each must
// search its index, never scan the table. Both run on the path from a market move to its orders.
// Their indexes are partial, so a query searches one only when it implies the index's condition;
// with that condition's value bound rather than written in the text, SQLite plans the statement
// again on every run (about four times the cost of the search) and PostgreSQL's generic plan scans.
// Each backend's test asks its database for the plan it makes without knowing the values.

export interface IndexedLookup {
  readonly name: string;
  /** The index the plan must search. */
  readonly index: string;
  readonly statement: keyof JournalStatements;
}

/** The lookup's SQL as the store runs it on `db`'s dialect, and how many values it binds. */
export function lookupSql(db: Kysely<StoreSchema>, lookup: IndexedLookup): { sql: string; values: number } {
  const text = journalStatements(db)[lookup.statement].sql;
  return { sql: text, values: (text.match(/\?|\$\d+/g) ?? []).length };
}

export const INDEXED_LOOKUPS: readonly IndexedLookup[] = [
  {
    name: 'our order by client id',
    index: 'orders_client_order_id',
    statement: 'ownOrderByClientId',
  },
  {
    name: 'the open replace of an order',
    index: 'replace_txns_open_per_order',
    statement: 'openReplaceOf',
  },
];
