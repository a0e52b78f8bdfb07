import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { d, harness, holding, limit, rejects } from './helpers.ts';

const DAY = 86_400_000;

function funded() {
  const h = harness();
  h.engine.createAccount('u', { TRY: d(10_000_000), BTC: d(100), ETH: d(0) });
  h.engine.createAccount('mm', { TRY: d(10_000_000), BTC: d(100) });
  return h;
}

describe('identifiers', () => {
  it('order ids are increasing decimal digits around 1e10; trade ids are digits above 2^53', () => {
    const { engine } = funded();
    const ids = [1, 2, 3].map((i) => engine.placeOrder(limit('u', 'buy', 1000 - i, 1)).id);
    for (const id of ids) assert.match(id, /^\d{11}$/);
    assert.ok(ids.every((id, i) => i === 0 || BigInt(id) > BigInt(ids[i - 1] ?? '0')));
    engine.placeOrder(limit('mm', 'sell', 997, 3));
    const tradeIds = engine
      .recentTrades('BTCTRY', 10)
      .map((t) => t.tradeId)
      .reverse();
    assert.equal(tradeIds.length, 3);
    for (const id of tradeIds) {
      assert.match(id, /^\d+$/);
      assert.ok(BigInt(id) > 2n ** 53n);
    }
    assert.ok(tradeIds.every((id, i) => i === 0 || BigInt(id) === BigInt(tradeIds[i - 1] ?? '0') + 1n));
  });

  it('stores the client order id as given, null when none', () => {
    const { engine } = funded();
    const withId = engine.placeOrder(limit('u', 'buy', 1000, 1, { clientOrderId: 'bot-7f3a_1' }));
    const without = engine.placeOrder(limit('u', 'buy', 1000, 1));
    assert.equal(engine.order('u', withId.id)?.clientOrderId, 'bot-7f3a_1');
    assert.equal(engine.order('u', without.id)?.clientOrderId, null);
    assert.equal(engine.order('mm', withId.id), undefined); // not visible to another account
  });
});

describe('order queries', () => {
  it('openOrders lists only live orders, by symbol', () => {
    const { engine } = funded();
    const a = engine.placeOrder(limit('u', 'buy', 1000, 1));
    const b = engine.placeOrder(limit('u', 'sell', 1100, 1));
    engine.completeCancel(a.id);
    assert.deepEqual(
      engine.openOrders('u').map((o) => o.id),
      [b.id],
    );
    assert.deepEqual(engine.openOrders('u', 'ETHTRY'), []);
  });

  it('allOrders: newest first by default, a forward cursor with fromOrderId, pages of 100 up to 1000', () => {
    const { engine, clock } = funded();
    const ids: string[] = [];
    for (let i = 0; i < 250; i++) {
      ids.push(engine.placeOrder(limit('u', 'buy', 1000, '0.1')).id);
      clock.advance(1000);
    }
    const first = engine.allOrders('u', {});
    assert.equal(first.length, 100);
    assert.equal(first[0]?.id, ids[249]);
    assert.equal(engine.allOrders('u', { page: 3 }).length, 50);
    assert.equal(engine.allOrders('u', { page: 3 }).at(-1)?.id, ids[0]);
    assert.equal(engine.allOrders('u', { limit: 5000 }).length, 250);

    const forward = engine.allOrders('u', { fromOrderId: ids[10], limit: 5 });
    assert.deepEqual(
      forward.map((o) => o.id),
      ids.slice(10, 15),
    );
    assert.deepEqual(
      engine.allOrders('u', { fromOrderId: ids[10], limit: 5, page: 2 }).map((o) => o.id),
      ids.slice(15, 20),
    );

    const t0 = engine.order('u', ids[0] ?? '')?.createdAt ?? 0;
    const window = engine.allOrders('u', { startTime: t0 + 5000, endTime: t0 + 9000, fromOrderId: ids[0] });
    assert.deepEqual(
      window.map((o) => o.id),
      ids.slice(5, 10),
    );
    assert.deepEqual(engine.allOrders('u', { symbol: 'ETHTRY' }), []);
    rejects(() => engine.allOrders('u', { fromOrderId: 'abc' }), 'FAILED_ORDER_PARAMETER', 0);
  });

  it('fills default to the last 30 days, filter by order and time', () => {
    const { engine, clock } = funded();
    const old = engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.placeOrder(limit('mm', 'sell', 1000, 1));
    clock.advance(31 * DAY);
    const recent = engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.placeOrder(limit('mm', 'sell', 1000, 1));

    assert.deepEqual(
      engine.fills('u', {}).map((f) => f.orderId),
      [recent.id],
    );
    assert.deepEqual(
      engine.fills('u', { startTime: 0 }).map((f) => f.orderId),
      [old.id, recent.id],
    );
    assert.deepEqual(
      engine.fills('u', { startTime: 0, orderId: old.id }).map((f) => f.orderId),
      [old.id],
    );
  });
});

