import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import { diffOrders } from '../../src/engine/diff.ts';
import { planActions, type EngineAction } from '../../src/engine/plan.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { RestingOrder, WantedOrder } from '../../src/strategies/types.ts';
import { btcRules } from '../engine/engine-fakes.ts';

// Issue 10, item 2: the market maker never asks for a self-trade. When quotes move, the plan
// orders its replaces so that no new order crosses one of ours still resting (the actions of a
// symbol run in plan order, a replace cancelling before it places), and holds back what would.

const SYMBOL = 'BTCTRY';

function resting(side: 'buy' | 'sell', price: string, tag: string, state: OrderState = 'OPEN'): RestingOrder {
  return {
    clientOrderId: `c-${tag}`,
    symbol: SYMBOL,
    side,
    price: new Dec(price),
    quantityLeft: new Dec('2'),
    state,
    tag,
  };
}

function wanted(side: 'buy' | 'sell', price: string, tag: string): WantedOrder {
  return { symbol: SYMBOL, side, price: new Dec(price), quantity: new Dec('2'), tag };
}

function plan(want: WantedOrder[], open: RestingOrder[]) {
  const diff = diffOrders(want, open, { requoteThresholdBps: 1, quantityTolerancePct: 1 });
  return planActions({
    diff,
    ready: true,
    tradable: () => true,
    rules: new Map([[SYMBOL, btcRules()]]),
    limits: parseRiskLimits({ maxOrderQuote: '10000000', maxPositionQuote: '100000000' }),
    level: 'NORMAL',
    killSwitch: false,
    balances: new Map([
      ['TRY', { free: new Dec('100000000'), locked: new Dec(0) }],
      ['BTC', { free: new Dec('10'), locked: new Dec(0) }],
    ]),
    positions: new Map(),
    open,
    ordersAvailable: 100,
  });
}

const describeAction = (a: EngineAction): string =>
  a.kind === 'cancel'
    ? `cancel ${a.resting.tag ?? '-'}`
    : `${a.kind} ${a.wanted.tag} ${a.wanted.side}@${a.wanted.price.toFixed()}`;

/** Runs the actions in order over our book and fails on the first new order that crosses one of ours. */
function assertNeverCrosses(open: RestingOrder[], actions: readonly EngineAction[]): void {
  const book = new Map(open.map((o) => [o.tag ?? o.clientOrderId, { side: o.side, price: o.price }]));
  for (const action of actions) {
    if (action.kind === 'cancel') {
      book.delete(action.resting.tag ?? action.resting.clientOrderId);
      continue;
    }
    if (action.kind === 'replace') book.delete(action.resting.tag ?? action.resting.clientOrderId);
    const w = action.wanted;
    for (const [tag, o] of book) {
      if (o.side === w.side) continue;
      const crosses = w.side === 'buy' ? w.price.gte(o.price) : w.price.lte(o.price);
      assert.ok(
        !crosses,
        `${describeAction(action)} crosses our resting ${o.side} ${tag}@${o.price.toFixed()}`,
      );
    }
    book.set(w.tag, { side: w.side, price: w.price });
  }
}

describe('the engine plan never crosses our own resting orders', () => {
  it('quotes moving up: the ask moves away before the bid moves above its old price', () => {
    // Resting bid 100, ask 102; the mid jumped: wanted bid 104, ask 106. Moving the bid first
    // would cross the old ask at 102.
    const open = [resting('buy', '100', 'bid'), resting('sell', '102', 'ask')];
    const p = plan([wanted('buy', '104', 'bid'), wanted('sell', '106', 'ask')], open);
    assert.deepEqual(p.actions.map(describeAction), ['replace ask sell@106', 'replace bid buy@104']);
    assert.deepEqual(p.refusals, []);
    assertNeverCrosses(open, p.actions);
  });

  it('quotes moving down: the bid moves away first', () => {
    const open = [resting('buy', '100', 'bid'), resting('sell', '102', 'ask')];
    const p = plan([wanted('sell', '97', 'ask'), wanted('buy', '95', 'bid')], open);
    assert.deepEqual(p.actions.map(describeAction), ['replace bid buy@95', 'replace ask sell@97']);
    assertNeverCrosses(open, p.actions);
  });

  it('a new order that would cross an order of ours that stays (in flight) is held back with its reason', () => {
    const open = [resting('sell', '102', 'ask', 'PENDING_SUBMIT')];
    const p = plan([wanted('buy', '103', 'bid'), wanted('sell', '102', 'ask')], open);
    assert.deepEqual(p.actions, []);
    const [refusal] = p.refusals;
    assert.equal(p.refusals.length, 1);
    assert.equal(refusal?.gate, 'self-trade');
    assert.match(refusal.reason, /a buy at 103 on BTCTRY would cross our own resting sell c-ask .* at 102/);
  });

  it('a strategy asking for a crossed pair gets the second one held back, never both', () => {
    const p = plan([wanted('buy', '105', 'bid'), wanted('sell', '104', 'ask')], []);
    assert.deepEqual(p.actions.map(describeAction), ['submit bid buy@105']);
    assert.deepEqual(
      p.refusals.map((r) => [r.tag, r.gate]),
      [['ask', 'self-trade']],
    );
    assertNeverCrosses([], p.actions);
  });

  it('a cancel frees the way: an order crossing only a canceled one goes out after the cancel', () => {
    const open = [resting('sell', '102', 'old-ask')];
    const p = plan([wanted('buy', '103', 'bid')], open);
    assert.deepEqual(p.actions.map(describeAction), ['cancel old-ask', 'submit bid buy@103']);
    assertNeverCrosses(open, p.actions);
  });

  it('seeded random quote moves: no plan ever crosses', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 300; i += 1) {
      const mid = 1000 + Math.floor(next() * 40);
      const open: RestingOrder[] = [];
      const want: WantedOrder[] = [];
      // The whole ladder moves together (a wanted set that is itself uncrossed), by up to 6 ticks.
      const move = Math.floor(next() * 13) - 6;
      for (let level = 0; level < 2; level += 1) {
        const spread = 1 + level * 2;
        open.push(resting('buy', String(mid - spread), `bid${level}`));
        open.push(resting('sell', String(mid + spread), `ask${level}`));
        want.push(wanted('buy', String(mid + move - spread), `bid${level}`));
        want.push(wanted('sell', String(mid + move + spread), `ask${level}`));
      }
      const p = plan(want, open);
      assertNeverCrosses(open, p.actions);
      assert.ok(
        p.refusals.every((r) => r.gate === 'self-trade'),
        JSON.stringify(p.refusals),
      );
      assert.equal(
        p.refusals.length,
        0,
        `an uncrossed wanted set is always reachable (case ${i}): ${JSON.stringify(p.refusals)}`,
      );
    }
  });
});
