import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QueueExchange } from '../../src/backtest/queue-exchange.ts';
import { VirtualClock } from '../../src/backtest/virtual-clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type {
  BookLevelChange,
  FeedBookDiff,
  FeedBookSnapshot,
  MarketFeedEvent,
} from '../../src/ports/market-feed.ts';
import { defaultMarkets } from '../../src/sim/engine/index.ts';

// The recorded book the queue-position exchange keeps: levels are keyed by their value whatever
// the text they were written in, and the touch follows every change (it is read after each
// replayed event, from a cached best level rather than a sort).

const SYMBOL = 'BTCTRY';

function exchange(): QueueExchange {
  const rules = defaultMarkets().find((m) => m.symbol === SYMBOL)?.rules;
  assert.ok(rules);
  return new QueueExchange({
    clock: new VirtualClock(0),
    rules: new Map([[SYMBOL, rules]]),
    balances: new Map([['TRY', new Dec(1_000_000)]]),
    latencyMs: 0,
  });
}

const row = (price: string, quantity: string) => ({ price, quantity });
const change = (price: string, quantity: string, remove = false): BookLevelChange => ({
  price,
  quantity,
  remove,
});

function snapshot(bids: [string, string][], asks: [string, string][]): FeedBookSnapshot {
  return {
    kind: 'book-snapshot',
    symbol: SYMBOL,
    changeSet: 1,
    periodic: false,
    bids: bids.map(([p, q]) => row(p, q)),
    asks: asks.map(([p, q]) => row(p, q)),
  };
}

function diff(bids: BookLevelChange[], asks: BookLevelChange[] = []): FeedBookDiff {
  return { kind: 'book-diff', symbol: SYMBOL, changeSet: 2, bids, asks };
}

const touch = (x: QueueExchange): string =>
  `${x.bestPrice(SYMBOL, 'buy')?.toFixed() ?? '-'} / ${x.bestPrice(SYMBOL, 'sell')?.toFixed() ?? '-'}`;

async function levels(x: QueueExchange): Promise<string> {
  const book = await x.orderBook(SYMBOL);
  const side = (ls: typeof book.bids) =>
    ls.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`).join(' ');
  return `${side(book.bids)} | ${side(book.asks)}`;
}

describe('queue exchange: the recorded book', () => {
  it('keys a level by its value: a change written differently updates or removes the same level', async () => {
    const x = exchange();
    assert.equal(
      x.onMarket(
        snapshot(
          [
            ['1000', '1'],
            ['999', '2'],
          ],
          [['1001', '3']],
        ),
      ),
      true,
    );
    assert.equal(touch(x), '1000 / 1001');
    // "1000.0" and "01000" are the level 1000; "1001.00" is 1001.
    x.onMarket(diff([change('1000.0', '4')], [change('1001.00', '0', true)]));
    assert.equal(await levels(x), '4@1000 2@999 | ');
    assert.equal(touch(x), '1000 / -');
    x.onMarket(diff([change('01000', '0', true)]));
    assert.equal(await levels(x), '2@999 | ');
    assert.equal(touch(x), '999 / -');
  });

  it('follows the touch through every change: a better level, the best removed, a snapshot', async () => {
    const x = exchange();
    x.onMarket(
      snapshot(
        [
          ['1000', '1'],
          ['998', '1'],
        ],
        [
          ['1003', '1'],
          ['1005', '1'],
        ],
      ),
    );
    x.onMarket(diff([change('999', '1')], [change('1002', '1')]));
    assert.equal(touch(x), '1000 / 1002');
    x.onMarket(diff([change('1000', '0', true)], [change('1002', '0')]));
    assert.equal(touch(x), '999 / 1003');
    x.onMarket(diff([change('1001.5', '1')]));
    assert.equal(touch(x), '1001.5 / 1003');
    assert.equal(await levels(x), '1@1001.5 1@999 1@998 | 1@1003 1@1005');
    // The sorted order is kept until the prices change, and the touch read from it meanwhile.
    x.onMarket(diff([change('1001.5', '0.5')]));
    assert.equal(touch(x), '1001.5 / 1003');
    x.onMarket(diff([change('998', '0', true)], [change('1003', '0', true)]));
    assert.equal(touch(x), '1001.5 / 1005');
    x.onMarket(snapshot([['900', '1']], []));
    assert.equal(touch(x), '900 / -');
    assert.equal(await levels(x), '1@900 | ');
  });

  it('says which events it takes: tickers and periodic books change nothing here', () => {
    const x = exchange();
    assert.equal(x.onMarket({ ...snapshot([['1000', '1']], []), periodic: true }), false);
    assert.equal(touch(x), '- / -');
    assert.equal(
      x.onMarket({ kind: 'ticker', ticker: { symbol: SYMBOL } } as unknown as MarketFeedEvent),
      false,
    );
    assert.equal(x.onMarket({ ...snapshot([['1000', '1']], []), symbol: 'ETHTRY' }), false);
    assert.equal(x.onMarket(diff([change('1000', '1')])), true);
  });
});
