import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newOrderId } from '../../src/store/sql/order-writes.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, newOrder } from './helpers.ts';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('order ids', () => {
  it('are UUIDs of version 7 that sort by the millisecond they were made in', () => {
    const at = 1_764_000_000_000;
    const ids = [newOrderId(at), newOrderId(at + 1), newOrderId(at + 60_000), newOrderId(at + 86_400_000)];
    for (const id of ids) assert.match(id, UUID_V7);
    assert.deepEqual([...ids].sort(), ids);
    const time = at.toString(16).padStart(12, '0');
    assert.equal(newOrderId(at).slice(0, 13), `${time.slice(0, 8)}-${time.slice(8)}`);
    assert.equal(
      new Set(Array.from({ length: 1000 }, () => newOrderId(at))).size,
      1000,
      'unique within a millisecond',
    );
  });

  it('of orders journaled one after another sort in journal order (the journal appends to its b-trees)', async (t) => {
    const store = await openSqliteStore({ path: ':memory:', clock: manualClock() });
    t.after(() => store.close());
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      ids.push((await store.journalOrder(newOrder(), { sent: true })).id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    assert.deepEqual([...ids].sort(), ids);
  });
});
