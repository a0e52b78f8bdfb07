import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../domain/errors.ts';
import { DEFAULT_DB } from '../ops/run-defaults.ts';
import type { KillSwitchControl, Store, StoreReader } from '../ports/store.ts';
import { isPostgresUrl } from '../store/postgres/url.ts';

// The bot's store as an operator command opens it from `--db` (a SQLite file or a postgres:// URL):
// to read beside a running bot, to flip its kill switch beside it, or to write under the lock.
// Only the backend `--db` names is loaded (a SQLite command never loads the PostgreSQL driver).

/**
 * `--db` names no database. For an operator command that is a configuration error (exit code 2),
 * never a reason to create an empty store: an empty store answers "(none)" and "clean" while the
 * bot's orders rest on the exchange.
 */
export class MissingDatabaseError extends ConfigError {
  constructor(
    readonly path: string,
    hint = "give the bot's database with --db (btcbot run and btcbot order create it)",
  ) {
    super(
      '--db',
      `no database at ${path} (nothing was created; a relative --db, like the default ${DEFAULT_DB}, ` +
        `is taken from the current folder): ${hint}`,
    );
    this.name = 'MissingDatabaseError';
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * The store failures an operator can act on: MissingDatabaseError, and the lock and availability
 * errors of each backend this process loaded (one it did not load cannot have thrown).
 */
const STORE_ERRORS = new Set<ErrorClass>();

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
 * can act on: one clear line on stderr and exit code 1, no stack trace. A missing database is a
 * configuration error, left to main.ts (exit code 2). `more` may be a loader, so
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

/** The absolute path of an existing SQLite database, or a MissingDatabaseError that says where to look. */
async function existingFile(db: string): Promise<string> {
  const path = resolve(db);
  if (existsSync(path)) return path;
  // The usual slip: a paper or dry-run session keeps its own database beside the configured one.
  const { sessionDbPath } = await import('../ops/run-config.ts');
  for (const mode of ['paper', 'dry-run'] as const) {
    const session = resolve(sessionDbPath(db, mode));
    if (existsSync(session))
      throw new MissingDatabaseError(
        path,
        `the last ${mode} session's database is ${session} (give it with --db ${session})`,
      );
  }
  throw new MissingDatabaseError(path);
}

export async function openReader(db: string): Promise<StoreReader> {
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStoreReader({ url: db });
  const path = await existingFile(db);
  return (await sqlite()).openSqliteStoreReader({ path });
}

export async function openControl(db: string): Promise<KillSwitchControl> {
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStoreControl({ url: db });
  const path = await existingFile(db);
  return (await sqlite()).openSqliteStoreControl({ path });
}

/**
 * The store under its writer lock. `create: false` (operator actions on the bot's store: reconcile,
 * cancel, cancel-all) refuses a SQLite file that does not exist; `btcbot order` may start a store.
 */
export async function openWriter(db: string, { create }: { create: boolean }): Promise<Store> {
  if (isPostgresUrl(db)) return (await postgres()).openPostgresStore({ url: db });
  const path = create ? db : await existingFile(db);
  return (await sqlite()).openSqliteStore({ path });
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
