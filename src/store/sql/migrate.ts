import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { StoreUnavailableError } from './errors.ts';
import { MIGRATIONS } from './migrations.ts';

export const MIGRATION_TABLE = 'schema_migrations';

/**
 * Applies every pending migration, in name order, in one transaction on dialects whose adapter
 * declares transactional DDL: a failure keeps none of them. A database that records a migration
 * this build does not know (written by a newer btcbot) is refused. `schema` names where the
 * migration tables live on a database with schemas (PostgreSQL), so that another schema's tables
 * are not mistaken for this store's.
 */
export async function applyMigrations<DB>(
  db: Kysely<DB>,
  location: string,
  migrations: Readonly<Record<string, Migration>> = MIGRATIONS,
  schema?: string,
): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: `${MIGRATION_TABLE}_lock`,
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  let outcome = await migrator.migrateToLatest();
  // Kysely's migrator looks for its tables through PostgreSQL's catalog across every schema; a
  // schema another process drops meanwhile fails that look-up ("schema … does not exist", 3F000)
  // though nothing of ours is wrong. Nothing was migrated then (the look-up precedes the
  // transaction): look again, a few times.
  for (let attempt = 1; attempt < 4 && droppedElsewhere(outcome.error, schema); attempt += 1)
    outcome = await migrator.migrateToLatest();
  const { error, results } = outcome;
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const detail = error instanceof Error ? error.message : JSON.stringify(error);
  throw new Error(
    `could not migrate database ${location}${failed ? ` (migration ${failed})` : ''}: ${detail}. ` +
      'No pending migration was kept; if the database was written by a newer btcbot, use that version.',
    { cause: error },
  );
}

/** PostgreSQL's "schema does not exist" naming a schema other than this store's. */
function droppedElsewhere(error: unknown, schema: string | undefined): boolean {
  if (schema === undefined || !(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  const named = /schema "([^"]+)" does not exist/.exec(error.message)?.[1];
  return code === '3F000' && named !== undefined && named !== schema;
}

/**
 * Refuses a store whose applied migrations are not exactly this build's: what an opener that may
 * not migrate (a reader, the kill-switch control beside a running bot) checks before it reads.
 */
export async function assertCurrentSchema<DB>(db: Kysely<DB>, location: string): Promise<void> {
  let applied: string[];
  try {
    const { rows } = await sql<{
      name: string;
    }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)} ORDER BY name`.execute(db);
    applied = rows.map((r) => r.name);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(
      `${location} holds no btcbot store (${detail}): check --db, or run the bot on it once to create it`,
      { cause: error },
    );
  }
  const known = Object.keys(MIGRATIONS).sort();
  if (applied.join() !== known.join())
    throw new StoreUnavailableError(
      `database ${location} has schema [${applied.join(', ')}] but this build reads [${known.join(', ')}]: ` +
        'run the bot on it once to migrate it, or use the btcbot version that wrote it',
    );
}
