import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { SqlStore } from '../../src/store/sql/sql-store.ts';
import { fillReport, newOrder } from './helpers.ts';
import { statusReport } from './status-report.ts';
import type { StoreBackend } from './suite.ts';

// Group commit and the batch writes, on every backend: writes asked for together share commits,
// yet each is durable when it resolves, runs in the order it was asked for, and fails alone.

export function groupCommitSuite(backend: StoreBackend): void {
  describe(`${backend.name} store: group commit`, () => {
    it('shares commits among concurrent journals, each committed before it resolves', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t);
      assert.ok(store instanceof SqlStore);
      const before = store.commitStats();
      const orders = Array.from({ length: 40 }, (_, i) =>
        newOrder({ symbol: `S${i % 8}TRY`, clientOrderId: `gc-${i}` }),
      );
      // The second connection sees committed rows only: each caller, the moment it hears back,
      // finds its order there.
      const seenCommitted = await Promise.all(
        orders.map(async (o) => {
          const stored = await store.journalOrder(o);
          const row = await backdoor
            .selectFrom('orders')
            .select(['id', 'state'])
            .where('client_order_id', '=', o.clientOrderId)
            .executeTakeFirst();
          return row?.id === stored.id && row.state === 'PENDING_SUBMIT';
        }),
      );
      assert.deepEqual(
        seenCommitted,
        orders.map(() => true),
      );
      const after = store.commitStats();
      assert.equal(after.writes - before.writes, 40);
      assert.ok(
        after.commits - before.commits < 40,
        `40 concurrent journals took ${after.commits - before.commits} commits: none were shared`,
      );
      assert.equal((await store.activeOrders()).length, 40);
    });

    it('syncs the sent mark, not the journal row before it nor the ack after it', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t);
      assert.ok(store instanceof SqlStore);
      const synced = () => store.commitStats().syncedCommits;
      const commits = () => store.commitStats().commits;
      const start = { synced: synced(), commits: commits() };
      const order = await store.journalOrder(newOrder({ clientOrderId: 'unsynced-journal' }));
      assert.deepEqual({ synced: synced(), commits: commits() }, { ...start, commits: start.commits + 1 });
      // Committed all the same: another connection sees it.
      const row = await backdoor
        .selectFrom('orders')
        .select('state')
        .where('id', '=', order.id)
        .executeTakeFirst();
      assert.equal(row?.state, 'PENDING_SUBMIT');
      assert.ok((await store.applyEvent(order.id, { type: 'sent' })).ok);
      assert.equal(synced(), start.synced + 1, 'the sent mark must be synced before the request leaves');
      assert.ok((await store.applyEvent(order.id, { type: 'acked', exchangeOrderId: '700' })).ok);
      assert.equal(synced(), start.synced + 1);
      // A group holding one write that must be durable is synced as a whole.
      const before = synced();
      await Promise.all([
        store.journalOrder(newOrder({ clientOrderId: 'unsynced-2' })),
        store.recordFill(fillReport({ tradeId: 'sync-1', exchangeOrderId: '700' }), 'stream'),
      ]);
      assert.equal(synced(), before + 1);
      // And the next write that must be durable is synced again: the relaxed level did not stay.
      await store.setEscalation('NORMAL', 'after unsynced writes');
      assert.equal(synced(), before + 2);
    });

    it('journals an order marked sent in one synced write, as two writes would leave it', async (t) => {
      const store = await backend.open(t);
      assert.ok(store instanceof SqlStore);
      const before = store.commitStats();
      const order = await store.journalOrder(newOrder({ clientOrderId: 'journaled-sent' }), { sent: true });
      const after = store.commitStats();
      assert.deepEqual(
        { commits: after.commits - before.commits, synced: after.syncedCommits - before.syncedCommits },
        { commits: 1, synced: 1 },
      );
      assert.equal(order.state, 'SUBMITTED');
      assert.equal(order.version, 2);
      assert.deepEqual(await store.order(order.id), order);
      assert.deepEqual(
        (await store.orderEvents(order.id)).map(
          (e) => `${e.seq} ${e.type} ${e.fromState ?? '-'}>${e.toState}`,
        ),
        ['1 journaled ->PENDING_SUBMIT', '2 sent PENDING_SUBMIT>SUBMITTED'],
      );
      // It goes on from there as any sent order, and a second mark is refused (one send only).
      assert.equal((await store.applyEvent(order.id, { type: 'sent' })).ok, false);
      const acked = await store.applyEvent(order.id, { type: 'acked', exchangeOrderId: '8080' }, 2);
      assert.ok(acked.ok && acked.order.state === 'OPEN' && acked.order.version === 3);
      await assert.rejects(
        store.journalOrder(newOrder({ clientOrderId: 'journaled-sent' }), { sent: true }),
        /already journaled/,
      );
    });

    it('lets no read overtake a write asked for before it', async (t) => {
      const store = await backend.open(t);
      const order = newOrder({ clientOrderId: 'read-after-write' });
      // Not awaited: the write waits for its group while the read is asked for.
      const journaled = store.journalOrder(order);
      const seen = await store.orderByClientId('read-after-write');
      assert.equal(seen?.id, (await journaled).id);
      const sent = store.applyEvent(seen.id, { type: 'sent' });
      assert.equal((await store.order(seen.id))?.state, 'SUBMITTED');
      assert.ok((await sent).ok);
      const killed = store.setKillSwitch(true, 'after the write');
      assert.equal((await store.killSwitch()).on, true);
      await killed;
    });

    it('commits the writes asked for before a close', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t);
      const pending = [
        store.journalOrder(newOrder({ clientOrderId: 'before-close-1' })),
        store.journalOrder(newOrder({ clientOrderId: 'before-close-2' })),
      ];
      await store.close();
      await Promise.all(pending);
      const rows = await backdoor.selectFrom('orders').select('client_order_id').execute();
      assert.deepEqual(rows.map((r) => r.client_order_id).sort(), ['before-close-1', 'before-close-2']);
    });

    it('fails one write of a group alone: the others commit', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t);
      await store.journalOrder(newOrder({ clientOrderId: 'taken' }));
      const results = await Promise.allSettled([
        store.journalOrder(newOrder({ clientOrderId: 'first' })),
        store.journalOrder(newOrder({ clientOrderId: 'taken' })),
        store.applyEvent('no-such-order', { type: 'sent' }),
        store.journalOrder(newOrder({ clientOrderId: 'last' })),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
      );
      const [, duplicate, unknown] = results;
      assert.match(String(duplicate.status === 'rejected' && duplicate.reason), /taken is already journaled/);
      assert.match(String(unknown.status === 'rejected' && unknown.reason), /order no-such-order is not in/);
      const ids = await backdoor
        .selectFrom('orders')
        .select('client_order_id')
        .orderBy('client_order_id')
        .execute();
      assert.deepEqual(
        ids.map((r) => r.client_order_id),
        ['first', 'last', 'taken'],
      );
    });

    it('runs the writes of a group in the order they were asked for, each seeing the ones before', async (t) => {
      const store = await backend.open(t);
      const order = await store.journalOrder(newOrder({ clientOrderId: 'ordered' }));
      // Asked for in one turn, without waiting: one group. Each step is legal only after the last.
      const [sent, acked, duplicate, fill] = await Promise.allSettled([
        store.applyEvent(order.id, { type: 'sent' }, order.version),
        store.applyEvent(order.id, { type: 'acked', exchangeOrderId: '9001' }, order.version + 1),
        store.journalOrder(newOrder({ clientOrderId: 'ordered' })),
        store.recordFill(
          fillReport({ tradeId: 't1', exchangeOrderId: '9001', quantity: new Dec('0.25') }),
          'stream',
        ),
      ]);
      assert.ok(sent.status === 'fulfilled' && sent.value.ok && sent.value.order.state === 'SUBMITTED');
      assert.ok(acked.status === 'fulfilled' && acked.value.ok && acked.value.order.state === 'OPEN');
      assert.equal(duplicate.status, 'rejected');
      assert.ok(fill.status === 'fulfilled' && fill.value.ok && fill.value.order?.id === order.id);
      const events = await store.orderEvents(order.id);
      assert.deepEqual(
        events.map((e) => `${e.seq} ${e.type}`),
        ['1 journaled', '2 sent', '3 acked', '4 fill'],
      );
      assert.equal((await store.order(order.id))?.state, 'PARTIALLY_FILLED');
    });
  });

  describe(`${backend.name} store: batch adoption and lookups`, () => {
    it('adopts many orders in one call as if one after another', async (t) => {
      const store = await backend.open(t);
      // Already stored: one acked order (found by exchange id), one unresolved submit of ours
      // (found by client id), and an unlinked fill of an order about to be adopted.
      const acked = await store.journalOrder(newOrder({ clientOrderId: 'bb-acked' }));
      await store.applyEvent(acked.id, { type: 'sent' });
      await store.applyEvent(acked.id, { type: 'acked', exchangeOrderId: '100' });
      const pending = await store.journalOrder(newOrder({ clientOrderId: 'bb-pending' }));
      await store.applyEvent(pending.id, { type: 'sent' });
      await store.recordFill(
        fillReport({
          tradeId: 'f1',
          exchangeOrderId: '103',
          clientOrderId: 'bb-c',
          quantity: new Dec('0.4'),
        }),
        'poll',
      );
      const reports = [
        statusReport({ exchangeOrderId: '100', clientOrderId: 'bb-acked' }),
        statusReport({ exchangeOrderId: '101', clientOrderId: 'bb-pending' }),
        statusReport({ exchangeOrderId: '102', clientOrderId: 'bb-a' }),
        statusReport({ exchangeOrderId: '103', clientOrderId: 'bb-c', leftQuantity: new Dec('0.6') }),
        statusReport({ exchangeOrderId: '102', clientOrderId: 'bb-a' }), // the same report twice
        statusReport({ exchangeOrderId: '104', clientOrderId: 'bb-a' }), // a second order under a taken client id
        statusReport({
          exchangeOrderId: '105',
          clientOrderId: null,
          status: 'filled',
          leftQuantity: new Dec(0),
        }),
      ];
      const results = await store.adoptOrders(reports, 'adopted');
      const created = (o: StoredOrder | undefined) => o?.exchangeOrderId;
      assert.deepEqual(
        results.map((r) => r.created),
        [false, false, true, true, false, false, true],
      );
      assert.equal(results[0]?.order.id, acked.id);
      const unresolved = results[1]?.order;
      assert.equal(unresolved?.id, pending.id, 'an unresolved submit is returned, not adopted twice');
      assert.equal(unresolved.state, 'SUBMITTED');
      assert.equal(results[4]?.order.id, results[2]?.order.id);
      assert.equal(results[5]?.order.id, results[2]?.order.id);
      const linked = results[3]?.order;
      assert.equal(linked?.state, 'PARTIALLY_FILLED');
      assert.equal(linked.filledQuantity.toFixed(), '0.4');
      assert.equal((await store.fills({ orderId: linked.id })).length, 1);
      assert.equal(results[6]?.order.state, 'FILLED');
      for (const r of results.filter((x) => x.created)) {
        assert.deepEqual(await store.orderByExchangeId(created(r.order) ?? ''), r.order);
        assert.deepEqual(
          (await store.orderEvents(r.order.id)).map((e) => `${e.seq} ${e.type} ${e.toState}`),
          [`1 adopted ${r.order.state}`],
        );
      }
      // Adopting again changes nothing.
      assert.deepEqual(
        (await store.adoptOrders(reports, 'adopted')).map((r) => r.created),
        reports.map(() => false),
      );
      assert.deepEqual(await store.adoptOrders([], 'adopted'), []);
    });

    it('records foreign orders in a batch without taking their client ids', async (t) => {
      const store = await backend.open(t);
      const results = await store.adoptOrders(
        [
          statusReport({ exchangeOrderId: '1', clientOrderId: 'typed-by-hand' }),
          statusReport({ exchangeOrderId: '2', clientOrderId: 'typed-by-hand' }),
        ],
        'foreign',
      );
      assert.deepEqual(
        results.map((r) => [r.created, r.order.origin]),
        [
          [true, 'foreign'],
          [true, 'foreign'],
        ],
      );
      assert.equal(await store.orderByClientId('typed-by-hand'), undefined);
    });

    it('adopts 1,200 orders (more than one statement chunk) in one call', async (t) => {
      const store = await backend.open(t);
      const reports = Array.from({ length: 1200 }, (_, i) =>
        statusReport({ exchangeOrderId: String(50_000 + i), clientOrderId: `bb-${i}` }),
      );
      const results = await store.adoptOrders(reports, 'adopted');
      assert.equal(results.filter((r) => r.created).length, 1200);
      assert.equal((await store.activeOrders()).length, 1200);
      const found = await store.ordersByIds({
        exchangeOrderIds: reports.map((r) => r.exchangeOrderId),
        clientOrderIds: reports.map((r) => r.clientOrderId ?? ''),
      });
      assert.equal(found.length, 1200, 'each order once, though named by both ids');
    });

    it('finds orders by exchange ids, and ours only by client ids', async (t) => {
      const store = await backend.open(t);
      const own = await store.journalOrder(newOrder({ clientOrderId: 'mine' }));
      const [foreign, adopted] = await Promise.all([
        store.adoptOrder(statusReport({ exchangeOrderId: '7', clientOrderId: 'theirs' }), 'foreign'),
        store.adoptOrder(statusReport({ exchangeOrderId: '8', clientOrderId: 'ours-adopted' }), 'adopted'),
      ]);
      const ids = (orders: readonly StoredOrder[]) => orders.map((o) => o.id).sort();
      assert.deepEqual(
        ids(await store.ordersByIds({ clientOrderIds: ['mine', 'theirs', 'ours-adopted', 'nobody'] })),
        [own.id, adopted.order.id].sort(),
      );
      assert.deepEqual(
        ids(await store.ordersByIds({ exchangeOrderIds: ['7', '8', '9'] })),
        [foreign.order.id, adopted.order.id].sort(),
      );
      assert.deepEqual(await store.ordersByIds({}), []);
    });
  });
}
