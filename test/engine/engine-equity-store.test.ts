import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { EquitySnapshot, Store } from '../../src/ports/store.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { openSqliteStore, openSqliteStoreReader } from '../../src/store/sqlite/open.ts';
import { findPostgres, dropSchema, schemaName } from '../store-pg/helpers.ts';
import { newOrder, tempDir } from '../store/helpers.ts';

// The equity curve the engine keeps, on both store backends, and the fresh session database of
// paper mode.

function snapshot(at: number, equity: string, peak = equity): EquitySnapshot {
  return {
    at,
    currency: 'TRY',
    equity: new Dec(equity),
    cash: new Dec('1000000.12345678'),
    realised: new Dec('-12.5'),
    unrealised: new Dec('3.25'),
    fees: new Dec('0.00000001'),
    peakEquity: new Dec(peak),
  };
}

const text = (s: EquitySnapshot | undefined) =>
  s && {
    ...s,
    equity: s.equity.toFixed(),
    cash: s.cash.toFixed(),
    realised: s.realised.toFixed(),
    unrealised: s.unrealised.toFixed(),
    fees: s.fees.toFixed(),
    peakEquity: s.peakEquity.toFixed(),
  };

async function equityBehaviour(store: Store): Promise<void> {
  assert.equal(await store.lastEquitySnapshot(), undefined);
  await store.recordEquitySnapshot(snapshot(1_000, '3000000.5'));
  await store.recordEquitySnapshot(snapshot(3_000, '2900000', '3000000.5'));
  await store.recordEquitySnapshot(snapshot(2_000, '3100000'));
  await store.recordEquitySnapshot(snapshot(2_000, '3000001')); // the same millisecond: replaced
  assert.deepEqual(
    (await store.equitySnapshots()).map((s) => [s.at, s.equity.toFixed()]),
    [
      [1_000, '3000000.5'],
      [2_000, '3000001'],
      [3_000, '2900000'],
    ],
  );
  assert.deepEqual(
    (await store.equitySnapshots({ since: 1_500, limit: 1 })).map((s) => s.at),
    [2_000],
  );
  assert.deepEqual(text(await store.lastEquitySnapshot()), text(snapshot(3_000, '2900000', '3000000.5')));
}

describe('equity snapshots in the store', () => {
  it('sqlite: keeps the curve exactly, oldest first, one point per millisecond', async (t) => {
    const store = await openSqliteStore({ path: join(tempDir(t), 'equity.db') });
    t.after(() => store.close());
    await equityBehaviour(store);
  });

  it('postgres: the same', async (t: TestContext) => {
    const target = await findPostgres();
    if (target.skip) {
      t.skip(target.skip);
      return;
    }
    const schema = schemaName();
    t.after(() => dropSchema(target.url, schema));
    const store = await openPostgresStore({ url: target.url, schema });
    t.after(() => store.close());
    await equityBehaviour(store);
  });

  it('a fresh session database starts empty, once the lock is held, and reads back with the reader', async (t) => {
    const path = join(tempDir(t), 'bot.paper.db');
    const first = await openSqliteStore({ path, fresh: true });
    await first.journalOrder(newOrder());
    await first.recordEquitySnapshot(snapshot(1, '1'));
    // A second writer is refused before anything is deleted.
    await assert.rejects(openSqliteStore({ path, fresh: true }), /already open for writing/);
    assert.equal((await first.orders()).length, 1);
    await first.close();

    const reader = await openSqliteStoreReader({ path });
    assert.equal((await reader.equitySnapshots()).length, 1);
    await reader.close();

    const second = await openSqliteStore({ path, fresh: true });
    t.after(() => second.close());
    assert.deepEqual(await second.orders(), []);
    assert.deepEqual(await second.equitySnapshots(), []);
    assert.ok(existsSync(path));
  });
});
