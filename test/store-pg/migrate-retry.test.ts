import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Kysely, PostgresDialect, sql, type Migration } from 'kysely';
import pg from 'pg';
import { applyMigrations } from '../../src/store/sql/migrate.ts';
import { dropSchema, findPostgres, runSql, schemaName } from './helpers.ts';

// Migrating one schema while another process drops another: Kysely's migrator reads PostgreSQL's
// catalog across schemas, and a schema dropped meanwhile fails that read with "schema … does not
// exist" (3F000) — seen in CI with two test files on one database. Such a failure naming another
// schema is looked at again; one naming this store's own schema, or any other error, is not.

const target = await findPostgres();

async function openSchema(t: TestContext): Promise<{ db: Kysely<unknown>; schema: string }> {
  const schema = schemaName();
  await runSql(target.url, `CREATE SCHEMA "${schema}"`);
  const pool = new pg.Pool({ connectionString: target.url, max: 1, options: `-c search_path=${schema}` });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  t.after(async () => {
    await db.destroy();
    await dropSchema(target.url, schema);
  });
  return { db, schema };
}

/** A migration that fails with PostgreSQL's own 3F000, naming `missing`, its first `failures` runs. */
function failingMigration(missing: string, failures: number): { migration: Migration; runs: () => number } {
  let runs = 0;
  return {
    runs: () => runs,
    migration: {
      up: async (db) => {
        runs += 1;
        if (runs <= failures) await sql`CREATE TABLE ${sql.id(missing, 'probe')} (a int)`.execute(db);
        await sql`CREATE TABLE probe (a int)`.execute(db);
      },
    },
  };
}

describe('postgres store: migrating beside a schema dropped elsewhere', { skip: target.skip }, () => {
  it('looks again when another schema vanished under the look-up', async (t) => {
    const { db, schema } = await openSchema(t);
    const gone = failingMigration(`${schemaName()}_dropped`, 2);
    await applyMigrations(db, 'test', { '0001_probe': gone.migration }, schema);
    assert.equal(gone.runs(), 3);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM probe`.execute(db);
    assert.deepEqual(rows, [{ n: 0 }]);
  });

  it('gives up after a few looks', async (t) => {
    const { db, schema } = await openSchema(t);
    const always = failingMigration(`${schemaName()}_dropped`, 100);
    await assert.rejects(
      applyMigrations(db, 'test', { '0001_probe': always.migration }, schema),
      /could not migrate database test \(migration 0001_probe\): schema "[^"]+_dropped" does not exist/,
    );
    assert.equal(always.runs(), 4);
  });

  it('never looks again when the schema missing is its own', async (t) => {
    const { db, schema } = await openSchema(t);
    let runs = 0;
    const own: Migration = {
      up: async (trx) => {
        runs += 1;
        // Inside the migration's transaction (rolled back with it): its own schema is gone.
        await sql`DROP SCHEMA ${sql.id(schema)} CASCADE`.execute(trx);
        await sql`CREATE TABLE ${sql.id(schema, 'probe')} (a int)`.execute(trx);
      },
    };
    await assert.rejects(applyMigrations(db, 'test', { '0001_probe': own }, schema), /does not exist/);
    assert.equal(runs, 1);
  });
});
