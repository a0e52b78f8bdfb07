import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOwnClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms, OrderRefusedError, type OmsOptions } from '../../src/oms/index.ts';
import type { Store } from '../../src/ports/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { FakeExchange, steppingClock } from './fakes.ts';
import { BUY } from './intents.ts';

// How the OMS uses the order state machine, against an in-memory exchange whose answers each test
// scripts. Time is a stepping clock: backoff waits advance it, so bounded loops finish at once.

async function setup(options: Partial<OmsOptions> = {}) {
  const clock = steppingClock();
  const store: Store = await openSqliteStore({ path: ':memory:', clock });
  const exchange = new FakeExchange(clock);
  const oms = new Oms({
    store,
    exchange,
    prefix: 'ut',
    clock,
    random: seededRandom(11),
    symbols: ['BTCTRY'],
    timings: { notFoundAfterMs: 5_000, cancelConfirmMs: 2_000 },
    escalation: { unresolvedReduceMs: 20_000, unresolvedHaltMs: 60_000 },
    ...options,
  });
  return { clock, store, exchange, oms };
}

async function events(store: Store, orderId: string): Promise<string[]> {
  return (await store.orderEvents(orderId)).map((e) => `${e.type}:${e.toState}`);
}

describe('OMS submit lifecycle', () => {
  it('refuses new orders until start-up reconciliation is clean', async () => {
    const { oms, exchange } = await setup();
    await assert.rejects(oms.submit(BUY), OrderRefusedError);
    assert.equal(exchange.calls.filter((c) => c.startsWith('POST')).length, 0);
    const report = await oms.start();
    assert.equal(report.clean, true);
    assert.equal((await oms.submit(BUY)).state, 'OPEN');
  });

  it('journals the order and marks it sent before the POST leaves, then records the ack', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    let seenDuringSend: string | undefined;
    exchange.onSubmit = async (request) => {
      seenDuringSend = (await store.orderByClientId(request.clientOrderId))?.state;
    };
    const order = await oms.submit(BUY);
    assert.equal(seenDuringSend, 'SUBMITTED');
    assert.equal(order.state, 'OPEN');
    assert.equal(order.intentId, 'intent-1');
    assert.ok(order.clientOrderId !== null && isOwnClientOrderId(order.clientOrderId, 'ut'));
    assert.ok(order.clientOrderId.length <= 50);
    assert.deepEqual(await events(store, order.id), [
      'journaled:PENDING_SUBMIT',
      'sent:SUBMITTED',
      'acked:OPEN',
    ]);
  });

  it('records a definitive refusal as REJECTED with the venue code and never looks it up', async () => {
    const { oms, exchange } = await setup();
    await oms.start();
    exchange.submits.push('reject');
    const before = exchange.calls.length;
    const order = await oms.submit(BUY);
    assert.equal(order.state, 'REJECTED');
    assert.match(order.stateReason ?? '', /exchange-failure|1120/);
    assert.deepEqual(exchange.calls.slice(before), ['POST /api/v1/order']);
  });

  it('keeps an ambiguous submit in flight and resolves it by client id, without a second POST', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    exchange.submits.push('ambiguous-placed');
    const order = await oms.submit(BUY);
    assert.equal(order.state, 'OPEN');
    assert.equal(exchange.orders.size, 1);
    assert.equal(exchange.calls.filter((c) => c.startsWith('POST')).length, 1);
    assert.deepEqual(await events(store, order.id), [
      'journaled:PENDING_SUBMIT',
      'sent:SUBMITTED',
      'send-ambiguous:UNKNOWN',
      'venue-status:OPEN',
    ]);
  });

  it('concludes never placed only after the visibility horizon, then re-sends the intent under a new client id', async () => {
    const { oms, exchange, store, clock } = await setup();
    await oms.start();
    exchange.submits.push('ambiguous-lost');
    const started = clock.now();
    const order = await oms.submit({ ...BUY, attempts: 2 });
    assert.ok(clock.now() - started >= 5_000, 'concluded before the horizon');
    assert.equal(order.state, 'OPEN');
    const all = await store.orders();
    assert.equal(all.length, 2);
    const lost = all.find((o) => o.id !== order.id);
    assert.equal(lost?.state, 'REJECTED');
    assert.notEqual(lost.clientOrderId, order.clientOrderId);
    assert.equal(exchange.orders.size, 1);
  });

  it('a 429 is final for the attempt: the re-send takes a new client id', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    exchange.submits.push('rate-limited');
    const order = await oms.submit({ ...BUY, attempts: 2 });
    assert.equal(order.state, 'OPEN');
    const ids = (await store.orders()).map((o) => o.clientOrderId);
    assert.equal(new Set(ids).size, 2);
  });

  it('a second intent on the symbol waits while the first is unresolved; it goes once the first resolves', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    exchange.visibilityDelayMs = 3_000;
    exchange.submits.push('ambiguous-placed');
    const [first, second] = await Promise.all([
      oms.submit(BUY),
      oms.submit({ ...BUY, intentId: 'intent-2', price: new Dec('99') }),
    ]);
    assert.equal(first.state, 'OPEN');
    assert.equal(second.state, 'OPEN');
    const firstEvents = await store.orderEvents(first.id);
    const resolvedAt = firstEvents.find((e) => e.type === 'venue-status')?.at ?? Infinity;
    const secondJournaled = (await store.orderEvents(second.id))[0]?.at ?? -Infinity;
    assert.ok(secondJournaled >= resolvedAt, 'the second order was journaled before the first resolved');
    assert.deepEqual(
      [...exchange.orders.values()].map((o) => o.request.price?.toFixed()),
      ['100', '99'],
    );
  });

  it('lookups that keep failing escalate instead of guessing, and the order stays UNKNOWN', async () => {
    const alerts: string[] = [];
    const { oms, exchange, store } = await setup({ onAlert: (a) => alerts.push(a.level) });
    await oms.start();
    exchange.submits.push('ambiguous-placed');
    exchange.failReads = true;
    const order = await oms.submit(BUY);
    assert.equal(order.state, 'UNKNOWN');
    assert.equal((await store.escalation()).level, 'REDUCE_ONLY');
    await assert.rejects(oms.submit({ ...BUY, intentId: 'intent-2' }), OrderRefusedError);
    assert.deepEqual(alerts, ['REDUCE_ONLY']);
  });
});

