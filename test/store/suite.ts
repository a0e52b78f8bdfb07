import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import type { Kysely } from 'kysely';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { NewReplace, ReplaceAdmissionView, ReplaceChange, Store } from '../../src/ports/store.ts';
import type { StoreSchema } from '../../src/store/sql/schema.ts';
import { fillReport, manualClock, newOrder } from './helpers.ts';
import { statusReport } from './status-report.ts';

// The behaviour every Store must show, whatever database is under it. Each backend's test file
// runs it with an opener of that backend.

export interface StoreBackend {
  /** Begins each suite's title: "<name> store: orders". */
  readonly name: string;
  /** An empty store, closed after the test. */
  open(t: TestContext, clock?: Clock): Promise<Store>;
  /** An empty store and a second connection to its database, to change rows behind its back. */
  openWithBackdoor(t: TestContext, clock?: Clock): Promise<{ store: Store; backdoor: Kysely<StoreSchema> }>;
}

export function storeBehaviourSuite(backend: StoreBackend): void {
  /** An order taken through journal → sent → acked, as the OMS does. */
  async function openOrder(store: Store, exchangeOrderId: string, quantity = '1') {
    const order = await store.journalOrder(newOrder({ quantity: new Dec(quantity) }));
    assert.ok((await store.applyEvent(order.id, { type: 'sent' })).ok);
    const acked = await store.applyEvent(order.id, { type: 'acked', exchangeOrderId });
    assert.ok(acked.ok);
    return acked.order;
  }

  describe(`${backend.name} store: orders`, () => {
    it('journals an order with its first event, then finds it by every id', async (t) => {
      const clock = manualClock();
      const store = await backend.open(t, clock);
      const order = await store.journalOrder(newOrder({ clientOrderId: 'bb-1', quantity: new Dec('0.5') }));
      assert.equal(order.state, 'PENDING_SUBMIT');
      assert.equal(order.version, 1);
      assert.equal(order.createdAt, clock.now());

      assert.deepEqual(await store.order(order.id), order);
      assert.deepEqual(await store.orderByClientId('bb-1'), order);
      assert.deepEqual(await store.activeOrders(), [order]);
      const events = await store.orderEvents(order.id);
      assert.equal(events.length, 1);
      assert.deepEqual(
        { seq: events[0]?.seq, type: events[0]?.type, from: events[0]?.fromState, to: events[0]?.toState },
        { seq: 1, type: 'journaled', from: null, to: 'PENDING_SUBMIT' },
      );
      assert.equal(events[0]?.payload.quantity, '0.5');
    });

    it('moves through sent and acked, one event each, and is found by exchange id', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '555');
      assert.equal(order.state, 'OPEN');
      assert.equal(order.version, 3);
      assert.deepEqual(await store.orderByExchangeId('555'), order);
      const events = await store.orderEvents(order.id);
      assert.deepEqual(
        events.map((e) => [e.seq, e.type, e.fromState, e.toState]),
        [
          [1, 'journaled', null, 'PENDING_SUBMIT'],
          [2, 'sent', 'PENDING_SUBMIT', 'SUBMITTED'],
          [3, 'acked', 'SUBMITTED', 'OPEN'],
        ],
      );
    });

    it('journals an order marked sent with both its events, and acks it without reading it again', async (t) => {
      const store = await backend.open(t);
      const sent = await store.journalOrder(newOrder(), { sent: true });
      assert.deepEqual([sent.state, sent.version], ['SUBMITTED', 2]);
      const acked = await store.applyEvent(sent.id, { type: 'acked', exchangeOrderId: '556' }, 2);
      assert.ok(acked.ok);
      assert.deepEqual([acked.order.state, acked.order.version], ['OPEN', 3]);
      assert.deepEqual(await store.order(sent.id), acked.order);
      assert.deepEqual(
        (await store.orderEvents(sent.id)).map((e) => [e.seq, e.type, e.fromState, e.toState, e.at]),
        [
          [1, 'journaled', null, 'PENDING_SUBMIT', sent.createdAt],
          [2, 'sent', 'PENDING_SUBMIT', 'SUBMITTED', sent.createdAt],
          [3, 'acked', 'SUBMITTED', 'OPEN', acked.order.updatedAt],
        ],
      );
    });

    // The store keeps the orders it committed last so the ack after a submit skips a read. Another
    // writer (a replace, a second process of a cluster) may move the row meanwhile: the decision
    // must then come from the row, never from the kept copy.
    it('decides from the stored row when another writer moved the order since this store wrote it', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t);
      const sent = await store.journalOrder(newOrder(), { sent: true });
      // Acked behind the store's back: OPEN at version 3 with its exchange id.
      await backdoor
        .updateTable('orders')
        .set({ state: 'OPEN', exchange_order_id: '557', version: 3 })
        .where('id', '=', sent.id)
        .execute();
      const again = await store.applyEvent(sent.id, { type: 'acked', exchangeOrderId: '557' });
      assert.ok(again.ok);
      assert.equal(again.event, null, 'the ack repeats what the row says: nothing new to journal');
      assert.deepEqual([again.order.state, again.order.version], ['OPEN', 3]);
      assert.deepEqual(
        (await store.orderEvents(sent.id)).map((e) => e.type),
        ['journaled', 'sent'],
      );

      // A version the caller decided on, which the kept copy still has but the row no longer does.
      const other = await store.journalOrder(newOrder(), { sent: true });
      await backdoor.updateTable('orders').set({ version: 3 }).where('id', '=', other.id).execute();
      const stale = await store.applyEvent(other.id, { type: 'acked', exchangeOrderId: '558' }, 2);
      assert.ok(!stale.ok);
      assert.equal(stale.reason, 'version-conflict');
      assert.equal(stale.order.version, 3);
      assert.equal((await store.order(other.id))?.state, 'SUBMITTED');

      // Canceled behind its back: an ack decided from the copy would reopen it.
      const third = await store.journalOrder(newOrder(), { sent: true });
      await backdoor
        .updateTable('orders')
        .set({ state: 'CANCELED', version: 3 })
        .where('id', '=', third.id)
        .execute();
      const late = await store.applyEvent(third.id, { type: 'acked', exchangeOrderId: '559' });
      assert.equal((await store.order(third.id))?.state, 'CANCELED');
      assert.equal(late.order.state, 'CANCELED');
    });

    it('refuses a second order with the same client id, and a batch with one writes none', async (t) => {
      const store = await backend.open(t);
      await store.journalOrder(newOrder({ clientOrderId: 'dup' }));
      await assert.rejects(
        store.journalOrder(newOrder({ clientOrderId: 'dup' })),
        /dup is already journaled/,
      );
      await assert.rejects(
        store.journalOrders([newOrder({ clientOrderId: 'fresh' }), newOrder({ clientOrderId: 'dup' })]),
        /dup/,
      );
      assert.equal(await store.orderByClientId('fresh'), undefined);
      assert.equal((await store.orders()).length, 1);
    });

    it('leaves nothing written when a transition is forbidden', async (t) => {
      const store = await backend.open(t);
      const order = await store.journalOrder(newOrder());
      const result = await store.applyEvent(order.id, { type: 'cancel-requested' });
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.equal(result.reason, 'invalid-transition');
      assert.ok(result.message.includes(order.id));
      assert.deepEqual(await store.order(order.id), order);
      assert.equal((await store.orderEvents(order.id)).length, 1);
    });

    it('refuses an event on a version it was not decided on (optimistic check)', async (t) => {
      const store = await backend.open(t);
      const order = await store.journalOrder(newOrder());
      assert.ok((await store.applyEvent(order.id, { type: 'sent' }, order.version)).ok);
      const stale = await store.applyEvent(
        order.id,
        { type: 'rejected', reason: 'late decision' },
        order.version,
      );
      assert.ok(!stale.ok);
      assert.equal(stale.reason, 'version-conflict');
      assert.equal((await store.order(order.id))?.state, 'SUBMITTED');
      assert.equal((await store.orderEvents(order.id)).length, 2);
    });

    it('rolls the row back when appending its event fails', async (t) => {
      const { store, backdoor } = await backend.openWithBackdoor(t, manualClock());
      const order = await store.journalOrder(newOrder());
      // Plant the event the next write will try to append, so that append fails after the row update.
      await backdoor
        .insertInto('order_events')
        .values({
          order_id: order.id,
          seq: 2,
          at: 0,
          type: 'planted',
          from_state: 'PENDING_SUBMIT',
          to_state: 'PENDING_SUBMIT',
          payload: '{}',
        })
        .execute();
      await assert.rejects(store.applyEvent(order.id, { type: 'sent' }), /UNIQUE|PRIMARY KEY|duplicate key/);
      const after = await store.order(order.id);
      assert.ok(after);
      assert.equal(after.state, 'PENDING_SUBMIT');
      assert.equal(after.version, 1);
    });

    it('does not journal an observation that changes nothing', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '77');
      const seen = await store.applyEvent(order.id, {
        type: 'venue-status',
        status: 'open',
        exchangeOrderId: '77',
      });
      assert.ok(seen.ok);
      assert.equal(seen.event, null);
      assert.equal(seen.order.version, order.version);
      assert.equal((await store.orderEvents(order.id)).length, 3);
    });

    it('resolves an ambiguous submit to never placed, keeping the reason', async (t) => {
      const store = await backend.open(t);
      const order = await store.journalOrder(newOrder());
      await store.applyEvent(order.id, { type: 'sent' });
      const unknown = await store.applyEvent(order.id, {
        type: 'send-ambiguous',
        reason: 'timeout after 10s',
      });
      assert.ok(unknown.ok);
      assert.equal(unknown.order.state, 'UNKNOWN');
      assert.equal(unknown.order.stateReason, 'timeout after 10s');
      const resolved = await store.applyEvent(order.id, {
        type: 'resolved-not-found',
        reason: 'absent for 30s',
      });
      assert.ok(resolved.ok);
      assert.deepEqual([resolved.order.state, resolved.order.stateReason], ['REJECTED', 'absent for 30s']);
      assert.deepEqual(await store.activeOrders(), []);
    });

    it('refuses to give one exchange order id to two orders', async (t) => {
      const store = await backend.open(t);
      await openOrder(store, '900');
      const second = await store.journalOrder(newOrder());
      await store.applyEvent(second.id, { type: 'sent' });
      const result = await store.applyEvent(second.id, { type: 'acked', exchangeOrderId: '900' });
      assert.equal(result.ok, false);
      assert.ok(result.message.includes('900'));
    });

    it('queries by state, symbol and recency, and lists active orders oldest first', async (t) => {
      const clock = manualClock();
      const store = await backend.open(t, clock);
      const a = await store.journalOrder(newOrder({ symbol: 'BTCTRY' }));
      clock.advance(1);
      const b = await store.journalOrder(newOrder({ symbol: 'ETHTRY' }));
      clock.advance(1);
      const c = await store.journalOrder(newOrder({ symbol: 'BTCTRY' }));
      await store.applyEvent(c.id, { type: 'rejected', reason: 'BALANCE_NOT_ENOUGH' });
      assert.deepEqual(
        (await store.activeOrders()).map((o) => o.id),
        [a.id, b.id],
      );
      assert.deepEqual(
        (await store.activeOrders('ETHTRY')).map((o) => o.id),
        [b.id],
      );
      assert.deepEqual(
        (await store.orders({ states: ['REJECTED'] })).map((o) => o.id),
        [c.id],
      );
      assert.deepEqual(
        (await store.orders({ limit: 2 })).map((o) => o.id),
        [c.id, b.id],
      );
      assert.deepEqual(
        (await store.orders({ symbol: 'BTCTRY' })).map((o) => o.id),
        [c.id, a.id],
      );
    });
  });

  describe(`${backend.name} store: fills`, () => {
    it('counts a fill once by (trade id, order id), whether the stream or polling brings it', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '1000');
      const fill = fillReport({ tradeId: '1181163798924649598', quantity: new Dec('0.4') });
      const first = await store.recordFill(fill, 'stream');
      assert.ok(first.ok && first.isNew);
      assert.equal(first.order?.state, 'PARTIALLY_FILLED');
      const again = await store.recordFill(fill, 'poll');
      assert.ok(again.ok);
      assert.equal(again.isNew, false);
      assert.equal(again.fill.source, 'stream');
      const stored = await store.order(order.id);
      assert.equal(stored?.filledQuantity.toFixed(), '0.4');
      assert.equal((await store.fills({ orderId: order.id })).length, 1);
      assert.equal((await store.orderEvents(order.id)).filter((e) => e.type === 'fill').length, 1);
    });

    it('keeps both sides of a self-match: one trade id, two orders, two fills', async (t) => {
      const store = await backend.open(t);
      const buy = await openOrder(store, '2000', '0.5');
      const sellNew = await store.journalOrder(newOrder({ side: 'sell', quantity: new Dec('0.5') }));
      await store.applyEvent(sellNew.id, { type: 'sent' });
      const sellAcked = await store.applyEvent(sellNew.id, { type: 'acked', exchangeOrderId: '2001' });
      assert.ok(sellAcked.ok);
      const tradeId = '1181163798924649598';
      const buySide = fillReport({ tradeId, exchangeOrderId: '2000', side: 'buy', quantity: new Dec('0.5') });
      const sellSide = fillReport({
        tradeId,
        exchangeOrderId: '2001',
        side: 'sell',
        quantity: new Dec('0.5'),
      });
      const results = [
        await store.recordFill(buySide, 'stream'),
        await store.recordFill(sellSide, 'stream'),
        await store.recordFill(sellSide, 'poll'),
        await store.recordFill(buySide, 'reconcile'),
      ];
      assert.deepEqual(
        results.map((r) => r.ok && r.isNew),
        [true, true, false, false],
      );
      assert.deepEqual(
        (await store.fills()).map((f) => [f.tradeId, f.exchangeOrderId, f.orderId, f.side, f.source]),
        [
          [tradeId, '2000', buy.id, 'buy', 'stream'],
          [tradeId, '2001', sellNew.id, 'sell', 'stream'],
        ],
      );
      for (const id of [buy.id, sellNew.id]) {
        const order = await store.order(id);
        assert.equal(order?.state, 'FILLED');
        assert.equal(order.filledQuantity.toFixed(), '0.5');
        assert.equal((await store.orderEvents(id)).filter((e) => e.type === 'fill').length, 1);
      }
    });

    it('counts each fill once when the stream and polling deliver the same fills concurrently', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '1000', '1');
      const fills = Array.from({ length: 10 }, (_, i) =>
        fillReport({ tradeId: String(9_007_199_254_740_993n + BigInt(i)), quantity: new Dec('0.1') }),
      );
      const results = await Promise.all(
        fills.flatMap((f) => [store.recordFill(f, 'stream'), store.recordFill(f, 'poll')]),
      );
      assert.equal(results.filter((r) => r.ok && r.isNew).length, 10);
      const stored = await store.order(order.id);
      assert.ok(stored);
      assert.equal(stored.filledQuantity.toFixed(), '1');
      assert.equal(stored.state, 'FILLED');
      assert.equal(stored.version, order.version + 10);
    });

    it('fills an order completely and keeps an exact average price', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '1000', '1');
      await store.recordFill(
        fillReport({ tradeId: '1', quantity: new Dec('0.25'), price: new Dec('100') }),
        'stream',
      );
      const done = await store.recordFill(
        fillReport({ tradeId: '2', quantity: new Dec('0.75'), price: new Dec('104') }),
        'stream',
      );
      assert.ok(done.ok);
      assert.equal(done.order?.state, 'FILLED');
      const stored = await store.order(order.id);
      assert.ok(stored);
      assert.equal(stored.filledQuote.toFixed(), '103');
      assert.equal(stored.averagePrice?.toFixed(), '103');
    });

    it('counts a late fill on a CANCELED order and stays CANCELED until the venue says FILLED', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '1000', '1');
      await store.applyEvent(order.id, { type: 'cancel-requested' });
      const canceled = await store.applyEvent(order.id, { type: 'canceled' });
      assert.ok(canceled.ok && canceled.order.state === 'CANCELED');
      const late = await store.recordFill(fillReport({ tradeId: '9', quantity: new Dec('1') }), 'poll');
      assert.ok(late.ok && late.isNew);
      assert.equal(late.order?.state, 'CANCELED');
      assert.equal(late.order.filledQuantity.toFixed(), '1');
      const venue = await store.applyEvent(order.id, { type: 'venue-status', status: 'filled' });
      assert.ok(venue.ok);
      assert.equal(venue.order.state, 'FILLED');
    });

    it('finds an unresolved order by client id and learns its exchange id from the fill', async (t) => {
      const store = await backend.open(t);
      const order = await store.journalOrder(newOrder({ clientOrderId: 'bb-amb' }));
      await store.applyEvent(order.id, { type: 'sent' });
      await store.applyEvent(order.id, { type: 'send-ambiguous', reason: 'reset' });
      const result = await store.recordFill(
        fillReport({ tradeId: '50', exchangeOrderId: '4242', clientOrderId: 'bb-amb' }),
        'reconcile',
      );
      assert.ok(result.ok);
      assert.equal(result.order?.id, order.id);
      assert.equal(result.order.exchangeOrderId, '4242');
      assert.equal(result.order.state, 'PARTIALLY_FILLED');
    });

    it('refuses a fill beyond the order quantity and writes nothing', async (t) => {
      const store = await backend.open(t);
      const order = await openOrder(store, '1000', '0.5');
      const result = await store.recordFill(fillReport({ tradeId: '1', quantity: new Dec('0.6') }), 'stream');
      assert.equal(result.ok, false);
      assert.deepEqual(await store.fills(), []);
      assert.equal((await store.order(order.id))?.version, order.version);
    });

    it('refuses a fill whose side contradicts its order', async (t) => {
      const store = await backend.open(t);
      await openOrder(store, '1000');
      const result = await store.recordFill(fillReport({ tradeId: '1', side: 'sell' }), 'stream');
      assert.ok(!result.ok && result.reason === 'mismatch');
    });

    it('keeps a fill of an unknown order unlinked, and links it when the order is adopted', async (t) => {
      const store = await backend.open(t);
      const orphan = await store.recordFill(
        fillReport({
          tradeId: '70',
          exchangeOrderId: '3000',
          clientOrderId: 'bb-old',
          quantity: new Dec('0.3'),
        }),
        'poll',
      );
      assert.ok(orphan.ok && orphan.isNew && orphan.order === null);
      assert.equal(orphan.fill.orderId, null);

      const report = statusReport({
        exchangeOrderId: '3000',
        clientOrderId: 'bb-old',
        leftQuantity: new Dec('0.7'),
      });
      const adopted = await store.adoptOrder(report, 'adopted');
      assert.ok(adopted.created);
      assert.equal(adopted.order.state, 'PARTIALLY_FILLED');
      assert.equal(adopted.order.filledQuantity.toFixed(), '0.3');
      assert.equal(adopted.order.origin, 'adopted');
      assert.equal((await store.fills({ orderId: adopted.order.id })).length, 1);
      assert.deepEqual((await store.adoptOrder(report, 'adopted')).created, false);
    });

    it('records foreign orders without making their client ids ours', async (t) => {
      const store = await backend.open(t);
      const base = {
        clientOrderId: 'typed-by-hand',
        symbol: 'BTCTRY',
        side: 'sell' as const,
        method: 'limit' as const,
        price: new Dec('1'),
        stopPrice: null,
        quantity: new Dec('1'),
        leftQuantity: null,
        status: 'open' as const,
        createdAt: null,
        updatedAt: null,
      };
      await store.adoptOrder({ ...base, exchangeOrderId: '1' }, 'foreign');
      const second = await store.adoptOrder({ ...base, exchangeOrderId: '2' }, 'foreign');
      assert.ok(second.created, 'two foreign orders may share a client id');
      assert.equal(await store.orderByClientId('typed-by-hand'), undefined);
      assert.equal((await store.orderByExchangeId('2'))?.origin, 'foreign');
    });

    it('derives positions and fees from fills', async (t) => {
      const store = await backend.open(t);
      await store.recordFill(
        fillReport({ tradeId: '1', side: 'buy', quantity: new Dec('0.5'), price: new Dec('100') }),
        'poll',
      );
      await store.recordFill(
        fillReport({
          tradeId: '2',
          side: 'sell',
          quantity: new Dec('0.2'),
          price: new Dec('110'),
          exchangeOrderId: '2',
        }),
        'poll',
      );
      await store.recordFill(
        fillReport({
          tradeId: '3',
          symbol: 'ETHTRY',
          base: 'ETH',
          quantity: new Dec('3'),
          exchangeOrderId: '3',
        }),
        'poll',
      );
      const positions = await store.positions('BTCTRY');
      assert.equal(positions.length, 1);
      const p = positions[0];
      assert.ok(p);
      assert.deepEqual(
        [p.bought, p.sold, p.net, p.boughtQuote, p.soldQuote].map((d) => d.toFixed()),
        ['0.5', '0.2', '0.3', '50', '22'],
      );
      assert.equal(p.fees.TRY?.toFixed(), '2.832');
      assert.equal(p.fillCount, 2);
      assert.equal((await store.positions()).length, 2);
      assert.equal((await store.fills({ symbol: 'ETHTRY' })).length, 1);
      assert.equal((await store.fills({ since: 1_700_000_000_501 })).length, 0);
    });

    it('moves a fill cursor only forward, comparing trade ids beyond 2^53 exactly', async (t) => {
      const store = await backend.open(t);
      await store.advanceFillCursor('BTCTRY', 100, '9007199254740993');
      const back = await store.advanceFillCursor('BTCTRY', 100, '9007199254740992');
      assert.equal(back.tradeId, '9007199254740993');
      const older = await store.advanceFillCursor('BTCTRY', 99, '99999999999999999999');
      assert.equal(older.timestamp, 100);
      await store.advanceFillCursor('BTCTRY', 100, '10000000000000000000');
      assert.equal((await store.fillCursor('BTCTRY'))?.tradeId, '10000000000000000000');
      assert.equal(await store.fillCursor('ETHTRY'), undefined);
    });
  });

  describe(`${backend.name} store: replace transactions and control state`, () => {
    it('persists a cancel/replace, one at a time per order, each step version-checked', async (t) => {
      const store = await backend.open(t);
      const old = await openOrder(store, '1000', '1');
      await store.recordFill(fillReport({ tradeId: '1', quantity: new Dec('0.25') }), 'stream');
      const begun = await store.beginReplace({
        oldOrderId: old.id,
        newClientOrderId: 'bb-new',
        wantedQuantity: new Dec('0.75'),
        newPrice: new Dec('1999999'),
        newStopPrice: null,
        mode: 'fast',
        reason: null,
      });
      assert.ok(begun.ok);
      assert.equal(begun.txn.oldFilledAtStart.toFixed(), '0.25');
      assert.equal(begun.txn.step, 'started');
      const twice = await store.beginReplace({
        oldOrderId: old.id,
        newClientOrderId: 'bb-other',
        wantedQuantity: new Dec('1'),
        newPrice: null,
        newStopPrice: null,
        mode: 'safe',
      });
      assert.ok(!twice.ok);
      assert.match(twice.message, /already has replace/);

      const sent = await store.advanceReplace(
        begun.txn.id,
        { step: 'cancel-sent', mode: 'safe', reason: 'no budget for both' },
        1,
      );
      assert.ok(sent.ok);
      const stale = await store.advanceReplace(begun.txn.id, { step: 'old-closed' }, 1);
      assert.ok(!stale.ok && stale.reason === 'version-conflict');
      assert.deepEqual(
        (await store.openReplaces()).map((r) => [r.step, r.mode, r.reason]),
        [['cancel-sent', 'safe', 'no budget for both']],
      );
      await assert.rejects(store.advanceReplace(begun.txn.id, { step: 'done' }, 2), /outcome/);
      const done = await store.advanceReplace(begun.txn.id, { step: 'done', outcome: 'nothing-left' }, 2);
      assert.ok(done.ok && done.txn.outcome === 'nothing-left');
      assert.deepEqual(await store.openReplaces(), []);
      const after = await store.advanceReplace(begun.txn.id, { step: 'old-closed' }, 3);
      assert.ok(!after.ok && after.reason === 'finished');
    });

    // #14 (H3-replace): each request of a replace follows one write that carries its order writes.
    it('begins a replace with its cancel request in one write (refusing a stale copy or an admission); a step journals the replacement marked sent with the old close, unless the kill switch is on', async (t) => {
      const store = await backend.open(t);
      const old = await openOrder(store, '1000', '1');
      const replace = (extra: Partial<NewReplace>): NewReplace => ({
        oldOrderId: old.id,
        newClientOrderId: 'bb-repl',
        wantedQuantity: new Dec('1'),
        newPrice: new Dec('999'),
        newStopPrice: null,
        mode: 'safe',
        requestCancel: true,
        ...extra,
      });
      const stale = await store.beginReplace(replace({ oldVersion: old.version - 1 }));
      assert.ok(!stale.ok && stale.reason === 'version-conflict');
      let seen: ReplaceAdmissionView | undefined;
      const refused = await store.beginReplace(
        replace({
          admit: (view) => {
            seen = view;
            return 'not now';
          },
        }),
      );
      assert.ok(!refused.ok && refused.reason === 'refused' && refused.message === 'not now');
      assert.deepEqual(
        seen?.active.map((o) => o.id),
        [old.id],
      );
      assert.equal(seen.killSwitch.on, false);
      assert.equal(seen.escalation.level, 'NORMAL');
      assert.equal((await store.order(old.id))?.state, 'OPEN', 'a refusal writes nothing');
      assert.deepEqual(await store.openReplaces(), []);

      const begun = await store.beginReplace(replace({ oldVersion: old.version, admit: () => null }));
      assert.ok(begun.ok);
      assert.equal(begun.txn.step, 'cancel-sent');
      assert.equal(begun.old.state, 'PENDING_CANCEL');
      assert.deepEqual(await store.order(old.id), begun.old);

      const change: ReplaceChange = {
        step: 'new-journaled',
        oldEvent: { type: 'venue-status', status: 'canceled', exchangeOrderId: '1000' },
        newOrder: newOrder({ clientOrderId: 'bb-repl', quantity: new Dec('1'), replaceOf: old.id }),
      };
      await store.setKillSwitch(true, 'operator');
      const killed = await store.advanceReplace(begun.txn.id, change, begun.txn.version);
      assert.ok(!killed.ok && killed.reason === 'kill-switch');
      assert.match(killed.message, /kill switch is on \(operator\)/);
      assert.equal((await store.order(old.id))?.state, 'PENDING_CANCEL', 'nothing written');
      assert.equal(await store.orderByClientId('bb-repl'), undefined);
      await store.setKillSwitch(false, 'operator');

      const journaled = await store.advanceReplace(begun.txn.id, change, begun.txn.version);
      assert.ok(journaled.ok && journaled.journaled === true && journaled.newOrder);
      assert.equal(journaled.newOrder.state, 'SUBMITTED');
      assert.equal(journaled.txn.newOrderId, journaled.newOrder.id);
      assert.equal(journaled.old?.state, 'CANCELED');
      assert.deepEqual(await store.order(old.id), journaled.old);
      assert.deepEqual(
        (await store.orderEvents(journaled.newOrder.id)).map((e) => e.type),
        ['journaled', 'sent'],
      );
      const done = await store.advanceReplace(
        begun.txn.id,
        { step: 'done', outcome: 'replaced' },
        journaled.txn.version,
        { durable: false },
      );
      assert.ok(done.ok && done.txn.step === 'done');
      // The old order is closed now: a replace that would cancel it is refused, nothing written.
      const closed = await store.beginReplace(replace({ newClientOrderId: 'bb-other' }));
      assert.ok(!closed.ok && closed.reason === 'invalid-transition');
      assert.deepEqual(await store.openReplaces(), []);
    });

    it('keeps the kill switch and escalation level with reason and time', async (t) => {
      const clock = manualClock();
      const store = await backend.open(t, clock);
      assert.deepEqual(await store.killSwitch(), { on: false, reason: null, at: null });
      assert.deepEqual(await store.escalation(), { level: 'NORMAL', reason: null, at: null });
      await store.setKillSwitch(true, 'operator');
      clock.advance(5);
      await store.setEscalation('REDUCE_ONLY', 'reconciliation failed 3 times');
      assert.deepEqual(await store.killSwitch(), { on: true, reason: 'operator', at: clock.now() - 5 });
      assert.deepEqual(await store.escalation(), {
        level: 'REDUCE_ONLY',
        reason: 'reconciliation failed 3 times',
        at: clock.now(),
      });
    });

    it('turns the kill switch on with HALTED, and clearing it takes the ladder back to NORMAL', async (t) => {
      const clock = manualClock();
      const store = await backend.open(t, clock);
      await store.setEscalation('REDUCE_ONLY', 'divergence');
      assert.equal((await store.killSwitch()).on, false, 'REDUCE_ONLY turned the kill switch on');
      clock.advance(3);
      await store.setEscalation('HALTED', 'drawdown 12%');
      assert.deepEqual(await store.killSwitch(), {
        on: true,
        reason: 'HALTED: drawdown 12%',
        at: clock.now(),
      });
      clock.advance(4);
      const cleared = await store.clearKillSwitch('checked the account');
      assert.deepEqual(cleared, {
        killSwitch: { on: false, reason: 'checked the account', at: clock.now() },
        escalation: {
          level: 'NORMAL',
          reason: 'cleared by the operator: checked the account',
          at: clock.now(),
        },
      });
      assert.deepEqual(
        { killSwitch: await store.killSwitch(), escalation: await store.escalation() },
        cleared,
      );
    });
  });
}
