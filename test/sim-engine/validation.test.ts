import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlaceOrderInput } from '../../src/sim/engine/api.ts';
import { d, harness, limit, market, plain, rejects, testMarket } from './helpers.ts';

function funded(rules: Parameters<typeof testMarket>[0] = {}) {
  const h = harness({ markets: [testMarket(rules)] });
  h.engine.createAccount('u', { TRY: d(100_000), BTC: d(10) });
  h.engine.createAccount('mm', { TRY: d(100_000), BTC: d(10) });
  return h;
}

const stopLimitBuy = (stop: number, price: number): PlaceOrderInput => ({
  ...limit('u', 'buy', price, 1),
  method: 'stoplimit',
  stopPrice: d(stop),
});

describe('order validation answers exactly as BTCTurk', () => {
  it('unknown pair → FAILED_ORDER_PARAMETER', () => {
    const { engine } = funded();
    rejects(
      () => engine.placeOrder({ ...limit('u', 'buy', 1000, 1), symbol: 'DOGETRY' }),
      'FAILED_ORDER_PARAMETER',
      0,
    );
  });

  it('order type other than buy/sell → 1193', () => {
    const { engine } = funded();
    const side = 'short' as 'buy';
    rejects(
      () => engine.placeOrder({ ...limit('u', 'buy', 1000, 1), side }),
      'ORDER_TYPE_NOT_SUPPORTED',
      1193,
    );
  });

  it('unknown method → 1134; a method the pair does not offer → its own code', () => {
    const { engine } = funded({ orderMethods: ['limit'] });
    const method = 'iceberg' as 'limit';
    rejects(
      () => engine.placeOrder({ ...limit('u', 'buy', 1000, 1), method }),
      'ORDER_METHOD_NOT_SUPPORTED',
      1134,
    );
    rejects(() => engine.placeOrder(market('u', 'buy', 500)), 'FAILED_MARKET_ORDER', 1118);
    rejects(() => engine.placeOrder(stopLimitBuy(1100, 1100)), 'ORDER_METHOD_NOT_SUPPORTED', 1134);
    const marketOnly = funded({ orderMethods: ['market'] });
    rejects(() => marketOnly.engine.placeOrder(limit('u', 'buy', 1000, 1)), 'FAILED_LIMIT_ORDER', 1120);
  });

  it('non-positive or missing numbers → FAILED_ORDER_PARAMETER', () => {
    const { engine } = funded();
    rejects(() => engine.placeOrder(limit('u', 'buy', 1000, 0)), 'FAILED_ORDER_PARAMETER', 0);
    rejects(() => engine.placeOrder(limit('u', 'buy', 1000, -1)), 'FAILED_ORDER_PARAMETER', 0);
    rejects(() => engine.placeOrder(limit('u', 'buy', 0, 1)), 'FAILED_ORDER_PARAMETER', 0);
    rejects(
      () => engine.placeOrder({ ...limit('u', 'buy', 1000, 1), price: null }),
      'FAILED_ORDER_PARAMETER',
      0,
    );
    rejects(
      () => engine.placeOrder({ ...stopLimitBuy(1100, 1100), stopPrice: undefined }),
      'FAILED_ORDER_PARAMETER',
      0,
    );
  });

  it('price scale or off-tick price → 1126', () => {
    rejects(
      () => funded().engine.placeOrder(limit('u', 'buy', '1000.5', 1)),
      'FAILED_INVALID_PRICE_SCALE',
      1126,
    );
    const coarse = funded({ tickSize: d(5) });
    rejects(() => coarse.engine.placeOrder(limit('u', 'buy', 1001, 1)), 'FAILED_INVALID_PRICE_SCALE', 1126);
    assert.equal(coarse.engine.placeOrder(limit('u', 'buy', 1005, 1)).status, 'open');
  });

  it('quantity scale → 1127', () => {
    rejects(
      () => funded().engine.placeOrder(limit('u', 'buy', 1000, '0.123456789')),
      'FAILED_INVALID_QUANTITY_SCALE',
      1127,
    );
  });

  it('stop price scale → 1128', () => {
    rejects(
      () => funded().engine.placeOrder(stopLimitBuy(1100.5, 1100)),
      'FAILED_INVALID_STOP_PRICE_SCALE',
      1128,
    );
  });

  it('order value below minExchangeValue → 1123 FAILED_MIN_TOTAL_AMOUNT', () => {
    const { engine } = funded();
    rejects(() => engine.placeOrder(limit('u', 'buy', 1000, '0.0999')), 'FAILED_MIN_TOTAL_AMOUNT', 1123);
    assert.equal(engine.placeOrder(limit('u', 'buy', 1000, '0.1')).status, 'open'); // exactly 100 TRY
    engine.placeOrder(limit('mm', 'sell', 1010, 5));
    rejects(() => engine.placeOrder(market('u', 'buy', '99.99')), 'FAILED_MIN_TOTAL_AMOUNT', 1123);
    rejects(() => engine.placeOrder(market('mm', 'sell', '0.09')), 'FAILED_MIN_TOTAL_AMOUNT', 1123); // 0.09 * best bid 1000
  });

  it('price above the maximum → 1226, below the minimum → 1227', () => {
    const { engine } = funded({ minPrice: d(500), maxPrice: d(2000) });
    rejects(() => engine.placeOrder(limit('u', 'sell', 2001, 1)), 'PRICE_MUST_BE_LESS_THAN_MAXPRICE', 1226);
    rejects(() => engine.placeOrder(limit('u', 'buy', 499, 1)), 'PRICE_MUST_BE_LESS_THAN_MINPRICE', 1227);
  });

  it('price beyond ten times, or under a tenth of, the last price → ORDER_MAX/MIN_PRICE_EXCEEDED', () => {
    const { engine } = funded();
    engine.placeOrder(limit('mm', 'sell', 1000, 1));
    engine.placeOrder(limit('u', 'buy', 1000, 1)); // last price 1000
    rejects(() => engine.placeOrder(limit('u', 'sell', 10_001, 1)), 'ORDER_MAX_PRICE_EXCEEDED', 0);
    rejects(() => engine.placeOrder(limit('u', 'buy', 99, 10)), 'ORDER_MIN_PRICE_EXCEEDED', 0);
  });

  it('stop on the wrong side of the market → 1124 (buy) / 1125 (sell)', () => {
    const { engine } = funded();
    engine.placeOrder(limit('mm', 'sell', 1010, 1));
    engine.placeOrder(limit('mm', 'buy', 990, 1));
    rejects(
      () => engine.placeOrder(stopLimitBuy(1010, 1020)),
      'FAILED_STOP_PRICE_GREATER_THAN_BEST_ASK',
      1124,
    );
    const stopSell = { ...market('u', 'sell', 1), method: 'stopmarket' as const, stopPrice: d(990) };
    rejects(() => engine.placeOrder(stopSell), 'FAILED_STOP_PRICE_LESS_THAN_BEST_BID', 1125);
    assert.equal(engine.placeOrder(stopLimitBuy(1011, 1020)).status, 'open');
    assert.equal(engine.placeOrder({ ...stopSell, stopPrice: d(989) }).status, 'open');
  });

  it('market order with nothing to trade against → 1118 FAILED_MARKET_ORDER', () => {
    rejects(() => funded().engine.placeOrder(market('u', 'buy', 500)), 'FAILED_MARKET_ORDER', 1118);
  });

  it('insufficient free balance → BALANCE_NOT_ENOUGH, or 1122 when open orders hold the rest', () => {
    const { engine } = funded();
    rejects(() => engine.placeOrder(limit('u', 'sell', 1000, 11)), 'BALANCE_NOT_ENOUGH', 0);
    rejects(() => engine.placeOrder(limit('nobody', 'sell', 1000, 1)), 'BALANCE_NOT_ENOUGH', 0);
    engine.placeOrder(limit('u', 'sell', 1000, 6));
    rejects(() => engine.placeOrder(limit('u', 'sell', 1000, 5)), 'FAILED_ORDER_WITH_OPEN_ORDERS', 1122);
    // a buy must hold its fee too: 100,000 TRY buys less than 100 BTC at 1000
    rejects(() => engine.placeOrder(limit('u', 'buy', 1000, 100)), 'BALANCE_NOT_ENOUGH', 0);
  });

  it('a refused order changes nothing and emits nothing', () => {
    const { engine, events } = funded();
    engine.placeOrder(limit('mm', 'sell', 1000, 1));
    const before = plain(engine.groundTruth());
    const seen = events.length;
    rejects(() => engine.placeOrder(limit('u', 'buy', 1000, 1000)), 'BALANCE_NOT_ENOUGH', 0);
    rejects(() => engine.placeOrder(limit('u', 'buy', '1000.1', 1)), 'FAILED_INVALID_PRICE_SCALE', 1126);
    assert.deepEqual(plain(engine.groundTruth()), before);
    assert.equal(events.length, seen);
  });
});

