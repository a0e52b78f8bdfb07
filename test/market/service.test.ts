import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ExchangeError } from '../../src/domain/errors.ts';
import type { OrderBookSnapshot } from '../../src/domain/reports.ts';
import type { MarketStatus } from '../../src/market/freshness.ts';
import { MarketDataService, type MarketDataOptions, type TopOfBook } from '../../src/market/service.ts';
import type { FeedBookDiff, FeedBookSnapshot } from '../../src/ports/market-feed.ts';
import { FakeFeed, ManualClock } from './fakes.ts';

const SYMBOL = 'BTCTRY';

function snapshot(changeSet: number, bid = '100'): FeedBookSnapshot {
  return {
    kind: 'book-snapshot',
    symbol: SYMBOL,
    changeSet,
    periodic: false,
    bids: [{ price: bid, quantity: '1' }],
    asks: [{ price: '101', quantity: '2' }],
  };
}

function restBook(bid: string, ask = '105'): OrderBookSnapshot {
  return {
    symbol: SYMBOL,
    timestamp: 0,
    bids: [{ price: new Dec(bid), quantity: new Dec('5') }],
    asks: [{ price: new Dec(ask), quantity: new Dec('5') }],
  };
}

function setup(
  fetchBook: (symbol: string) => Promise<OrderBookSnapshot> = () => Promise.resolve(restBook('90')),
  options: Partial<MarketDataOptions> = {},
) {
  const clock = new ManualClock();
  const feed = new FakeFeed();
  const service = new MarketDataService({
    feed,
    fetchBook,
    symbols: [SYMBOL],
    clock,
    freshnessMs: 1_000,
    fallbackAfterMs: 300,
    resyncTimeoutMs: 500,
    restBooksPerMinute: 60,
    tickMs: 50,
    ...options,
  });
  const statuses: MarketStatus[] = [];
  const tops: TopOfBook[] = [];
  const events: string[] = [];
  service.on('status', (_symbol, status) => statuses.push(status));
  service.on('top', (top) => tops.push(top));
  service.on('book', (symbol, changeSet, source) =>
    events.push(`book ${symbol} ${changeSet ?? '-'} ${source}`),
  );
  service.on('resync', (symbol, reason) => events.push(`resync ${symbol}: ${reason}`));
  service.on('subscription-silent', (symbol, message) => events.push(`silent ${symbol}: ${message}`));
  service.start();
  return { clock, feed, service, statuses, tops, events };
}

function diff(changeSet: number, bid = '100', quantity = '1'): FeedBookDiff {
  return {
    kind: 'book-diff',
    symbol: SYMBOL,
    changeSet,
    bids: [{ price: bid, quantity, remove: false }],
    asks: [],
  };
}

