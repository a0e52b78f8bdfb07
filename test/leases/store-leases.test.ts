import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { StaleLeaseError, type LeaseStore } from '../../src/ports/leases.ts';
import type { Store } from '../../src/ports/store.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { leasesOf } from '../../src/store/sql/sql-store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, newOrder, tempDir } from '../store/helpers.ts';
import { dropSchema, findPostgres, runSql, schemaName } from '../store-pg/helpers.ts';

// Leases and their fence, on both dialects: two "processes" are two stores opened in cluster mode
// on one database, each with its own holder id, sharing one manual clock.

const TTL = 10_000;

interface Pair {
  readonly a: Store;
  readonly b: Store;
  readonly la: LeaseStore;
  readonly lb: LeaseStore;
  readonly clock: ReturnType<typeof manualClock>;
  /** The lease_epoch column of an order, read straight from the database. */
  epochOf(orderId: string): Promise<number | null>;
}

type Opener = (t: TestContext) => Promise<Pair | string>;

function leases(store: Store): LeaseStore {
  const found = leasesOf(store);
  assert.ok(found, 'a store opened in cluster mode has leases');
  return found;
}

const sqlite: Opener = async (t) => {
  const path = join(tempDir(t), 'shared.db');
  const clock = manualClock();
  const a = await openSqliteStore({ path, clock, cluster: { holder: 'proc-a' } });
  const b = await openSqliteStore({ path, clock, cluster: { holder: 'proc-b' } });
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const Database = (await import('better-sqlite3')).default;
  return {
    a,
    b,
    la: leases(a),
    lb: leases(b),
    clock,
    epochOf: (id) => {
      const db = new Database(path, { readonly: true });
      try {
        const row = db.prepare('SELECT lease_epoch FROM orders WHERE id = ?').get(id) as
          { lease_epoch: number | null } | undefined;
        return Promise.resolve(row?.lease_epoch ?? null);
      } finally {
        db.close();
      }
    },
  };
};

const postgres: Opener = async (t) => {
  const target = await findPostgres();
  if (target.skip) return target.skip;
  const schema = schemaName();
  const clock = manualClock();
  const a = await openPostgresStore({ url: target.url, schema, clock, cluster: { holder: 'proc-a' } });
  const b = await openPostgresStore({ url: target.url, schema, clock, cluster: { holder: 'proc-b' } });
  t.after(async () => {
    await a.close();
    await b.close();
    await dropSchema(target.url, schema);
  });
  return {
    a,
    b,
    la: leases(a),
    lb: leases(b),
    clock,
    epochOf: async (id) => {
      const { rows } = await runSql(target.url, `SELECT lease_epoch FROM "${schema}".orders WHERE id = $1`, [
        id,
      ]);
      const value = (rows[0] as { lease_epoch: string | null } | undefined)?.lease_epoch ?? null;
      return value === null ? null : Number(value);
    },
  };
};

