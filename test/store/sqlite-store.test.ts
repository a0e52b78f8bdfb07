import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely } from 'kysely';
import { Dec } from '../../src/domain/decimal.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import { sqliteDialect } from '../../src/store/sqlite/dialect.ts';
import {
  openSqliteStore,
  openSqliteStoreControl,
  openSqliteStoreReader,
} from '../../src/store/sqlite/open.ts';
import { fillReport, manualClock, newOrder, tempDir } from './helpers.ts';
import { groupCommitSuite } from './group-commit-suite.ts';
import { INDEXED_LOOKUPS, lookupSql } from './query-plans.ts';
import { storeBehaviourSuite, type StoreBackend } from './suite.ts';

const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  async open(t, clock = manualClock()) {
    const store = await openSqliteStore({ path: ':memory:', clock });
    t.after(() => store.close());
    return store;
  },
  async openWithBackdoor(t, clock = manualClock()) {
    const path = join(tempDir(t), 'backdoor.db');
    const store = await openSqliteStore({ path, clock });
    t.after(() => store.close());
    const backdoor = new Kysely<StoreSchema>({ dialect: sqliteDialect(new Database(path)) });
    t.after(() => backdoor.destroy());
    return { store, backdoor };
  },
};

storeBehaviourSuite(sqliteBackend);
groupCommitSuite(sqliteBackend);

describe('sqlite store: lookups on growing tables search their index', () => {
  for (const lookup of INDEXED_LOOKUPS)
    it(`${lookup.name}: ${lookup.index}`, async (t) => {
      const { backdoor } = await sqliteBackend.openWithBackdoor(t);
      // Every value bound as null: the plan SQLite keeps for the prepared statement must not
      // depend on the values (a plan that needs them is made again on every run).
      const { sql, values } = lookupSql(backdoor, lookup);
      const plan = await backdoor.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`explain query plan ${sql}`, Array<null>(values).fill(null)),
      );
      const details = plan.rows.map((row) => row.detail);
      assert.ok(
        details.some((detail) => detail.includes(`USING INDEX ${lookup.index} `)),
        `expected a search of ${lookup.index}, got: ${details.join('; ')}`,
      );
    });
});

