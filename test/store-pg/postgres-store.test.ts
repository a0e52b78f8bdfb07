import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import type { Store } from '../../src/ports/store.ts';
import {
  openPostgresStore,
  openPostgresStoreControl,
  openPostgresStoreReader,
} from '../../src/store/postgres/open.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { fillReport, manualClock, newOrder } from '../store/helpers.ts';
import { checkAfterFillIdentity, seedBeforeFillIdentity } from '../store/migration-fixtures.ts';
import { groupCommitSuite } from '../store/group-commit-suite.ts';
import { INDEXED_LOOKUPS, lookupSql } from '../store/query-plans.ts';
import { storeBehaviourSuite, type StoreBackend } from '../store/suite.ts';
import { dropSchema, findPostgres, runSql, schemaName } from './helpers.ts';

const target = await findPostgres();
const { url } = target;

/** A store on a fresh schema; the store is closed and the schema dropped after the test. */
async function freshStore(
  t: TestContext,
  clock: Clock = manualClock(),
): Promise<{ store: Store; schema: string }> {
  const schema = schemaName();
  const store = await openPostgresStore({ url, schema, clock }).catch(async (error: unknown) => {
    await dropSchema(url, schema);
    throw error;
  });
  t.after(async () => {
    await store.close();
    await dropSchema(url, schema);
  });
  return { store, schema };
}

function backdoorOn(t: TestContext, schema: string): Kysely<StoreSchema> {
  const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
  const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
  t.after(() => db.destroy());
  return db;
}

