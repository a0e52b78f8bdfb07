import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { d, harness, holding, limit, plain } from './helpers.ts';

function funded() {
  const h = harness();
  h.engine.createAccount('u', { TRY: d(100_000), BTC: d(10) });
  h.engine.createAccount('mm', { TRY: d(100_000), BTC: d(10) });
  return h;
}

describe('asynchronous cancel', () => {
  it('keeps a cancel-requested order matchable until the cancel completes', () => {
    const { engine } = funded();
    const order = engine.placeOrder(limit('u', 'sell', 1000, 1));
    const requested = engine.requestCancel('u', order.id);
    assert.equal(requested.cancelRequested, true);
    assert.equal(requested.status, 'open');
    assert.equal(engine.book('BTCTRY', 1).asks[0]?.quantity.toFixed(), '1');

    engine.placeOrder(limit('mm', 'buy', 1000, '0.4')); // a fill while the cancel is in flight
    const during = engine.order('u', order.id);
    assert.equal(during?.status, 'partially_filled');
    assert.equal(during.cancelRequested, true);
    assert.equal(engine.fills('u', { orderId: order.id }).length, 1);

    const done = engine.completeCancel(order.id);
    assert.equal(done?.status, 'canceled');
    assert.equal(done.cancelRequested, false);
    assert.equal(done.filled.toFixed(), '0.4');
    assert.deepEqual(engine.book('BTCTRY', 5).asks, []);
    assert.deepEqual(holding(engine, 'u', 'BTC'), { free: '9.6', locked: '0' });
  });

  it('completeCancel releases exactly what the order still holds', () => {
    const { engine } = funded();
    engine.placeOrder(limit('u', 'buy', 900, 1)); // stays, holds its own lock
    const order = engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.placeOrder(limit('mm', 'sell', 1000, '0.25'));
    // the 0.75 left holds 750 * (1 + 0.0016 * 1.05); the other order holds 900 * the same factor
    assert.equal(holding(engine, 'u', 'TRY').locked, '1652.772');
    engine.requestCancel('u', order.id);
    engine.completeCancel(order.id);
    assert.equal(holding(engine, 'u', 'TRY').locked, '901.512');
    // paid 250 + maker fee 0.2 + tax 0.01 for the fill, nothing else
    assert.equal(
      d(holding(engine, 'u', 'TRY').free)
        .plus(holding(engine, 'u', 'TRY').locked)
        .toFixed(),
      '99749.79',
    );
  });

  it('a late completeCancel after a full fill is a no-op', () => {
    const { engine, events } = funded();
    const order = engine.placeOrder(limit('u', 'sell', 1000, 1));
    engine.requestCancel('u', order.id);
    engine.placeOrder(limit('mm', 'buy', 1000, 1));
    const filled = engine.order('u', order.id);
    assert.equal(filled?.status, 'filled');
    assert.equal(filled.cancelRequested, false);

    const before = plain(engine.groundTruth());
    const seen = events.length;
    assert.equal(engine.completeCancel(order.id), undefined);
    assert.deepEqual(plain(engine.groundTruth()), before);
    assert.equal(events.length, seen);
  });

  it('completeCancel of an unknown id returns undefined', () => {
    assert.equal(funded().engine.completeCancel('42'), undefined);
  });

  it('canceling an untriggered stop order releases its lock', () => {
    const { engine } = funded();
    const stop = engine.placeOrder({ ...limit('u', 'sell', 900, 2), method: 'stoplimit', stopPrice: d(950) });
    assert.equal(holding(engine, 'u', 'BTC').locked, '2');
    engine.requestCancel('u', stop.id);
    assert.equal(engine.completeCancel(stop.id)?.status, 'canceled');
    assert.deepEqual(holding(engine, 'u', 'BTC'), { free: '10', locked: '0' });
  });

  it('emits order-deleted, the book level change and the balance, in that order', () => {
    const { engine, events } = funded();
    const order = engine.placeOrder(limit('u', 'buy', 1000, 1));
    engine.requestCancel('u', order.id);
    events.length = 0;
    engine.completeCancel(order.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['order-deleted', 'book', 'balance'],
    );
    const [, book] = events;
    assert.deepEqual(plain(book), {
      type: 'book',
      symbol: 'BTCTRY',
      changes: [{ side: 'buy', price: '1000', quantity: '0' }],
    });
  });
});
