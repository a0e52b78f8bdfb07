import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KillSwitchControl, Store, StoreReader } from '../ports/store.ts';
import {
  isPostgresUrl,
  openPostgresStore,
  openPostgresStoreControl,
  openPostgresStoreReader,
  PostgresStoreLockedError,
} from '../store/postgres/open.ts';
import { StoreUnavailableError } from '../store/sql/errors.ts';
import {
  openSqliteStore,
  openSqliteStoreControl,
  openSqliteStoreReader,
  StoreLockedError,
} from '../store/sqlite/open.ts';

// The bot's store as an operator command opens it from `--db` (a SQLite file or a postgres:// URL):
// to read beside a running bot, to flip its kill switch beside it, or to write under the lock.

export class MissingDatabaseError extends Error {
  constructor(
    readonly path: string,
    hint = "give the bot's database with --db, or run btcbot reconcile to create one",
  ) {
    super(`no database at ${path}: ${hint}`);
    this.name = 'MissingDatabaseError';
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

const STORE_ERRORS: readonly ErrorClass[] = [
  StoreLockedError,
  PostgresStoreLockedError,
  StoreUnavailableError,
  MissingDatabaseError,
];

/**
 * A command action whose expected failures — the store's, and `more` — are problems an operator
 * can act on: one clear line on stderr and exit code 1, no stack trace.
 */
export function operatorAction<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
  more: readonly ErrorClass[] = [],
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      if (![...STORE_ERRORS, ...more].some((kind) => error instanceof kind)) throw error;
      process.stderr.write(`btcbot: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

function existingFile(db: string): string {
  const path = resolve(db);
  if (!existsSync(path)) throw new MissingDatabaseError(path);
  return path;
}

export async function openReader(db: string): Promise<StoreReader> {
  if (isPostgresUrl(db)) return openPostgresStoreReader({ url: db });
  return openSqliteStoreReader({ path: existingFile(db) });
}

export async function openControl(db: string): Promise<KillSwitchControl> {
  if (isPostgresUrl(db)) return openPostgresStoreControl({ url: db });
  return openSqliteStoreControl({ path: existingFile(db) });
}

export async function openWriter(db: string): Promise<Store> {
  if (isPostgresUrl(db)) return openPostgresStore({ url: db });
  return openSqliteStore({ path: db });
}

/** Runs `work` on the opened store and closes it, whatever happens. */
export async function withOpened<S extends { close(): Promise<void> }>(
  opening: Promise<S>,
  work: (store: S) => Promise<void>,
): Promise<void> {
  const store = await opening;
  try {
    await work(store);
  } finally {
    await store.close();
  }
}
