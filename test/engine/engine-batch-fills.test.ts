import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { Engine } from '../../src/engine/engine.ts';
import { OrderRateBudget } from '../../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../../src/engine/risk.ts';
import type { SubmitIntent } from '../../src/oms/index.ts';
import type { FillQuery, Store, StoredOrder } from '../../src/ports/store.ts';
import type { Strategy } from '../../src/strategies/types.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { btcRules, drain, FakeMarket, FakeOms } from './engine-fakes.ts';

// After a batch of orders the engine reads its positions again only when the OMS says it recorded
// a fill (`fillsRecorded`): a batch can record one itself (a submit that took liquidity, a replace
// finding its old order filled), and the next evaluation must see that position; a batch that
// recorded none costs no read of the fills.

/** A fake OMS whose submit, when `fills` is set, records a fill of the whole order as it places it. */
class FillingOms extends FakeOms {
  recorded = 0;
  /** Called as a submit starts (the batch is under way). */
  onSubmit: () => void = () => undefined;

  constructor(
    private readonly fillStore: Store,
    private readonly fills: boolean,
  ) {
    super(fillStore);
  }

  override async submit(intent: SubmitIntent): Promise<StoredOrder> {
    this.onSubmit();
    const order = await super.submit(intent);
    if (this.fills && order.exchangeOrderId !== null) {
      const result = await this.fillStore.recordFill(
        {
          tradeId: `t-${order.id}`,
          exchangeOrderId: order.exchangeOrderId,
          clientOrderId: order.clientOrderId,
          symbol: order.symbol,
          base: 'BTC',
          quote: 'TRY',
          side: order.side,
          price: order.price ?? new Dec(0),
          quantity: order.quantity,
          fee: new Dec(0),
          tax: new Dec(0),
          feeAsset: 'TRY',
          timestamp: Date.now(),
        },
        'reconcile',
        order.id,
      );
      if (result.ok && result.isNew) this.recorded += 1;
    }
    return order;
  }

  fillsRecorded(): number {
    return this.recorded;
  }
}

/** Gives the engine turns until `done`; fails naming what it waited for after five seconds. */
async function until(done: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what()}`);
    await drain();
  }
}

async function run(t: TestContext, fills: boolean) {
  const inner = await openSqliteStore({ path: ':memory:' });
  t.after(() => inner.close());
  let fillReads = 0;
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      if (key === 'fills')
        return (query?: FillQuery) => {
          fillReads += 1;
          return target.fills(query);
        };
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const market = new FakeMarket();
  market.setTop('BTCTRY', '3500000', '3500100');
  const positions: string[] = [];
  let evaluations = 0;
  const strategy: Strategy = {
    name: 'one-buy',
    tolerance: { requoteThresholdBps: 5, quantityTolerancePct: 10 },
    want: (snapshot) => {
      evaluations += 1;
      positions.push(snapshot.positions.get('BTCTRY')?.base.toFixed() ?? '0');
      return evaluations === 1
        ? [{ symbol: 'BTCTRY', side: 'buy', quantity: new Dec('0.001'), price: new Dec('3499000'), tag: 'b' }]
        : [];
    },
  };
  const oms = new FillingOms(store, fills);
  let readsAtSubmit = Number.NaN;
  oms.onSubmit = () => {
    readsAtSubmit = fillReads;
  };
  const engine = new Engine({
    oms,
    store,
    exchange: {
      balances: () =>
        Promise.resolve([{ asset: 'TRY', total: new Dec(1e6), free: new Dec(1e6), locked: new Dec(0) }]),
    },
    market,
    strategy,
    limits: parseRiskLimits({}),
    symbols: ['BTCTRY'],
    rules: new Map([['BTCTRY', btcRules('BTCTRY', 'BTC')]]),
    budget: new OrderRateBudget(120),
    timings: {
      debounceMs: 0,
      evaluateEveryMs: 3_600_000,
      balancesEveryMs: 3_600_000,
      equityEveryMs: 3_600_000,
    },
  });
  t.after(() => engine.stop());
  engine.start();
  // The batch ends with a request for the next evaluation: by the second, the submit is done.
  await until(
    () => positions.length >= 2,
    () => `the evaluation after the batch (calls: ${oms.calls.join(', ')})`,
  );
  assert.ok(
    oms.calls.some((c) => c.startsWith('submit')),
    `the strategy's buy was submitted`,
  );
  const seenBefore = positions.length;
  market.emit('top', market.setTop('BTCTRY', '3501000', '3501100'));
  await until(
    () => positions.length > seenBefore,
    () => 'an evaluation on the moved price',
  );
  return { position: positions.at(-1), fillReads: fillReads - readsAtSubmit };
}

describe('engine positions after a batch of orders', () => {
  it('a fill the batch recorded is in the next evaluation', async (t) => {
    const { position, fillReads } = await run(t, true);
    assert.equal(position, '0.001');
    assert.ok(fillReads >= 1, `read the fills ${fillReads} times`);
  });

  it('a batch that recorded no fill costs no read of the fills', async (t) => {
    const { position, fillReads } = await run(t, false);
    assert.equal(position, '0');
    assert.equal(fillReads, 0);
  });
});
