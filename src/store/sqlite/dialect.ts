import type { Database } from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
} from 'kysely';

// SQLite runs DDL inside transactions; Kysely's stock adapter does not claim it, which would apply
// migrations outside one, so a crash mid-migration could leave half a schema.
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

// A transaction takes the write lock when it begins. Kysely's plain BEGIN defers it to the first
// write; in WAL mode a deferred transaction that read before another connection (the operator's
// kill switch) committed fails with SQLITE_BUSY at once, without waiting out the busy timeout.
class ImmediateDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class StoreDialect extends SqliteDialect {
  readonly #database: Database;

  constructor(database: Database) {
    super({ database });
    this.#database = database;
  }

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter();
  }

  override createDriver(): Driver {
    return new ImmediateDriver({ database: this.#database });
  }
}

/** The Kysely dialect of the SQLite store over an open better-sqlite3 connection. */
export function sqliteDialect(database: Database): SqliteDialect {
  return new StoreDialect(database);
}
