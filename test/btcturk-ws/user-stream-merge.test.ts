import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { BtcturkWsClient, type WsProblem } from '../../src/btcturk/websocket/client.ts';
import { parseFrame } from '../../src/btcturk/websocket/messages.ts';
import { BtcturkUserStream, DEFAULT_DELETE_HOLD_MS } from '../../src/btcturk/websocket/user-stream.ts';
import { orderReportOf } from '../../src/engine/user-events.ts';
import type { OrderUpdateEvent, UserStreamEvent } from '../../src/ports/user-stream.ts';
import { wireText } from '../wire/corpus.ts';
import { BALANCES, LOGIN_OK } from './fixtures/frames.ts';

// BTCTurk sends no 453: an order update (a partial fill changing numLeft) is a 452 then a 451 for
// the same order id, and a cancel's final result is a lone 452. The user stream holds each 452
// briefly and merges it with its 451 into one `updated` event; a lone 452 becomes `updated` with
// nothing left (filled) or `deleted` (canceled). Frames go in as wire text through parseFrame, the
// hold timer runs on node:test's mock timers (no wall-clock waits).

const FC_SEED = Number(process.env.FC_SEED ?? 452_451);
const HOLD = 300;

/** The real 452 of order 25338392433 (decimals padded to 16 places), resting in full. */
const REAL_DELETE = wireText('ws-order-delete-452');
const REAL_ID = '25338392433';

/**
 * A 451/452 in the real key order. The 452 pads decimals to 16 places, the 451 does not, as seen
 * on the wire for the same order.
 */
function orderFrame(type: 451 | 452, id: number | string, amount: string, numLeft: string): string {
  const pad = (v: string): string => (type === 452 ? Number(v).toFixed(16) : v);
  return (
    `[${type},{"type":${type},"pairId":223,"symbol":"ARPAUSDT","id":${id},"method":0,"userId":907818,` +
    `"orderType":0,"price":"${pad('0.04573')}","amount":"${pad(amount)}","numLeft":"${pad(numLeft)}",` +
    `"denomLeft":"${pad('1')}","newOrderClientId":"bb-${id}"}]`
  );
}

function userTrade(orderId: number | string, tradeId: string): string {
  return (
    `[423,{"id":${tradeId},"orderId":${orderId},"timestamp":1729396570700,"numeratorSymbol":"ARPA",` +
    `"denominatorSymbol":"USDT","amount":"10","fee":"0.0045","tax":"0.0009","price":"0.04573",` +
    `"orderType":"buy","orderClientId":"bb-${orderId}","preciseAmount":10}]`
  );
}

function orderMatch(orderId: number | string): string {
  return (
    `[441,{"type":441,"id":${orderId},"user":907818,"isBid":true,"method":0,"pair":223,"symbol":"ARPAUSDT",` +
    `"amount":"10.0000000000","price":"0.0457300000","clientId":"bb-${orderId}","timestamp":"1729396570700"}]`
  );
}

interface Harness {
  readonly client: BtcturkWsClient;
  readonly stream: BtcturkUserStream;
  readonly events: UserStreamEvent[];
  /** Feeds one frame as the client would: parsed, then emitted message by message. */
  feed(text: string): void;
  tick(ms: number): void;
  detach(): void;
}

/** A client that never connects: frames are emitted into it by hand. */
function harness(t: TestContext, deleteHoldMs: number = HOLD): Harness {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const client = new BtcturkWsClient({});
  const stream = new BtcturkUserStream(client, { deleteHoldMs });
  const events: UserStreamEvent[] = [];
  const detach = stream.onUserEvent((event) => {
    events.push(event);
  });
  return {
    client,
    stream,
    events,
    feed: (text) => {
      const parsed = parseFrame(text, 0);
      assert.ok(parsed.ok, `the test frame reads: ${parsed.ok ? '' : parsed.reason}`);
      for (const message of parsed.messages) client.emit('message', message, 0);
    },
    tick: (ms) => {
      t.mock.timers.tick(ms);
    },
    detach,
  };
}

