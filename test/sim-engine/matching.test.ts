import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { d, harness, holding, limit, market } from './helpers.ts';

function funded() {
  const h = harness();
  for (const id of ['a', 'b', 'c', 'taker']) h.engine.createAccount(id, { TRY: d(1_000_000), BTC: d(10) });
  return h;
}

describe('price-time priority', () => {
  it('fills better prices first, and equal prices in arrival order', () => {
    const { engine, clock } = funded();
    const a = engine.placeOrder(limit('a', 'sell', 1010, 1));
    clock.advance(1);
    const b = engine.placeOrder(limit('b', 'sell', 1000, 1));
    clock.advance(1);
    const c = engine.placeOrder(limit('c', 'sell', 1000, 1));

    const taker = engine.placeOrder(limit('taker', 'buy', 1010, '2.5'));
    const makerFills = engine.groundTruth().fills.filter((f) => f.maker);
    assert.deepEqual(
      makerFills.map((f) => [f.orderId, f.price.toFixed(), f.quantity.toFixed()]),
      [
        [b.id, '1000', '1'],
        [c.id, '1000', '1'],
        [a.id, '1010', '0.5'],
      ],
    );
    assert.equal(engine.order('taker', taker.id)?.status, 'filled');
    assert.equal(engine.order('a', a.id)?.status, 'partially_filled');
    assert.deepEqual(
      engine.book('BTCTRY', 5).asks.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      [['1010', '0.5']],
    );
  });

  it('trades at the resting order price, not the aggressor price', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'buy', 1000, 1));
    engine.placeOrder(limit('b', 'sell', 990, 1));
    const [fill] = engine.fills('b', {});
    assert.equal(fill?.price.toFixed(), '1000');
    assert.equal(fill.maker, false);
  });
});

describe('partial fills', () => {
  it('leaves the maker partially filled with the rest on the book', () => {
    const { engine } = funded();
    const maker = engine.placeOrder(limit('a', 'sell', 1000, 1));
    engine.placeOrder(limit('b', 'buy', 1000, '0.4'));
    const after = engine.order('a', maker.id);
    assert.equal(after?.status, 'partially_filled');
    assert.equal(after.filled.toFixed(), '0.4');
    assert.equal(engine.book('BTCTRY', 1).asks[0]?.quantity.toFixed(), '0.6');
    assert.equal(holding(engine, 'a', 'BTC').locked, '0.6');
  });

  it('rests the unfilled part of a crossing limit order at its own price', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 1000, '0.3'));
    const taker = engine.placeOrder(limit('b', 'buy', 1005, 1));
    const after = engine.order('b', taker.id);
    assert.equal(after?.status, 'partially_filled');
    assert.equal(after.filled.toFixed(), '0.3');
    const book = engine.book('BTCTRY', 5);
    assert.deepEqual(book.asks, []);
    assert.deepEqual(
      book.bids.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      [['1005', '0.7']],
    );
  });
});

describe('market orders', () => {
  it('stop 5% beyond the best opposite price at arrival; the rest is canceled', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 1000, 1));
    engine.placeOrder(limit('a', 'sell', 1040, 1));
    engine.placeOrder(limit('a', 'sell', 1060, 1)); // beyond 1000 * 1.05
    const before = holding(engine, 'taker', 'TRY');
    const order = engine.placeOrder(market('taker', 'buy', 5000));
    const after = engine.order('taker', order.id);
    assert.equal(after?.status, 'canceled');
    assert.equal(after.filled.toFixed(), '2040'); // quote spent: 1000 + 1040
    assert.deepEqual(
      engine.book('BTCTRY', 5).asks.map((l) => l.price.toFixed()),
      ['1060'],
    );
    // 2040 plus taker fee 0.16% and 5% tax on it; everything else went back to free.
    assert.equal(holding(engine, 'taker', 'TRY').locked, '0');
    assert.equal(
      d(before.free)
        .minus(holding(engine, 'taker', 'TRY').free)
        .toFixed(),
      '2043.4272',
    );
    assert.equal(holding(engine, 'taker', 'BTC').free, '12');
  });

  it('bounds a market sell 5% below the best bid', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'buy', 1000, 1));
    engine.placeOrder(limit('a', 'buy', 960, 1));
    engine.placeOrder(limit('a', 'buy', 940, 1)); // below 1000 * 0.95
    const order = engine.placeOrder(market('taker', 'sell', 3));
    const after = engine.order('taker', order.id);
    assert.equal(after?.status, 'canceled');
    assert.equal(after.filled.toFixed(), '2');
    assert.equal(holding(engine, 'taker', 'BTC').locked, '0');
    assert.equal(holding(engine, 'taker', 'BTC').free, '8');
  });

  it('reads a market buy quantity as the quote amount to spend', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 200, 10));
    const order = engine.placeOrder(market('taker', 'buy', 1000));
    const after = engine.order('taker', order.id);
    assert.equal(after?.status, 'filled');
    assert.equal(after.filled.toFixed(), '1000');
    const [fill] = engine.fills('taker', { orderId: order.id });
    assert.equal(fill?.quantity.toFixed(), '5');
    assert.equal(fill.fee.toFixed(), '1.6');
    assert.equal(fill.tax.toFixed(), '0.08');
    assert.equal(holding(engine, 'taker', 'TRY').free, '998998.32');
  });

  it('ends a market buy filled when what is left cannot buy one quantity step', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 300, 10));
    const order = engine.placeOrder(market('taker', 'buy', 1000));
    const after = engine.order('taker', order.id);
    assert.equal(after?.status, 'filled');
    assert.equal(after.filled.toFixed(), '999.999999'); // 3.33333333 BTC at 300
    assert.equal(holding(engine, 'taker', 'TRY').locked, '0');
    assert.equal(holding(engine, 'taker', 'BTC').free, '13.33333333');
  });
});

