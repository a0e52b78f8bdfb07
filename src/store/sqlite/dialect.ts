import type { Database, Statement } from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { UnsyncedCommit } from '../sql/group-commit.ts';

// SQLite runs DDL inside transactions; Kysely's stock adapter does not claim it, which would apply
// migrations outside one, so a crash mid-migration could leave half a schema.
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Prepared statements kept per SQL text: the store runs the same few dozen statements over and over. */
const STATEMENT_CACHE_SIZE = 256;

// Kysely's stock connection prepares every statement anew, which costs more than running it. This
// one keeps them (a bounded cache: IN lists of varying length make new texts), and otherwise does
// what the stock one does.
class CachingConnection implements DatabaseConnection {
  readonly #db: Database;
  readonly #statements = new Map<string, Statement>();

  constructor(db: Database) {
    this.#db = db;
  }

  #prepare(text: string): Statement {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      statement = this.#db.prepare(text);
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear();
      this.#statements.set(text, statement);
    }
    return statement;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.#prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (statement.reader) return Promise.resolve({ rows: statement.all(parameters) as R[] });
    const { changes, lastInsertRowid } = statement.run(parameters);
    return Promise.resolve({
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    });
  }

  streamQuery(): never {
    throw new Error('the SQLite store does not stream queries');
  }
}

// A transaction takes the write lock when it begins. Kysely's plain BEGIN defers it to the first
// write; in WAL mode a deferred transaction that read before another connection (the operator's
// kill switch) committed fails with SQLITE_BUSY at once, without waiting out the busy timeout.
// The stock driver's mutex still hands out the one connection; what it hands out is the caching one.
class StoreDriver extends SqliteDriver {
  readonly #connection: CachingConnection;

  constructor(database: Database) {
    super({ database });
    this.#connection = new CachingConnection(database);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await super.acquireConnection();
    return this.#connection;
  }

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
    return new StoreDriver(this.#database);
  }
}

/**
 * A commit that need not wait for the disk: SQLite sets its synchronous level outside a
 * transaction, NORMAL for such a commit (WAL: the log is written, not synced), FULL again after it.
 */
export const sqliteUnsyncedCommit: UnsyncedCommit = {
  before: CompiledQuery.raw('pragma synchronous = normal'),
  after: CompiledQuery.raw('pragma synchronous = full'),
};

/** The Kysely dialect of the SQLite store over an open better-sqlite3 connection. */
export function sqliteDialect(database: Database): SqliteDialect {
  return new StoreDialect(database);
}
