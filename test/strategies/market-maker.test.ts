import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/domain/errors.ts';
import { diffOrders } from '../../src/engine/diff.ts';
import { marketMakerDefinition } from '../../src/strategies/market-maker.ts';
import type { RestingOrder, WantedOrder } from '../../src/strategies/types.ts';
import { BTCTRY, ETHTRY, d, market, snapshot } from './fixtures.ts';

const FC_SEED = Number(process.env.FC_SEED ?? 7);
const mm = (params: Record<string, unknown> = {}) => marketMakerDefinition.create(params);
const text = (orders: WantedOrder[]) =>
  orders.map((o) => `${o.tag} ${o.side} ${o.quantity.toFixed()}@${o.price.toFixed()}`);

// mid 3,400,050; a 50 bps spread puts the quotes 25 bps either side of it.
const BOOK = { BTCTRY: market('3400000', '3400100') };

describe('market-maker', () => {
  it('quotes symmetrically around the mid when the inventory is at its target', () => {
    const strategy = mm({ spreadBps: 50, size: '0.01', targetBase: '0.5', inventorySkewBps: 10 });
    const wanted = strategy.want(snapshot({ markets: BOOK, positions: { BTCTRY: '0.5' } }));
    // 3400050 × (1 ∓ 0.0025) = 3391549.875 / 3408550.125: the bid rounds down, the ask up.
    assert.deepEqual(text(wanted), ['mm:BTCTRY:bid:0 buy 0.01@3391549', 'mm:BTCTRY:ask:0 sell 0.01@3408551']);
    const mid = d('3400050');
    const [bid, ask] = wanted;
    assert.ok(bid && ask);
    assert.ok(mid.sub(bid.price).sub(ask.price.sub(mid)).abs().lte(BTCTRY.tickSize));
  });

  it('shifts both quotes down when holding more than the target, up when holding less', () => {
    const params = { spreadBps: 50, size: '0.01', targetBase: '0.5', inventorySkewBps: 10 };
    const at = (held: string) => mm(params).want(snapshot({ markets: BOOK, positions: { BTCTRY: held } }));
    const flat = at('0.5');
    const long = at('1.5'); // one unit over: 10 bps lower
    const short = at('0.25'); // a quarter unit under: 2.5 bps higher
    assert.deepEqual(text(long), ['mm:BTCTRY:bid:0 buy 0.01@3388149', 'mm:BTCTRY:ask:0 sell 0.01@3405151']);
    assert.deepEqual(text(short), ['mm:BTCTRY:bid:0 buy 0.01@3392399', 'mm:BTCTRY:ask:0 sell 0.01@3409401']);
    for (const i of [0, 1]) {
      assert.ok(long[i]?.price.lt(flat[i]?.price ?? 0));
      assert.ok(short[i]?.price.gt(flat[i]?.price ?? 0));
    }
  });

  it('never sells more base than it holds, and never bids past maxInventoryBase', () => {
    const strategy = mm({ spreadBps: 40, levels: 3, size: '0.4', maxInventoryBase: '1' });
    const none = strategy.want(snapshot({ markets: BOOK, positions: {} }));
    assert.deepEqual(
      none.map((o) => `${o.tag} ${o.quantity.toFixed()}`),
      ['mm:BTCTRY:bid:0 0.4', 'mm:BTCTRY:bid:1 0.4', 'mm:BTCTRY:bid:2 0.2'],
    );
    const some = strategy.want(snapshot({ markets: BOOK, positions: { BTCTRY: '0.5' } }));
    assert.deepEqual(
      some.map((o) => `${o.tag} ${o.quantity.toFixed()}`),
      ['mm:BTCTRY:bid:0 0.4', 'mm:BTCTRY:bid:1 0.1', 'mm:BTCTRY:ask:0 0.4', 'mm:BTCTRY:ask:1 0.1'],
    );
  });

  it('steps further levels out by levelStepBps', () => {
    const wanted = mm({ spreadBps: 20, levels: 2, levelStepBps: 30, size: '0.01' }).want(
      snapshot({ markets: BOOK, positions: { BTCTRY: '1' } }),
    );
    // offsets 10 and 40 bps from 3400050
    assert.deepEqual(
      wanted.map((o) => `${o.tag}@${o.price.toFixed()}`),
      [
        'mm:BTCTRY:bid:0@3396649',
        'mm:BTCTRY:bid:1@3386449',
        'mm:BTCTRY:ask:0@3403451',
        'mm:BTCTRY:ask:1@3413651',
      ],
    );
  });

  it('sizes by quote value, quantised down to the pair scale', () => {
    const wanted = mm({ spreadBps: 50, sizeQuote: '1000' }).want(
      snapshot({
        markets: { ETHTRY: market('100000.5', '100010') },
        positions: { ETHTRY: '5' },
        rules: [ETHTRY],
      }),
    );
    // mid 100005.25; bid ×0.9975 = 99755.237… → 99755.0 on the 0.5 grid; ask ×1.0025 = 100255.263… → 100255.5
    assert.deepEqual(text(wanted), [
      'mm:ETHTRY:bid:0 buy 0.01@99755',
      'mm:ETHTRY:ask:0 sell 0.0099@100255.5',
    ]);
    for (const o of wanted) {
      assert.ok(o.price.mod(ETHTRY.tickSize).isZero());
      assert.ok(o.quantity.decimalPlaces() <= ETHTRY.quantityScale);
      assert.ok(o.price.mul(o.quantity).lte(1000), 'never oversized');
    }
  });

  it('drops a quote the exchange would refuse (below the minimum order value)', () => {
    const wanted = mm({ spreadBps: 50, size: '0.00002' }).want(
      snapshot({ markets: BOOK, positions: { BTCTRY: '1' } }),
    );
    assert.deepEqual(wanted, []); // 0.00002 × 3.4M = 68 TRY < 100 TRY
  });

  it('never crosses the book, whatever the inventory skew and book width', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10_000_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 300 }),
        (bid, width, skew, heldCenti, spread) => {
          const strategy = mm({
            spreadBps: spread,
            requoteThresholdBps: 0,
            levels: 3,
            sizeQuote: '200',
            targetBase: '1',
            inventorySkewBps: skew,
          });
          const ask = bid + width;
          const wanted = strategy.want(
            snapshot({
              markets: { BTCTRY: market(String(bid), String(ask)) },
              positions: { BTCTRY: d(heldCenti).div(100).toFixed() },
            }),
          );
          for (const o of wanted) {
            assert.ok(o.price.isInteger() && o.price.gt(0), `${o.tag} off the grid: ${o.price.toFixed()}`);
            if (o.side === 'buy')
              assert.ok(o.price.lt(ask), `${o.tag} ${o.price.toFixed()} ≥ best ask ${ask}`);
            else assert.ok(o.price.gt(bid), `${o.tag} ${o.price.toFixed()} ≤ best bid ${bid}`);
          }
          const bids = wanted.filter((o) => o.side === 'buy');
          const asks = wanted.filter((o) => o.side === 'sell');
          for (const b of bids) for (const a of asks) assert.ok(b.price.lt(a.price), 'own quotes cross');
        },
      ),
      { seed: FC_SEED, numRuns: 300 },
    );
  });

  it('wants nothing on a stale symbol, so the diff cancels its quotes there', () => {
    const strategy = mm({ size: '0.01' });
    const live = strategy.want(
      snapshot({
        markets: { BTCTRY: market('3400000', '3400100'), ETHTRY: market('100000', '100010') },
        positions: { BTCTRY: '1', ETHTRY: '1' },
      }),
    );
    const resting: RestingOrder[] = live.map((o, i) => ({
      clientOrderId: `c${i}`,
      symbol: o.symbol,
      side: o.side,
      price: o.price,
      quantityLeft: o.quantity,
      state: 'OPEN',
      tag: o.tag,
    }));
    const later = strategy.want(
      snapshot({
        markets: {
          BTCTRY: market('3400000', '3400100', 'stale'),
          ETHTRY: market('100000', '100010', 'fallback'),
        },
        positions: { BTCTRY: '1', ETHTRY: '1' },
      }),
    );
    assert.ok(later.every((o) => o.symbol === 'ETHTRY') && later.length === 2);
    const diff = diffOrders(later, resting, strategy.tolerance);
    assert.deepEqual(diff.cancels.map((r) => r.tag).sort(), ['mm:BTCTRY:ask:0', 'mm:BTCTRY:bid:0']);
    assert.equal(diff.keeps.length, 2);
  });

  it('wants nothing without a two-sided, uncrossed book', () => {
    const strategy = mm({ size: '0.01' });
    for (const book of [market(null, '3400100'), market('3400000', null), market('3400100', '3400000')])
      assert.deepEqual(
        strategy.want(snapshot({ markets: { BTCTRY: book }, positions: { BTCTRY: '1' } })),
        [],
      );
  });

  it('keeps resting quotes while the mid moves within the requote threshold, replaces them beyond it', () => {
    const strategy = mm({ spreadBps: 50, requoteThresholdBps: 5, size: '0.01' });
    const first = strategy.want(snapshot({ markets: BOOK, positions: { BTCTRY: '1' } }));
    const resting: RestingOrder[] = first.map((o, i) => ({
      clientOrderId: `c${i}`,
      symbol: o.symbol,
      side: o.side,
      price: o.price,
      quantityLeft: o.quantity,
      state: 'OPEN',
      tag: o.tag,
    }));
    const moved = (bid: string, ask: string) =>
      diffOrders(
        strategy.want(snapshot({ markets: { BTCTRY: market(bid, ask) }, positions: { BTCTRY: '1' } })),
        resting,
        strategy.tolerance,
      );
    const small = moved('3401000', '3401100'); // +950 on 3.4M ≈ 2.8 bps
    assert.equal(small.keeps.length, 2);
    assert.equal(small.replaces.length + small.submits.length + small.cancels.length, 0);
    const large = moved('3403000', '3403100'); // ≈ 8.8 bps
    assert.equal(large.keeps.length, 0);
    assert.deepEqual(
      large.replaces.map((r) => r.wanted.tag),
      ['mm:BTCTRY:bid:0', 'mm:BTCTRY:ask:0'],
    );
  });

  it('refuses bad parameters naming the strategy, the parameter, the value and the rule', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ spreadBps: -5 }, /strategy "market-maker": spreadBps = -5: must be greater than 0/],
      [{ levels: 2.5 }, /levels = 2\.5: must be a whole number/],
      [{ size: 'lots' }, /size = "lots": must be a decimal number/],
      [{ sizeQuote: '0' }, /sizeQuote = "0": must be greater than 0/],
      [{ spreadBp: 20 }, /unknown parameter "spreadBp" \(known: spreadBps, /],
      [{ spreadBps: 8 }, /requoteThresholdBps \(default\): must be below half the spread \(8 \/ 2 = 4 bps\)/],
      [
        { targetBase: '2', maxInventoryBase: '1' },
        /targetBase = "2": must not exceed maxInventoryBase \(1\)/,
      ],
    ];
    for (const [params, message] of cases)
      assert.throws(
        () => mm(params),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
  });

  it('is safe by default and documents every default', () => {
    const docs = marketMakerDefinition.parameters();
    const byName = new Map(docs.map((p) => [p.name, p]));
    assert.equal(byName.get('spreadBps')?.default, 50);
    assert.equal(byName.get('sizeQuote')?.default, '500');
    assert.equal(byName.get('levels')?.default, 1);
    assert.ok(
      docs.every((p) => p.description.length > 0),
      'every parameter is described',
    );
    // Defaults alone quote one small level each side.
    const wanted = mm().want(snapshot({ markets: BOOK, positions: { BTCTRY: '1' } }));
    assert.equal(wanted.length, 2);
    for (const o of wanted) assert.ok(o.price.mul(o.quantity).lte(500));
  });

  it('answers a snapshot as a fresh instance would, whatever it was asked before', () => {
    // One instance keeps each symbol's last quotes while their inputs stand (H6, issue 13): every
    // input they depend on (touch, data status, position, rules) must still be seen to change.
    const params = { spreadBps: 40, levels: 2, size: '0.01', inventorySkewBps: 10, maxInventoryBase: '2' };
    const touches = [
      ['3400000', '3400100'],
      ['3400000.0', '3400100'], // the same prices written differently
      ['3400001', '3400100'],
      ['3400000', '3400099'],
      [null, '3400100'],
      ['3400000', null],
    ] as const;
    const statuses = ['live', 'fallback', 'stale'] as const;
    const held = [null, '0', '0.5', '0.50', '1.5', '2'];
    const rules = [BTCTRY, { ...BTCTRY, minExchangeValue: d(100_000) }];
    const step = fc.record({
      btc: fc.tuple(
        fc.integer({ min: 0, max: touches.length - 1 }),
        fc.constantFrom(...statuses),
        fc.constantFrom(...held),
      ),
      eth: fc.tuple(fc.integer({ min: 0, max: touches.length - 1 }), fc.constantFrom(...statuses)),
      rules: fc.integer({ min: 0, max: rules.length - 1 }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 30 }), (steps) => {
        const kept = mm(params);
        for (const s of steps) {
          const [bi, bs, bh] = s.btc;
          const [ei, es] = s.eth;
          const [bb, ba] = touches[bi] ?? touches[0];
          const [eb, ea] = touches[ei] ?? touches[0];
          const shown = snapshot({
            markets: {
              BTCTRY: market(bb, ba, bs),
              ETHTRY: market(eb === null ? null : `${eb}.5`.replace('.0.5', '.5'), ea, es),
            },
            positions: bh === null ? {} : { BTCTRY: bh, ETHTRY: bh },
            rules: [rules[s.rules] ?? BTCTRY, ETHTRY],
          });
          assert.deepEqual(text(kept.want(shown)), text(mm(params).want(shown)));
        }
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });
});
