import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { PreparedEvents, replay } from '../../src/backtest/replay.ts';
import { runBacktest } from '../../src/backtest/run.ts';
import { summaryOf, type BacktestResult } from '../../src/backtest/types.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import { diff, handFixture, HAND_SYMBOL, HAND_T, writeRecording, type FixtureEvent } from './fixture.ts';

// The hand-computable fixture: one pair (BTCTRY: tick 1, 8 decimals, BTCTurk's fees: maker 0.08%,
// taker 0.16%, BSMV 5% of the fee), the market maker quoting 25 bps either side of the mid
// (spreadBps=50) with size 0.005, our requests taking 50 ms to reach the venue.
//
// The book is 997500 / 1002500 all along, so the mid is 1 000 000 and our quotes are
//   bid 1 000 000 × (1 − 0.0025) = 997 500, ask 1 000 000 × (1 + 0.0025) = 1 002 500:
// we join the best levels, behind the recorded quantity there. The maker only sells what it holds,
// so the ask appears once the bid has filled.
//
//   t      recorded                                  our bid @997500 (ahead)   our ask @1002500 (ahead)
//   0      snapshot 997500×0.5 | 1002500×0.3         sent
//   50                                               rests, ahead 0.5
//   1000   trade sell-taker 0.2 @997500              ahead 0.5 − 0.2 = 0.3
//   1100   change 997500 → 0.3 (the trade's echo)    ahead min(0.3, 0.3) = 0.3
//   2000   change 997500 → 0.1 (0.2 canceled)        ahead min(0.3, 0.1) = 0.1
//   3000   trade sell-taker 0.15 @997500             0.1 consumes the queue, 0.005 of the 0.05 left
//                                                    FILLS US (maker); the rest of the trade was
//                                                    behind us. A new bid and an ask are sent.
//   ~3150                                            new bid rests             ask rests, ahead 0.3
//   4000   trade buy-taker 0.2 @1002500                                        ahead 0.3 − 0.2 = 0.1
//   5000   trade buy-taker 0.05 @1002500                                       ahead 0.1 − 0.05 = 0.05:
//                                                                              NOT FILLED, the queue
//                                                                              ahead was not consumed
//   6000   change 997000 → 1.5 (below the touch)
//
// The one fill: buy 0.005 @ 997 500 = 4 987.5 TRY; maker fee 4 987.5 × 0.0008 = 3.99, BSMV 3.99 ×
// 0.05 = 0.1995, cost 4.1895. Realised = −4.1895 (costs count at once); unrealised at the last mid:
// (1 000 000 − 997 500) × 0.005 = 12.5; total 8.3105. TRY 1 000 000 − 4 987.5 − 4.1895 = 995 008.3105,
// BTC 0.005; equity 995 008.3105 + 0.005 × 1 000 000 = 1 000 008.3105.

const T = HAND_T;
const S = HAND_SYMBOL;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const fixture = handFixture;

function recording(events: readonly FixtureEvent[]): string {
  const dir = writeRecording(events, [S]);
  dirs.push(dir);
  return dir;
}

const PARAMS = { spreadBps: '50', size: '0.005' };

async function backtest(dir: string, extra: object = {}): Promise<BacktestResult> {
  return runBacktest({ data: dir, params: PARAMS, latencyMs: 50, ...extra });
}

