import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../../src/domain/random.ts';
import type { SimEvent } from '../../src/sim/engine/api.ts';
import {
  createSimEngine,
  DEFAULT_FEES,
  defaultMarkets,
  isInternalAccount,
  SIM_MAKER_ACCOUNTS,
  SIM_TAKER_ACCOUNT,
} from '../../src/sim/engine/index.ts';
import { quoteLadder } from '../../src/sim/engine/market.ts';
import { d, fakeClock, plain } from './helpers.ts';

function defaultEngine(seed: number, symbols = ['BTCTRY', 'USDTTRY']) {
  const clock = fakeClock();
  const engine = createSimEngine({
    clock,
    random: seededRandom(seed),
    markets: defaultMarkets().filter((m) => symbols.includes(m.symbol)),
    ...DEFAULT_FEES,
  });
  return { engine, clock };
}

describe('default markets', () => {
  it('offer believable TRY pairs with BTCTurk-like rules', () => {
    const markets = defaultMarkets();
    const btc = markets.find((m) => m.symbol === 'BTCTRY');
    assert.ok(btc);
    assert.equal(btc.initialMid.toFixed(), '3500000');
    assert.equal(btc.rules.quantityScale, 8);
    assert.equal(btc.rules.minExchangeValue?.toFixed(), '100');
    for (const symbol of ['ETHTRY', 'USDTTRY', 'AVAXTRY'])
      assert.ok(markets.some((m) => m.symbol === symbol));
    for (const m of markets) {
      assert.equal(m.rules.quote, 'TRY');
      assert.ok(m.initialMid.mod(m.rules.tickSize).isZero(), `${m.symbol} mid on its grid`);
    }
  });
});

describe('synthetic market', () => {
  it('quotes both sides around the mid, never crossed', () => {
    const { engine, clock } = defaultEngine(3);
    for (let i = 0; i < 50; i++) {
      engine.stepMarket();
      clock.advance(1000);
      for (const symbol of ['BTCTRY', 'USDTTRY']) {
        const book = engine.book(symbol, 10);
        const bid = book.bids[0]?.price;
        const ask = book.asks[0]?.price;
        assert.ok(bid && ask, `${symbol} has both sides at step ${i}`);
        assert.ok(bid.lt(ask), `${symbol} crossed at step ${i}: ${bid.toFixed()} >= ${ask.toFixed()}`);
      }
    }
    const btc = engine.ticker('BTCTRY');
    assert.ok(btc.volume.gt(0), 'the taker traded');
    assert.ok(btc.last.gt(3_000_000) && btc.last.lt(4_000_000));
  });

  it('fills resting user orders at the touch within a few dozen steps', () => {
    // A random walk can wander off for good, leaving an order far from the touch; what must hold is
    // that orders which stay near it fill: nearly all of them, across seeds, within 40 steps.
    let placed = 0;
    let filled = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const { engine, clock } = defaultEngine(seed, ['BTCTRY']);
      engine.createAccount('user', { TRY: d(1_000_000), BTC: d(1) });
      engine.stepMarket();
      const book = engine.book('BTCTRY', 1);
      const orders = (['buy', 'sell'] as const).map((side) => {
        const price = (side === 'buy' ? book.bids : book.asks)[0]?.price;
        assert.ok(price, `seed ${seed}: no ${side} quote after one step`);
        return engine.placeOrder({
          accountId: 'user',
          symbol: 'BTCTRY',
          side,
          method: 'limit',
          price,
          quantity: d('0.002'),
        });
      });
      for (let step = 0; step < 40; step++) {
        engine.stepMarket();
        clock.advance(1000);
      }
      placed += orders.length;
      filled += orders.filter((o) => engine.order('user', o.id)?.filled.gt(0)).length;
    }
    assert.ok(
      filled >= placed * 0.8,
      `only ${filled} of ${placed} orders at the touch traded within 40 steps`,
    );
  });

  it('marks the participants’ fills with their internal accounts', () => {
    const { engine } = defaultEngine(9, ['BTCTRY']);
    const fills: string[] = [];
    engine.subscribe((e) => {
      if (e.type === 'fill') fills.push(e.fill.accountId);
    });
    for (let i = 0; i < 20; i++) engine.stepMarket();
    assert.ok(fills.length > 0);
    assert.ok(fills.every(isInternalAccount));
    assert.ok(fills.includes(SIM_TAKER_ACCOUNT));
    assert.ok(SIM_MAKER_ACCOUNTS.some((m) => fills.includes(m)));
    assert.equal(isInternalAccount('user'), false);
  });

  it('builds a strictly ordered ladder inside the price limits even on a coarse grid', () => {
    const usdt = defaultMarkets().find((m) => m.symbol === 'USDTTRY');
    assert.ok(usdt);
    const { bids, asks } = quoteLadder({ ...usdt.rules, tickSize: d('0.1'), maxPrice: d('40.2') }, d('40'));
    const prices = (q: { price: { toFixed(): string } }[]) => q.map((x) => x.price.toFixed());
    assert.deepEqual(prices(bids), ['39.9', '39.8', '39.7', '39.6', '39.5', '39.4']);
    assert.deepEqual(prices(asks), ['40.1', '40.2']); // the rest would be above the maximum price
  });
});

describe('replay', () => {
  function run(seed: number): unknown[] {
    const { engine, clock } = defaultEngine(seed);
    const events: SimEvent[] = [];
    engine.subscribe((e) => events.push(e));
    engine.createAccount('user', { TRY: d(1_000_000), BTC: d(1), USDT: d(10_000) });
    for (let i = 0; i < 60; i++) {
      engine.stepMarket();
      clock.advance(500);
      if (i % 10 === 5) {
        const bid = engine.book('BTCTRY', 1).bids[0]?.price;
        if (bid)
          engine.placeOrder({
            accountId: 'user',
            symbol: 'BTCTRY',
            side: 'buy',
            method: 'limit',
            price: bid,
            quantity: d('0.001'),
          });
      }
    }
    return [plain(events), plain(engine.groundTruth())];
  }

  it('the same seed and inputs give the identical event stream and state', () => {
    const first = run(42);
    assert.deepEqual(run(42), first);
    assert.notDeepEqual(run(43), first); // the stream does depend on the seed
  });
});
