import { mkdirSync, realpathSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { systemClock, type Clock } from '../../domain/clock.ts';
import type { KillSwitchControl, Store, StoreReader } from '../../ports/store.ts';
import { applyMigrations, assertCurrentSchema } from '../sql/migrate.ts';
import type { StoreSchema } from '../sql/schema.ts';
import { SqlKillSwitchControl } from '../sql/sql-control.ts';
import { SqlStore } from '../sql/sql-store.ts';
import { sqliteDialect, sqliteUnsyncedCommit } from './dialect.ts';
import { acquireInstanceLock, type LockHolder } from './instance-lock.ts';

export { StoreLockedError, type LockHolder } from './instance-lock.ts';

const MEMORY = ':memory:';
const BUSY_TIMEOUT_MS = 5_000;

export interface SqliteStoreOptions {
  /** A file path (its folder is created), or ":memory:" for a throwaway store without a lock. */
  readonly path: string;
  readonly clock?: Clock | undefined;
  /** Told when the lock was left behind by a process that ended without closing (it was taken over). */
  readonly onTakeover?: ((previous: LockHolder) => void) | undefined;
  /**
   * Start from an empty database: an existing one is deleted once the lock is held, so a running
   * holder is never pulled from under (a paper session's store, which lives only as long as its
   * in-process simulator).
   */
  readonly fresh?: boolean | undefined;
  /**
   * Cluster mode: several processes on this machine write the store, each symbol by the holder of
   * its lease (`holder`: this process's id). The instance lock is not taken; the leases' fence
   * stands in for it, symbol by symbol.
   */
  readonly cluster?: { readonly holder: string } | undefined;
}

export interface SqliteReaderOptions {
  readonly path: string;
  readonly clock?: Clock | undefined;
}

function canonicalPath(path: string): string {
  const absolute = resolve(path);
  mkdirSync(dirname(absolute), { recursive: true });
  return join(realpathSync(dirname(absolute)), basename(absolute));
}

/**
 * Opens the store for writing: takes the instance lock (a second writer is refused with a
 * StoreLockedError naming the holder), then WAL with synchronous=FULL, so a write that returned
 * survives a power cut, then applies pending migrations.
 */
/** `PRAGMA data_version` of this connection: changes when another connection commits. */
function versionOf(sqlite: Database.Database): () => unknown {
  const statement = sqlite.prepare('PRAGMA data_version').pluck();
  return () => statement.get();
}

export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  const clock = options.clock ?? systemClock;
  const memory = options.path === MEMORY;
  const path = memory ? MEMORY : canonicalPath(options.path);
  const cluster = options.cluster;
  if (cluster !== undefined && options.fresh === true)
    throw new Error(
      `database ${path}: a store shared by a cluster is never started fresh (other processes use it)`,
    );
  const lock = memory || cluster !== undefined ? null : acquireInstanceLock(path, clock);
  if (lock?.previous) options.onTakeover?.(lock.previous);
  let sqlite: Database.Database | undefined;
  try {
    if (options.fresh === true && !memory)
      for (const file of [path, `${path}-wal`, `${path}-shm`]) rmSync(file, { force: true });
    sqlite = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    if (!memory) {
      const mode: unknown = sqlite.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`database ${path} refused WAL mode (it reports ${String(mode)})`);
    }
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
    const dialect = sqliteDialect(sqlite);
    const db = new Kysely<StoreSchema>({ dialect });
    await applyMigrations(db, path);
    return new SqlStore(
      db,
      {
        location: path,
        clock,
        onClose: () => lock?.release(),
        // In memory nothing is synced: switching the level around a commit would only cost two
        // statements per write (a backtest's replay runs thousands).
        unsyncedCommit: memory ? undefined : sqliteUnsyncedCommit,
        dataVersion: memory ? undefined : versionOf(sqlite),
        direct: dialect.direct,
      },
      // One writer at a time (`begin immediate`) is what makes the fence's plain read enough here.
      cluster === undefined ? undefined : { holder: cluster.holder, rowLocks: false },
    );
  } catch (error) {
    sqlite?.close();
    lock?.release();
    throw error;
  }
}

/** An existing store's file, opened without the lock: for reading, or for the kill switch only. */
async function openUnlocked(
  options: SqliteReaderOptions,
  readonly: boolean,
): Promise<{ db: Kysely<StoreSchema>; path: string }> {
  const path = resolve(options.path);
  // The writer holds its transactions for milliseconds: a control write waits them out.
  const sqlite = new Database(path, { readonly, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  const db = new Kysely<StoreSchema>({ dialect: sqliteDialect(sqlite) });
  try {
    if (!readonly) sqlite.pragma('synchronous = FULL');
    await assertCurrentSchema(db, path);
    return { db, path };
  } catch (error) {
    await db.destroy();
    throw error;
  }
}

/**
 * Opens an existing store for reading beside a running writer (operator commands): no lock, no
 * migrations, and a refusal if its schema is not the one this build knows.
 */
export async function openSqliteStoreReader(options: SqliteReaderOptions): Promise<StoreReader> {
  const { db, path } = await openUnlocked(options, true);
  return new SqlStore(db, { location: path, clock: options.clock ?? systemClock });
}

/**
 * Opens an existing store's kill switch beside a running writer, without its lock: the one write
 * an operator must be able to make while a bot holds the database (WAL lets it in between the
 * bot's transactions; the bot reads the switch on every evaluation).
 */
export async function openSqliteStoreControl(options: SqliteReaderOptions): Promise<KillSwitchControl> {
  const { db, path } = await openUnlocked(options, false);
  return new SqlKillSwitchControl(db, { location: path, clock: options.clock ?? systemClock });
}