describe('OMS gates', () => {
  it('the kill switch blocks new orders but not cancels', async () => {
    const { oms, store } = await setup();
    await oms.start();
    const order = await oms.submit(BUY);
    await store.setKillSwitch(true, 'operator test');
    await assert.rejects(oms.submit({ ...BUY, intentId: 'x' }), /kill switch is on \(operator test\)/);
    const result = await oms.cancel({ orderId: order.id });
    assert.equal(result.outcome, 'canceled');
  });

  it('REDUCE_ONLY admits only what reduces the position', async () => {
    const { oms, store, exchange } = await setup();
    await oms.start();
    const bought = await oms.submit(BUY);
    exchange.fill(bought.exchangeOrderId ?? '', '0.5');
    await oms.reconcile();
    await store.setEscalation('REDUCE_ONLY', 'test');
    await assert.rejects(oms.submit({ ...BUY, intentId: 'more' }), /REDUCE_ONLY/);
    await assert.rejects(oms.submit({ ...BUY, side: 'sell', quantity: new Dec('0.6') }), /REDUCE_ONLY/);
    assert.equal((await oms.submit({ ...BUY, side: 'sell', quantity: new Dec('0.3') })).state, 'OPEN');
    await assert.rejects(
      oms.submit({ ...BUY, side: 'sell', quantity: new Dec('0.3') }),
      /only 0.2 of the position/,
    );
  });
});

describe('OMS cancel', () => {
  it('stays PENDING_CANCEL until the exchange shows the order gone', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    const order = await oms.submit(BUY);
    exchange.cancelCompletes = false;
    const pending = await oms.cancel({ clientOrderId: order.clientOrderId ?? '' });
    assert.equal(pending.outcome, 'pending');
    assert.equal(pending.order.state, 'PENDING_CANCEL');
    exchange.cancelCompletes = true;
    await oms.reconcile();
    assert.equal((await store.order(order.id))?.state, 'CANCELED');
  });

  it('an order already gone is settled by lookup, not retried in a loop', async () => {
    const { oms, exchange } = await setup();
    await oms.start();
    const order = await oms.submit(BUY);
    exchange.fill(order.exchangeOrderId ?? '', '0.5');
    const result = await oms.cancel({ exchangeOrderId: order.exchangeOrderId ?? '' });
    assert.equal(result.outcome, 'filled');
    assert.equal(result.order.filledQuantity.toFixed(), '0.5');
    assert.equal(exchange.calls.filter((c) => c.startsWith('DELETE')).length, 1);
  });
});

describe('OMS inputs and continuous reconciliation', () => {
  it('a fill from the stream and the same fill from polling are counted once', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    const order = await oms.submit(BUY);
    const fill = exchange.fill(order.exchangeOrderId ?? '', '0.2');
    await oms.onFill(fill);
    await oms.reconcile();
    const stored = await store.order(order.id);
    assert.equal(stored?.filledQuantity.toFixed(), '0.2');
    assert.equal(stored.state, 'PARTIALLY_FILLED');
    assert.deepEqual(
      (await store.fills()).map((f) => f.source),
      ['stream'],
    );
    assert.ok(oms.stats().fillsDuplicate >= 1);
  });

  it('repairs on a timer until stopped', async () => {
    const { oms, exchange, store } = await setup();
    await oms.start();
    const order = await oms.submit(BUY);
    const venue = exchange.orders.get(order.exchangeOrderId ?? '');
    assert.ok(venue);
    venue.status = 'canceled'; // canceled by someone else: only reconciliation can notice
    const runs = oms.stats().reconcileRuns;
    oms.startContinuous(5);
    const deadline = Date.now() + 5_000;
    while ((await store.order(order.id))?.state !== 'CANCELED') {
      assert.ok(Date.now() < deadline, 'the timer never repaired the order');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await oms.stop();
    const stopped = oms.stats().reconcileRuns;
    assert.ok(stopped > runs);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(oms.stats().reconcileRuns, stopped, 'it kept running after stop()');
  });
});
