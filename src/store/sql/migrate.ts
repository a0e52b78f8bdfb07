import { Migrator, type Kysely, type Migration } from 'kysely';
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
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((r) => r.status === 'Error')?.migrationName;
  const detail = error instanceof Error ? error.message : JSON.stringify(error);
  throw new Error(
    `could not migrate database ${location}${failed ? ` (migration ${failed})` : ''}: ${detail}. ` +
      'No pending migration was kept; if the database was written by a newer btcbot, use that version.',
    { cause: error },
  );
}