describe('sqlite store: file, migrations and decimals', () => {
  it('applies migrations to a fresh database, once, and keeps everything across reopen', async (t) => {
    const path = join(tempDir(t), 'nested', 'bot.db');
    const first = await openSqliteStore({ path, clock: manualClock() });
    const order = await first.journalOrder(newOrder());
    await first.setKillSwitch(true, 'halted before restart');
    await first.close();

    // Every migration this build has (0004 and later come from other features), in order, once.
    const ALL_MIGRATIONS = Object.keys(MIGRATIONS).sort();
    assert.ok(ALL_MIGRATIONS.includes('0003_fill_identity'));
    const migrations = () => {
      const raw = new Database(path, { readonly: true });
      try {
        return raw.prepare('SELECT name FROM schema_migrations ORDER BY name').pluck().all();
      } finally {
        raw.close();
      }
    };
    assert.deepEqual(migrations(), ALL_MIGRATIONS);

    const second = await openSqliteStore({ path, clock: manualClock() });
    t.after(() => second.close());
    assert.deepEqual(migrations(), ALL_MIGRATIONS);
    assert.deepEqual(await second.order(order.id), order);
    assert.equal((await second.killSwitch()).on, true);

    const raw = new Database(path, { readonly: true });
    t.after(() => raw.close());
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
  });

  it('round-trips decimals exactly, stored as TEXT', async (t) => {
    const path = join(tempDir(t), 'decimals.db');
    const values = ['0.00000001', '123456789012.12345678', '0.1', '99999999999999999999.99999999'];
    const first = await openSqliteStore({ path, clock: manualClock() });
    const ids: string[] = [];
    for (const [i, v] of values.entries()) {
      const order = await first.journalOrder(
        newOrder({ quantity: new Dec(v), price: new Dec(v), stopPrice: new Dec(v), method: 'stoplimit' }),
      );
      ids.push(order.id);
      await first.recordFill(
        fillReport({
          tradeId: `d${i}`,
          exchangeOrderId: `x${i}`,
          price: new Dec(v),
          quantity: new Dec(v),
          fee: new Dec(v),
        }),
        'poll',
      );
    }
    await first.close();

    const store = await openSqliteStore({ path, clock: manualClock() });
    t.after(() => store.close());
    for (const [i, v] of values.entries()) {
      const order = await store.order(ids[i] ?? '');
      assert.deepEqual(
        [order?.quantity.toFixed(), order?.price?.toFixed(), order?.stopPrice?.toFixed()],
        [v, v, v],
      );
      const [fill] = await store
        .fills({ symbol: 'BTCTRY', since: 0 })
        .then((fs) => fs.filter((f) => f.tradeId === `d${i}`));
      assert.deepEqual([fill?.price.toFixed(), fill?.quantity.toFixed(), fill?.fee.toFixed()], [v, v, v]);
    }
    const raw = new Database(path, { readonly: true });
    t.after(() => raw.close());
    const types = raw.prepare('SELECT DISTINCT typeof(quantity), typeof(price) FROM orders').raw().all();
    assert.deepEqual(types, [['text', 'text']]);
  });

  it('lets a reader open the database beside the running writer', async (t) => {
    const path = join(tempDir(t), 'shared.db');
    const writer = await openSqliteStore({ path, clock: manualClock() });
    t.after(() => writer.close());
    const order = await writer.journalOrder(newOrder());
    const reader = await openSqliteStoreReader({ path });
    t.after(() => reader.close());
    assert.deepEqual(await reader.order(order.id), order);
  });

  it('opens the kill switch beside the running writer: only it is writable, and the writer sees each change', async (t) => {
    const path = join(tempDir(t), 'control.db');
    const clock = manualClock();
    const writer = await openSqliteStore({ path, clock });
    t.after(() => writer.close());
    const control = await openSqliteStoreControl({ path, clock });
    t.after(() => control.close());
    assert.ok(!('journalOrder' in control) && !('setEscalation' in control), 'the control writes more');

    await control.setKillSwitch(true, 'operator, beside the bot');
    assert.deepEqual(await writer.killSwitch(), {
      on: true,
      reason: 'operator, beside the bot',
      at: clock.now(),
    });
    await writer.setEscalation('HALTED', 'loss limit');
    assert.equal((await control.escalation()).level, 'HALTED');
    await control.clearKillSwitch('checked');
    assert.deepEqual([(await writer.killSwitch()).on, (await writer.escalation()).level], [false, 'NORMAL']);
    const order = await writer.journalOrder(newOrder());
    assert.equal((await writer.order(order.id))?.state, 'PENDING_SUBMIT');
  });

  it('a writer transaction that has read keeps its right to write when another connection writes', async (t) => {
    const path = join(tempDir(t), 'immediate.db');
    await (await openSqliteStore({ path, clock: manualClock() })).close();
    const db = new Kysely<StoreSchema>({ dialect: sqliteDialect(new Database(path)) });
    t.after(() => db.destroy());
    // Another process: with no busy timeout, so that it reports being made to wait instead of waiting.
    const other = new Database(path, { timeout: 0 });
    t.after(() => other.close());
    const write = (key: string) =>
      other.prepare('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, 1)').run(key, '{}');
    await db.transaction().execute(async (trx) => {
      await trx.selectFrom('settings').selectAll().execute();
      // With a deferred BEGIN this write would go in, and this transaction's own write below would
      // then fail at once (SQLITE_BUSY_SNAPSHOT) instead of waiting.
      assert.throws(() => write('other'), { code: 'SQLITE_BUSY' });
      await trx.insertInto('settings').values({ key: 'mine', value: '{}', updated_at: 1 }).execute();
    });
    write('other');
    assert.deepEqual(
      (await db.selectFrom('settings').select('key').orderBy('key').execute()).map((r) => r.key),
      ['mine', 'other'],
    );
  });

  it('refuses to read a database whose schema this build does not know', async (t) => {
    const path = join(tempDir(t), 'newer.db');
    const writer = await openSqliteStore({ path, clock: manualClock() });
    await writer.close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_migrations (name, timestamp) VALUES ('0002_future', 'x')").run();
    raw.close();
    await assert.rejects(openSqliteStoreReader({ path }), /0002_future/);
    await assert.rejects(openSqliteStoreControl({ path }), /0002_future/);
    await assert.rejects(openSqliteStore({ path }), /could not migrate database/);
  });
});
