import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql, type Migration } from 'kysely';
import { applyMigrations } from '../../src/store/sql/migrate.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import { sqliteDialect } from '../../src/store/sqlite/dialect.ts';

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
