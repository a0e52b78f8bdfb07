import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql, type Migration } from 'kysely';
import { applyMigrations } from '../../src/store/sql/migrate.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import { sqliteDialect } from '../../src/store/sqlite/dialect.ts';
import { storeMigratedFromBeforeFillIdentity } from './migrated-store.ts';

function tables(raw: Database.Database): string[] {
  return raw
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[];
}

describe('store migrations', () => {
  it('keep none of a pending batch when one of its migrations fails', async (t) => {
    const raw = new Database(':memory:');
    const db = new Kysely<unknown>({ dialect: sqliteDialect(raw) });
    t.after(() => db.destroy());
    const broken: Migration = {
      async up(d: Kysely<unknown>) {
        await d.schema.createTable('half_done').addColumn('x', 'text').execute();
        await sql`THIS IS NOT SQL`.execute(d);
      },
    };
    await assert.rejects(
      applyMigrations(db, 'test.db', { ...MIGRATIONS, '9999_broken': broken }),
      /could not migrate database test\.db \(migration 9999_broken\)/,
    );
    const left = tables(raw);
    assert.ok(!left.includes('orders'), `the earlier migration of the batch was kept: ${left.join(', ')}`);
    assert.ok(!left.includes('half_done'));
    assert.equal(raw.prepare('SELECT count(*) FROM schema_migrations').pluck().get(), 0);

    await applyMigrations(db, 'test.db');
    assert.ok(tables(raw).includes('orders'), 'the intact list still applies afterwards');
  });
});

describe('store migration 0003_fill_identity', () => {
  it('keeps the fills of a store at the previous version, and keys them by (trade id, order id)', async (t) => {
    const { path } = await storeMigratedFromBeforeFillIdentity(t, { foreignKeys: true });
    const check = new Database(path, { readonly: true });
    t.after(() => check.close());
    assert.deepEqual(
      check.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all(),
      Object.keys(MIGRATIONS).sort(),
    );
    const indexes = check
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'fills' AND sql IS NOT NULL",
      )
      .pluck()
      .all() as string[];
    assert.deepEqual(indexes.sort(), [
      'fills_exchange_order_id',
      'fills_order_id',
      'fills_recorded_at',
      'fills_symbol_timestamp',
    ]);
    assert.ok(!tables(check).includes('fills_next'));
  });
});
