import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Decimal } from 'decimal.js';
import { Dec } from '../../src/domain/decimal.ts';
import { transition, type OrderEvent } from '../../src/domain/lifecycle.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import type { OrderStatusReport, VenueOrderStatus } from '../../src/domain/reports.ts';
import {
  executedQuantity,
  reconcileDiff,
  type DiffInput,
  type LocalOrder,
  type ReconcileAction,
} from '../../src/oms/reconcile-diff.ts';

// The reconciliation diff is pure: these tests generate an exchange's truth and a local view that
// lags it in every way the lifecycle allows (stale states, unresolved submits, missed fills, orders
// a restored database forgot, hand-placed orders), apply the diff's repairs through the state
// machine itself, and check that one round converges.

const PREFIX = 'pt';
const NOW = 1_700_000_100_000;
const HORIZON = 10_000;
const CANCEL_RETRY = 15_000;
const SEED = 20_240_611;

let idCounter = 0;
const ownClientId = (n: number): string => `${PREFIX}-${n.toString(36).padStart(13, '0')}`;

function report(
  id: string,
  clientOrderId: string | null,
  quantity: number,
  executed: number,
  status: VenueOrderStatus,
): OrderStatusReport {
  return {
    exchangeOrderId: id,
    clientOrderId,
    symbol: 'BTCTRY',
    side: 'buy',
    method: 'limit',
    price: new Dec(100),
    stopPrice: null,
    quantity: new Dec(quantity),
    leftQuantity: status === 'filled' ? new Dec(0) : new Dec(quantity - executed),
    status,
    createdAt: NOW - 60_000,
    updatedAt: NOW - 1_000,
  };
}

interface Local extends LocalOrder {
  readonly quantity: Decimal;
}

function local(over: Partial<Local> & Pick<Local, 'state'>): Local {
  idCounter += 1;
  return {
    id: `L${idCounter}`,
    clientOrderId: ownClientId(idCounter + 1_000_000),
    exchangeOrderId: null,
    origin: 'local',
    filledQuantity: new Dec(0),
    updatedAt: NOW - 1_000,
    quantity: new Dec(1),
    ...over,
  };
}

function input(locals: Local[], reports: OrderStatusReport[], replaceOwned: string[] = []): DiffInput<Local> {
  return {
    prefix: PREFIX,
    now: NOW,
    local: locals,
    reports,
    replaceOwned: new Set(replaceOwned),
    notFoundAfterMs: HORIZON,
    cancelRetryAfterMs: CANCEL_RETRY,
  };
}

const kinds = (actions: readonly ReconcileAction[]) => actions.map((a) => a.kind).sort();

