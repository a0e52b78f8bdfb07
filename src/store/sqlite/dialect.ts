import type { Database } from 'better-sqlite3';
import { SqliteAdapter, SqliteDialect, type DialectAdapter } from 'kysely';

// SQLite runs DDL inside transactions; Kysely's stock adapter does not claim it, which would apply
// migrations outside one, so a crash mid-migration could leave half a schema.
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class StoreDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter();
  }
}

/** The Kysely dialect of the SQLite store over an open better-sqlite3 connection. */
export function sqliteDialect(database: Database): SqliteDialect {
  return new StoreDialect({ database });
}
