import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoundedQueue } from '../../src/btcturk/websocket/queue.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { BalanceReport } from '../../src/domain/reports.ts';
import { Engine, type EngineTimings } from '../../src/engine/engine.ts';
import { planActions } from '../../src/engine/plan.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { Store } from '../../src/ports/store.ts';
import type { UserStream, UserStreamEvent } from '../../src/ports/user-stream.ts';
import { marketMakerDefinition } from '../../src/strategies/market-maker.ts';
import type { Strategy, WantedOrder } from '../../src/strategies/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { btcRules, FakeMarket, FakeOms } from './engine-fakes.ts';

// The engine's wanted-vs-resting flow with fakes: an execution core that acts at once on an
// in-memory store, a market whose top a test sets, and scripted private events.

const QUIET: Partial<EngineTimings> = {
  evaluateEveryMs: 3_600_000,
  balancesEveryMs: 3_600_000,
  equityEveryMs: 3_600_000,
  debounceMs: 0,
};

function balances(entries: Record<string, string>): BalanceReport[] {
  return Object.entries(entries).map(([asset, amount]) => ({
    asset,
    total: new Dec(amount),
    free: new Dec(amount),
    locked: new Dec(0),
  }));
}

/** A strategy that wants exactly the given orders, whatever the market. */
function wanting(...orders: WantedOrder[]): Strategy {
  return {
    name: 'fixed',
    tolerance: { requoteThresholdBps: 5, quantityTolerancePct: 10 },
    want: () => orders,
  };
}

function bid(symbol: string, price: string, quantity = '0.001', tag = `${symbol}:bid`): WantedOrder {
  return { symbol, side: 'buy', price: new Dec(price), quantity: new Dec(quantity), tag };
}

interface RigOptions {
  readonly strategy?: Strategy;
  readonly risk?: Record<string, unknown>;
  readonly wallet?: Record<string, string>;
  readonly perMinute?: number;
  readonly userStream?: UserStream;
}

async function rig(t: TestContext, o: RigOptions = {}) {
  const store: Store = await openSqliteStore({ path: ':memory:' });
  t.after(() => store.close());
  const market = new FakeMarket();
  const oms = new FakeOms(store);
  let wallet = balances(o.wallet ?? { TRY: '1000000', BTC: '1', ETH: '10' });
  const engine = new Engine({
    oms,
    store,
    exchange: { balances: () => Promise.resolve(wallet) },
    market,
    userStream: o.userStream,
    strategy: o.strategy ?? marketMakerDefinition.create({}),
    limits: parseRiskLimits(o.risk ?? {}),
    symbols: ['BTCTRY', 'ETHTRY'],
    rules: new Map([
      ['BTCTRY', btcRules()],
      ['ETHTRY', btcRules('ETHTRY', 'ETH')],
    ]),
    budget: new OrderRateBudget(o.perMinute ?? 120),
    timings: QUIET,
  });
  t.after(() => engine.stop());
  await engine.refreshBalances();
  const setWallet = async (entries: Record<string, string>) => {
    wallet = balances(entries);
    await engine.refreshBalances();
  };
  /** One evaluation with every action it started carried out. */
  const step = async () => {
    const plan = await engine.evaluate();
    await engine.settle();
    return plan;
  };
  return { store, market, oms, engine, step, setWallet };
}

