import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import type { Store } from '../../src/ports/store.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { sqliteDialect } from '../../src/store/sqlite/dialect.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, tempDir } from './helpers.ts';
import { checkAfterFillIdentity, seedBeforeFillIdentity } from './migration-fixtures.ts';

/**
 * A store file seeded at the version before 0003_fill_identity (with foreign keys enforced while
 * seeding, if asked), then opened, which migrates it, and checked to have kept its orders and fills.
 * The store is closed after the test.
 */
export async function storeMigratedFromBeforeFillIdentity(
  t: { after(fn: () => unknown): void },
  options: { foreignKeys?: boolean } = {},
): Promise<{ path: string; store: Store }> {
  const path = join(tempDir(t), 'old.db');
  const raw = new Database(path);
  if (options.foreignKeys === true) raw.pragma('foreign_keys = ON');
  const db = new Kysely<StoreSchema>({ dialect: sqliteDialect(raw) });
  await seedBeforeFillIdentity(db, path);
  await db.destroy();
  const store = await openSqliteStore({ path, clock: manualClock() });
  t.after(() => store.close());
  await checkAfterFillIdentity(store);
  return { path, store };
}
