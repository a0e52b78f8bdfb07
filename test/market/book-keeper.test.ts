import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { BookKeeper } from '../../src/market/book-keeper.ts';
import type { FeedBookDiff, FeedBookSnapshot } from '../../src/ports/market-feed.ts';

const lvl = (price: string, quantity: string) => ({ price, quantity });

function snap(changeSet: number, periodic: boolean, bidQty = '1'): FeedBookSnapshot {
  return {
    kind: 'book-snapshot',
    symbol: 'BTCTRY',
    changeSet,
    periodic,
    bids: [lvl('100', bidQty), lvl('99', '2')],
    asks: [lvl('101', '1')],
  };
}

function diff(changeSet: number, bidQty: string): FeedBookDiff {
  return {
    kind: 'book-diff',
    symbol: 'BTCTRY',
    changeSet,
    bids: [{ price: '100', quantity: bidQty, remove: false }],
    asks: [],
  };
}

describe('book keeper', () => {
  it('dates the data by the arrival of the frame that brought it', () => {
    const k = new BookKeeper('BTCTRY');
    assert.deepEqual(k.onSnapshot(snap(10, false), 1_000), { resync: false, topChanged: true });
    assert.equal(k.lastDataAt, 1_000);
    assert.equal(k.source, 'stream');
    assert.deepEqual(k.onDiff(diff(11, '3'), 1_500), { resync: false, topChanged: true });
    assert.equal(k.lastDataAt, 1_500);
    assert.deepEqual(k.onDiff(diff(11, '4'), 1_600), { resync: false, topChanged: false }, 'stale: ignored');
    assert.equal(k.lastDataAt, 1_500);
  });

  it('asks for a resync on a gap and counts it', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    assert.deepEqual(k.onDiff(diff(12, '3'), 5), { resync: true, topChanged: true });
    assert.equal(k.counts.gaps, 1);
    assert.equal(k.usable, false);
    assert.equal(k.invalidSince, 5);
    assert.match(k.lastProblem ?? '', /change set 12 arrived after 10/);
    k.onSnapshot(snap(20, false), 9);
    assert.ok(k.usable);
    assert.equal(k.invalidSince, null);
  });

  it('confirms the book with a matching periodic full book, freshening its data', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    k.onDiff(diff(11, '3'), 10);
    assert.deepEqual(k.onSnapshot(snap(11, true, '3.000'), 50), { resync: false, topChanged: false });
    assert.equal(k.lastDataAt, 50);
    assert.equal(k.counts.mismatches, 0);
  });

  it('replaces the book with a disagreeing periodic full book and counts the mismatch', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    k.onDiff(diff(11, '3'), 10);
    k.onSnapshot(snap(11, true, '7'), 50);
    assert.equal(k.counts.mismatches, 1);
    assert.match(k.lastProblem ?? '', /bid level 1: local 3 @ 100, full book 7 @ 100/);
    assert.ok(k.book.bestBid()?.quantity.eq(new Dec(7)));
  });

  it('adopts a periodic full book that is ahead and ignores one that is behind', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    k.onSnapshot(snap(9, true, '5'), 5);
    assert.ok(k.book.bestBid()?.quantity.eq(1), 'behind: ignored');
    k.onSnapshot(snap(14, true, '5'), 6);
    assert.equal(k.book.changeSet, 14);
    assert.deepEqual(k.onDiff(diff(15, '2'), 7), { resync: false, topChanged: true });
  });

  it('takes a REST book only while the stream keeps none, dated by the request', () => {
    const k = new BookKeeper('BTCTRY');
    const rest = {
      symbol: 'BTCTRY',
      timestamp: 0,
      bids: [{ price: new Dec('100'), quantity: new Dec('8') }],
      asks: [{ price: new Dec('102'), quantity: new Dec('1') }],
    };
    k.onSnapshot(snap(10, false), 100);
    assert.deepEqual(
      k.onRestBook(rest, 200),
      { resync: false, topChanged: false },
      'the stream keeps the book',
    );
    k.onStreamLost();
    k.onRestBook(rest, 300);
    assert.equal(k.source, 'rest');
    assert.equal(k.lastDataAt, 300);
    assert.ok(k.book.bestAsk()?.price.eq(102));
    assert.deepEqual(
      k.onDiff(diff(11, '1'), 310),
      { resync: false, topChanged: false },
      'no sequence to continue',
    );
    k.onRestBook(rest, 250);
    assert.equal(k.lastDataAt, 300, 'an older REST reply does not move the data time back');
  });

  it('an unreadable book frame invalidates the book and asks for a resync', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    assert.deepEqual(k.onUnreadable('AO.0.P: expected a plain decimal', 3), {
      resync: true,
      topChanged: true,
    });
    assert.equal(k.counts.malformed, 1);
    assert.equal(k.usable, false);
  });
});
