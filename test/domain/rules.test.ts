import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec, toDec } from '../../src/domain/decimal.ts';
import { orderViolations, type OrderRequest } from '../../src/domain/orders.ts';
import {
  completeRules,
  mergeRules,
  quantizePrice,
  quantizeQuantity,
  RulesError,
  type SymbolRules,
} from '../../src/domain/symbols.ts';

const btcTry: SymbolRules = completeRules({
  symbol: 'BTCTRY',
  base: 'BTC',
  quote: 'TRY',
  status: 'TRADING',
  quantityScale: 8,
  priceScale: 0,
  tickSize: new Dec(1),
  minPrice: new Dec(1),
  maxPrice: new Dec(10_000_000),
  minExchangeValue: new Dec('99.91'),
  orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'],
});

const order = (over: Partial<OrderRequest>): OrderRequest => ({
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  quantity: new Dec('0.001'),
  price: new Dec('3500000'),
  clientOrderId: 'bb1-abc',
  ...over,
});

describe('toDec', () => {
  it('parses decimal text and finite numbers exactly, and refuses anything else naming the field', () => {
    assert.equal(toDec('20000.00').toFixed(), '20000');
    assert.equal(toDec('0.00000001').toFixed(), '0.00000001');
    assert.equal(toDec(0.1).toFixed(), '0.1');
    assert.throws(() => toDec('12abc', 'price'), /price: expected a decimal number, got "12abc"/);
    assert.throws(() => toDec(null, 'amount'), /amount: expected a decimal number, got null/);
    assert.throws(() => toDec(Number.NaN, 'fee'), /fee/);
  });
});

describe('mergeRules', () => {
  it('never lets a present-but-null field erase a value read elsewhere', () => {
    const merged = mergeRules(
      { symbol: 'BTCTRY', minExchangeValue: new Dec(100), minQuantity: new Dec('0.0001') },
      { minExchangeValue: null, minQuantity: undefined, maxQuantity: null },
    );
    assert.equal(merged.minExchangeValue?.toFixed(), '100');
    assert.equal(merged.minQuantity?.toFixed(), '0.0001');
    assert.equal(merged.maxQuantity, undefined);
  });

  it('lets a later non-null value override', () => {
    const merged = mergeRules({ tickSize: new Dec(1) }, { tickSize: new Dec('0.5') });
    assert.equal(merged.tickSize?.toFixed(), '0.5');
  });

  it('refuses to complete rules that no source stated, naming the rule', () => {
    assert.throws(
      () => completeRules({ symbol: 'ETHTRY', base: 'ETH', quote: 'TRY', status: 'TRADING', priceScale: 2 }),
      (e: unknown) => e instanceof RulesError && /ETHTRY.*quantityScale/.test(e.message),
    );
  });

  it('derives the tick from the price scale when no filter gives one', () => {
    const rules = completeRules({
      symbol: 'USDTTRY',
      base: 'USDT',
      quote: 'TRY',
      status: 'TRADING',
      priceScale: 2,
      quantityScale: 2,
    });
    assert.equal(rules.tickSize.toFixed(), '0.01');
  });
});

describe('quantisation', () => {
  const halfTick = { ...btcTry, tickSize: new Dec('0.5'), priceScale: 1 };

  it('never worsens the price: buys round down, sells round up', () => {
    assert.equal(quantizePrice(halfTick, 'buy', '100.74').toFixed(), '100.5');
    assert.equal(quantizePrice(halfTick, 'sell', '100.26').toFixed(), '100.5');
    assert.equal(quantizePrice(halfTick, 'sell', '100.5').toFixed(), '100.5');
  });

  it('never oversizes: quantity is cut to the scale', () => {
    assert.equal(quantizeQuantity(btcTry, '0.123456789').toFixed(), '0.12345678');
    assert.equal(quantizeQuantity({ ...btcTry, quantityScale: 2 }, '1.999').toFixed(), '1.99');
  });

  it('for any price: the quantised buy is ≤ it, the sell ≥ it, both on the grid, within one tick', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 9 }), fc.integer({ min: 0, max: 6 }), (units, places) => {
        const price = new Dec(units).div(new Dec(10).pow(places));
        const buy = quantizePrice(halfTick, 'buy', price);
        const sell = quantizePrice(halfTick, 'sell', price);
        assert.ok(buy.lte(price) && sell.gte(price));
        assert.ok(buy.mod(halfTick.tickSize).isZero() && sell.mod(halfTick.tickSize).isZero());
        assert.ok(price.minus(buy).lt(halfTick.tickSize) && sell.minus(price).lt(halfTick.tickSize));
      }),
    );
  });
});

describe('orderViolations', () => {
  it('accepts a valid limit order', () => {
    assert.deepEqual(orderViolations(btcTry, order({})), []);
  });

  const cases: [string, Partial<OrderRequest>, string, RegExp][] = [
    ['quantity scale', { quantity: new Dec('0.000000001') }, 'quantity', /at most 8 decimals/],
    ['zero quantity', { quantity: new Dec(0) }, 'quantity', /greater than 0/],
    ['price off tick', { price: new Dec('3500000.5') }, 'price', /decimals|multiple of the tick/],
    ['price too high', { price: new Dec(20_000_000) }, 'price', /at most 10000000/],
    ['below min value', { quantity: new Dec('0.00001') }, 'quantity', /below the minimum 99.91/],
    ['missing price', { price: undefined }, 'price', /required for limit/],
    ['price on market', { method: 'market' }, 'price', /not allowed on market/],
    ['stop missing', { method: 'stoplimit' }, 'stopPrice', /required for stoplimit/],
    ['client id too long', { clientOrderId: 'x'.repeat(51) }, 'clientOrderId', /1 to 50/],
    ['client id chars', { clientOrderId: 'a b' }, 'clientOrderId', /letters, digits/],
    ['other symbol', { symbol: 'ETHTRY' }, 'symbol', /rules are for BTCTRY/],
  ];
  for (const [name, over, field, rule] of cases) {
    it(`names the field, value and rule: ${name}`, () => {
      const found = orderViolations(btcTry, order(over)).find((v) => v.field === field);
      assert.ok(found, `expected a violation on ${field}`);
      assert.match(found.rule, rule);
      assert.ok(found.value.length > 0);
    });
  }

  it('refuses any order on a pair that is not trading', () => {
    const v = orderViolations({ ...btcTry, status: 'HALT' }, order({}));
    assert.deepEqual(
      v.map((x) => x.field),
      ['symbol'],
    );
  });
});