describe('backtest replay: the hand-computed fixture', () => {
  it('gives exactly the fills and PnL worked out by hand', async () => {
    const result = await backtest(recording(fixture()));
    assert.equal(result.fills, 1);
    assert.deepEqual(
      result.series.fills.map((f) => [f.t, f.side, f.price, f.quantity, f.liquidity, f.fee]),
      [[T + 3000, 'buy', '997500', '0.005', 'maker', '4.1895']],
    );
    assert.deepEqual(result.pnl, {
      realised: '-4.1895',
      unrealised: '12.5',
      fees: '4.1895',
      total: '8.3105',
    });
    assert.deepEqual(result.balancesEnd, { BTC: '0.005', TRY: '995008.3105' });
    assert.equal(result.startEquity, '1000000');
    assert.equal(result.endEquity, '1000008.3105');
    assert.equal(result.makerShare, '1');
    // The first bid, then after its fill a new bid and the ask: three orders, none refused.
    assert.equal(result.orders, 3);
    assert.equal(result.rejected, 0);
    const btc = result.perSymbol[S];
    assert.ok(btc);
    assert.equal(btc.endPosition, '0.005');
    assert.equal(btc.lastMid, '1000000');
    assert.deepEqual(btc.pnl, result.pnl);
    // The first bid rests 50 ms after the book came (the latency), the ask once the fill was known.
    assert.deepEqual(result.series.quotes[0], { t: T + 50, symbol: S, bid: '997500', ask: null });
  });

  it('leaves the ask unfilled while the queue ahead of it was not consumed', async () => {
    const result = await backtest(recording(fixture()));
    assert.equal(result.series.fills.filter((f) => f.side === 'sell').length, 0);
    const last = result.series.quotes.at(-1);
    assert.deepEqual(
      last && { bid: last.bid, ask: last.ask },
      { bid: '997500', ask: '1002500' },
      'the ask still rests at the end',
    );
    assert.equal(result.perSymbol[S]?.soldQuantity, '0');
  });

  it('fills the same ask once recorded trades consume the queue ahead of it', async () => {
    // The last trade is 0.15 instead of 0.05: 0.2 + 0.15 = 0.35 > 0.3 ahead, so 0.05 of it reaches
    // us and fills all 0.005. Sell 0.005 @ 1 002 500 = 5 012.5; fee 4.01, BSMV 0.2005, cost 4.2105.
    // Realised = (1 002 500 − 997 500) × 0.005 − 4.1895 − 4.2105 = 25 − 8.4 = 16.6; flat, so
    // unrealised 0. TRY 995 008.3105 + 5 012.5 − 4.2105 = 1 000 016.6.
    const result = await backtest(recording(fixture('0.15')));
    assert.deepEqual(
      result.series.fills.map((f) => [f.t, f.side, f.price, f.quantity, f.liquidity, f.fee]),
      [
        [T + 3000, 'buy', '997500', '0.005', 'maker', '4.1895'],
        [T + 5000, 'sell', '1002500', '0.005', 'maker', '4.2105'],
      ],
    );
    assert.deepEqual(result.pnl, { realised: '16.6', unrealised: '0', fees: '8.4', total: '16.6' });
    assert.deepEqual(result.balancesEnd, { BTC: '0', TRY: '1000016.6' });
  });

  it('lets the recorded other side coming to our price fill us, at our price', async () => {
    // At 2500 the recorded bids at 997500 go (CP 3) and a seller shows 0.003 at 997500 (CP 1): the
    // recorded book is 997000 / 997500, and that seller would have met our resting bid at 997500
    // first. We buy 0.003 @ 997 500 as the maker. Fee 0.003 × 997 500 × 0.0008 = 2.394, BSMV
    // 0.1197: 2.5137. (The mid moves to 997 250; the maker then requotes, and nothing else trades.)
    const events = fixture().slice(0, 5);
    events.push(diff(T + 2500, S, 4, [['997500', '0.1', 3]], [['997500', '0.003', 1]]));
    const result = await backtest(recording(events));
    assert.deepEqual(
      result.series.fills.map((f) => [f.t, f.side, f.price, f.quantity, f.liquidity, f.fee]),
      [[T + 2500, 'buy', '997500', '0.003', 'maker', '2.5137']],
    );
  });

  it('takes the recorded levels an order crosses on arrival, as the taker (latency)', async () => {
    // Latency 1500 ms: the bid at 997 500 sent at 0 arrives at 1500. At 1000 the recorded book moved
    // down: bids at 997500 and asks at 1002500 gone, a seller at 997400 × 0.004. Arriving, our bid
    // crosses it: it takes 0.004 @ 997 400 as the taker (the rest, 0.001, rests). Taker fee
    // 0.004 × 997 400 × 0.0016 = 6.38336, BSMV 0.319168: 6.702528.
    const [connect, book] = fixture();
    const events: FixtureEvent[] = [
      connect as FixtureEvent,
      book as FixtureEvent,
      diff(
        T + 1000,
        S,
        2,
        [['997500', '0.5', 3]],
        [
          ['1002500', '0.3', 3],
          ['997400', '0.004', 1],
        ],
      ),
      diff(T + 2000, S, 3, [['997000', '1.2', 0]], []),
    ];
    const result = await backtest(recording(events), { latencyMs: 1500 });
    assert.deepEqual(
      result.series.fills.map((f) => [f.t, f.side, f.price, f.quantity, f.liquidity, f.fee]),
      [[T + 1500, 'buy', '997400', '0.004', 'taker', '6.702528']],
    );
    assert.equal(result.makerShare, '0');
  });
});