describe('balances', () => {
  it('lists every asset the account touched, zero included', () => {
    const { engine } = funded();
    engine.placeOrder(limit('u', 'sell', 1000, 100));
    engine.placeOrder(limit('mm', 'buy', 1000, 100));
    assert.deepEqual(holding(engine, 'u', 'BTC'), { free: '0', locked: '0' });
    assert.deepEqual(
      engine.balances('u').map((b) => b.asset),
      ['TRY', 'BTC', 'ETH'],
    );
    assert.deepEqual(engine.balances('stranger'), []);
  });
});

describe('market data', () => {
  it('book returns aggregated levels, best first, to the asked depth', () => {
    const { engine } = funded();
    engine.placeOrder(limit('u', 'buy', 999, 1));
    engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.placeOrder(limit('mm', 'buy', 1000, 2));
    engine.placeOrder(limit('u', 'buy', 998, 1));
    engine.placeOrder(limit('u', 'sell', 1002, 1));
    engine.placeOrder(limit('u', 'sell', 1001, 1));
    const book = engine.book('BTCTRY', 2);
    assert.deepEqual(
      book.bids.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      [
        ['1000', '3'],
        ['999', '1'],
      ],
    );
    assert.deepEqual(
      book.asks.map((l) => l.price.toFixed()),
      ['1001', '1002'],
    );
    rejects(() => engine.book('NOPE', 5), 'FAILED_ORDER_PARAMETER', 0);
  });

  it('ticker covers a rolling 24h window and the tops of book', () => {
    const { engine, clock } = funded();
    engine.placeOrder(limit('u', 'buy', 900, 1));
    engine.placeOrder(limit('mm', 'sell', 900, 1)); // day-old trade
    clock.advance(DAY + 1);
    for (const [price, qty] of [
      [1000, '1'],
      [1100, '1'],
      [950, '2'],
    ] as const) {
      engine.placeOrder(limit('u', 'buy', price, qty));
      engine.placeOrder(limit('mm', 'sell', price, qty));
    }
    engine.placeOrder(limit('u', 'buy', 940, '0.5'));
    engine.placeOrder(limit('mm', 'sell', 960, '0.25'));
    const t = engine.ticker('BTCTRY');
    assert.deepEqual(
      [t.last, t.open, t.high, t.low, t.volume, t.average, t.bid, t.ask, t.bidSize, t.askSize].map((x) =>
        x?.toFixed(),
      ),
      ['950', '1000', '1100', '950', '4', '1000', '940', '960', '0.5', '0.25'],
    );
  });

  it('ticker before any trade quotes the configured mid', () => {
    const t = funded().engine.ticker('BTCTRY');
    assert.deepEqual([t.last.toFixed(), t.volume.toFixed(), t.bid, t.ask], ['1000', '0', null, null]);
  });

  it('recentTrades are newest first', () => {
    const { engine } = funded();
    engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.placeOrder(limit('u', 'buy', 990, 1));
    engine.placeOrder(limit('mm', 'sell', 990, 2));
    const trades = engine.recentTrades('BTCTRY', 5);
    assert.deepEqual(
      trades.map((t) => [t.price.toFixed(), t.takerSide]),
      [
        ['990', 'sell'],
        ['1000', 'sell'],
      ],
    );
    assert.equal(engine.recentTrades('BTCTRY', 1).length, 1);
  });
});