describe('reconcileDiff by example', () => {
  it('resolves an unresolved submit by client id and fetches its fills', () => {
    const order = local({ state: 'UNKNOWN' });
    const actions = reconcileDiff(
      input([order], [report('7', order.clientOrderId, 1, 0.4, 'partially_filled')]),
    );
    assert.deepEqual(kinds(actions), ['apply-status', 'fetch-fills']);
  });

  it('adopts an order with our prefix and records a hand-placed one as foreign', () => {
    const actions = reconcileDiff(
      input(
        [],
        [
          report('7', ownClientId(5), 1, 0, 'open'),
          report('8', 'my-manual-order', 1, 0, 'open'),
          report('9', null, 1, 0, 'open'),
        ],
      ),
    );
    assert.deepEqual(
      actions.map((a) => `${a.kind}:${'report' in a ? (a.report?.exchangeOrderId ?? '') : ''}`),
      ['adopt:7', 'foreign:8', 'foreign:9'],
    );
  });

  it('rejects journaled orders that were never sent, except those a replace owns', () => {
    const lost = local({ state: 'PENDING_SUBMIT' });
    const owned = local({ state: 'PENDING_SUBMIT' });
    const actions = reconcileDiff(input([lost, owned], [], [owned.id]));
    assert.deepEqual(
      actions.map((a) => `${a.kind}:${'order' in a ? a.order.id : ''}`),
      [`never-sent:${lost.id}`],
    );
  });

  it('concludes an unresolved order absent only past the visibility horizon', () => {
    const recent = local({ state: 'UNKNOWN', updatedAt: NOW - HORIZON + 1 });
    const old = local({ state: 'SUBMITTED', updatedAt: NOW - HORIZON });
    const actions = reconcileDiff(input([recent, old], []));
    assert.deepEqual(
      actions.map((a) => (a.kind === 'not-found' ? `${a.order.id}:${a.conclusive}` : a.kind)),
      [`${recent.id}:false`, `${old.id}:true`],
    );
  });

  it('reports contradictions as divergences instead of repairing them', () => {
    const rejected = local({ state: 'REJECTED' });
    const canceled = local({ state: 'CANCELED', exchangeOrderId: '11' });
    const resting = local({ state: 'OPEN', exchangeOrderId: '12' });
    const twice = local({ state: 'OPEN', exchangeOrderId: '13' });
    const actions = reconcileDiff(
      input(
        [rejected, canceled, resting, twice],
        [
          report('10', rejected.clientOrderId, 1, 0, 'open'),
          report('11', canceled.clientOrderId, 1, 0, 'open'),
          report('13', twice.clientOrderId, 1, 0, 'open'),
          report('14', twice.clientOrderId, 1, 0, 'open'),
        ],
      ),
    );
    assert.deepEqual(kinds(actions), ['divergence', 'divergence', 'divergence', 'divergence']);
    const problems = actions.map((a) => (a.kind === 'divergence' ? a.problem : ''));
    assert.ok(problems.some((p) => /concluded never placed/.test(p)));
    assert.ok(problems.some((p) => /closed here as CANCELED/.test(p)));
    assert.ok(problems.some((p) => /shows no such order/.test(p)));
    assert.ok(problems.some((p) => /second order for one client id/.test(p)));
  });

  it('asks again for a cancel the exchange still shows resting after the retry delay', () => {
    const stuck = local({ state: 'PENDING_CANCEL', exchangeOrderId: '20', updatedAt: NOW - CANCEL_RETRY });
    const fresh = local({ state: 'PENDING_CANCEL', exchangeOrderId: '21' });
    const actions = reconcileDiff(
      input(
        [stuck, fresh],
        [report('20', stuck.clientOrderId, 1, 0, 'open'), report('21', fresh.clientOrderId, 1, 0, 'open')],
      ),
    );
    assert.deepEqual(
      actions.map((a) => `${a.kind}:${'order' in a ? a.order.id : ''}`),
      [`retry-cancel:${stuck.id}`],
    );
  });

  it('a canceled order the exchange shows filled becomes FILLED; a FILLED one shown canceled stays', () => {
    const canceled = local({ state: 'CANCELED', exchangeOrderId: '30', filledQuantity: new Dec(1) });
    const filled = local({ state: 'FILLED', exchangeOrderId: '31', filledQuantity: new Dec(1) });
    const actions = reconcileDiff(
      input(
        [canceled, filled],
        [
          report('30', canceled.clientOrderId, 1, 1, 'filled'),
          report('31', filled.clientOrderId, 1, 1, 'canceled'),
        ],
      ),
    );
    assert.deepEqual(
      actions.map((a) => `${a.kind}:${'order' in a ? a.order.id : ''}`),
      [`apply-status:${canceled.id}`],
    );
  });
});

// ---------------------------------------------------------------- properties

interface Case {
  readonly locals: Local[];
  readonly reports: OrderStatusReport[];
  readonly replaceOwned: string[];
}