describe('engine: wanted vs resting', () => {
  it('submits the quotes, keeps them while the market holds, replaces on a move, cancels what is no longer wanted', async (t) => {
    const { store, market, oms, step } = await rig(t);
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010', 'stale');
    await step();
    // The maker holds no base of its own yet: a bid only; the stale symbol gets nothing.
    assert.deepEqual(oms.calls, ['submit mm:BTCTRY:bid:0 buy 0.00014321@3491299']);
    const [placed] = await store.activeOrders();
    assert.equal(placed?.intentId, 'mm:BTCTRY:bid:0', 'the slot tag is stored with the order');

    oms.calls.length = 0;
    await step();
    assert.deepEqual(oms.calls, [], 'a quote within tolerance stays in the queue');

    market.setTop('BTCTRY', '3507000', '3507100'); // +20 bps
    await step();
    assert.deepEqual(oms.calls, ['replace mm:BTCTRY:bid:0 -> 3498282']);
    const [replacement] = await store.activeOrders();
    assert.equal(replacement?.intentId, 'mm:BTCTRY:bid:0', 'the replacement keeps its slot');
    assert.equal(replacement.replaceOf, placed.id);

    oms.calls.length = 0;
    market.setTop('BTCTRY', '3507000', '3507100', 'stale');
    await step();
    assert.deepEqual(oms.calls, ['cancel mm:BTCTRY:bid:0'], 'a stale market takes its quotes off');
    assert.deepEqual(await store.activeOrders(), []);
  });

  it('counts every risk refusal by gate and sends nothing refused', async (t) => {
    const { market, oms, engine, step } = await rig(t, { risk: { maxOrderQuote: '100' } });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    const plan = await step();
    assert.deepEqual(oms.calls, []);
    assert.deepEqual(
      plan?.refusals.map((r) => [r.tag, r.gate]),
      [
        ['mm:BTCTRY:bid:0', 'max-order-value'],
        ['mm:ETHTRY:bid:0', 'max-order-value'],
      ],
    );
    assert.match(plan.refusals[0]?.reason ?? '', /above maxOrderQuote 100/);
    await step();
    assert.equal(engine.stats().refusals['max-order-value'], 4);
  });

  it('places nothing on a stale symbol, even when the strategy still wants it', async (t) => {
    const strategy = wanting(bid('BTCTRY', '3400000'), bid('ETHTRY', '110000'));
    const { market, oms, engine, step } = await rig(t, { strategy });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010', 'stale');
    await step();
    assert.deepEqual(oms.calls, ['submit BTCTRY:bid buy 0.001@3400000']);
    assert.equal(engine.stats().refusals['stale-market'], 1);

    market.setTop('ETHTRY', '120000', '120010', 'fallback'); // fresh again, over REST
    await step();
    assert.deepEqual(oms.calls.slice(1), ['submit ETHTRY:bid buy 0.001@110000']);
  });

  it('places nothing new before the execution core is ready, and still cancels', async (t) => {
    const strategy = wanting(bid('BTCTRY', '3400000'));
    const { market, oms, engine, step } = await rig(t, { strategy });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    await oms.submit({
      symbol: 'ETHTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.01'),
      price: new Dec('100000'),
      intentId: 'left-over',
    });
    oms.calls.length = 0;
    oms.ready = false;
    await step();
    assert.deepEqual(oms.calls, ['cancel left-over']);
    assert.equal(engine.stats().refusals['not-ready'], 1);

    oms.ready = true;
    await step();
    assert.deepEqual(oms.calls.slice(1), ['submit BTCTRY:bid buy 0.001@3400000']);
  });

  it('trades on a symbol once it is reconciled clean, holds the others back saying why, counted once per slot', async (t) => {
    const strategy = wanting(bid('BTCTRY', '3400000'), bid('ETHTRY', '110000'));
    const { market, oms, engine, step } = await rig(t, { strategy });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    const ready = new Set(['ETHTRY']);
    oms.ready = false;
    Object.assign(oms, {
      readyFor: (symbol: string) => ready.has(symbol),
      waitingFor: (symbol: string) =>
        ready.has(symbol) ? null : { reason: 'resolving 1 unresolved order', since: 1_000 },
    });
    const plan = await step();
    assert.deepEqual(oms.calls, ['submit ETHTRY:bid buy 0.001@110000'], 'the ready symbol did not wait');
    assert.deepEqual(
      plan?.refusals.map((r) => [r.symbol, r.gate]),
      [['BTCTRY', 'not-ready']],
    );
    assert.match(
      plan.refusals.at(0)?.reason ?? '',
      /BTCTRY is not reconciled clean yet \(resolving 1 unresolved order\)/,
    );
    await step();
    await step();
    assert.equal(engine.stats().refusals['not-ready'], 1, 'one wait, counted once, not once per evaluation');
    assert.deepEqual(
      engine.waiting().map((w) => [w.symbol, w.blockers.map((b) => `${b.kind}: ${b.reason} @${b.since}`)]),
      [
        ['BTCTRY', ['reconciliation: resolving 1 unresolved order @1000']],
        ['ETHTRY', []],
      ],
    );

    ready.add('BTCTRY');
    oms.calls.length = 0;
    await step();
    assert.deepEqual(oms.calls, ['submit BTCTRY:bid buy 0.001@3400000']);
    market.setTop('BTCTRY', '3500000', '3500100', 'stale');
    assert.deepEqual(engine.waiting()[0]?.blockers, [{ kind: 'market-data', reason: 'stale', since: null }]);
  });

  it('spends no more order requests than the budget allows, cancels first', async (t) => {
    const strategy = wanting(bid('BTCTRY', '3400000'), bid('ETHTRY', '110000'));
    const { market, oms, engine, step } = await rig(t, { strategy, perMinute: 1 });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    await step();
    await step();
    assert.deepEqual(oms.calls, ['submit BTCTRY:bid buy 0.001@3400000']);
    assert.deepEqual(engine.budgetUse(), { used: 1, limit: 1 });
  });

  it('paces the order budget: a sixth of the minute per 10 seconds, the minute in total', () => {
    const budget = new OrderRateBudget(120);
    let now = 0;
    let sent = 0;
    const perSecond: number[] = [];
    for (let second = 0; second < 70; second += 1) {
      let thisSecond = 0;
      for (let tick = 0; tick < 10; tick += 1) {
        now = second * 1_000 + tick * 100;
        while (budget.take(2, now)) thisSecond += 2;
      }
      perSecond.push(thisSecond);
      sent += thisSecond;
      // Never more than the minute's budget in any 60 seconds.
      const lastMinute = perSecond.slice(-60).reduce((a, b) => a + b, 0);
      assert.ok(lastMinute <= 120, `${lastMinute} requests in the minute up to second ${second}`);
    }
    // Spent in bursts of 20 every 10 seconds, not all in the first second.
    assert.deepEqual(
      perSecond.slice(0, 21),
      [20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20],
    );
    assert.equal(sent, 140);
    assert.deepEqual(budget.use(now), { used: 120, limit: 120 });
    assert.throws(() => new OrderRateBudget(301), /from 1 to 300, got 301/);
  });

  it('weighs each order against the funds the ones approved before it take', () => {
    const rules = new Map([['BTCTRY', btcRules()]]);
    const wanted = [bid('BTCTRY', '3000000', '0.1', 'a'), bid('BTCTRY', '3000000', '0.1', 'b')];
    const plan = planActions({
      diff: { cancels: [], replaces: [], submits: wanted },
      ready: true,
      tradable: () => true,
      rules,
      limits: parseRiskLimits({ maxOrderQuote: '1000000', maxPositionQuote: '10000000' }),
      level: 'NORMAL',
      killSwitch: false,
      balances: new Map([['TRY', { free: new Dec('400000'), locked: new Dec(0) }]]),
      positions: new Map(),
      open: [],
      ordersAvailable: 10,
    });
    assert.deepEqual(
      plan.actions.map((a) => (a.kind === 'submit' ? a.wanted.tag : a.kind)),
      ['a'],
    );
    assert.deepEqual(
      plan.refusals.map((r) => r.gate),
      ['balance'],
    );
  });
});

