import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { Engine } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import { OrderMovedOnError } from '../../src/oms/context.ts';
import type { ReplaceResult } from '../../src/oms/index.ts';
import { marketMakerDefinition } from '../../src/strategies/market-maker.ts';
import { HOT_PATH_CHANNEL, type HotPathStamp } from '../../src/market/hot-path.ts';
import type { TopOfBook } from '../../src/market/service.ts';
import type { Store } from '../../src/ports/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { btcRules, drain, FakeMarket, FakeOms, probeEngine } from './engine-fakes.ts';

// What starts an evaluation: a best price that moved starts one at once, whatever the debounce;
// a quantity at the touch waits out the debounce (here a minute: it never runs); a public trade
// starts none (a strategy is shown no trade: the book change the trade leaves is the trigger).

function top(bid: string, ask: string, quantity = '1'): TopOfBook {
  return {
    symbol: 'BTCTRY',
    bid: { price: new Dec(bid), quantity: new Dec(quantity) },
    ask: { price: new Dec(ask), quantity: new Dec(quantity) },
    ageMs: 0,
    status: 'live',
    source: 'stream',
    changeSet: 1,
  };
}

const rig = (t: TestContext, debounceMs = 60_000) => probeEngine(t, { debounceMs });

describe('engine: what starts an evaluation', () => {
  it(
    'reacts to a moved best price at once, while quantity changes and trades wait out the debounce',
    {
      timeout: 10_000,
    },
    async (t) => {
      const { market, engine, seen, nextEvaluation } = await rig(t);
      assert.deepEqual(seen, ['3500000']);

      // The first top of a symbol is a move: nothing was known of it before.
      let next = nextEvaluation();
      market.emit('top', top('3500000', '3500100'));
      await next;
      await drain();
      assert.equal(seen.length, 2);

      // Same prices, other quantities at the touch: the debounce holds it (the last trigger was now).
      market.setTop('BTCTRY', '3500000', '3500100');
      market.emit('top', top('3500000', '3500100', '7'));
      market.emit('trade', {
        tradeId: 't1',
        symbol: 'BTCTRY',
        price: new Dec('3500000'),
        quantity: new Dec('0.1'),
        side: 'buy',
        timestamp: Date.now(),
      });
      await drain();
      await drain();
      assert.equal(seen.length, 2, 'a quantity change and a trade within the debounce start nothing');

      // The bid moves, within the same debounce interval: evaluated at once, with the new price.
      market.setTop('BTCTRY', '3507000', '3507100');
      next = nextEvaluation();
      market.emit('top', top('3507000', '3507100'));
      await next;
      assert.deepEqual(seen, ['3500000', '3500000', '3507000']);

      // Only the ask moves: a move too.
      market.setTop('BTCTRY', '3507000', '3507200');
      next = nextEvaluation();
      market.emit('top', top('3507000', '3507200'));
      await next;
      await drain();
      assert.equal(seen.length, 4);
      assert.equal(engine.stats().evaluations, 4);
    },
  );

  it('starts no evaluation for a public trade, even with the debounce long past', async (t) => {
    const { market, seen, nextEvaluation } = await rig(t, 0);
    assert.equal(seen.length, 1);
    for (let i = 0; i < 5; i += 1) {
      market.emit('trade', {
        tradeId: `t${i}`,
        symbol: 'BTCTRY',
        price: new Dec('3500000'),
        quantity: new Dec('0.1'),
        side: 'sell',
        timestamp: Date.now(),
      });
      await drain();
    }
    await drain();
    assert.equal(seen.length, 1, 'trades alone start nothing');
    // The quantity the trade took, as the book's change set brings it: that starts one at once
    // (no debounce here), so the rig would have seen a trade's evaluation too.
    const next = nextEvaluation();
    market.emit('top', top('3500000', '3500100', '0.9'));
    await next;
    assert.equal(seen.length, 2);
  });

  it('stamps the hot path while someone listens, and not otherwise', { timeout: 10_000 }, async (t) => {
    const { market, seen, nextEvaluation } = await rig(t);
    const stamps: HotPathStamp[] = [];
    const listener = (message: unknown) => stamps.push(message as HotPathStamp);
    subscribe(HOT_PATH_CHANNEL, listener);
    try {
      const next = nextEvaluation();
      market.emit('top', top('3510000', '3510100'));
      await next;
      await drain();
    } finally {
      unsubscribe(HOT_PATH_CHANNEL, listener);
    }
    assert.deepEqual(
      stamps.map((s) => s.stage),
      ['wake', 'read', 'strategy', 'diff', 'gates', 'dispatch'],
    );
    assert.ok(stamps.every((s) => s.evaluation === stamps[0]?.evaluation && s.evaluation > 0));
    for (let i = 1; i < stamps.length; i += 1)
      assert.ok((stamps[i]?.at ?? 0) >= (stamps[i - 1]?.at ?? 0), 'stamps in time order');

    const count = stamps.length;
    const next = nextEvaluation();
    market.emit('top', top('3520000', '3520100'));
    await next;
    await drain();
    assert.equal(seen.length, 3);
    assert.equal(stamps.length, count, 'nothing is stamped with no one listening');
  });
});

/** The execution core refusing every replace as the real one does an order that moved on. */
class MovedOnOms extends FakeOms {
  replaces = 0;
  override replace(orderId: string): Promise<ReplaceResult> {
    this.replaces += 1;
    return Promise.reject(new OrderMovedOnError(orderId, 'FILLED', `order ${orderId} is FILLED`));
  }
}

describe('engine: a replace of an order that moved on', () => {
  it('is left to the next diff: not counted as a replace, a failure or a refusal', async (t) => {
    const store: Store = await openSqliteStore({ path: ':memory:' });
    t.after(() => store.close());
    const market = new FakeMarket();
    const oms = new MovedOnOms(store);
    const engine = new Engine({
      oms,
      store,
      exchange: {
        balances: () =>
          Promise.resolve([
            { asset: 'TRY', total: new Dec(1_000_000), free: new Dec(1_000_000), locked: new Dec(0) },
          ]),
      },
      market,
      strategy: marketMakerDefinition.create({}),
      limits: parseRiskLimits({}),
      symbols: ['BTCTRY'],
      rules: new Map([['BTCTRY', btcRules()]]),
      budget: new OrderRateBudget(120),
      timings: { evaluateEveryMs: 3_600_000, balancesEveryMs: 3_600_000, equityEveryMs: 3_600_000 },
    });
    t.after(() => engine.stop());
    await engine.refreshBalances();
    market.setTop('BTCTRY', '3500000', '3500100');
    await engine.evaluate();
    await engine.settle();
    assert.equal(engine.stats().submits, 1, 'the bid is placed');

    market.setTop('BTCTRY', '3507000', '3507100'); // +20 bps: the bid is replaced
    const plan = await engine.evaluate();
    await engine.settle();
    assert.deepEqual(
      plan?.actions.map((a) => a.kind),
      ['replace'],
    );
    // Asked at least once (the evaluation each finished batch asks for may ask again: the fake's
    // store still shows the order open).
    assert.ok(oms.replaces >= 1, 'the execution core was asked');
    const stats = engine.stats();
    assert.equal(stats.replaces, 0);
    assert.equal(stats.actionFailures, 0);
    assert.deepEqual(stats.refusals, {});
  });
});
