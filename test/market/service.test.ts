import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ExchangeError } from '../../src/domain/errors.ts';
import type { OrderBookSnapshot } from '../../src/domain/reports.ts';
import type { MarketStatus } from '../../src/market/freshness.ts';
import { MarketDataService, type TopOfBook } from '../../src/market/service.ts';
import type { FeedBookSnapshot } from '../../src/ports/market-feed.ts';
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

function restBook(bid: string): OrderBookSnapshot {
  return {
    symbol: SYMBOL,
    timestamp: 0,
    bids: [{ price: new Dec(bid), quantity: new Dec('5') }],
    asks: [{ price: new Dec('105'), quantity: new Dec('5') }],
  };
}

function setup(
  fetchBook: (symbol: string) => Promise<OrderBookSnapshot> = () => Promise.resolve(restBook('90')),
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
  });
  const statuses: MarketStatus[] = [];
  const tops: TopOfBook[] = [];
  service.on('status', (_symbol, status) => statuses.push(status));
  service.on('top', (top) => tops.push(top));
  service.start();
  return { clock, feed, service, statuses, tops };
}

describe('market data service', () => {
  it('subscribes every stream of its symbols', async () => {
    const { feed, service } = setup();
    assert.deepEqual(feed.watched.get(SYMBOL), {
      book: true,
      periodicBook: true,
      trades: true,
      ticker: true,
    });
    await service.stop();
    assert.equal(feed.watched.size, 0);
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
});
