import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { rebalanceDefinition } from '../../src/strategies/rebalance.ts';
import type { WantedOrder } from '../../src/strategies/types.ts';
import { market, snapshot, type SnapshotParts } from './fixtures.ts';

const rb = (params: Record<string, unknown>) => rebalanceDefinition.create(params);
const HALF = { targets: { BTC: '0.5', TRY: '0.5' } };
// mid 3,400,050: 0.1 BTC is worth 340,005 TRY.
const BOOK = { BTCTRY: market('3400000', '3400100') };
const text = (orders: WantedOrder[]) =>
  orders.map((o) => `${o.tag} ${o.side} ${o.quantity.toFixed()}@${o.price.toFixed()}`);
const want = (params: Record<string, unknown>, parts: SnapshotParts) => rb(params).want(snapshot(parts));

describe('rebalance', () => {
  it('does nothing while every weight is inside the band', () => {
    assert.deepEqual(
      want(HALF, { markets: BOOK, balances: { BTC: ['0.1', '0'], TRY: ['340005', '0'] } }),
      [],
    );
    // 0.108 BTC: weight 0.5192, 1.92 points off, inside the default 5-point band
    assert.deepEqual(
      want(HALF, { markets: BOOK, balances: { BTC: ['0.108', '0'], TRY: ['340005', '0'] } }),
      [],
    );
  });

  it('counts funds locked in open orders as held', () => {
    assert.deepEqual(
      want(HALF, { markets: BOOK, balances: { BTC: ['0.05', '0.05'], TRY: ['0', '340005'] } }),
      [],
    );
  });

  it('sells an overweight asset just over the best ask, capped at maxOrderQuote', () => {
    // 0.15 BTC = 510,007.5 of 850,012.5: weight 0.6, 10 points over
    const wanted = want(HALF, { markets: BOOK, balances: { BTC: ['0.15', '0'], TRY: ['340005', '0'] } });
    // 3400100 × 1.0005 = 3401800.05 → 3401801 (a sell rounds up); 1000 / 3401801 → 0.00029396
    assert.deepEqual(text(wanted), ['rb:BTCTRY sell 0.00029396@3401801']);
  });

  it('trades the whole gap back to the target when it is under maxOrderQuote', () => {
    const wanted = want(
      { ...HALF, maxOrderQuote: '1000000' },
      { markets: BOOK, balances: { BTC: ['0.15', '0'], TRY: ['340005', '0'] } },
    );
    // 0.1 × 850,012.5 = 85,001.25 TRY
    assert.deepEqual(text(wanted), ['rb:BTCTRY sell 0.02498713@3401801']);
  });

  it('buys an underweight asset just under the best bid', () => {
    const wanted = want(HALF, { markets: BOOK, balances: { BTC: ['0.05', '0'], TRY: ['340005', '0'] } });
    // 3400000 × 0.9995 = 3398300; 1000 / 3398300 → 0.00029426
    assert.deepEqual(text(wanted), ['rb:BTCTRY buy 0.00029426@3398300']);
  });

  it('never prices a buy at or over the best ask, even with no offset', () => {
    const wanted = want(
      { ...HALF, offsetBps: 0 },
      {
        markets: { BTCTRY: market('3400000', '3400001') },
        balances: { BTC: ['0', '0'], TRY: ['100000', '0'] },
      },
    );
    assert.deepEqual(text(wanted), ['rb:BTCTRY buy 0.00029411@3400000']);
  });

  it('rebalances several assets against the quote currency', () => {
    const wanted = want(
      { targets: { BTC: '0.25', ETH: '0.25', TRY: '0.5' } },
      {
        markets: { ...BOOK, ETHTRY: market('100000', '100010') },
        balances: { BTC: ['0.1', '0'], ETH: ['0', '0'], TRY: ['340005', '0'] },
      },
    );
    assert.deepEqual(
      wanted.map((o) => `${o.tag} ${o.side}`),
      ['rb:BTCTRY sell', 'rb:ETHTRY buy'],
    );
  });

  it("reads only its assets' pairs: another pair's book changes nothing it wants", () => {
    const params = { targets: { BTC: '0.25', ETH: '0.25', TRY: '0.5' } };
    assert.deepEqual([...(rb(params).reads ?? [])].sort(), ['BTCTRY', 'ETHTRY']);
    const parts = (xrp: ReturnType<typeof market>): SnapshotParts => ({
      markets: { ...BOOK, ETHTRY: market('100000', '100010'), XRPTRY: xrp },
      balances: { BTC: ['0.1', '0'], ETH: ['0', '0'], XRP: ['1000', '0'], TRY: ['340005', '0'] },
    });
    const wanted = text(want(params, parts(market('20', '21'))));
    assert.equal(wanted.length, 2);
    assert.deepEqual(text(want(params, parts(market('30', '31')))), wanted);
    assert.deepEqual(text(want(params, parts(market(null, null, 'stale')))), wanted);
  });

  it('wants nothing when any asset cannot be valued (stale or missing book)', () => {
    const balances = { BTC: ['0.3', '0'], TRY: ['1000', '0'] } as const;
    assert.deepEqual(
      want(HALF, { markets: { BTCTRY: market('3400000', '3400100', 'stale') }, balances }),
      [],
    );
    assert.deepEqual(want(HALF, { markets: {}, balances }), []);
  });

  it('refuses targets that do not sum to 1 or leave out the quote currency', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { targets: { BTC: '0.6', TRY: '0.5' } },
        /strategy "rebalance": targets = .*sum to 1 \(they sum to 1\.1\)/,
      ],
      [{ targets: { BTC: '0.5', ETH: '0.5' } }, /must include the quote currency TRY/],
      [{ targets: { btc: '0.5', TRY: '0.5' } }, /targets: key "btc": asset codes are upper-case/],
      [{ targets: { BTC: '1.5', TRY: '-0.5' } }, /targets\.BTC = "1\.5": must be at most 1/],
      [{}, /targets is required/],
      [{ ...HALF, bandPct: 0 }, /bandPct = 0: must be greater than 0/],
    ];
    for (const [params, message] of cases)
      assert.throws(
        () => rb(params),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
  });
});