function scriptedStream(): UserStream & { push(event: UserStreamEvent): void } {
  const listeners = new Set<(event: UserStreamEvent) => void>();
  const onUserEvent = (listener: (event: UserStreamEvent) => void) => {
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  };
  return {
    push: (event) => {
      for (const listener of listeners) listener(event);
    },
    onUserEvent,
    userEvents: (capacity) => {
      let detach = (): void => undefined;
      const queue = new BoundedQueue<UserStreamEvent>(
        capacity,
        () => ({ kind: 'resync', reason: 'overflow' }),
        () => {
          detach();
        },
      );
      detach = onUserEvent((event) => {
        queue.push(event);
      });
      return queue;
    },
  };
}

async function until(what: string, check: () => boolean, guardMs = 5_000): Promise<void> {
  const deadline = performance.now() + guardMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe('engine: private events and the loss ladder', () => {
  it('hands fills and order changes to the execution core, and reconciles after a resync', async (t) => {
    const stream = scriptedStream();
    const { market, oms, engine } = await rig(t, { userStream: stream, strategy: wanting() });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    engine.start();
    const order = (change: 'inserted' | 'updated' | 'deleted', left: string) => {
      stream.push({
        kind: 'order',
        change,
        exchangeOrderId: `E${change}${left}`,
        clientOrderId: 'bb-x',
        symbol: 'BTCTRY',
        side: 'buy',
        method: 'limit',
        price: new Dec('3400000'),
        quantity: new Dec('2'),
        leftQuantity: new Dec(left),
      });
    };
    stream.push({
      kind: 'fill',
      fill: {
        tradeId: '9007199254740993',
        exchangeOrderId: 'E1',
        clientOrderId: 'bb-x',
        symbol: 'BTCTRY',
        base: 'BTC',
        quote: 'TRY',
        side: 'buy',
        price: new Dec('3400000'),
        quantity: new Dec('1'),
        fee: new Dec('2.72'),
        tax: new Dec('0.136'),
        feeAsset: 'TRY',
        timestamp: 1_700_000_000_000,
      },
    });
    order('inserted', '2');
    order('updated', '1');
    order('updated', '0');
    order('deleted', '1');
    stream.push({ kind: 'resync', reason: 'the connection was lost' });
    const expected = [
      'fill 9007199254740993',
      'report Einserted2 open',
      'report Eupdated1 partially_filled',
      'report Eupdated0 filled',
      'report Edeleted1 canceled',
      'reconcile',
    ];
    await until('every event handled', () => expected.every((c) => oms.calls.includes(c)));
    assert.deepEqual(
      oms.calls.filter((c) => !c.startsWith('submit')),
      expected,
    );
    assert.equal(engine.stats().streamFills, 1);
  });

  it('holds a resync back while the start-up reconciliation runs, then reconciles once', async (t) => {
    const stream = scriptedStream();
    const { market, oms, engine } = await rig(t, { userStream: stream, strategy: wanting() });
    market.setTop('BTCTRY', '3500000', '3500100');
    market.setTop('ETHTRY', '120000', '120010');
    let finish = (): void => undefined;
    engine.startupReconciliation(
      new Promise<void>((resolve) => {
        finish = resolve;
      }),
    );
    engine.start();
    stream.push({ kind: 'resync', reason: 'the connection was lost' });
    stream.push({ kind: 'resync', reason: 'the connection was lost again' });
    await until('both resyncs counted', () => engine.stats().resyncs === 2);
    await sleep(20);
    assert.deepEqual(oms.calls, [], 'a reconciliation ran beside the start-up one');
    finish();
    await until('the deferred reconciliation', () => oms.calls.includes('reconcile'));
    await sleep(20);
    assert.deepEqual(oms.calls, ['reconcile'], 'the deferred resyncs ran as one reconciliation');
  });

  it('stores the equity curve and steps down to HALTED, kill switch on, past the hard drawdown', async (t) => {
    const { store, market, oms, engine, step, setWallet } = await rig(t, {
      strategy: wanting(bid('BTCTRY', '3000000')),
    });
    market.setTop('BTCTRY', '3500000', '3500002');
    market.setTop('ETHTRY', '120000', '120002');
    const first = await engine.recordEquity();
    // 1,000,000 TRY + 1 BTC at 3,500,001 + 10 ETH at 120,001
    assert.equal(first?.equity.toFixed(), '5700011');
    assert.equal(first.peakEquity.toFixed(), '5700011');

    await setWallet({ TRY: '1000000', BTC: '1', ETH: '0' }); // 1.2M gone: a 21% fall
    const second = await engine.recordEquity();
    assert.equal(second?.peakEquity.toFixed(), '5700011', 'the peak carries on');
    assert.equal((await store.equitySnapshots()).length, 2);
    const escalation = await store.escalation();
    assert.equal(escalation.level, 'HALTED');
    assert.match(escalation.reason ?? '', /drawdown 21\.05% .* hard limit 10%/);
    assert.equal((await store.killSwitch()).on, true);

    await step();
    assert.deepEqual(oms.calls, []);
    assert.equal(engine.stats().refusals['kill-switch'], 1);
  });
});
