import assert from 'node:assert/strict';
import type { Decimal } from 'decimal.js';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { SimRejection } from '../../src/sim/engine/api.ts';
import { EXCHANGE_ACCOUNT, MatchingCore, MirroredMarket } from '../../src/sim/engine/index.ts';
import { rejections } from '../../src/sim/engine/rejections.ts';
import { d, FEES, fakeClock, testMarket } from './helpers.ts';

// The matching core driven by a mirrored external market (dry-run mode's use of it): the same
// ledger, fees and matcher as the simulator, with another market's touch and trades as liquidity.

const MIRROR = '__mirror__';
const USER = 'user';

function rig() {
  const core = new MatchingCore({
    clock: fakeClock(),
    markets: [testMarket()],
    ...FEES,
    transient: (id) => id === MIRROR || id === EXCHANGE_ACCOUNT,
  });
  const mirror = new MirroredMarket(core, MIRROR);
  core.createAccount(USER, { TRY: d(1_000_000), BTC: d(10) });
  return { core, mirror };
}

function totals(core: MatchingCore): Map<string, Decimal> {
  const out = new Map<string, Decimal>();
  for (const balances of Object.values(core.groundTruth().balances))
    for (const b of balances) out.set(b.asset, (out.get(b.asset) ?? new Dec(0)).add(b.free).add(b.locked));
  return out;
}

describe('matching core with a mirrored market', () => {
  it('every refusal carries a venue-neutral reason', () => {
    const reasons = Object.entries(rejections).map(([name, make]) => {
      const rejection = make('detail');
      assert.ok(rejection instanceof SimRejection);
      return [name, rejection.reason] as const;
    });
    for (const [name, reason] of reasons) assert.notEqual(reason, 'other', name);
    const of = Object.fromEntries(reasons);
    assert.deepEqual(
      [of.noSuchOrder, of.orderNotFound, of.notCancelable, of.balance, of.balanceHeldByOrders],
      ['order-not-found', 'order-not-found', 'order-closed', 'insufficient-balance', 'insufficient-balance'],
    );
    assert.deepEqual(
      [of.unknownPair, of.marketOrder, of.minTotal, of.priceScale],
      ['unknown-symbol', 'market-unavailable', 'invalid-order', 'invalid-order'],
    );
  });

  it('mirrors levels below the venue minimum, and a crossed touch never trades the mirror with itself', () => {
    const { core, mirror } = rig();
    mirror.quote('BTCTRY', { price: d(990), quantity: d('0.001') }, { price: d(1010), quantity: d('0.001') });
    assert.deepEqual(
      [core.book('BTCTRY', 5).bids, core.book('BTCTRY', 5).asks].map((side) =>
        side.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`),
      ),
      [['0.001@990'], ['0.001@1010']],
    );
    mirror.quote('BTCTRY', { price: d(1000), quantity: d(1) }, { price: d(995), quantity: d(1) });
    assert.equal(core.groundTruth().trades.length, 0);
    assert.deepEqual(core.book('BTCTRY', 5).bids, []);
  });

  it('conserves every asset, and every trade has the user on one side: the mirror never trades with itself (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const { core, mirror } = rig();
      const random = seededRandom(seed);
      const start = totals(core);
      let mid = 1000;
      for (let step = 0; step < 300; step++) {
        mid = Math.max(50, mid + Math.round((random.next() - 0.5) * 20));
        const size = () => new Dec((random.next() * 0.5 + 0.01).toFixed(4));
        const roll = random.next();
        if (roll < 0.4)
          mirror.quote(
            'BTCTRY',
            { price: d(mid - 2), quantity: size() },
            { price: d(mid + 2), quantity: size() },
          );
        else if (roll < 0.7) mirror.print('BTCTRY', d(mid + Math.round((random.next() - 0.5) * 10)), size());
        else if (roll < 0.95)
          try {
            core.placeOrder({
              accountId: USER,
              symbol: 'BTCTRY',
              side: random.next() < 0.5 ? 'buy' : 'sell',
              method: 'limit',
              price: d(mid + Math.round((random.next() - 0.5) * 16)),
              quantity: size(),
            });
          } catch (error) {
            if (!(error instanceof SimRejection)) throw error;
          }
        else {
          const open = core.openOrders(USER);
          const victim = open[Math.floor(random.next() * open.length)];
          if (victim) core.completeCancel(victim.id);
        }
      }
      const end = totals(core);
      for (const [asset, amount] of start)
        assert.equal(end.get(asset)?.toFixed(), amount.toFixed(), `seed ${seed}: ${asset} conserved`);
      const truth = core.groundTruth();
      assert.ok(
        truth.fills.some((f) => f.accountId === USER),
        `seed ${seed}: the user traded`,
      );
      for (const trade of truth.trades) {
        const user = truth.fills.filter((f) => f.tradeId === trade.tradeId && f.accountId === USER);
        assert.ok(user.length > 0, `seed ${seed}: trade ${trade.tradeId} is the mirror's with itself`);
      }
      // The mirror's own book never crosses: its best bid stays under its best ask.
      const book = core.book('BTCTRY', 1);
      const [bid, ask] = [book.bids[0], book.asks[0]];
      if (bid && ask) assert.ok(bid.price.lt(ask.price), `seed ${seed}: book crossed`);
    }
  });
});
