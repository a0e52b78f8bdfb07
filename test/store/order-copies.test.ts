import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { NewReplace, Store } from '../../src/ports/store.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

// A store's writes take an order from the copy its last commit left (src/store/sql/recent-orders.ts)
// when the row is still at the copy's version, and read the row otherwise. Two cluster-mode stores
// on one file let one move a row behind the other's copy: every answer must come from the row.

const NEW = {
  clientOrderId: 'copy-1',
  symbol: 'BTCTRY',
  side: 'buy' as const,
  method: 'limit' as const,
  price: new Dec(100),
  quantity: new Dec(1),
};

async function pair(t: { after(fn: () => Promise<void> | void): void }): Promise<[Store, Store]> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-order-copies-'));
  const path = join(dir, 'cluster.db');
  const ours = await openSqliteStore({ path, cluster: { holder: 'p1' } });
  const peer = await openSqliteStore({ path, cluster: { holder: 'p2' } });
  t.after(async () => {
    await ours.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const leases = leasesOf(ours);
  assert.ok(leases);
  assert.equal((await leases.acquireLease('BTCTRY', 60_000)).ok, true);
  return [ours, peer];
}

/** An order journaled, sent and acked by `ours`: its copy there is at version 3, OPEN. */
async function openOrder(ours: Store): Promise<string> {
  const order = await ours.journalOrder(NEW, { sent: true });
  const acked = await ours.applyEvent(order.id, { type: 'acked', exchangeOrderId: 'x-1' });
  assert.ok(acked.ok);
  assert.deepEqual([acked.order.state, acked.order.version], ['OPEN', 3]);
  return order.id;
}

/** A safe-mode replace of the order by one of the same quantity at `price`. */
function replacing(oldOrderId: string, newClientOrderId: string, price: number): NewReplace {
  return {
    oldOrderId,
    newClientOrderId,
    wantedQuantity: new Dec(1),
    newPrice: new Dec(price),
    newStopPrice: null,
    mode: 'safe',
  };
}

describe('order copies behind a moved row', () => {
  it('an observation that changes nothing on the copy is answered from the row', async (t) => {
    const [ours, peer] = await pair(t);
    const id = await openOrder(ours);
    const unchanged = await ours.applyEvent(id, { type: 'venue-status', status: 'open' });
    assert.ok(unchanged.ok);
    assert.deepEqual([unchanged.order.state, unchanged.order.version, unchanged.event], ['OPEN', 3, null]);

    // The peer asks for the cancel: the row moves to PENDING_CANCEL at version 4 behind our copy.
    const moved = await peer.applyEvent(id, { type: 'cancel-requested' });
    assert.ok(moved.ok);
    assert.equal(moved.order.version, 4);
    const seen = await ours.applyEvent(id, { type: 'venue-status', status: 'open' });
    assert.ok(seen.ok);
    assert.deepEqual([seen.order.state, seen.order.version], ['PENDING_CANCEL', 4]);
  });

  it('a replace begins from the row, not from a copy a version behind it', async (t) => {
    const [ours, peer] = await pair(t);
    const id = await openOrder(ours);
    const moved = await peer.applyEvent(id, { type: 'venue-status', status: 'partially_filled' });
    assert.ok(moved.ok);
    assert.deepEqual([moved.order.state, moved.order.version], ['PARTIALLY_FILLED', 4]);
    const begun = await ours.beginReplace({
      ...replacing(id, 'copy-2', 101),
      requestCancel: true,
      oldVersion: 4,
    });
    assert.ok(begun.ok, begun.ok ? '' : begun.message);
    assert.deepEqual([begun.old.state, begun.old.version], ['PENDING_CANCEL', 5]);
    // And a stale version is still refused, on the row's version.
    const stale = await ours.beginReplace({ ...replacing(id, 'copy-3', 102), oldVersion: 3 });
    assert.ok(!stale.ok);
    assert.equal(stale.reason, 'version-conflict');
  });
});