describe('postgres store', { skip: target.skip }, () => {
  const postgresBackend: StoreBackend = {
    name: 'postgres',
    async open(t, clock) {
      return (await freshStore(t, clock)).store;
    },
    async openWithBackdoor(t, clock) {
      const { store, schema } = await freshStore(t, clock);
      return { store, backdoor: backdoorOn(t, schema) };
    },
  };
  storeBehaviourSuite(postgresBackend);
  groupCommitSuite(postgresBackend);

  describe('postgres store: lookups on growing tables search their index', () => {
    for (const lookup of INDEXED_LOOKUPS)
      it(`${lookup.name}: ${lookup.index}`, async (t) => {
        const { backdoor } = await postgresBackend.openWithBackdoor(t);
        const lookupStatement = lookupSql(backdoor, lookup);
        // The generic plan (the one made without the values); sequential scans priced out, so an
        // empty table's scan does not win on cost: a plan that cannot use the index still scans.
        const lines = await backdoor.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          await sql`set local plan_cache_mode = force_generic_plan`.execute(trx);
          const slots = Array.from({ length: lookupStatement.values }, (_, i) => i);
          const types = slots.map(() => 'text').join(', ');
          await sql.raw(`prepare lookup_plan (${types}) as ${lookupStatement.sql}`).execute(trx);
          const values = slots.map((i) => `'v${i}'`).join(', ');
          const plan = await sql
            .raw<{ 'QUERY PLAN': string }>(`explain execute lookup_plan (${values})`)
            .execute(trx);
          await sql`deallocate lookup_plan`.execute(trx);
          return plan.rows.map((row) => row['QUERY PLAN']);
        });
        assert.ok(
          lines.some(
            (line) => line.includes(` using ${lookup.index} `) || line.includes(` on ${lookup.index}`),
          ),
          `expected a search of ${lookup.index}, got: ${lines.join(' | ')}`,
        );
      });
  });

  describe('postgres store: schema, migrations and decimals', () => {
    it('applies migrations to a fresh schema, once, and keeps everything across reopen', async (t) => {
      const schema = schemaName();
      t.after(() => dropSchema(url, schema));
      const first = await openPostgresStore({ url, schema, clock: manualClock() });
      const order = await first.journalOrder(newOrder());
      await first.setKillSwitch(true, 'halted before restart');
      await first.close();

      const migrations = async () =>
        (await runSql(url, `SELECT name FROM "${schema}".schema_migrations ORDER BY name`)).rows.map(
          (r: { name: string }) => r.name,
        );
      assert.deepEqual(await migrations(), Object.keys(MIGRATIONS).sort());

      const second = await openPostgresStore({ url, schema, clock: manualClock() });
      t.after(() => second.close());
      assert.deepEqual(await migrations(), Object.keys(MIGRATIONS).sort());
      assert.deepEqual(await second.order(order.id), order);
      assert.equal((await second.killSwitch()).on, true);
    });

    it('looks orders up by exchange id through the partial index 0008 makes, in a generic plan too', async (t) => {
      const { store, schema } = await freshStore(t);
      await store.journalOrder(newOrder());
      const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await client.connect();
      t.after(() => client.end());
      await client.query('SET enable_seqscan = off');
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query('PREPARE by_exchange_id(text) AS SELECT * FROM orders WHERE exchange_order_id = $1');
      await client.query(
        'PREPARE by_exchange_ids(text, text) AS SELECT * FROM orders WHERE exchange_order_id IN ($1, $2)',
      );
      const plan = async (statement: string): Promise<string> =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statement}`)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      assert.match(await plan("EXECUTE by_exchange_id('1')"), /orders_exchange_order_id/);
      assert.match(await plan("EXECUTE by_exchange_ids('1', '2')"), /orders_exchange_order_id/);
      const definition = await client.query<{ indexdef: string }>(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'orders_exchange_order_id'",
        [schema],
      );
      assert.match(
        definition.rows[0]?.indexdef ?? '',
        /UNIQUE INDEX .* WHERE \(exchange_order_id IS NOT NULL\)/,
      );
      const intent = await client.query(
        "SELECT 1 FROM pg_indexes WHERE schemaname = $1 AND indexname = 'orders_intent_id'",
        [schema],
      );
      assert.equal(intent.rows.length, 0);
    });

    it('keeps the fills of a schema at the previous version through 0003_fill_identity', async (t) => {
      const schema = schemaName();
      t.after(() => dropSchema(url, schema));
      await runSql(url, `CREATE SCHEMA "${schema}"`);
      const pool = new pg.Pool({ connectionString: url, max: 1, options: `-c search_path=${schema}` });
      const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
      await seedBeforeFillIdentity(db, schema, schema);
      await db.destroy();

      const store = await openPostgresStore({ url, schema, clock: manualClock() });
      t.after(() => store.close());
      await checkAfterFillIdentity(store);
      const { rows } = await runSql(
        url,
        `SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'fills' ORDER BY indexname`,
        [schema],
      );
      assert.deepEqual(
        rows.map((r: { indexname: string }) => r.indexname),
        [
          'fills_exchange_order_id',
          'fills_order_id',
          'fills_pk',
          'fills_recorded_at',
          'fills_symbol_timestamp',
        ],
      );
    });

    it('round-trips decimals exactly, stored as TEXT, and times as BIGINT read back as numbers', async (t) => {
      const { store, schema } = await freshStore(t);
      const values = ['0.00000001', '123456789012.12345678', '0.1', '99999999999999999999.99999999'];
      for (const [i, v] of values.entries()) {
        const order = await store.journalOrder(
          newOrder({ quantity: new Dec(v), price: new Dec(v), stopPrice: new Dec(v), method: 'stoplimit' }),
        );
        const stored = await store.order(order.id);
        assert.deepEqual(
          [stored?.quantity.toFixed(), stored?.price?.toFixed(), stored?.stopPrice?.toFixed()],
          [v, v, v],
        );
        assert.equal(typeof stored?.createdAt, 'number');
        await store.recordFill(
          fillReport({ tradeId: `d${i}`, exchangeOrderId: `x${i}`, price: new Dec(v), quantity: new Dec(v) }),
          'poll',
        );
        const [fill] = (await store.fills()).filter((f) => f.tradeId === `d${i}`);
        assert.deepEqual([fill?.price.toFixed(), fill?.quantity.toFixed()], [v, v]);
      }
      const { rows } = await runSql(
        url,
        `SELECT column_name, data_type FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'orders' AND column_name IN ('quantity', 'price', 'created_at')
          ORDER BY column_name`,
        [schema],
      );
      assert.deepEqual(
        rows.map((r: { column_name: string; data_type: string }) => [r.column_name, r.data_type]),
        [
          ['created_at', 'bigint'],
          ['price', 'text'],
          ['quantity', 'text'],
        ],
      );
    });

    it('keeps stores in two schemas of one database apart, both open for writing', async (t) => {
      const a = await freshStore(t);
      const b = await freshStore(t);
      const order = await a.store.journalOrder(newOrder({ clientOrderId: 'same-id' }));
      const other = await b.store.journalOrder(newOrder({ clientOrderId: 'same-id' }));
      assert.notEqual(order.id, other.id);
      assert.equal(await b.store.order(order.id), undefined);
      assert.deepEqual(
        (await a.store.orders()).map((o) => o.id),
        [order.id],
      );
    });

    it('opens a reader and the kill switch beside the running writer, without its lock', async (t) => {
      const clock = manualClock();
      const { store: writer, schema } = await freshStore(t, clock);
      const order = await writer.journalOrder(newOrder());
      const reader = await openPostgresStoreReader({ url, schema, clock });
      t.after(() => reader.close());
      const control = await openPostgresStoreControl({ url, schema, clock });
      t.after(() => control.close());
      assert.deepEqual(await reader.order(order.id), order);
      assert.ok(!('journalOrder' in control) && !('setEscalation' in control), 'the control writes more');

      await control.setKillSwitch(true, 'operator, beside the bot');
      assert.deepEqual(await writer.killSwitch(), {
        on: true,
        reason: 'operator, beside the bot',
        at: clock.now(),
      });
      await writer.setEscalation('HALTED', 'loss limit');
      assert.equal((await reader.escalation()).level, 'HALTED');
      await control.clearKillSwitch('checked');
      assert.deepEqual(
        [(await writer.killSwitch()).on, (await writer.escalation()).level],
        [false, 'NORMAL'],
      );
      // The reader's sessions are read-only in PostgreSQL itself, whatever the object offers.
      await assert.rejects((reader as Store).setKillSwitch(true, 'sneaked in'), /read-only transaction/);
      assert.equal((await writer.killSwitch()).on, false);
    });

    it('refuses to read or control a schema that holds no store, or one of another version', async (t) => {
      const empty = schemaName();
      await assert.rejects(openPostgresStoreReader({ url, schema: empty }), /holds no btcbot store/);
      await assert.rejects(openPostgresStoreControl({ url, schema: empty }), /holds no btcbot store/);
      const { schema } = await freshStore(t);
      await runSql(
        url,
        `INSERT INTO "${schema}".schema_migrations (name, timestamp) VALUES ('0003_future', 'x')`,
      );
      await assert.rejects(openPostgresStoreReader({ url, schema }), /0003_future/);
      await assert.rejects(openPostgresStoreControl({ url, schema }), /0003_future/);
    });

    it('refuses a schema holding a migration this build does not know', async (t) => {
      const schema = schemaName();
      t.after(() => dropSchema(url, schema));
      const first = await openPostgresStore({ url, schema });
      await first.close();
      await runSql(
        url,
        `INSERT INTO "${schema}".schema_migrations (name, timestamp) VALUES ('0002_future', 'x')`,
      );
      await assert.rejects(openPostgresStore({ url, schema }), /could not migrate database .*0002_future/);
    });

    it('refuses a schema name that is not a plain identifier, naming the setting', async () => {
      await assert.rejects(openPostgresStore({ url, schema: 'bot"; DROP TABLE x' }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.setting, 'PostgreSQL schema');
        return true;
      });
    });

    it('names the server it could not reach, and never the password', async () => {
      const secret = 'hunter2-sekret';
      await assert.rejects(
        openPostgresStore({ url: `postgres://postgres:${secret}@127.0.0.1:1/test`, schema: 'x' }),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(
            error.message,
            /could not connect to PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:1\/test/,
          );
          assert.ok(!error.message.includes(secret), error.message);
          return true;
        },
      );
      await assert.rejects(
        openPostgresStoreReader({ url: `postgres://postgres:${secret}@127.0.0.1:1/test`, schema: 'x' }),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.match(
            error.message,
            /could not connect to PostgreSQL store postgres:\/\/postgres@127\.0\.0\.1:1\/test/,
          );
          assert.ok(!error.message.includes(secret), error.message);
          return true;
        },
      );
    });
  });
});