describe('cancel refusals', () => {
  it('unknown id, or another account’s order → NO_ORDER_MATCHES_YOUR_REQUEST', () => {
    const { engine } = funded();
    const order = engine.placeOrder(limit('u', 'buy', 1000, 1));
    rejects(() => engine.requestCancel('u', '123'), 'NO_ORDER_MATCHES_YOUR_REQUEST', 0);
    rejects(() => engine.requestCancel('mm', order.id), 'NO_ORDER_MATCHES_YOUR_REQUEST', 0);
  });

  it('filled, canceled or market order, or a second cancel → ORDER_COULD_NOT_BE_CANCELED', () => {
    const { engine } = funded();
    const filled = engine.placeOrder(limit('u', 'sell', 1000, 1));
    engine.placeOrder(limit('mm', 'buy', 1000, 1));
    rejects(() => engine.requestCancel('u', filled.id), 'ORDER_COULD_NOT_BE_CANCELED', 0);

    const resting = engine.placeOrder(limit('u', 'buy', 900, 1));
    engine.requestCancel('u', resting.id);
    rejects(() => engine.requestCancel('u', resting.id), 'ORDER_COULD_NOT_BE_CANCELED', 0);
    engine.completeCancel(resting.id);
    rejects(() => engine.requestCancel('u', resting.id), 'ORDER_COULD_NOT_BE_CANCELED', 0);

    engine.placeOrder(limit('mm', 'sell', 1000, 1));
    const marketOrder = engine.placeOrder(market('u', 'buy', 500));
    rejects(() => engine.requestCancel('u', marketOrder.id), 'ORDER_COULD_NOT_BE_CANCELED', 0);
  });
});
