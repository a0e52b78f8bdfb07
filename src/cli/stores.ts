import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KillSwitchControl, Store, StoreReader } from '../ports/store.ts';
import { isPostgresUrl } from '../store/postgres/url.ts';

// The bot's store as an operator command opens it from `--db` (a SQLite file or a postgres:// URL):
// to read beside a running bot, to flip its kill switch beside it, or to write under the lock.
// Only the backend `--db` names is loaded (a SQLite command never loads the PostgreSQL driver).

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

/**
 * The store failures an operator can act on: MissingDatabaseError, and the lock and availability
 * errors of each backend this process loaded (one it did not load cannot have thrown).
 */
const STORE_ERRORS = new Set<ErrorClass>([MissingDatabaseError]);

async function sqlite() {
  const [backend, { StoreUnavailableError }] = await Promise.all([
    import('../store/sqlite/open.ts'),
    import('../store/sql/errors.ts'),
  ]);
  STORE_ERRORS.add(backend.StoreLockedError).add(StoreUnavailableError);
  return backend;
}

async function postgres() {
  const [backend, { StoreUnavailableError }] = await Promise.all([
    import('../store/postgres/open.ts'),
    import('../store/sql/errors.ts'),
  ]);
  STORE_ERRORS.add(backend.PostgresStoreLockedError).add(StoreUnavailableError);
  return backend;
}

/**
 * A command action whose expected failures — the store's, and `more` — are problems an operator
 * can act on: one clear line on stderr and exit code 1, no stack trace. `more` may be a loader, so
 * that a command names error classes of modules it loads only when it runs.
 */
export function operatorAction<A extends unknown[]>(
  run: (...args: A) => Promise<void>,
  more: readonly ErrorClass[] | (() => Promise<readonly ErrorClass[]>) = [],
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      const expected = (kinds: Iterable<ErrorClass>) => [...kinds].some((kind) => error instanceof kind);
      if (!expected(STORE_ERRORS) && !expected(typeof more === 'function' ? await more() : more)) throw error;
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
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStoreReader({ url: db });
  const path = existingFile(db);
  return (await sqlite()).openSqliteStoreReader({ path });
}

export async function openControl(db: string): Promise<KillSwitchControl> {
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStoreControl({ url: db });
  const path = existingFile(db);
  return (await sqlite()).openSqliteStoreControl({ path });
}

export async function openWriter(db: string): Promise<Store> {
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStore({ url: db });
  return (await sqlite()).openSqliteStore({ path: db });
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
