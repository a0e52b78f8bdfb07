import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { BtcturkExchange } from '../../src/btcturk/exchange.ts';
import { Dec, ZERO } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import type { FillReport } from '../../src/domain/reports.ts';
import { holdingsAfterFills, valuePortfolio, type Pair } from '../../src/engine/portfolio.ts';
import { accountFills } from '../../src/oms/accounting.ts';
import { startSimulator } from '../../src/sim/index.ts';

// Accounting: whatever the fills, the change of the account's value at the final marks is exactly
// the bot's realised plus unrealised result (fees deducted), and the holdings the fills imply are
// what the exchange holds.

const FC_SEED = Number(process.env.FC_SEED ?? 23);
const PAIRS: ReadonlyMap<string, Pair> = new Map([
  ['BTCTRY', { base: 'BTC', quote: 'TRY' }],
  ['ETHTRY', { base: 'ETH', quote: 'TRY' }],
]);
// Average prices are quotients carried to 40 significant digits; nothing else is rounded.
const ROUNDING = new Dec('1e-20');

function equityChange(
  start: ReadonlyMap<string, Decimal>,
  fills: readonly FillReport[],
  marks: ReadonlyMap<string, Decimal>,
) {
  const value = (holdings: ReadonlyMap<string, Decimal>) =>
    valuePortfolio({ currency: 'TRY', holdings, positions: accountFills(fills), marks, pairs: PAIRS });
  const before = value(start);
  const after = value(holdingsAfterFills(start, fills));
  return { change: after.equity.sub(before.equity), result: after.realised.add(after.unrealised), after };
}

const arbPrice = (low: number, high: number) => fc.integer({ min: low, max: high }).map((n) => new Dec(n));
const arbFill = fc
  .record({
    btc: fc.boolean(),
    buy: fc.boolean(),
    priceSteps: fc.integer({ min: 0, max: 1_000_000 }),
    quantity: fc.integer({ min: 1, max: 5_000_000 }), // 1e-8 units
    feeBps: fc.integer({ min: 0, max: 30 }),
    at: fc.integer({ min: 0, max: 1_000_000 }),
  })
  .map(({ btc, buy, priceSteps, quantity, feeBps, at }): Omit<FillReport, 'tradeId'> => {
    const price = new Dec(btc ? 3_000_000 : 100_000).add(priceSteps);
    const q = new Dec(quantity).div(1e8);
    const fee = price.mul(q).mul(feeBps).div(10_000);
    return {
      exchangeOrderId: '1',
      clientOrderId: null,
      symbol: btc ? 'BTCTRY' : 'ETHTRY',
      base: btc ? 'BTC' : 'ETH',
      quote: 'TRY',
      side: buy ? 'buy' : 'sell',
      price,
      quantity: q,
      fee,
      tax: fee.mul('0.05'),
      feeAsset: 'TRY',
      timestamp: 1_700_000_000_000 + at,
    };
  });

describe('engine accounting', () => {
  it('equity change at the final marks = realised + unrealised with fees deducted, for any fills', () => {
    fc.assert(
      fc.property(
        fc.array(arbFill, { maxLength: 60 }),
        arbPrice(2_500_000, 4_500_000),
        arbPrice(80_000, 160_000),
        (drafts, btcMark, ethMark) => {
          const fills = drafts.map((f, i) => ({ ...f, tradeId: String(9_007_199_254_740_993n + BigInt(i)) }));
          const start = new Map([
            ['TRY', new Dec('1000000')],
            ['BTC', new Dec('0.5')],
            ['ETH', new Dec('3')],
          ]);
          const marks = new Map([
            ['BTCTRY', btcMark],
            ['ETHTRY', ethMark],
          ]);
          const { change, result, after } = equityChange(start, fills, marks);
          assert.ok(
            change.sub(result).abs().lte(ROUNDING),
            `equity moved ${change.toFixed()}, realised + unrealised is ${result.toFixed()}`,
          );
          const fees = fills.reduce((sum, f) => sum.add(f.fee).add(f.tax), ZERO);
          assert.equal(after.fees.toFixed(), fees.toFixed());
        },
      ),
      { seed: FC_SEED, numRuns: 300 },
    );
  });

  it('the holdings implied by the fills are the simulator’s balances after random orders through the adapter', async () => {
    const start = { TRY: '1000000', BTC: '2', ETH: '30' };
    const sim = await startSimulator({ seed: 41, autoMarket: false, balances: start });
    const exchange = new BtcturkExchange({
      baseUrl: sim.restUrl,
      credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    });
    const random = seededRandom(97);
    try {
      await exchange.exchangeInfo();
      let placed = 0;
      for (let i = 0; i < 60; i += 1) {
        const symbol = random.next() < 0.5 ? 'BTCTRY' : 'ETHTRY';
        const book = sim.engine.book(symbol, 1);
        const bid = book.bids[0]?.price;
        const ask = book.asks[0]?.price;
        if (!bid || !ask) continue;
        const side = random.next() < 0.5 ? 'buy' : 'sell';
        // Around the touch: some cross at once, some rest until the market walks into them.
        const offsetBps = randomInt(random, -20, 30);
        const touch = side === 'buy' ? bid : ask;
        const price = touch
          .mul(10_000 + (side === 'buy' ? -offsetBps : offsetBps))
          .div(10_000)
          .toDecimalPlaces(0);
        const quantity = new Dec(randomInt(random, 200, 20_000))
          .div(price)
          .toDecimalPlaces(8, Dec.ROUND_DOWN);
        try {
          await exchange.submitOrder({
            symbol,
            side,
            method: 'limit',
            price,
            quantity,
            clientOrderId: `acct-${i}`,
          });
          placed += 1;
        } catch (error) {
          if (!isExchangeError(error, 'rejected')) throw error; // e.g. BALANCE_NOT_ENOUGH: fine
        }
        for (let s = randomInt(random, 0, 4); s > 0; s -= 1) sim.engine.stepMarket();
      }
      assert.ok(placed >= 40, `only ${placed} orders were placed`);
      const fills = [
        ...(await exchange.fills({ symbol: 'BTCTRY' })),
        ...(await exchange.fills({ symbol: 'ETHTRY' })),
      ];
      assert.ok(fills.length >= 20, `only ${fills.length} fills`);
      const initial = new Map(Object.entries(start).map(([asset, amount]) => [asset, new Dec(amount)]));
      const implied = holdingsAfterFills(initial, fills);
      const held = new Map((await exchange.balances()).map((b) => [b.asset, b.free.add(b.locked)]));
      for (const asset of ['TRY', 'BTC', 'ETH'])
        assert.equal(
          implied.get(asset)?.toFixed(),
          held.get(asset)?.toFixed(),
          `${asset}: the fills imply ${implied.get(asset)?.toFixed() ?? '-'}, the simulator holds ${held.get(asset)?.toFixed() ?? '-'}`,
        );

      const marks = new Map(
        ['BTCTRY', 'ETHTRY'].map((symbol) => {
          const book = sim.engine.book(symbol, 1);
          return [symbol, (book.bids[0]?.price ?? ZERO).add(book.asks[0]?.price ?? ZERO).div(2)] as const;
        }),
      );
      const { change, result } = equityChange(initial, fills, marks);
      assert.ok(change.sub(result).abs().lte(ROUNDING), `${change.toFixed()} vs ${result.toFixed()}`);
    } finally {
      await exchange.close();
      await sim.stop();
    }
  });
});