for (const [name, open] of [
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
] as const)
  describe(`symbol leases on ${name}`, () => {
    async function pair(t: TestContext): Promise<Pair | undefined> {
      const opened = await open(t);
      if (typeof opened === 'string') {
        t.skip(opened);
        return undefined;
      }
      return opened;
    }

    it('one holder at a time: acquire, refuse the second, renew, expire, take over with epoch + 1', async (t) => {
      const p = await pair(t);
      if (!p) return;
      const first = await p.la.acquireLease('BTCTRY', TTL);
      assert.ok(first.ok);
      assert.equal(first.lease.epoch, 1);
      assert.equal(first.lease.holder, 'proc-a');
      const refused = await p.lb.acquireLease('BTCTRY', TTL);
      assert.ok(!refused.ok);
      assert.equal(refused.lease.holder, 'proc-a');

      p.clock.advance(TTL - 1);
      const renewed = await p.la.renewLease('BTCTRY', 1, TTL);
      assert.equal(renewed?.expiresAt, p.clock.now() + TTL);
      p.clock.advance(TTL - 1);
      assert.ok(!(await p.lb.acquireLease('BTCTRY', TTL)).ok, 'renewed: still held');

      p.clock.advance(1);
      const taken = await p.lb.acquireLease('BTCTRY', TTL);
      assert.ok(taken.ok, 'expired: taken over');
      assert.equal(taken.lease.epoch, 2);
      assert.equal(taken.lease.holder, 'proc-b');
      assert.equal(await p.la.renewLease('BTCTRY', 1, TTL), null, 'the old holder cannot renew');
    });

    it('release frees the lease at once; the next taker raises the epoch', async (t) => {
      const p = await pair(t);
      if (!p) return;
      const first = await p.la.acquireLease('ETHTRY', TTL);
      assert.ok(first.ok);
      await p.la.releaseLease('ETHTRY', first.lease.epoch);
      const taken = await p.lb.acquireLease('ETHTRY', TTL);
      assert.ok(taken.ok);
      assert.equal(taken.lease.epoch, 2);
      assert.deepEqual(
        (await p.lb.leases()).map((l) => [l.symbol, l.holder, l.epoch]),
        [['ETHTRY', 'proc-b', 2]],
      );
    });

    it('refuses a journal write, a send and a replace stamped with a stale epoch', async (t) => {
      const p = await pair(t);
      if (!p) return;
      assert.ok((await p.la.acquireLease('BTCTRY', TTL)).ok);
      const mine = await p.a.journalOrder(newOrder({ symbol: 'BTCTRY' }));
      assert.equal(await p.epochOf(mine.id), 1, 'stamped with the epoch it was written under');
      const pending = await p.a.journalOrder(newOrder({ symbol: 'BTCTRY' }));
      assert.ok((await p.a.applyEvent(mine.id, { type: 'sent' })).ok);

      // A pauses past its lease; B takes the symbol over.
      p.clock.advance(TTL);
      const taken = await p.lb.acquireLease('BTCTRY', TTL);
      assert.ok(taken.ok);
      assert.equal(taken.lease.epoch, 2);

      await assert.rejects(p.a.journalOrder(newOrder({ symbol: 'BTCTRY' })), (error: unknown) => {
        assert.ok(error instanceof StaleLeaseError);
        assert.equal(error.epoch, 1);
        assert.deepEqual(error.current, { holder: 'proc-b', epoch: 2 });
        return true;
      });
      await assert.rejects(p.a.journalOrders([newOrder({ symbol: 'BTCTRY' })]), StaleLeaseError);
      await assert.rejects(p.a.applyEvent(pending.id, { type: 'sent' }), StaleLeaseError);
      assert.equal(
        (await p.b.order(pending.id))?.state,
        'PENDING_SUBMIT',
        'the refused send left it as it was',
      );
      await assert.rejects(
        p.a.beginReplace({
          oldOrderId: mine.id,
          newClientOrderId: 'stale-replace',
          wantedQuantity: new Dec('1'),
          newPrice: null,
          newStopPrice: null,
          mode: 'safe',
        }),
        StaleLeaseError,
      );
      // Observations of what already happened are not fenced (a late cancel confirmation, a fill).
      assert.ok((await p.a.applyEvent(mine.id, { type: 'acked', exchangeOrderId: 'x-1' })).ok);

      const theirs = await p.b.journalOrder(newOrder({ symbol: 'BTCTRY' }));
      assert.equal(await p.epochOf(theirs.id), 2);
      assert.equal(
        (await p.b.orders({ symbol: 'BTCTRY' })).length,
        3,
        'nothing of the refused writes was kept',
      );
    });

    it('refuses a write on a symbol this process never leased', async (t) => {
      const p = await pair(t);
      if (!p) return;
      await assert.rejects(p.a.journalOrder(newOrder({ symbol: 'XRPTRY' })), (error: unknown) => {
        assert.ok(error instanceof StaleLeaseError);
        assert.equal(error.epoch, null);
        assert.equal(error.current, null);
        return true;
      });
    });

    it('records processes with their pairs and budget, and removes them on a clean stop', async (t) => {
      const p = await pair(t);
      if (!p) return;
      const start = p.clock.now();
      const report = { host: 'h1', pid: 11, startedAt: start, leaseMs: TTL, symbols: [], budget: null };
      await p.la.reportProcess(report);
      p.clock.advance(5);
      await p.lb.reportProcess({ ...report, pid: 12, symbols: ['BTCTRY'], budget: { used: 3 } });
      await p.la.reportProcess({ ...report, symbols: ['ETHTRY'] });
      const seen = await p.la.processes();
      assert.deepEqual(
        seen.map((x) => [x.id, x.pid, x.symbols, x.budget, x.heartbeatAt - start]),
        [
          ['proc-a', 11, ['ETHTRY'], null, 5],
          ['proc-b', 12, ['BTCTRY'], { used: 3 }, 5],
        ],
      );
      await p.la.removeProcess();
      assert.deepEqual(
        (await p.lb.processes()).map((x) => x.id),
        ['proc-b'],
      );
    });
  });

describe('a store outside cluster mode', () => {
  it('has no leases and fences nothing (today behaviour)', async (t) => {
    const store = await openSqliteStore({ path: join(tempDir(t), 'solo.db') });
    t.after(() => store.close());
    assert.equal(leasesOf(store), undefined);
    const order = await store.journalOrder(newOrder({ symbol: 'BTCTRY' }));
    assert.ok((await store.applyEvent(order.id, { type: 'sent' })).ok);
  });
});
