import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import { isZeroText, keyText, scaledInteger, significantDecimals } from '../../src/market/price-key.ts';

describe('scaled-integer price keys', () => {
  it('counts 10^-scale units exactly from the text', () => {
    assert.equal(scaledInteger('3400000.50', 2), 340000050);
    assert.equal(scaledInteger('3400000', 2), 340000000);
    assert.equal(scaledInteger('3400000.', 0), 3400000);
    assert.equal(scaledInteger('.5', 1), 5);
    assert.equal(scaledInteger('0.00000001', 8), 1);
    assert.equal(scaledInteger('34.5000', 2), 3450, 'trailing zeros past the scale are fine');
  });

  it('refuses what it cannot key exactly', () => {
    for (const [text, scale] of [
      ['34.505', 2], // needs a finer scale
      ['-1', 0],
      ['1e5', 0],
      ['1.2.3', 2],
      ['', 0],
      ['.', 0],
      ['abc', 0],
      ['90071992547409920', 0], // beyond 2^53
    ] as const) {
      assert.ok(Number.isNaN(scaledInteger(text, scale)), `${text} at scale ${scale}`);
    }
  });

  it('orders keys exactly as the decimals they stand for (seeded)', () => {
    const decimalText = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.integer({ min: 0, max: 6 }))
      .map(([units, places]) => new Dec(units.toString()).div(new Dec(10).pow(places)).toFixed(places));
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const ka = scaledInteger(a, 6);
        const kb = scaledInteger(b, 6);
        return Math.sign(ka - kb) === new Dec(a).cmp(new Dec(b));
      }),
      { seed: 20240611, numRuns: 2000 },
    );
  });

  it('writes a key back as a price of the same value (seeded)', () => {
    assert.equal(keyText(340000050, 2), '3400000.50');
    assert.equal(keyText(5, 3), '0.005');
    assert.equal(keyText(3400000, 0), '3400000');
    assert.equal(keyText(0, 2), '0.00');
    const keyed = fc.tuple(
      fc.bigInt({ min: 0n, max: 10n ** 12n }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 4 }),
    );
    fc.assert(
      fc.property(keyed, ([units, places, extra]) => {
        const text = new Dec(units.toString()).div(new Dec(10).pow(places)).toFixed();
        const scale = places + extra;
        const key = scaledInteger(text, scale);
        return (
          Number.isNaN(key) ||
          (new Dec(keyText(key, scale)).eq(text) && scaledInteger(keyText(key, scale), scale) === key)
        );
      }),
      { seed: 20261204, numRuns: 2000 },
    );
  });

  it('reads significant decimals and zero amounts', () => {
    assert.equal(significantDecimals('1.2500'), 2);
    assert.equal(significantDecimals('100'), 0);
    assert.equal(significantDecimals('x'), -1);
    assert.ok(isZeroText('0.00000000'));
    assert.ok(isZeroText('0'));
    assert.ok(!isZeroText('0.00000001'));
  });
});
