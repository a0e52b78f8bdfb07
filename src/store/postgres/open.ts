import {
  Kysely,
  PostgresDialect,
  sql,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';
import pg from 'pg';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { ConfigError } from '../../domain/errors.ts';
import type { Store } from '../../ports/store.ts';
import { applyMigrations } from '../sql/migrate.ts';
import { MIGRATIONS } from '../sql/migrations.ts';
import type { StoreSchema } from '../sql/schema.ts';
import { SqlStore } from '../sql/sql-store.ts';
import { acquireWriterLock, PostgresStoreLockedError, type WriterLock } from './writer-lock.ts';

export { PostgresStoreLockedError, type PostgresLockHolder } from './writer-lock.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host:port/database`. */
  readonly url: string;
  /** The schema holding this store's tables (created if absent); one writer per schema. Default "public". */
  readonly schema?: string | undefined;
  readonly clock?: Clock | undefined;
}

/** Where the store lives, for messages: the URL without its password, and the schema. */
function describeLocation(url: string, schema: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('PostgreSQL URL', 'is not a URL; give it as postgres://user@host:5432/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new ConfigError(
      'PostgreSQL URL',
      `has scheme "${parsed.protocol}"; give it as postgres://user@host:5432/database`,
    );
  parsed.password = '';
  parsed.search = '';
  return `${parsed.toString()} (schema ${schema})`;
}

// Times and versions are BIGINT; pg hands them over as text to spare precision. Every one the
// store writes is a safe integer, so anything else is a row this program did not write.
function bigintTypes(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (text: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value))
      throw new Error(`stored BIGINT ${text} is beyond what the store writes (a safe integer)`);
    return value;
  });
  return types;
}

// Every query of the store passes here first: once the writer lock is gone, nothing more is read
// or written on a belief that may already be another process's to change.
class WriterLockGuard implements KyselyPlugin {
  constructor(private readonly lock: WriterLock) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.lock.assertHeld();
    return args.node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

/**
 * Opens the store for writing on PostgreSQL: takes the schema's writer lock (a second writer is
 * refused with a PostgresStoreLockedError naming the database and the holder), then applies
 * pending migrations — the same migrations and queries as the SQLite store.
 *
 * The store runs on a single connection: its transactions then follow one another as they do on
 * SQLite, so concurrent writes in this process (a fill from the stream and the same fill from
 * polling) serialize instead of failing on each other's row locks and unique keys.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new ConfigError(
      'PostgreSQL schema',
      `${JSON.stringify(schema)} must be lower-case letters, digits and "_", starting with a letter or "_"`,
    );
  const location = describeLocation(options.url, schema);
  const connection: pg.ClientConfig = { connectionString: options.url, connectionTimeoutMillis: 10_000 };
  let lock: WriterLock;
  try {
    lock = await acquireWriterLock(connection, schema, location);
  } catch (error) {
    if (error instanceof PostgresStoreLockedError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`could not connect to PostgreSQL store ${location}: ${detail}`, { cause: error });
  }
  const pool = new pg.Pool({
    ...connection,
    max: 1,
    idleTimeoutMillis: 0,
    options: `-c search_path=${schema}`,
    types: bigintTypes(),
    application_name: `btcbot store pid=${process.pid}`,
  });
  // An idle connection that drops is replaced by the pool; the next query reports any failure.
  pool.on('error', () => undefined);
  const db = new Kysely<StoreSchema>({
    dialect: new PostgresDialect({ pool }),
    plugins: [new WriterLockGuard(lock)],
  });
  try {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
    await applyMigrations(db, location, MIGRATIONS, schema);
    return new SqlStore(db, { location, clock: options.clock ?? systemClock, onClose: () => lock.release() });
  } catch (error) {
    await db.destroy();
    await lock.release();
    throw error;
  }
}
