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
import type { DirectExecutor } from '../sql/prepared.ts';

// SQLite runs DDL inside transactions; Kysely's stock adapter does not claim it, which would apply
// migrations outside one, so a crash mid-migration could leave half a schema.
class TransactionalDdlAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/** Prepared statements kept per SQL text: the store runs the same few dozen statements over and over. */
const STATEMENT_CACHE_SIZE = 256;

/** A statement kept for its SQL text; a reading one's column names, its rows coming as arrays. */
interface Kept {
  readonly statement: Statement;
  readonly columns: readonly string[] | null;
}

/**
 * Rows as objects, built here from better-sqlite3's arrays: its own objects cost twice as much to
 * build for the journal's wide rows (measured: 7-9 µs against 3.4 µs raw for an order's 23 columns).
 */
function rowsOf<R>(columns: readonly string[], rows: readonly unknown[][]): R[] {
  return rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i] as string] = values[i];
    return row as R;
  });
}

// Kysely's stock connection prepares every statement anew, which costs more than running it. This
// one keeps them (a bounded cache: IN lists of varying length make new texts), and otherwise does
// what the stock one does.
class CachingConnection implements DatabaseConnection {
  readonly #db: Database;
  readonly #statements = new Map<string, Kept>();

  constructor(db: Database) {
    this.#db = db;
  }

  #prepare(text: string): Kept {
    let kept = this.#statements.get(text);
    if (kept === undefined) {
      const statement = this.#db.prepare(text);
      const columns = statement.reader
        ? statement
            .raw(true)
            .columns()
            .map((column) => column.name)
        : null;
      kept = { statement, columns };
      if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#statements.clear();
      this.#statements.set(text, kept);
    }
    return kept;
  }

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return Promise.resolve(this.run<R>(compiledQuery));
  }

  /** Runs the statement at once: better-sqlite3 is synchronous. */
  run<R>(compiledQuery: CompiledQuery): QueryResult<R> {
    const { statement, columns } = this.#prepare(compiledQuery.sql);
    const parameters = compiledQuery.parameters as unknown[];
    if (columns !== null) return { rows: rowsOf<R>(columns, statement.all(parameters) as unknown[][]) };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
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

  constructor(database: Database, connection: CachingConnection) {
    super({ database });
    this.#connection = connection;
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
  readonly #connection: CachingConnection;

  constructor(database: Database) {
    super({ database });
    this.#database = database;
    this.#connection = new CachingConnection(database);
  }

  /**
   * Runs a statement at once on the store's one connection: for a statement inside a transaction,
   * which holds that connection (see `PreparedOptions.direct`).
   */
  readonly direct: DirectExecutor = (query) => this.#connection.run(query);

  override createAdapter(): DialectAdapter {
    return new TransactionalDdlAdapter();
  }

  override createDriver(): Driver {
    return new StoreDriver(this.#database, this.#connection);
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
export function sqliteDialect(database: Database): SqliteDialect & { readonly direct: DirectExecutor } {
  return new StoreDialect(database);
}