describe('stop orders', () => {
  it('rest outside the book until the last trade reaches the stop, then enter as limit orders', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 1000, 1));
    engine.placeOrder(limit('a', 'sell', 1020, 1));
    const stop = engine.placeOrder({
      ...limit('b', 'buy', 1030, 1),
      method: 'stoplimit',
      stopPrice: d(1010),
    });
    assert.deepEqual(engine.book('BTCTRY', 5).bids, []);
    assert.equal(holding(engine, 'b', 'TRY').locked, '1031.7304'); // 1030 * (1 + 0.0016 * 1.05)

    engine.placeOrder(limit('c', 'buy', 1000, 1)); // trades at 1000: below the stop
    assert.equal(engine.order('b', stop.id)?.filled.toFixed(), '0');
    assert.deepEqual(engine.book('BTCTRY', 5).bids, []);

    engine.placeOrder(limit('c', 'buy', 1020, '0.5')); // trades at 1020: the stop triggers
    const after = engine.order('b', stop.id);
    assert.equal(after?.status, 'partially_filled');
    assert.equal(after.filled.toFixed(), '0.5'); // took the rest of the 1020 ask
    assert.deepEqual(
      engine.book('BTCTRY', 5).bids.map((l) => [l.price.toFixed(), l.quantity.toFixed()]),
      [['1030', '0.5']],
    );
  });

  it('a stop-market sell triggers on a trade at or below its stop and sells at market', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'buy', 1000, 1));
    engine.placeOrder(limit('a', 'buy', 990, 2));
    const stop = engine.placeOrder({
      ...market('b', 'sell', '1.5'),
      method: 'stopmarket',
      stopPrice: d(995),
    });
    engine.placeOrder(limit('c', 'sell', 1000, 1)); // last 1000: not yet
    assert.equal(engine.order('b', stop.id)?.status, 'open');
    engine.placeOrder(limit('c', 'sell', 990, '0.5')); // last 990: triggers, sells 1.5 at 990
    const after = engine.order('b', stop.id);
    assert.equal(after?.status, 'filled');
    assert.equal(after.filled.toFixed(), '1.5');
    assert.deepEqual(engine.book('BTCTRY', 5).bids, []); // it took the whole 990 level
  });
});

describe('fees and tax', () => {
  it('charges maker and taker on the quote value, tax on the fee, all to the exchange account', () => {
    const { engine } = harness();
    engine.createAccount('seller', { BTC: d('0.5') });
    engine.createAccount('buyer', { TRY: d(2_000_000) });
    engine.placeOrder(limit('seller', 'sell', 3_500_000, '0.5'));
    engine.placeOrder(limit('buyer', 'buy', 3_500_000, '0.5'));

    // notional 1,750,000 TRY: maker 0.08% = 1400 + 5% tax 70; taker 0.16% = 2800 + 140.
    const [sell] = engine.fills('seller', {});
    const [buy] = engine.fills('buyer', {});
    assert.deepEqual(
      [sell?.maker, sell?.fee.toFixed(), sell?.tax.toFixed(), sell?.feeAsset],
      [true, '1400', '70', 'TRY'],
    );
    assert.deepEqual(
      [buy?.maker, buy?.fee.toFixed(), buy?.tax.toFixed(), buy?.feeAsset],
      [false, '2800', '140', 'TRY'],
    );
    assert.deepEqual(holding(engine, 'seller', 'TRY'), { free: '1748530', locked: '0' });
    assert.deepEqual(holding(engine, 'buyer', 'TRY'), { free: '247060', locked: '0' });
    assert.deepEqual(holding(engine, 'buyer', 'BTC'), { free: '0.5', locked: '0' });
    assert.deepEqual(holding(engine, '__exchange__', 'TRY'), { free: '4410', locked: '0' });
  });

  it('gives a buy that ends maker back the difference between the taker-rate lock and the maker fee', () => {
    const { engine } = harness();
    engine.createAccount('seller', { BTC: d('0.5') });
    engine.createAccount('buyer', { TRY: d(2_000_000) });
    engine.placeOrder(limit('buyer', 'buy', 3_500_000, '0.5'));
    assert.deepEqual(holding(engine, 'buyer', 'TRY'), { free: '247060', locked: '1752940' });
    engine.placeOrder(limit('seller', 'sell', 3_500_000, '0.5'));
    assert.deepEqual(holding(engine, 'buyer', 'TRY'), { free: '248530', locked: '0' }); // paid 1,751,470
  });
});
