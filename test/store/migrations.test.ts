import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, sql, type Migration } from 'kysely';
import { applyMigrations } from '../../src/store/sql/migrate.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import { join } from 'node:path';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { sqliteDialect } from '../../src/store/sqlite/dialect.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, tempDir } from './helpers.ts';
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

describe('store migration 0008_journal_indexes', () => {
  /** The orders row of an order journaled (and, with an exchange id, acked) before 0008. */
  function row(id: string, clientOrderId: string, exchangeOrderId: string | null) {
    return {
      id,
      client_order_id: clientOrderId,
      exchange_order_id: exchangeOrderId,
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      price: '2000000',
      stop_price: null,
      quantity: '1',
      quote_amount: null,
      lease_epoch: null,
      filled_quantity: '0',
      filled_quote: '0',
      average_price: null,
      state: exchangeOrderId === null ? 'SUBMITTED' : 'OPEN',
      state_reason: null,
      intent_id: 'slot-1',
      strategy: 'test',
      replace_of: null,
      origin: 'local',
      created_at: 1,
      updated_at: 1,
      version: exchangeOrderId === null ? 2 : 3,
    };
  }

  it('keeps the orders of a store at 0007, drops the unused intent index, and still finds orders by every id', async (t) => {
    const path = join(tempDir(t), 'at-0007.db');
    const raw = new Database(path);
    const old = new Kysely<StoreSchema>({ dialect: sqliteDialect(raw) });
    await applyMigrations(
      old,
      path,
      Object.fromEntries(Object.entries(MIGRATIONS).filter(([name]) => name < '0008')),
    );
    await old
      .insertInto('orders')
      .values([
        row('8f0c0a52-0000-4000-8000-000000000001', 't-acked', '9001'),
        row('8f0c0a52-0000-4000-8000-000000000002', 't-sent', null),
      ])
      .execute();
    await old.destroy();

    const store = await openSqliteStore({ path, clock: manualClock() });
    t.after(() => store.close());
    assert.equal((await store.orderByExchangeId('9001'))?.clientOrderId, 't-acked');
    assert.equal((await store.orderByClientId('t-sent'))?.exchangeOrderId, null);
    assert.deepEqual(
      (await store.ordersByIds({ exchangeOrderIds: ['9001'], clientOrderIds: ['t-sent'] }))
        .map((o) => o.clientOrderId)
        .sort(),
      ['t-acked', 't-sent'],
    );
    assert.equal((await store.activeOrders('BTCTRY')).length, 2);
    // Still one order per exchange id.
    const sent = await store.orderByClientId('t-sent');
    assert.ok(sent);
    const clash = await store.applyEvent(sent.id, { type: 'acked', exchangeOrderId: '9001' });
    assert.equal(clash.ok, false);

    const check = new Database(path, { readonly: true });
    t.after(() => check.close());
    const indexes = check
      .prepare(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL",
      )
      .all() as { name: string; sql: string }[];
    assert.deepEqual(indexes.map((i) => i.name).sort(), [
      'orders_client_order_id',
      'orders_created_at',
      'orders_exchange_order_id',
      'orders_state',
    ]);
    assert.match(
      indexes.find((i) => i.name === 'orders_exchange_order_id')?.sql ?? '',
      /unique index .* where "exchange_order_id" is not null/i,
    );
  });

  it('looks orders up by exchange id through the partial index (a journal write does not touch it)', async (t) => {
    const path = join(tempDir(t), 'plans.db');
    const store = await openSqliteStore({ path, clock: manualClock() });
    await store.close();
    const check = new Database(path, { readonly: true });
    t.after(() => check.close());
    const plan = (query: string, ...ids: string[]): string =>
      (check.prepare(`EXPLAIN QUERY PLAN ${query}`).all(...ids) as { detail: string }[])
        .map((r) => r.detail)
        .join('; ');
    assert.match(
      plan('SELECT * FROM orders WHERE exchange_order_id = ?', '1'),
      /USING INDEX orders_exchange_order_id/,
    );
    assert.match(
      plan('SELECT * FROM orders WHERE exchange_order_id IN (?, ?)', '1', '2'),
      /USING INDEX orders_exchange_order_id/,
    );
  });
});
