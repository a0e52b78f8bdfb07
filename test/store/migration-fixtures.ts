import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { Dec } from '../../src/domain/decimal.ts';
import type { Store } from '../../src/ports/store.ts';
import { applyMigrations } from '../../src/store/sql/migrate.ts';
import { MIGRATIONS } from '../../src/store/sql/migrations.ts';
import type { FillsTable, StoreSchema } from '../../src/store/sql/schema.ts';
import { fillReport } from './helpers.ts';

// A store as the release before 0003_fill_identity left it (fills keyed by trade id alone), with
// an order and its fills written row by row, for the SQLite and the PostgreSQL migration tests.

export const BEFORE_FILL_IDENTITY: Readonly<Record<string, (typeof MIGRATIONS)[string]>> = Object.fromEntries(
  Object.entries(MIGRATIONS).filter(([name]) => name < '0003_fill_identity'),
);

const AT = 1_700_000_000_000;

const SEEDED_FILLS: readonly FillsTable[] = [
  {
    trade_id: '9007199254740993',
    order_id: 'o-1',
    exchange_order_id: '5000',
    client_order_id: 'bb-1',
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    side: 'buy',
    price: '2000000',
    quantity: '0.25',
    fee: '1.2',
    tax: '0.216',
    fee_asset: 'TRY',
    timestamp: AT + 10,
    source: 'stream',
    recorded_at: AT + 11,
  },
  {
    trade_id: '9007199254740994',
    order_id: null,
    exchange_order_id: '5001',
    client_order_id: 'someone-else',
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    side: 'sell',
    price: '2000001',
    quantity: '0.1',
    fee: '0.5',
    tax: '0.09',
    fee_asset: 'TRY',
    timestamp: AT + 20,
    source: 'poll',
    recorded_at: AT + 21,
  },
];

/** Migrates `db` to the version before fill identity and writes an order with two fills. */
export async function seedBeforeFillIdentity(
  db: Kysely<StoreSchema>,
  location: string,
  schema?: string,
): Promise<void> {
  await applyMigrations(db, location, BEFORE_FILL_IDENTITY, schema);
  await db
    .insertInto('orders')
    .values({
      id: 'o-1',
      client_order_id: 'bb-1',
      exchange_order_id: '5000',
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      price: '2000000',
      stop_price: null,
      quantity: '1',
      filled_quantity: '0.25',
      filled_quote: '500000',
      average_price: '2000000',
      state: 'PARTIALLY_FILLED',
      state_reason: null,
      intent_id: 'intent-1',
      strategy: 'test',
      replace_of: null,
      origin: 'local',
      created_at: AT,
      updated_at: AT + 11,
      version: 4,
    })
    .execute();
  await db.insertInto('fills').values(SEEDED_FILLS).execute();
}

/** After the migration: every seeded fill is there, unchanged, and fills are keyed by (trade id, order id). */
export async function checkAfterFillIdentity(store: Store): Promise<void> {
  const fills = await store.fills();
  assert.deepEqual(
    fills.map((f) => [
      f.tradeId,
      f.orderId,
      f.exchangeOrderId,
      f.clientOrderId,
      f.side,
      f.price.toFixed(),
      f.quantity.toFixed(),
      f.fee.toFixed(),
      f.tax.toFixed(),
      f.timestamp,
      f.source,
      f.recordedAt,
    ]),
    SEEDED_FILLS.map((r) => [
      r.trade_id,
      r.order_id,
      r.exchange_order_id,
      r.client_order_id,
      r.side,
      r.price,
      r.quantity,
      r.fee,
      r.tax,
      r.timestamp,
      r.source,
      r.recorded_at,
    ]),
  );
  assert.equal((await store.order('o-1'))?.filledQuantity.toFixed(), '0.25');
  assert.equal((await store.fills({ orderId: 'o-1' })).length, 1, 'the order index still finds its fill');

  // The other side of the first trade (a self-match): a second fill under the same trade id.
  const seeded = SEEDED_FILLS[0];
  assert.ok(seeded);
  const otherSide = fillReport({
    tradeId: seeded.trade_id,
    exchangeOrderId: '5002',
    side: 'sell',
    quantity: new Dec('0.25'),
  });
  const first = await store.recordFill(otherSide, 'poll');
  assert.ok(first.ok && first.isNew, 'the other side of a stored trade id is a new fill');
  const again = await store.recordFill(otherSide, 'reconcile');
  assert.ok(again.ok && !again.isNew, 'the same (trade id, order id) again is a duplicate');
  assert.equal((await store.fills()).length, 3);
}