describe('market data service', () => {
  it('subscribes the book (obdiff) and trades; not the ticker nor the periodic full book', async () => {
    const { feed, service } = setup();
    assert.deepEqual(feed.watched.get(SYMBOL), {
      book: true,
      periodicBook: false,
      trades: true,
      ticker: false,
    });
    await service.stop();
    assert.equal(feed.watched.size, 0);
  });

  it('with trades off, follows a symbol’s trades on demand; with trades on, that changes nothing', async () => {
    const off = setup(undefined, { streams: { trades: false } });
    const streams = () => off.feed.watched.get(SYMBOL);
    assert.deepEqual(streams(), { book: true, periodicBook: false, trades: false, ticker: false });
    off.service.followTrades(SYMBOL, true);
    assert.deepEqual(streams(), { book: true, periodicBook: false, trades: true, ticker: false });
    off.service.followTrades(SYMBOL, true);
    off.service.followTrades(SYMBOL, false);
    assert.deepEqual(streams(), { book: true, periodicBook: false, trades: false, ticker: false });
    assert.throws(() => {
      off.service.followTrades('XRPTRY', true);
    }, /XRPTRY is not watched/);
    // Followed before a restart: watched with its trades again.
    off.service.followTrades(SYMBOL, true);
    await off.service.stop();
    assert.equal(off.feed.watched.size, 0);
    off.service.start();
    assert.equal(streams()?.trades, true);
    await off.service.stop();

    const on = setup();
    on.service.followTrades(SYMBOL, false);
    assert.equal(on.feed.watched.get(SYMBOL)?.trades, true);
    await on.service.stop();
  });

  it('subscribes the ticker when asked, and hands its events on', async () => {
    const { feed, service } = setup(undefined, { streams: { ticker: true } });
    assert.deepEqual(feed.watched.get(SYMBOL), {
      book: true,
      periodicBook: false,
      trades: true,
      ticker: true,
    });
    const tickers: string[] = [];
    service.on('ticker', (ticker) => tickers.push(`${ticker.symbol} ${ticker.last.toFixed()}`));
    const d = new Dec('1');
    feed.deliver(
      {
        kind: 'ticker',
        ticker: {
          symbol: SYMBOL,
          timestamp: 0,
          last: d,
          bid: d,
          ask: d,
          high: d,
          low: d,
          open: d,
          volume: d,
        },
      },
      0,
    );
    assert.deepEqual(tickers, [`${SYMBOL} 1`]);
    await service.stop();
  });

  it('is live on fresh stream data, stale when it ages, live again when data returns', async () => {
    const { clock, feed, service, statuses, tops } = setup();
    assert.equal(service.canTrade(SYMBOL), false, 'no data yet');
    feed.deliver(snapshot(1), clock.monotonic());
    assert.equal(service.status(SYMBOL), 'live');
    assert.equal(tops.length, 1, 'the top listener ran synchronously with the frame');
    const [top] = tops;
    assert.ok(top);
    assert.equal(top.bid?.price.toFixed(), '100');
    assert.equal(top.ageMs, 0);

    await clock.advance(600);
    assert.equal(service.top(SYMBOL)?.ageMs, 600, 'age counts from the frame, not from the look');
    await clock.advance(500);
    assert.equal(service.status(SYMBOL), 'stale');
    assert.equal(service.canTrade(SYMBOL), false);

    feed.deliver(
      {
        kind: 'book-diff',
        symbol: SYMBOL,
        changeSet: 2,
        bids: [{ price: '100.5', quantity: '1', remove: false }],
        asks: [],
      },
      clock.monotonic(),
    );
    assert.equal(service.canTrade(SYMBOL), true);
    assert.equal(service.top(SYMBOL)?.bid?.price.toFixed(), '100.5');
    await clock.advance(100);
    assert.deepEqual(statuses, ['live', 'stale', 'live']);
    await service.stop();
  });

  it('falls back to paced REST books while the socket is down and returns to live', async () => {
    const calls: string[] = [];
    const polls = () => calls.length;
    const { clock, feed, service, statuses } = setup((symbol) => {
      calls.push(symbol);
      return Promise.resolve(restBook('90'));
    });
    feed.deliver(snapshot(1), clock.monotonic());
    await clock.advance(100);
    feed.drop();
    await clock.advance(100);
    assert.equal(service.status(SYMBOL), 'fallback', 'fresh data, but no stream behind it');
    assert.equal(polls(), 0, 'no poll before fallbackAfterMs');
    await clock.advance(60_000);
    assert.ok(polls() >= 55 && polls() <= 60, `about one poll a second, got ${polls()}`);
    assert.ok(calls.every((symbol) => symbol === SYMBOL));
    assert.equal(service.status(SYMBOL), 'fallback');
    assert.equal(service.top(SYMBOL)?.source, 'rest');
    assert.equal(service.top(SYMBOL)?.bid?.price.toFixed(), '90');
    assert.ok(service.stats().fallbackMs >= 59_000);

    feed.restore();
    feed.deliver(snapshot(50, '99'), clock.monotonic());
    assert.equal(service.status(SYMBOL), 'live');
    const polled = polls();
    await clock.advance(900);
    assert.equal(polls(), polled, 'no REST polls while the stream keeps the book');
    assert.deepEqual(statuses, ['live', 'fallback', 'live']);
    await service.stop();
  });

  it('goes stale when the fallback fails too, and honours Retry-After', async () => {
    let calls = 0;
    const { clock, feed, service } = setup(() => {
      calls++;
      return Promise.reject(
        new ExchangeError('rate-limited', 'GET /api/v2/orderbook: 429', {
          operation: 'GET /api/v2/orderbook',
          retryAfterMs: 30_000,
        }),
      );
    });
    feed.deliver(snapshot(1), clock.monotonic());
    feed.drop();
    await clock.advance(1_500);
    assert.equal(service.status(SYMBOL), 'stale');
    assert.equal(calls, 1);
    await clock.advance(20_000);
    assert.equal(calls, 1, 'paused for the Retry-After');
    await clock.advance(12_000);
    assert.equal(calls, 2);
    assert.equal(service.stats().restFailures, 2);
    await service.stop();
  });

  it('resyncs a book with a gap, and asks again when the snapshot does not come', async () => {
    const { clock, feed, service } = setup();
    feed.deliver(snapshot(1), clock.monotonic());
    feed.deliver({ kind: 'book-diff', symbol: SYMBOL, changeSet: 3, bids: [], asks: [] }, clock.monotonic());
    assert.deepEqual(feed.resyncs, [SYMBOL]);
    assert.equal(service.canTrade(SYMBOL), false, 'a book with a hole is not traded on');
    assert.equal(service.top(SYMBOL), null);
    await clock.advance(600);
    assert.deepEqual(feed.resyncs, [SYMBOL, SYMBOL]);
    feed.deliver(snapshot(9), clock.monotonic());
    assert.equal(service.canTrade(SYMBOL), true);
    await clock.advance(2_000);
    assert.equal(feed.resyncs.length, 2, 'no more resyncs once the snapshot came');
    const stats = service.stats();
    assert.equal(stats.gaps, 1);
    assert.equal(stats.resyncs, 2);
    assert.equal(stats.symbols[SYMBOL]?.gaps, 1);
    await service.stop();
  });

  it('forwards trades and the reconnect of the feed', async () => {
    const { clock, feed, service } = setup();
    const seen: string[] = [];
    service.on('trade', (trade) => seen.push(`trade ${trade.tradeId}`));
    service.on('reconnected', () => seen.push('reconnected'));
    feed.deliver(
      {
        kind: 'trade',
        trade: {
          tradeId: '1181163798924649598',
          symbol: SYMBOL,
          price: new Dec(1),
          quantity: new Dec(1),
          side: 'buy',
          timestamp: 1,
        },
      },
      clock.monotonic(),
    );
    feed.drop();
    feed.restore();
    assert.deepEqual(seen, ['trade 1181163798924649598', 'reconnected']);
    assert.equal(service.stats().reconnects, 1);
    assert.throws(() => service.status('XRPTRY'), /XRPTRY is not watched; watched: BTCTRY/);
    await service.stop();
  });

  it('a quiet pair on a live connection stays current: age runs from the connection’s last sign of life', async () => {
    const { clock, feed, service, statuses } = setup();
    feed.aliveAt = clock.monotonic();
    feed.deliver(snapshot(1), clock.monotonic());
    // BTCTurk sends nothing while the book does not change; pongs and server pings keep coming.
    for (let i = 0; i < 10; i++) {
      await clock.advance(500);
      feed.aliveAt = clock.monotonic();
    }
    assert.equal(service.status(SYMBOL), 'live', '5 s without a book frame, the connection alive');
    assert.equal(service.top(SYMBOL)?.ageMs, 0);
    assert.equal(service.stats().symbols[SYMBOL]?.dataAgeMs, 0);
    // The connection stops proving itself: the book ages from the last sign of life.
    await clock.advance(1_100);
    assert.equal(service.status(SYMBOL), 'stale');
    assert.equal(service.top(SYMBOL)?.ageMs, 1_100);
    assert.deepEqual(statuses, ['live', 'stale']);
    await service.stop();
  });

  it('the connection’s life does not freshen a book the stream no longer keeps', async () => {
    const { clock, feed, service } = setup(undefined, { fallbackAfterMs: 60_000 });
    feed.deliver(snapshot(1), clock.monotonic());
    feed.deliver(diff(3), clock.monotonic()); // a gap: invalid until the snapshot
    await clock.advance(100);
    feed.aliveAt = clock.monotonic();
    assert.equal(service.top(SYMBOL), null);
    assert.equal(service.status(SYMBOL), 'stale');
    feed.deliver(snapshot(9), clock.monotonic());
    feed.drop(); // detached: its levels age from the last frame, whatever the socket did
    await clock.advance(500);
    assert.equal(service.top(SYMBOL)?.ageMs, 500);
    await service.stop();
  });

  it('emits book after every applied snapshot and change set, and resync with its reason', async () => {
    const { clock, feed, service, events } = setup();
    feed.deliver(snapshot(1), clock.monotonic());
    feed.deliver(diff(2, '100.5'), clock.monotonic());
    feed.deliver(diff(4), clock.monotonic());
    assert.deepEqual(events, [
      `book ${SYMBOL} 1 stream`,
      `book ${SYMBOL} 2 stream`,
      `resync ${SYMBOL}: ${SYMBOL}: change set 4 arrived after 2: 1 missed`,
    ]);
    await service.stop();
  });

  it('a change set before any snapshot asks for one, once while it is on its way', async () => {
    const { clock, feed, service } = setup();
    feed.deliver(diff(7), clock.monotonic());
    feed.deliver(diff(8), clock.monotonic());
    feed.deliver(diff(9), clock.monotonic());
    assert.deepEqual(feed.resyncs, [SYMBOL]);
    assert.equal(service.stats().symbols[SYMBOL]?.orphanDiffs, 3);
    feed.deliver(snapshot(9), clock.monotonic());
    feed.deliver(diff(10), clock.monotonic());
    assert.equal(service.status(SYMBOL), 'live');
    await service.stop();
  });

  it('re-asks for a snapshot with a growing interval', async () => {
    const { clock, feed, service } = setup(undefined, { fallbackAfterMs: 60_000 });
    feed.deliver(snapshot(1), clock.monotonic());
    const start = clock.monotonic();
    feed.deliver(diff(5), start);
    const asks: number[] = [];
    for (let t = 0; t < 8_000; t += 50) {
      const before = feed.resyncs.length;
      await clock.advance(50);
      if (feed.resyncs.length > before) asks.push(clock.monotonic() - start);
    }
    // 500, then 1000 and 2000 more, then 4000 more.
    assert.deepEqual(asks, [500, 1_500, 3_500, 7_500]);
    await service.stop();
  });

  it('an unknown change kind is counted per symbol and resynced', async () => {
    const { clock, feed, service } = setup();
    feed.deliver(snapshot(1), clock.monotonic());
    feed.deliver(
      { kind: 'book-unreadable', symbol: SYMBOL, reason: 'AO.0.CP: 2', cause: 'unknown-change-kind' },
      clock.monotonic(),
    );
    assert.deepEqual(feed.resyncs, [SYMBOL]);
    const stats = service.stats();
    const symbolStats = stats.symbols[SYMBOL];
    assert.ok(symbolStats);
    assert.equal(symbolStats.unknownChangeKinds, 1);
    assert.equal(symbolStats.malformed, 0);
    assert.equal(stats.unknownChangeKinds, 1);
    await service.stop();
  });

  describe('a subscription that brings no snapshot', () => {
    it('is reported once, naming the pair, after snapshotTimeoutMs while connected', async () => {
      const { clock, feed, service, events } = setup(
        () => Promise.reject(new Error('Pair NOPETRY does not exists.')),
        {
          snapshotTimeoutMs: 2_000,
        },
      );
      await clock.advance(1_900);
      assert.deepEqual(
        events.filter((e) => e.startsWith('silent')),
        [],
      );
      await clock.advance(200);
      const silent = events.filter((e) => e.startsWith('silent'));
      assert.equal(silent.length, 1);
      assert.match(
        silent[0] ?? '',
        new RegExp(
          `^silent ${SYMBOL}: no order book snapshot for ${SYMBOL} within 2(\\.\\d)? s of subscribing: BTCTurk acknowledges unknown or lower-case pairs and then sends nothing$`,
        ),
      );
      assert.equal(feed.resyncs.length, 1, 'joined again once');
      await clock.advance(10_000);
      assert.equal(events.filter((e) => e.startsWith('silent')).length, 1, 'reported once per wait');
      assert.equal(service.stats().symbols[SYMBOL]?.silentSubscriptions, 1);
      await service.stop();
    });

    it('is not reported while the socket is down, and the wait restarts on reconnect', async () => {
      const { clock, feed, service, events } = setup(undefined, { snapshotTimeoutMs: 2_000 });
      feed.drop();
      await clock.advance(5_000);
      assert.deepEqual(
        events.filter((e) => e.startsWith('silent')),
        [],
      );
      feed.restore();
      await clock.advance(1_500);
      feed.deliver(snapshot(3), clock.monotonic());
      await clock.advance(5_000);
      assert.deepEqual(
        events.filter((e) => e.startsWith('silent')),
        [],
      );
      await service.stop();
    });

    it('a resync whose snapshot never comes is reported as such', async () => {
      const { clock, feed, service, events } = setup(undefined, {
        snapshotTimeoutMs: 2_000,
        fallbackAfterMs: 60_000,
      });
      feed.deliver(snapshot(1), clock.monotonic());
      feed.deliver(diff(3), clock.monotonic());
      await clock.advance(2_100);
      const silent = events.filter((e) => e.startsWith('silent'));
      assert.equal(silent.length, 1);
      assert.match(silent[0] ?? '', /within 2(\.\d)? s of re-subscribing to resync its book/);
      await service.stop();
    });
  });

  describe('REST spot checks', () => {
    const kept = (fetchBook: (symbol: string) => Promise<OrderBookSnapshot>) => {
      const ctx = setup(fetchBook, { spotCheckMs: 10_000, freshnessMs: 100_000 });
      ctx.feed.aliveAt = ctx.clock.monotonic();
      ctx.feed.deliver(snapshot(1), ctx.clock.monotonic());
      return ctx;
    };

    it('run every spotCheckMs while the stream keeps the book; an agreeing REST book changes nothing', async () => {
      let calls = 0;
      const { clock, service } = kept(() => {
        calls++;
        return Promise.resolve(restBook('100', '101'));
      });
      await clock.advance(9_900);
      assert.equal(calls, 0);
      await clock.advance(200);
      assert.equal(calls, 1);
      await clock.advance(10_000);
      assert.equal(calls, 2);
      const stats = service.stats().symbols[SYMBOL];
      assert.ok(stats);
      assert.equal(stats.spotChecks, 2);
      assert.equal(stats.spotMismatches, 0);
      assert.equal(stats.resyncs, 0);
      assert.equal(service.top(SYMBOL)?.source, 'stream');
      await service.stop();
    });

    it('a local best bid REST lacks, still there and unchanged 2 s later, is counted and resynced', async () => {
      const calls: number[] = [];
      const { clock, feed, service, events } = kept(() => {
        calls.push(clock.monotonic());
        return Promise.resolve(restBook('99', '101')); // the bid at 100 is gone at the exchange
      });
      await clock.advance(10_100);
      assert.equal(calls.length, 1);
      assert.deepEqual(feed.resyncs, [], 'one sighting is not enough: conflation and REST latency');
      await clock.advance(2_100);
      assert.equal(calls.length, 2, 'looked again once the difference could be confirmed');
      assert.ok((calls[1] ?? 0) - (calls[0] ?? 0) >= 2_000);
      assert.deepEqual(feed.resyncs, [SYMBOL]);
      const stats = service.stats();
      assert.equal(stats.symbols[SYMBOL]?.spotMismatches, 1);
      assert.equal(stats.spotMismatches, 1);
      assert.match(
        events.at(-1) ?? '',
        /REST spot check: local bid 1 @ 100 is better than REST's best bid 99/,
      );
      await service.stop();
    });

    it('a difference the stream resolves in between is not counted', async () => {
      const { clock, feed, service } = kept(() => Promise.resolve(restBook('99', '101')));
      await clock.advance(10_100);
      feed.deliver(
        {
          kind: 'book-diff',
          symbol: SYMBOL,
          changeSet: 2,
          bids: [{ price: '100', quantity: '1', remove: true }],
          asks: [],
        },
        clock.monotonic(),
      );
      feed.deliver(
        {
          kind: 'book-diff',
          symbol: SYMBOL,
          changeSet: 3,
          bids: [{ price: '99', quantity: '5', remove: false }],
          asks: [],
        },
        clock.monotonic(),
      );
      await clock.advance(2_100);
      assert.deepEqual(feed.resyncs, []);
      assert.equal(service.stats().symbols[SYMBOL]?.spotMismatches, 0);
      await service.stop();
    });

    it('none with spotCheckMs 0', async () => {
      let calls = 0;
      const { clock, feed, service } = setup(
        () => {
          calls++;
          return Promise.resolve(restBook('99', '101'));
        },
        { spotCheckMs: 0, freshnessMs: 100_000 },
      );
      feed.deliver(snapshot(1), clock.monotonic());
      await clock.advance(130_000, 500);
      assert.equal(calls, 0);
      assert.equal(service.stats().symbols[SYMBOL]?.spotChecks, 0);
      await service.stop();
    });
  });
});
