import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decimal } from 'decimal.js';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { SimPublicTrade } from '../../src/sim/engine/api.ts';
import {
  createSimEngine,
  DAY_BUCKET_MS,
  DEFAULT_FEES,
  defaultMarkets,
  isInternalAccount,
  RECENT_TRADES_KEPT,
} from '../../src/sim/engine/index.ts';
import { d, fakeClock } from './helpers.ts';

const DAY = 86_400_000;
const STEPS = 3_000;
const STEP_MS = 60_000; // one market minute a step: the run spans two days of the 24h window
/** Open quotes (6 a side) plus the odd resting remainder: a fixed cap, whatever the run length. */
const INTERNAL_ORDERS_CAP = 40;

/** The ticker's 24h figures computed the plain way, from every trade, under the same minute rule. */
function expectedDay(trades: readonly SimPublicTrade[], now: number) {
  const inWindow = trades.filter((t) => Math.floor(t.timestamp / DAY_BUCKET_MS) * DAY_BUCKET_MS > now - DAY);
  const prices = inWindow.map((t) => t.price);
  const first = prices[0];
  if (first === undefined) return undefined;
  return {
    open: first.toFixed(),
    high: Dec.max(...prices).toFixed(),
    low: Dec.min(...prices).toFixed(),
    volume: inWindow.reduce<Decimal>((sum, t) => sum.plus(t.quantity), d(0)).toFixed(),
  };
}

describe('memory of a long run', () => {
  it('forgets the participants’ closed orders and old trades, keeps every user order and fill, and the 24h ticker stays exact', () => {
    const clock = fakeClock();
    const engine = createSimEngine({
      clock,
      random: seededRandom(5),
      markets: defaultMarkets().filter((m) => m.symbol === 'BTCTRY'),
      ...DEFAULT_FEES,
    });
    const seen = { internalOrders: 0, userOrders: new Set<string>(), userFills: 0 };
    const trades: SimPublicTrade[] = [];
    engine.subscribe((event) => {
      if (event.type === 'order-inserted') {
        if (isInternalAccount(event.order.accountId)) seen.internalOrders++;
        else seen.userOrders.add(event.order.id);
      } else if (event.type === 'fill' && !isInternalAccount(event.fill.accountId)) seen.userFills++;
      else if (event.type === 'trade') trades.push(event.trade);
    });
    engine.createAccount('user', { TRY: d(1_000_000_000), BTC: d(100) });

    let tickersChecked = 0;
    for (let step = 1; step <= STEPS; step++) {
      engine.stepMarket();
      clock.advance(STEP_MS);
      if (step % 10 === 0) {
        // The user quotes at the touch and cancels what is left now and then: a history to keep.
        for (const order of engine.openOrders('user')) engine.completeCancel(order.id);
        const book = engine.book('BTCTRY', 1);
        for (const [side, level] of [
          ['buy', book.bids[0]],
          ['sell', book.asks[0]],
        ] as const)
          if (level)
            engine.placeOrder({
              accountId: 'user',
              symbol: 'BTCTRY',
              side,
              method: 'limit',
              price: level.price,
              quantity: d('0.001'),
            });
      }
      if (step % 100 === 0) {
        const truth = engine.groundTruth();
        const internal = truth.orders.filter((o) => isInternalAccount(o.accountId));
        assert.ok(
          internal.length <= INTERNAL_ORDERS_CAP,
          `step ${step}: ${internal.length} internal orders kept`,
        );
        assert.ok(
          internal.every((o) => o.status === 'open' || o.status === 'partially_filled'),
          `step ${step}: a closed internal order is still kept`,
        );
        assert.ok(
          truth.trades.length <= RECENT_TRADES_KEPT,
          `step ${step}: ${truth.trades.length} trades kept`,
        );

        const t = engine.ticker('BTCTRY');
        const expected = expectedDay(trades, clock.now());
        assert.ok(expected, `step ${step}: nothing traded in a day`);
        assert.deepEqual(
          {
            open: t.open.toFixed(),
            high: t.high.toFixed(),
            low: t.low.toFixed(),
            volume: t.volume.toFixed(),
          },
          expected,
          `step ${step}: ticker`,
        );
        tickersChecked++;
      }
    }

    // The run was long enough to matter: far more was created than the caps allow.
    assert.ok(seen.internalOrders > 50 * INTERNAL_ORDERS_CAP, `only ${seen.internalOrders} internal orders`);
    assert.ok(trades.length > 2 * RECENT_TRADES_KEPT, `only ${trades.length} trades`);
    assert.ok(seen.userFills >= 50, `the user filled only ${seen.userFills} times`);
    assert.equal(tickersChecked, STEPS / 100);

    // The user's history is complete and consistent: every order, every fill, and fills add up.
    const truth = engine.groundTruth();
    const mine = truth.orders.filter((o) => o.accountId === 'user');
    assert.deepEqual(new Set(mine.map((o) => o.id)), seen.userOrders);
    const myFills = truth.fills.filter((f) => f.accountId === 'user');
    assert.equal(myFills.length, seen.userFills);
    assert.deepEqual(
      engine.fills('user', { startTime: 0 }).map((f) => f.tradeId),
      myFills.map((f) => f.tradeId),
    );
    assert.equal(engine.allOrders('user', { limit: 1000 }).length, Math.min(1000, mine.length));
    for (const order of mine) {
      const filled = myFills
        .filter((f) => f.orderId === order.id)
        .reduce<Decimal>((sum, f) => sum.plus(f.quantity), d(0));
      assert.equal(filled.toFixed(), order.filled.toFixed(), `order ${order.id} fills`);
    }
    assert.deepEqual(
      engine.recentTrades('BTCTRY', 50).map((t) => t.tradeId),
      trades
        .slice(-50)
        .reverse()
        .map((t) => t.tradeId),
    );
  });
});
