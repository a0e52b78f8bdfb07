import {
  CompiledQuery,
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
import type { KillSwitchControl, Store, StoreReader } from '../../ports/store.ts';
import { StoreUnavailableError } from '../sql/errors.ts';
import { applyMigrations, assertCurrentSchema } from '../sql/migrate.ts';
import { MIGRATIONS } from '../sql/migrations.ts';
import type { StoreSchema } from '../sql/schema.ts';
import { SqlKillSwitchControl } from '../sql/sql-control.ts';
import { SqlStore } from '../sql/sql-store.ts';
import { acquireWriterLock, PostgresStoreLockedError, type WriterLock } from './writer-lock.ts';

export { PostgresStoreLockedError, type PostgresLockHolder } from './writer-lock.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

// A commit that need not wait for the disk: for this transaction only, PostgreSQL answers the COMMIT
// before its WAL is flushed (a server crash may lose it; the next synchronous commit flushes it).
const UNSYNCED_COMMIT = { inside: CompiledQuery.raw('set local synchronous_commit = off') };

export { isPostgresUrl } from './url.ts';

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host:port/database`. */
  readonly url: string;
  /** The schema holding this store's tables (created if absent); one writer per schema. Default "public". */
  readonly schema?: string | undefined;
  readonly clock?: Clock | undefined;
  /**
   * Cluster mode: several processes (on any host) write the schema, each symbol by the holder of
   * its lease (`holder`: this process's id). The writer lock is not taken; the leases' fence stands
   * in for it, symbol by symbol.
   */
  readonly cluster?: { readonly holder: string } | undefined;
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

/** The schema checked and the store's location named, before anything connects. */
function target(options: PostgresStoreOptions): { schema: string; location: string } {
  const schema = options.schema ?? 'public';
  if (!SCHEMA_NAME.test(schema))
    throw new ConfigError(
      'PostgreSQL schema',
      `${JSON.stringify(schema)} must be lower-case letters, digits and "_", starting with a letter or "_"`,
    );
  return { schema, location: describeLocation(options.url, schema) };
}

const connectionOf = (options: PostgresStoreOptions): pg.ClientConfig => ({
  connectionString: options.url,
  connectionTimeoutMillis: 10_000,
});

/**
 * A single-connection pool on the store's schema. A single connection makes the store's
 * transactions follow one another as they do on SQLite, so concurrent writes in this process (a
 * fill from the stream and the same fill from polling) serialize instead of failing on each
 * other's row locks and unique keys.
 */
function storePool(connection: pg.ClientConfig, schema: string, role: string, readonly = false): pg.Pool {
  const pool = new pg.Pool({
    ...connection,
    max: 1,
    idleTimeoutMillis: 0,
    options: `-c search_path=${schema}${readonly ? ' -c default_transaction_read_only=on' : ''}`,
    types: bigintTypes(),
    application_name: `btcbot ${role} pid=${process.pid}`,
  });
  // An idle connection that drops is replaced by the pool; the next query reports any failure.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * Opens the store for writing on PostgreSQL: takes the schema's writer lock (a second writer is
 * refused with a PostgresStoreLockedError naming the database and the holder), then applies
 * pending migrations — the same migrations and queries as the SQLite store.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (options.cluster !== undefined) return openSharedPostgresStore(options, options.cluster.holder);
  const { schema, location } = target(options);
  const connection = connectionOf(options);
  let lock: WriterLock;
  try {
    lock = await acquireWriterLock(connection, schema, location);
  } catch (error) {
    if (error instanceof PostgresStoreLockedError) throw error;
    throw unreachable(location, error);
  }
  const db = new Kysely<StoreSchema>({
    dialect: new PostgresDialect({ pool: storePool(connection, schema, 'store') }),
    plugins: [new WriterLockGuard(lock)],
  });
  try {
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db);
    await applyMigrations(db, location, MIGRATIONS, schema);
    return new SqlStore(db, {
      location,
      clock: options.clock ?? systemClock,
      onClose: () => lock.release(),
      unsyncedCommit: UNSYNCED_COMMIT,
      guard: () => {
        lock.assertHeld();
      },
    });
  } catch (error) {
    await db.destroy();
    await lock.release();
    throw error;
  }
}

/** The store in cluster mode: no writer lock; migrations serialize on Kysely's migration lock row. */
async function openSharedPostgresStore(options: PostgresStoreOptions, holder: string): Promise<Store> {
  const { schema, location } = target(options);
  const db = new Kysely<StoreSchema>({
    dialect: new PostgresDialect({ pool: storePool(connectionOf(options), schema, 'store') }),
  });
  try {
    await sql`SELECT 1`.execute(db).catch((error: unknown) => {
      throw unreachable(location, error);
    });
    // Processes of a cluster start together: one's CREATE may fail on another's at the same time.
    await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(db).catch(async (error: unknown) => {
      const found = await sql`SELECT 1 FROM pg_namespace WHERE nspname = ${schema}`.execute(db);
      if (found.rows.length === 0) throw error;
    });
    await applyMigrations(db, location, MIGRATIONS, schema);
    return new SqlStore(
      db,
      { location, clock: options.clock ?? systemClock, unsyncedCommit: UNSYNCED_COMMIT },
      { holder, rowLocks: true },
    );
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

function unreachable(location: string, error: unknown): StoreUnavailableError {
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`could not connect to PostgreSQL store ${location}: ${detail}`, {
    cause: error,
  });
}

/** An existing store, without the writer lock: read-only sessions for reading, or for the kill switch. */
async function openUnlocked(
  options: PostgresStoreOptions,
  readonly: boolean,
): Promise<{ db: Kysely<StoreSchema>; location: string }> {
  const { schema, location } = target(options);
  const role = readonly ? 'reader' : 'kill-switch';
  const db = new Kysely<StoreSchema>({
    dialect: new PostgresDialect({ pool: storePool(connectionOf(options), schema, role, readonly) }),
  });
  try {
    await sql`SELECT 1`.execute(db).catch((error: unknown) => {
      throw unreachable(location, error);
    });
    await assertCurrentSchema(db, location);
    return { db, location };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * Opens an existing store for reading beside a running writer (operator commands): no writer
 * lock, no migrations, sessions that PostgreSQL itself keeps read-only, and a refusal if the
 * store's schema is not the one this build knows.
 */
export async function openPostgresStoreReader(options: PostgresStoreOptions): Promise<StoreReader> {
  const { db, location } = await openUnlocked(options, true);
  return new SqlStore(db, { location, clock: options.clock ?? systemClock });
}

/**
 * Opens an existing store's kill switch beside a running writer, without its lock: the one write
 * an operator must be able to make while a bot holds the store (the bot reads the switch on every
 * evaluation).
 */
export async function openPostgresStoreControl(options: PostgresStoreOptions): Promise<KillSwitchControl> {
  const { db, location } = await openUnlocked(options, false);
  return new SqlKillSwitchControl(db, { location, clock: options.clock ?? systemClock });
}