describe('backtest replay: ranges and connection markers', () => {
  it('replays only --from..--to: cut before the trade that filled us, nothing fills', async () => {
    const dir = recording(fixture());
    const result = await backtest(dir, { to: T + 2999 });
    assert.equal(result.fills, 0);
    assert.equal(result.to, T + 2000);
    assert.equal(result.pnl.total, '0');
    const later = await backtest(dir, { from: T + 3000 });
    // No book before 3000 in that range: the maker never quotes, so nothing fills either.
    assert.equal(later.fills, 0);
    assert.equal(later.from, T + 3000);
  });

  it('carries on across a recorded disconnect and reconnect (with its fresh snapshot)', async () => {
    const events = fixture();
    const book = events[1] as FixtureEvent;
    // Lost after the fill; back 200 ms later with a fresh snapshot (a new subscription: CS 1).
    events.splice(
      6,
      0,
      { t: T + 3500, k: 'disconnect', reason: 'recorded' },
      { t: T + 3700, k: 'connect' },
      { ...book, t: T + 3700 },
    );
    const result = await backtest(recording(events));
    assert.deepEqual(
      result.series.fills.map((f) => [f.t, f.side, f.price, f.quantity]),
      [[T + 3000, 'buy', '997500', '0.005']],
    );
  });
});

describe('backtest replay: determinism', () => {
  it('gives byte-identical JSON for the same data and parameters', async () => {
    const dir = recording(fixture('0.15'));
    const first = JSON.stringify(await backtest(dir));
    const second = JSON.stringify(await backtest(dir));
    assert.equal(first, second);
    assert.ok(first.includes('"fills":2'));
  });

  it('a parsed recording kept between runs (a grid worker’s) gives what a fresh read gives', async () => {
    const dir = recording(fixture('0.15'));
    const prepared = new PreparedEvents();
    const kept = async (extra: object) =>
      JSON.stringify(await replay({ data: dir, params: PARAMS, latencyMs: 50, ...extra }, prepared));
    const fresh = async (extra: object) => JSON.stringify(await backtest(dir, extra));
    for (const extra of [{}, { params: { ...PARAMS, spreadBps: '60' } }, { to: T + 4500 }, {}])
      assert.equal(await kept(extra), await fresh(extra));
    // The recording rewritten in place (its index changes): read again, not the kept events.
    const events = fixture().slice(0, 5);
    events.push(diff(T + 2500, S, 4, [['997500', '0.1', 3]], [['997500', '0.003', 1]]));
    writeRecording(events, [S], dir);
    const rewritten = JSON.parse(await kept({})) as BacktestResult;
    assert.deepEqual(
      rewritten.series.fills.map((f) => [f.t, f.quantity]),
      [[T + 2500, '0.003']],
    );
    assert.equal(JSON.stringify(rewritten), await fresh({}));
  });

  it('summaryOf drops only the series', async () => {
    const result = await backtest(recording(fixture()));
    const summary = summaryOf(result);
    assert.equal('series' in summary, false);
    assert.deepEqual({ ...summary, series: result.series }, result);
  });
});

describe('backtest replay: bad options name the flag', () => {
  const cases: [string, (dir: string) => Parameters<typeof runBacktest>[0]][] = [
    ['--latency-ms', (dir) => ({ data: dir, latencyMs: -1 })],
    ['--strategy', (dir) => ({ data: dir, strategy: 'nope' })],
    ['strategy "market-maker"', (dir) => ({ data: dir, params: { spreadBps: 'wide' } })],
    ['--data', () => ({ data: '/nonexistent/recording' })],
    ['--symbols', (dir) => ({ data: dir, symbols: ['ETHTRY'] })],
    ['--from/--to', (dir) => ({ data: dir, from: T + 10_000_000 })],
    ['--to', (dir) => ({ data: dir, from: T + 10, to: T })],
    ['--balances', (dir) => ({ data: dir, balances: { TRY: 'lots' } })],
    ['--maker-fee', (dir) => ({ data: dir, makerFeeRate: '2' })],
  ];
  for (const [setting, options] of cases)
    it(`refuses a bad ${setting}`, async () => {
      const dir = recording(fixture());
      await assert.rejects(runBacktest(options(dir)), (error: unknown) => {
        assert.ok(error instanceof ConfigError, String(error));
        assert.equal(error.setting, setting);
        return true;
      });
    });
});