function orderEvent(event: UserStreamEvent | undefined): OrderUpdateEvent {
  assert.ok(event?.kind === 'order', `an order event, got ${event?.kind ?? 'nothing'}`);
  return event;
}

/** The events as short labels, e.g. `updated 7 left 0.5`, `fill 7`, `resync`. */
function labels(events: readonly UserStreamEvent[]): string[] {
  return events.map((e) => {
    switch (e.kind) {
      case 'order':
        return `${e.change} ${e.exchangeOrderId} left ${e.leftQuantity.toFixed()}`;
      case 'fill':
        return `fill ${e.fill.exchangeOrderId}`;
      case 'order-match':
        return `match ${e.exchangeOrderId}`;
      default:
        return e.kind;
    }
  });
}

describe('BTCTurk user stream: a 452 then a 451 is one order update', () => {
  it('merges the real 452 and the 451 that follows it into one update built from the 451', (t) => {
    const h = harness(t);
    h.feed(REAL_DELETE);
    assert.deepEqual(h.events, [], 'the 452 is held');
    h.tick(HOLD - 1);
    h.feed(orderFrame(451, REAL_ID, '37154.7082', '30000'));
    assert.equal(h.events.length, 1);
    const update = orderEvent(h.events[0]);
    assert.equal(update.change, 'updated');
    assert.equal(update.exchangeOrderId, REAL_ID);
    assert.ok(update.leftQuantity.eq('30000'), 'numLeft is the 451’s, not the 452’s');
    assert.ok(update.quantity.eq('37154.7082'));
    assert.equal(orderReportOf(update)?.status, 'partially_filled');
    h.tick(HOLD * 10);
    assert.equal(h.events.length, 1, 'nothing more once the hold would have ended');
  });

  it('a lone 452 with numLeft above 0 is a cancel, delivered when the hold ends', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 7, '1', '0.4'));
    h.tick(HOLD - 1);
    assert.deepEqual(h.events, [], 'still held one ms before the hold ends');
    h.tick(1);
    assert.deepEqual(labels(h.events), ['deleted 7 left 0.4']);
    assert.equal(orderReportOf(orderEvent(h.events[0]))?.status, 'canceled');
  });

  it('a lone 452 with numLeft 0 is the order leaving the book filled: an update with nothing left', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 8, '1', '0'));
    h.tick(HOLD);
    assert.deepEqual(labels(h.events), ['updated 8 left 0']);
    assert.equal(orderReportOf(orderEvent(h.events[0]))?.status, 'filled');
  });

  it('uses the default hold when none is given', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const client = new BtcturkWsClient({});
    const events: UserStreamEvent[] = [];
    new BtcturkUserStream(client).onUserEvent((e) => events.push(e));
    const parsed = parseFrame(orderFrame(452, 9, '1', '1'), 0);
    assert.ok(parsed.ok);
    for (const m of parsed.messages) client.emit('message', m, 0);
    t.mock.timers.tick(DEFAULT_DELETE_HOLD_MS - 1);
    assert.equal(events.length, 0);
    t.mock.timers.tick(1);
    assert.deepEqual(labels(events), ['deleted 9 left 1']);
  });

  it('delays no other event behind a held 452, and keeps each order’s own events in order', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 7, '1', '1'));
    h.feed(orderMatch(7));
    h.feed(userTrade(7, '1149163839863900657'));
    h.feed(BALANCES);
    h.feed(orderFrame(451, 8, '2', '2')); // another order's insert
    assert.deepEqual(labels(h.events), ['match 7', 'fill 7', 'balances', 'inserted 8 left 2']);
    h.feed(orderFrame(451, 7, '1', '0.9'));
    assert.deepEqual(labels(h.events).slice(4), ['updated 7 left 0.9']);

    // Held 452s of several orders settle oldest first; a later event of a held order settles its
    // 452 before it is delivered.
    h.events.length = 0;
    h.feed(orderFrame(452, 10, '1', '1'));
    h.feed(orderFrame(452, 11, '1', '0'));
    h.feed(orderFrame(452, 12, '1', '0.5'));
    h.feed(orderFrame(452, 12, '1', '0.5')); // a second 452 of 12: the first one settles first
    assert.deepEqual(labels(h.events), ['deleted 12 left 0.5']);
    h.tick(HOLD);
    assert.deepEqual(labels(h.events), [
      'deleted 12 left 0.5',
      'deleted 10 left 1',
      'updated 11 left 0',
      'deleted 12 left 0.5',
    ]);
  });

  it('drops held 452s when the connection drops: the next login’s resync settles them from REST', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 7, '1', '0.5'));
    h.feed(orderFrame(452, 8, '1', '0'));
    h.client.emit('disconnected', 'closed with code 1006');
    // Either could be half of an update whose 451 went down with the connection: neither is taken
    // as a cancel (or a fill) on the stream's word.
    assert.deepEqual(labels(h.events), [], 'nothing taken from a 452 cut off by the drop');
    h.tick(HOLD * 10);
    assert.deepEqual(labels(h.events), [], 'the dropped 452s never come out later');
    h.feed(LOGIN_OK);
    assert.deepEqual(labels(h.events), ['logged-in', 'resync']);
  });

  it('settles held 452s when the listener detaches (stop)', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 7, '1', '0.5'));
    h.detach();
    assert.deepEqual(labels(h.events), ['deleted 7 left 0.5']);
    h.feed(orderFrame(452, 8, '1', '0.5'));
    h.tick(HOLD * 10);
    assert.equal(h.events.length, 1, 'nothing after the detach');
  });

  it('through the queue: a merged update and a lone cancel, then close', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const client = new BtcturkWsClient({});
    const queue = new BtcturkUserStream(client, { deleteHoldMs: HOLD }).userEvents(100);
    const emit = (text: string): void => {
      const parsed = parseFrame(text, 0);
      assert.ok(parsed.ok);
      for (const m of parsed.messages) client.emit('message', m, 0);
    };
    emit(orderFrame(452, 7, '1', '1'));
    emit(orderFrame(451, 7, '1', '0.5'));
    emit(orderFrame(452, 8, '1', '1'));
    t.mock.timers.tick(HOLD);
    queue.close();
    const seen: UserStreamEvent[] = [];
    for await (const event of queue) seen.push(event);
    assert.deepEqual(labels(seen), ['updated 7 left 0.5', 'deleted 8 left 1']);
    assert.equal(client.listenerCount('message'), 0, 'closing the queue detached the stream');
  });

  it('a 451 later than the hold turns the cancel already delivered into an update, and asks for a resync', (t) => {
    const h = harness(t);
    h.feed(orderFrame(452, 7, '1', '1'));
    h.tick(HOLD);
    h.feed(orderFrame(451, 7, '1', '0.5'));
    assert.deepEqual(labels(h.events), ['deleted 7 left 1', 'updated 7 left 0.5', 'resync']);
    const resync = h.events[2];
    assert.ok(resync?.kind === 'resync');
    assert.match(resync.reason, /order 7: its insert \(451\) came more than 300 ms after its delete \(452\)/);
    // An ordinary new order is no such case.
    h.feed(orderFrame(451, 9, '1', '1'));
    assert.deepEqual(labels(h.events).slice(3), ['inserted 9 left 1']);
  });

  it('ignores order events with id 0 (an all-zero 451 seen on a socket that never logged in)', (t) => {
    const h = harness(t);
    h.feed(wireText('ws-order-insert-451-zeroed-public'));
    h.feed(orderFrame(452, 0, '0', '0'));
    h.tick(HOLD * 10);
    assert.deepEqual(h.events, []);
  });

  it('reports a listener that throws from the hold timer as a client problem, not a crash', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const client = new BtcturkWsClient({});
    const problems: WsProblem[] = [];
    client.on('problem', (p) => problems.push(p));
    new BtcturkUserStream(client, { deleteHoldMs: HOLD }).onUserEvent(() => {
      throw new Error('boom');
    });
    const parsed = parseFrame(orderFrame(452, 7, '1', '1'), 0);
    assert.ok(parsed.ok);
    for (const m of parsed.messages) client.emit('message', m, 0);
    t.mock.timers.tick(HOLD);
    assert.deepEqual(
      problems.map((p) => [p.kind, p.message]),
      [['listener-failed', 'a private event listener threw: boom']],
    );
  });

  it('refuses a negative or non-numeric hold, naming the option', () => {
    const client = new BtcturkWsClient({});
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => new BtcturkUserStream(client, { deleteHoldMs: bad }), /deleteHoldMs/);
  });

  // Many orders at once, each an update (452 + 451 inside the hold), a cancel or a fill-out (lone
  // 452s), interleaved with fills and with time passing: each order yields exactly one order event
  // of the right kind, and fills are never held back.
  it('property: interleaved orders each come out as exactly one event of the right kind', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    type Kind = 'update' | 'cancel' | 'fill-out';
    const scenario = fc.array(
      fc.record({
        kind: fc.constantFrom<Kind>('update', 'cancel', 'fill-out'),
        gap: fc.integer({ min: 0, max: HOLD - 1 }), // ms between this order's 452 and its 451
        start: fc.integer({ min: 0, max: 2_000 }), // ms from the start to its 452
      }),
      { minLength: 1, maxLength: 12 },
    );
    fc.assert(
      fc.property(scenario, (orders) => {
        const client = new BtcturkWsClient({});
        const events: UserStreamEvent[] = [];
        const detach = new BtcturkUserStream(client, { deleteHoldMs: HOLD }).onUserEvent((e) =>
          events.push(e),
        );
        // The frames on a timeline; at equal times, in the order listed.
        const timeline: { at: number; text: string; fill: boolean }[] = [];
        orders.forEach((o, i) => {
          const id = 1_000 + i;
          const left = o.kind === 'fill-out' ? '0' : '1';
          timeline.push({ at: o.start, text: orderFrame(452, id, '2', left), fill: false });
          timeline.push({ at: o.start, text: userTrade(id, String(9_000_000 + i)), fill: true });
          if (o.kind === 'update')
            timeline.push({ at: o.start + o.gap, text: orderFrame(451, id, '2', '0.5'), fill: false });
        });
        timeline.sort((a, b) => a.at - b.at);
        let now = 0;
        for (const step of timeline) {
          t.mock.timers.tick(step.at - now);
          now = step.at;
          const before = events.length;
          const parsed = parseFrame(step.text, 0);
          assert.ok(parsed.ok);
          for (const m of parsed.messages) client.emit('message', m, 0);
          if (step.fill) assert.equal(events.at(-1)?.kind, 'fill', 'a fill goes out as it arrives');
          if (step.fill) assert.ok(events.length > before);
        }
        t.mock.timers.tick(HOLD);
        detach();
        orders.forEach((o, i) => {
          const id = String(1_000 + i);
          const own = events.filter((e) => e.kind === 'order' && e.exchangeOrderId === id);
          assert.equal(own.length, 1, `order ${id} (${o.kind}): ${labels(own).join(', ')}`);
          const event = orderEvent(own[0]);
          const expected = { update: 'partially_filled', cancel: 'canceled', 'fill-out': 'filled' }[o.kind];
          assert.equal(orderReportOf(event)?.status, expected, `order ${id} (${o.kind})`);
        });
        assert.equal(events.filter((e) => e.kind === 'resync').length, 0);
      }),
      { seed: FC_SEED, numRuns: 150 },
    );
  });
});
