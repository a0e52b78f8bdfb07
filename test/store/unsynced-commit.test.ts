import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql, type Transaction } from 'kysely';
import { GroupCommit } from '../../src/store/sql/group-commit.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { sqliteDialect, sqliteUnsyncedCommit } from '../../src/store/sqlite/dialect.ts';
import { tempDir } from './helpers.ts';

// SQLite's side of unsynced commits: a write asked for as not needing the disk runs at
// synchronous=NORMAL, and FULL is back before anything else runs, whether that write committed or
// failed — a durable write must never inherit the relaxed level.

const FULL = 2;
const NORMAL = 1;

async function level(db: Kysely<StoreSchema> | Transaction<StoreSchema>): Promise<number> {
  const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
  return rows[0]?.synchronous ?? NaN;
}

describe('SQLite unsynced commits', () => {
  it('relaxes the sync for an unsynced write only, and restores it after a failure too', async (t) => {
    const sqlite = new Database(join(tempDir(t), 'sync.db'));
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.exec('create table t (a integer)');
    const db = new Kysely<StoreSchema>({ dialect: sqliteDialect(sqlite) });
    t.after(() => db.destroy());
    const writer = new GroupCommit(db, sqliteUnsyncedCommit);
    const insert = (trx: Transaction<StoreSchema>) => sql`insert into t values (1)`.execute(trx);

    const seen: number[] = [];
    await writer.run(
      async (trx) => {
        seen.push(await level(trx));
        await insert(trx);
      },
      { durable: false },
    );
    assert.deepEqual(seen, [NORMAL]);
    assert.equal(await level(db), FULL);

    await assert.rejects(
      writer.run(
        async (trx) => {
          await insert(trx);
          throw new Error('refused inside an unsynced write');
        },
        { durable: false },
      ),
      /refused inside an unsynced write/,
    );
    assert.equal(await level(db), FULL, 'a failed unsynced write left the relaxed level behind');

    await writer.run(async (trx) => {
      seen.push(await level(trx));
      await insert(trx);
    });
    assert.deepEqual(seen, [NORMAL, FULL]);
    // The failed write was rolled back, the two others committed.
    assert.deepEqual(sqlite.prepare('select count(*) as n from t').get(), { n: 2 });
    assert.deepEqual(writer.stats().syncedCommits, 1);
  });
});
