import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import {
  allowsFrom,
  isClosed,
  isLateEvent,
  isResting,
  isTerminal,
  isUnresolved,
  transition,
  type OrderEvent,
  type OrderProgress,
} from '../../src/domain/lifecycle.ts';
import { ORDER_STATES, type OrderState } from '../../src/domain/orders.ts';

const ABBREVIATION: Record<string, OrderState> = {
  PS: 'PENDING_SUBMIT',
  SU: 'SUBMITTED',
  UN: 'UNKNOWN',
  OP: 'OPEN',
  PF: 'PARTIALLY_FILLED',
  PC: 'PENDING_CANCEL',
  FI: 'FILLED',
  CA: 'CANCELED',
  RE: 'REJECTED',
};

interface Case {
  readonly event: OrderEvent;
  readonly filled: string; // of a quantity of 10, before the event
  // Outcome from each state, in ORDER_STATES order: PS SU UN OP PF PC FI CA RE; "--" is forbidden.
  readonly row: string;
}

// Written independently of the implementation's table: every state × event pair, allowed or not.
const CASES: Record<string, Case> = {
  sent: { event: { type: 'sent' }, filled: '0', row: 'SU -- -- -- -- -- -- -- --' },
  acked: { event: { type: 'acked', exchangeOrderId: '7' }, filled: '0', row: '-- OP OP OP PF PC FI CA --' },
  'send-ambiguous': {
    event: { type: 'send-ambiguous', reason: 'timeout' },
    filled: '0',
    row: '-- UN -- -- -- -- -- -- --',
  },
  rejected: { event: { type: 'rejected', reason: '1123' }, filled: '0', row: 'RE RE -- -- -- -- -- -- --' },
  'resolved-not-found': {
    event: { type: 'resolved-not-found', reason: 'not in open orders, history or fills' },
    filled: '0',
    row: '-- -- RE -- -- -- -- -- --',
  },
  'fill, partial': {
    event: { type: 'fill', quantity: new Dec('4') },
    filled: '0',
    row: 'PF PF PF PF PF PC FI CA --',
  },
  'fill, completing': {
    event: { type: 'fill', quantity: new Dec('4') },
    filled: '6',
    row: 'FI FI FI FI FI FI FI CA --',
  },
  'venue open, nothing filled': {
    event: { type: 'venue-status', status: 'open' },
    filled: '0',
    row: 'OP OP OP OP PF PC -- -- --',
  },
  'venue open, some filled': {
    event: { type: 'venue-status', status: 'open' },
    filled: '3',
    row: 'PF PF PF PF PF PC -- -- --',
  },
  'venue partially filled': {
    event: { type: 'venue-status', status: 'partially_filled' },
    filled: '0',
    row: 'PF PF PF PF PF PC -- -- --',
  },
  'venue filled': {
    event: { type: 'venue-status', status: 'filled' },
    filled: '0',
    row: 'FI FI FI FI FI FI FI FI --',
  },
  'venue canceled': {
    event: { type: 'venue-status', status: 'canceled' },
    filled: '0',
    row: 'CA CA CA CA CA CA FI CA --',
  },
  'cancel-requested': { event: { type: 'cancel-requested' }, filled: '0', row: '-- -- -- PC PC PC -- -- --' },
  'cancel-refused, nothing filled': {
    event: { type: 'cancel-refused', reason: 'ORDER_CANCEL_BLOCKED' },
    filled: '0',
    row: '-- -- -- -- -- OP -- -- --',
  },
  'cancel-refused, some filled': {
    event: { type: 'cancel-refused', reason: 'ORDER_CANCEL_BLOCKED' },
    filled: '3',
    row: '-- -- -- -- -- PF -- -- --',
  },
  canceled: { event: { type: 'canceled' }, filled: '0', row: '-- CA CA CA CA CA FI CA --' },
};

const progress = (state: OrderState, filled = '0', exchangeOrderId: string | null = null): OrderProgress => ({
  state,
  quantity: new Dec('10'),
  filled: new Dec(filled),
  exchangeOrderId,
});

