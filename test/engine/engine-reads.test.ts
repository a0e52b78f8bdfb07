import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { Engine } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { Store } from '../../src/ports/store.ts';
import type { Strategy } from '../../src/strategies/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { btcRules, FakeMarket, FakeOms } from './engine-fakes.ts';

// A strategy that reads only some of the symbols run (Strategy.reads): a book change on another
// symbol starts no evaluation; one on a symbol it reads still starts one as before.

/** Lets every pending promise callback and immediate run. */
const drain = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('engine: a strategy that reads some symbols', () => {
  it(
    'is evaluated on the moves of the symbols it reads, not on the others',
    { timeout: 10_000 },
    async (t) => {
      const store: Store = await openSqliteStore({ path: ':memory:' });
      t.after(() => store.close());
      const market = new FakeMarket();
      market.setTop('BTCTRY', '3500000', '3500100');
      market.setTop('ETHTRY', '100000', '100010');
      const seen: string[] = [];
      let wake: (() => void) | null = null;
      const strategy: Strategy = {
        name: 'probe',
        tolerance: { requoteThresholdBps: 5, quantityTolerancePct: 10 },
        reads: new Set(['BTCTRY']),
        want: (snapshot) => {
          seen.push(snapshot.markets.get('BTCTRY')?.bestBid?.toFixed() ?? 'none');
          wake?.();
          return [];
        },
      };
      const nextEvaluation = () =>
        new Promise<void>((resolve) => {
          wake = resolve;
        });
      const engine = new Engine({
        oms: new FakeOms(store),
        store,
        exchange: { balances: () => Promise.resolve([]) },
        market,
        strategy,
        limits: parseRiskLimits({}),
        symbols: ['BTCTRY', 'ETHTRY'],
        rules: new Map([
          ['BTCTRY', btcRules()],
          ['ETHTRY', btcRules('ETHTRY', 'ETH')],
        ]),
        budget: new OrderRateBudget(120),
        // No debounce: any trigger that counts starts an evaluation at once.
        timings: {
          debounceMs: 0,
          evaluateEveryMs: 3_600_000,
          balancesEveryMs: 3_600_000,
          equityEveryMs: 3_600_000,
        },
      });
      t.after(() => engine.stop());
      let next = nextEvaluation();
      engine.start(); // the first balance read asks for an evaluation
      await next;
      await drain();
      assert.equal(seen.length, 1);

      // ETHTRY moves, and its quantity at the touch changes: not read, nothing to evaluate.
      market.emit('top', market.setTop('ETHTRY', '101000', '101010'));
      const eth = market.setTop('ETHTRY', '102000', '102010');
      market.emit('top', eth);
      market.emit('top', { ...eth, bid: { price: new Dec('102000'), quantity: new Dec('7') } });
      await drain();
      await drain();
      assert.equal(seen.length, 1, 'a symbol the strategy does not read starts no evaluation');

      // BTCTRY moves: evaluated, once, with the new price.
      next = nextEvaluation();
      const btc = market.setTop('BTCTRY', '3507000', '3507100');
      market.emit('top', btc);
      await next;
      await drain();
      assert.deepEqual(seen, ['3500000', '3507000']);
      // And its quantity at the touch, the debounce being over at once.
      next = nextEvaluation();
      market.emit('top', { ...btc, bid: { price: new Dec('3507000'), quantity: new Dec('7') } });
      await next;
      assert.equal(engine.stats().evaluations, 3);
    },
  );
});