/** Local states an order can be in while the exchange already shows `status` (it lags, never leads). */
const LAGGING: Readonly<Record<VenueOrderStatus, readonly OrderState[]>> = {
  open: ['SUBMITTED', 'UNKNOWN', 'OPEN', 'PENDING_CANCEL'],
  partially_filled: ['SUBMITTED', 'UNKNOWN', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL'],
  filled: ['SUBMITTED', 'UNKNOWN', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'FILLED', 'CANCELED'],
  canceled: ['SUBMITTED', 'UNKNOWN', 'OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'CANCELED'],
};

const venueOrder = fc
  .record({
    quantity: fc.integer({ min: 1, max: 8 }),
    executedShare: fc.integer({ min: 0, max: 8 }),
    canceled: fc.boolean(),
    origin: fc.constantFrom('local', 'local', 'local', 'forgotten', 'foreign'),
    lag: fc.nat(),
    countedShare: fc.nat(),
    cancelAge: fc.constantFrom(0, CANCEL_RETRY),
  })
  .map((v) => {
    const executed = Math.min(v.executedShare, v.quantity);
    const status: VenueOrderStatus =
      executed === v.quantity
        ? 'filled'
        : v.canceled
          ? 'canceled'
          : executed > 0
            ? 'partially_filled'
            : 'open';
    return { ...v, executed, status };
  });

const localOnly = fc.record({
  state: fc.constantFrom<OrderState>(
    'PENDING_SUBMIT',
    'SUBMITTED',
    'UNKNOWN',
    'REJECTED',
    'CANCELED',
    'FILLED',
  ),
  age: fc.constantFrom(0, HORIZON - 1, HORIZON, HORIZON * 3),
  ownedByReplace: fc.boolean(),
});

const cases: fc.Arbitrary<Case> = fc
  .record({ venue: fc.array(venueOrder, { maxLength: 12 }), extra: fc.array(localOnly, { maxLength: 5 }) })
  .map(({ venue, extra }) => {
    const locals: Local[] = [];
    const reports: OrderStatusReport[] = [];
    const replaceOwned: string[] = [];
    venue.forEach((v, i) => {
      const id = String(5_000 + i);
      const clientId = v.origin === 'foreign' ? (i % 2 === 0 ? null : `manual-${i}`) : ownClientId(i);
      reports.push(report(id, clientId, v.quantity, v.executed, v.status));
      if (v.origin !== 'local') return;
      const choices = LAGGING[v.status];
      const state = choices[v.lag % choices.length] ?? 'OPEN';
      const unresolved = state === 'SUBMITTED' || state === 'UNKNOWN';
      const counted = unresolved || state === 'OPEN' ? 0 : v.countedShare % (v.executed + 1);
      locals.push(
        local({
          state,
          clientOrderId: clientId,
          exchangeOrderId: unresolved ? null : id,
          quantity: new Dec(v.quantity),
          filledQuantity: new Dec(counted),
          updatedAt: NOW - (state === 'PENDING_CANCEL' ? v.cancelAge : 1_000),
        }),
      );
    });
    for (const e of extra) {
      const order = local({ state: e.state, updatedAt: NOW - e.age });
      locals.push(order);
      if (e.state === 'PENDING_SUBMIT' && e.ownedByReplace) replaceOwned.push(order.id);
    }
    return { locals, reports, replaceOwned };
  });

const VENUE_STATE: Readonly<Record<VenueOrderStatus, OrderState>> = {
  open: 'OPEN',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
};

/** Applies the repairs the way the shell does, through the state machine; throws on a refused step. */
function applyAll(c: Case, actions: readonly ReconcileAction<Local>[]): Local[] {
  const byId = new Map(c.locals.map((o) => [o.id, o]));
  const step = (order: Local, event: OrderEvent): Local => {
    const current = byId.get(order.id) ?? order;
    const next = transition(
      {
        state: current.state,
        quantity: current.quantity,
        filled: current.filledQuantity,
        exchangeOrderId: current.exchangeOrderId,
      },
      event,
    );
    if (!next.ok) throw new Error(`repair refused by the state machine: ${next.error}`);
    const updated = {
      ...current,
      state: next.state,
      filledQuantity: next.filled,
      exchangeOrderId: next.exchangeOrderId,
    };
    byId.set(order.id, updated);
    return updated;
  };
  for (const action of actions) {
    switch (action.kind) {
      case 'apply-status':
        step(action.order, {
          type: 'venue-status',
          status: action.report.status,
          exchangeOrderId: action.report.exchangeOrderId,
        });
        break;
      case 'fetch-fills': {
        const current = byId.get(action.order.id) ?? action.order;
        const missing = (executedQuantity(action.report) ?? new Dec(0)).sub(current.filledQuantity);
        if (missing.gt(0))
          step(current, { type: 'fill', quantity: missing, exchangeOrderId: action.report.exchangeOrderId });
        break;
      }
      case 'adopt':
      case 'foreign': {
        const r = action.report;
        const adopted = local({
          state: VENUE_STATE[r.status],
          clientOrderId: r.clientOrderId,
          exchangeOrderId: r.exchangeOrderId,
          origin: action.kind === 'adopt' ? 'adopted' : 'foreign',
          quantity: r.quantity,
          filledQuantity: executedQuantity(r) ?? new Dec(0),
        });
        byId.set(adopted.id, adopted);
        break;
      }
      case 'never-sent':
        step(action.order, { type: 'rejected', reason: 'never sent' });
        break;
      case 'not-found':
        if (action.conclusive) {
          const current = byId.get(action.order.id) ?? action.order;
          const unknown =
            current.state === 'SUBMITTED' ? step(current, { type: 'send-ambiguous', reason: 'x' }) : current;
          step(unknown, { type: 'resolved-not-found', reason: 'absent' });
        }
        break;
      case 'retry-cancel':
      case 'divergence':
        break;
    }
  }
  return [...byId.values()];
}

const REPAIRS = new Set(['apply-status', 'fetch-fills', 'adopt', 'foreign', 'never-sent']);

describe('reconcileDiff properties', () => {
  it('every repair is a transition the state machine accepts', () => {
    fc.assert(
      fc.property(cases, (c) => {
        applyAll(c, reconcileDiff(input(c.locals, c.reports, c.replaceOwned)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('one round converges: diffing again finds nothing left to repair, and nothing diverges', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const first = reconcileDiff(input(c.locals, c.reports, c.replaceOwned));
        assert.deepEqual(
          first.filter((a) => a.kind === 'divergence'),
          [],
        );
        const after = applyAll(c, first);
        const second = reconcileDiff(input(after, c.reports, c.replaceOwned));
        assert.deepEqual(
          second.filter((a) => REPAIRS.has(a.kind)).map((a) => a.kind),
          [],
        );
        const leftovers = (actions: readonly ReconcileAction[]) =>
          actions
            .filter((a) => a.kind === 'retry-cancel' || (a.kind === 'not-found' && !a.conclusive))
            .map((a) => ('order' in a ? a.order.id : ''));
        assert.deepEqual(leftovers(second), leftovers(first));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('afterwards every exchange order is held exactly once, with the exchange status and fills', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const after = applyAll(c, reconcileDiff(input(c.locals, c.reports, c.replaceOwned)));
        for (const r of c.reports) {
          const holders = after.filter((o) => o.exchangeOrderId === r.exchangeOrderId);
          assert.equal(holders.length, 1, `exchange order ${r.exchangeOrderId} held ${holders.length} times`);
          const held = holders[0];
          assert.ok(held);
          const executed = executedQuantity(r) ?? new Dec(0);
          assert.ok(
            held.filledQuantity.eq(executed),
            `fills ${held.filledQuantity.toFixed()} ≠ ${executed.toFixed()}`,
          );
          if (r.status === 'filled' || r.status === 'canceled')
            assert.equal(held.state, VENUE_STATE[r.status]);
          else assert.ok(['OPEN', 'PARTIALLY_FILLED', 'PENDING_CANCEL'].includes(held.state), held.state);
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('never adopts an order without our prefix as ours, nor records one of ours as foreign', () => {
    fc.assert(
      fc.property(cases, (c) => {
        for (const a of reconcileDiff(input(c.locals, c.reports, c.replaceOwned))) {
          if (a.kind === 'adopt') assert.ok(a.report.clientOrderId?.startsWith(`${PREFIX}-`));
          if (a.kind === 'foreign') assert.ok(!a.report.clientOrderId?.startsWith(`${PREFIX}-`));
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('is silent when both sides already agree', () => {
    fc.assert(
      fc.property(cases, (c) => {
        const settled = new Set<OrderState>(['OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED']);
        const agreed = applyAll(c, reconcileDiff(input(c.locals, c.reports, c.replaceOwned))).filter((o) =>
          settled.has(o.state),
        );
        const held = new Set(agreed.map((o) => o.exchangeOrderId));
        const reports = c.reports.filter((r) => held.has(r.exchangeOrderId));
        assert.deepEqual(reconcileDiff(input(agreed, reports)), []);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