describe('order state machine', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const cells = c.row.split(' ');
    assert.equal(cells.length, ORDER_STATES.length, `row of ${name}`);
    ORDER_STATES.forEach((state, i) => {
      const cell = cells[i] ?? '';
      const expected = cell === '--' ? null : ABBREVIATION[cell];
      it(`${name} from ${state} → ${expected ?? 'forbidden'}`, () => {
        const result = transition(progress(state, c.filled), c.event);
        if (expected === null) {
          assert.equal(result.ok, false);
          assert.ok(result.error.includes(state), 'the error names the current state');
        } else {
          assert.ok(result.ok, result.ok ? '' : result.error);
          assert.equal(result.state, expected);
        }
      });
    });
  }

  it('keeps a running filled total, including late fills on a CANCELED order', () => {
    const result = transition(progress('CANCELED', '2.5'), { type: 'fill', quantity: new Dec('0.00000001') });
    assert.ok(result.ok);
    assert.equal(result.state, 'CANCELED');
    assert.equal(result.filled.toFixed(), '2.50000001');
  });

  it('refuses a fill that would exceed the order quantity, naming both amounts', () => {
    const result = transition(progress('PARTIALLY_FILLED', '8'), { type: 'fill', quantity: new Dec('2.1') });
    assert.equal(result.ok, false);
    assert.ok(result.error.includes('10.1') && result.error.includes('10'));
  });

  it('refuses a fill of zero or less', () => {
    for (const q of ['0', '-1']) {
      const result = transition(progress('OPEN'), { type: 'fill', quantity: new Dec(q) });
      assert.equal(result.ok, false, q);
    }
  });

  it('learns the exchange order id once and refuses a different one', () => {
    const learned = transition(progress('SUBMITTED'), { type: 'acked', exchangeOrderId: '42' });
    assert.ok(learned.ok);
    assert.equal(learned.exchangeOrderId, '42');
    const same = transition(progress('OPEN', '0', '42'), {
      type: 'venue-status',
      status: 'open',
      exchangeOrderId: '42',
    });
    assert.ok(same.ok);
    const other = transition(progress('OPEN', '0', '42'), {
      type: 'fill',
      quantity: new Dec(1),
      exchangeOrderId: '43',
    });
    assert.equal(other.ok, false);
    assert.ok(other.error.includes('43') && other.error.includes('42'));
  });

  it('classifies states', () => {
    const pick = (f: (s: OrderState) => boolean) => ORDER_STATES.filter(f);
    assert.deepEqual(pick(isTerminal), ['FILLED', 'REJECTED']);
    assert.deepEqual(pick(isClosed), ['FILLED', 'CANCELED', 'REJECTED']);
    assert.deepEqual(pick(isResting), ['OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL']);
    assert.deepEqual(pick(isUnresolved), ['SUBMITTED', 'UNKNOWN']);
  });

  it('never leaves a terminal state and never counts more than the quantity, over random event runs', () => {
    const eventArb: fc.Arbitrary<OrderEvent> = fc.oneof(
      fc.constant<OrderEvent>({ type: 'sent' }),
      fc.constant<OrderEvent>({ type: 'acked', exchangeOrderId: '1' }),
      fc.constant<OrderEvent>({ type: 'send-ambiguous', reason: 'r' }),
      fc.constant<OrderEvent>({ type: 'rejected', reason: 'r' }),
      fc.constant<OrderEvent>({ type: 'resolved-not-found', reason: 'r' }),
      fc.integer({ min: 1, max: 6 }).map<OrderEvent>((n) => ({ type: 'fill', quantity: new Dec(n) })),
      fc
        .constantFrom('open', 'partially_filled', 'filled', 'canceled' as const)
        .map<OrderEvent>((status) => ({ type: 'venue-status', status })),
      fc.constant<OrderEvent>({ type: 'cancel-requested' }),
      fc.constant<OrderEvent>({ type: 'cancel-refused', reason: 'r' }),
      fc.constant<OrderEvent>({ type: 'canceled' }),
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 30 }), (events) => {
        let current = progress('PENDING_SUBMIT');
        for (const event of events) {
          const next = transition(current, event);
          if (!next.ok) continue;
          if (isTerminal(current.state)) assert.equal(next.state, current.state);
          if (current.state === 'CANCELED') assert.ok(next.state === 'CANCELED' || next.state === 'FILLED');
          assert.ok(next.filled.lte(current.quantity));
          assert.ok(next.filled.gte(current.filled));
          current = {
            ...current,
            state: next.state,
            filled: next.filled,
            exchangeOrderId: next.exchangeOrderId,
          };
        }
      }),
      { seed: 20240611, numRuns: 300 },
    );
  });
});

describe('late events: refused on the state now, allowed on the state the caller read', () => {
  const at = (state: OrderState, exchangeOrderId: string | null = 'X1'): OrderProgress => ({
    state,
    quantity: new Dec(10),
    filled: new Dec(0),
    exchangeOrderId,
  });
  const ambiguous: OrderEvent = { type: 'send-ambiguous', reason: 'timeout' };

  it('a timeout reply after the stream showed the order OPEN or FILLED is late', () => {
    assert.equal(isLateEvent(at('SUBMITTED', null), at('OPEN'), ambiguous), true);
    assert.equal(isLateEvent(at('SUBMITTED', null), at('FILLED'), ambiguous), true);
    assert.equal(isLateEvent(at('SUBMITTED', null), at('CANCELED'), ambiguous), true);
  });

  it('a repair decided before a lookup resolved the order is late', () => {
    const notFound: OrderEvent = { type: 'resolved-not-found', reason: 'gone' };
    assert.equal(isLateEvent(at('UNKNOWN', null), at('OPEN'), notFound), true);
    assert.equal(isLateEvent(at('OPEN'), at('FILLED'), { type: 'cancel-requested' }), true);
  });

  it('an event the state it was decided on already forbade is no late event but a divergence', () => {
    assert.equal(isLateEvent(at('OPEN'), at('FILLED'), ambiguous), false);
    assert.equal(isLateEvent(at('OPEN'), at('OPEN'), ambiguous), false);
  });

  it('evidence that the order exists, against an order concluded never placed, is a contradiction', () => {
    const ack: OrderEvent = { type: 'acked', exchangeOrderId: 'X1' };
    assert.equal(allowsFrom('SUBMITTED', ack), true);
    assert.equal(isLateEvent(at('SUBMITTED', null), at('REJECTED', null), ack), false);
  });

  it('an event naming another exchange order is never late', () => {
    const canceled: OrderEvent = { type: 'venue-status', status: 'open', exchangeOrderId: 'X2' };
    assert.equal(isLateEvent(at('UNKNOWN', null), at('FILLED', 'X1'), canceled), false);
    assert.equal(isLateEvent(at('UNKNOWN', null), at('FILLED', 'X2'), canceled), true);
  });
});
