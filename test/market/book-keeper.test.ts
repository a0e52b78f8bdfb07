import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { OrderBookSnapshot } from '../../src/domain/reports.ts';
import { BookKeeper } from '../../src/market/book-keeper.ts';
import type { BookLevelText, FeedBookDiff, FeedBookSnapshot } from '../../src/ports/market-feed.ts';

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

function rest(bids: readonly BookLevelText[], asks: readonly BookLevelText[]): OrderBookSnapshot {
  const dec = (levels: readonly BookLevelText[]) =>
    levels.map((l) => ({ price: new Dec(l.price), quantity: new Dec(l.quantity) }));
  return { symbol: 'BTCTRY', timestamp: 0, bids: dec(bids), asks: dec(asks) };
}

const NOTHING = { resync: false, topChanged: false, applied: false, suspect: false };

describe('book keeper', () => {
  it('dates the data by the arrival of the frame that brought it', () => {
    const k = new BookKeeper('BTCTRY');
    assert.deepEqual(k.onSnapshot(snap(10, false), 1_000), {
      resync: false,
      topChanged: true,
      applied: true,
      suspect: false,
    });
    assert.equal(k.lastDataAt, 1_000);
    assert.equal(k.source, 'stream');
    assert.ok(k.streamKept);
    assert.deepEqual(k.onDiff(diff(11, '3'), 1_500), {
      resync: false,
      topChanged: true,
      applied: true,
      suspect: false,
    });
    assert.equal(k.lastDataAt, 1_500);
    assert.deepEqual(k.onDiff(diff(11, '4'), 1_600), NOTHING, 'stale: ignored');
    assert.equal(k.lastDataAt, 1_500);
  });

  it('asks for a resync on a gap and counts it', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    assert.equal(k.onDiff(diff(12, '3'), 5).resync, true);
    assert.equal(k.counts.gaps, 1);
    assert.equal(k.usable, false);
    assert.equal(k.invalidSince, 5);
    assert.match(k.lastProblem ?? '', /change set 12 arrived after 10/);
    k.onSnapshot(snap(20, false), 9);
    assert.ok(k.usable);
    assert.equal(k.invalidSince, null);
  });

  it('a change set before any snapshot asks for one, and leaves a REST book standing', () => {
    const k = new BookKeeper('BTCTRY');
    assert.deepEqual(k.onDiff(diff(11, '3'), 5), { ...NOTHING, resync: true });
    assert.equal(k.counts.orphanDiffs, 1);
    assert.match(k.lastProblem ?? '', /change set 11 arrived with no order book snapshot/);
    k.onRestBook(rest([lvl('100', '8')], [lvl('102', '1')]), 10);
    assert.deepEqual(k.onDiff(diff(12, '3'), 15), { ...NOTHING, resync: true });
    assert.ok(k.usable, 'the REST copy is still served');
    assert.ok(k.book.bestBid()?.quantity.eq(8));
  });

  describe('the periodic full book (orderbook channel)', () => {
    it('is compared by content only: its CS belongs to another subscription', () => {
      const k = new BookKeeper('BTCTRY');
      k.onSnapshot(snap(3_999_242, false), 0);
      k.onDiff(diff(3_999_243, '3'), 10);
      // The orderbook channel's CS sits at an arbitrary offset (73,273 in one capture): behind,
      // ahead or equal means nothing. Content equal: nothing to do.
      for (const cs of [1, 3_999_243, 3_999_243 + 73_273])
        assert.deepEqual(k.onSnapshot(snap(cs, true, '3.000'), 50), NOTHING);
      assert.equal(k.counts.mismatches, 0);
      assert.equal(k.book.changeSet, 3_999_243, 'the obdiff sequence is untouched');
      assert.deepEqual(k.onDiff(diff(3_999_244, '4'), 60).applied, true);
    });

    it('counts a disagreement, and resyncs only when it persists on an unchanged level for 2 s', () => {
      const k = new BookKeeper('BTCTRY');
      k.onSnapshot(snap(10, false), 0);
      // Conflation: the full book may show a newer quantity than the last change set did.
      assert.deepEqual(k.onSnapshot(snap(5, true, '7'), 1_000), { ...NOTHING, suspect: true });
      assert.equal(k.counts.mismatches, 1);
      assert.ok(k.usable);
      // The next change set brings the same quantity: the difference is gone.
      k.onDiff(diff(11, '7'), 1_500);
      assert.deepEqual(k.onSnapshot(snap(6, true, '7'), 1_764), NOTHING);
      // Now a level the local book keeps at 7 the exchange says is 9, frame after frame.
      assert.equal(k.onSnapshot(snap(7, true, '9'), 2_000).resync, false);
      assert.equal(k.onSnapshot(snap(8, true, '9'), 2_764).resync, false, 'two frames 764 ms apart: not yet');
      assert.equal(k.onSnapshot(snap(9, true, '9'), 3_528).resync, false);
      const outcome = k.onSnapshot(snap(10, true, '9'), 4_292);
      assert.equal(outcome.resync, true);
      assert.equal(k.counts.mismatches, 5);
      assert.equal(k.usable, false);
      assert.match(
        k.lastProblem ?? '',
        /full book \(orderbook channel\) disagrees: bid 100: local 7, full book 9, unchanged for 2292 ms/,
      );
    });

    it('a frame that agrees in between clears the suspicion', () => {
      const k = new BookKeeper('BTCTRY');
      k.onSnapshot(snap(10, false), 0);
      k.onSnapshot(snap(1, true, '9'), 1_000);
      k.onSnapshot(snap(2, true, '1'), 2_000);
      assert.equal(k.onSnapshot(snap(3, true, '9'), 3_100).resync, false);
      assert.equal(k.onSnapshot(snap(4, true, '9'), 4_000).resync, false);
      assert.equal(k.onSnapshot(snap(5, true, '9'), 5_100).resync, true);
    });

    it('is ignored while no stream-kept book exists, and never starts a sequence', () => {
      const k = new BookKeeper('BTCTRY');
      assert.deepEqual(k.onSnapshot(snap(10, true), 0), NOTHING);
      assert.equal(k.usable, false);
      assert.equal(k.onDiff(diff(11, '3'), 1).resync, true, 'still no snapshot for obdiff');
    });
  });

  describe('the 100-level window', () => {
    const windowed = () => {
      const k = new BookKeeper('BTCTRY', { windowLevels: 3 });
      k.onSnapshot(
        {
          kind: 'book-snapshot',
          symbol: 'BTCTRY',
          changeSet: 1,
          periodic: false,
          bids: [lvl('100', '1'), lvl('99', '1'), lvl('98', '1')],
          asks: [lvl('101', '1')],
        },
        0,
      );
      return k;
    };

    it('a level entering pushes the last out (CP 1 + CP 3 at the edge): within the window', () => {
      const k = windowed();
      const outcome = k.onDiff(
        {
          kind: 'book-diff',
          symbol: 'BTCTRY',
          changeSet: 2,
          bids: [
            { price: '99.5', quantity: '2', remove: false },
            { price: '98', quantity: '1', remove: true },
          ],
          asks: [],
        },
        5,
      );
      assert.equal(outcome.applied, true);
      assert.equal(k.counts.windowOverflows, 0);
    });

    it('a side holding more than the window has missed deletes: counted and resynced', () => {
      const k = windowed();
      const outcome = k.onDiff(
        {
          kind: 'book-diff',
          symbol: 'BTCTRY',
          changeSet: 2,
          bids: [{ price: '99.5', quantity: '2', remove: false }],
          asks: [],
        },
        5,
      );
      assert.equal(outcome.resync, true);
      assert.equal(k.counts.windowOverflows, 1);
      assert.equal(k.counts.malformed, 0);
      assert.equal(k.usable, false);
      assert.match(
        k.lastProblem ?? '',
        /4 bids and 1 asks, more than the 3-level window: deletes were missed/,
      );
    });
  });

  describe('REST spot checks while the stream keeps the book', () => {
    const kept = () => {
      const k = new BookKeeper('BTCTRY');
      k.onSnapshot(snap(10, false), 0);
      return k;
    };

    it('a REST book that agrees at the touch is nothing', () => {
      const k = kept();
      const outcome = k.onRestBook(rest([lvl('100', '5'), lvl('99', '2')], [lvl('101', '1')]), 1_000, 1_200);
      assert.deepEqual(outcome, NOTHING);
      assert.equal(k.counts.spotChecks, 1);
      assert.equal(k.source, 'stream', 'never replaces the stream-kept book');
    });

    it('a local level better than REST’s touch, unchanged and still absent 2 s later, is a mismatch', () => {
      const k = kept();
      const lacking = rest([lvl('99', '2')], [lvl('101', '1')]); // the bid at 100 is gone at the exchange
      assert.deepEqual(k.onRestBook(lacking, 1_000, 1_200), { ...NOTHING, suspect: true });
      assert.equal(k.onRestBook(lacking, 2_000, 2_300).resync, false, 'only 1.1 s later');
      const outcome = k.onRestBook(lacking, 3_100, 3_300);
      assert.equal(outcome.resync, true);
      assert.equal(k.counts.spotMismatches, 1);
      assert.equal(k.usable, false);
      assert.match(
        k.lastProblem ?? '',
        /REST spot check: local bid 1 @ 100 is better than REST's best bid 99, unchanged for 2100 ms/,
      );
    });

    it('a level the stream changed in between is not confirmed (it was conflation)', () => {
      const k = kept();
      const lacking = rest([lvl('99', '2')], [lvl('101', '1')]);
      k.onRestBook(lacking, 1_000, 1_200);
      k.onDiff(diff(11, '4'), 1_500); // the stream moved the level: REST and stream were out of step
      assert.equal(k.onRestBook(lacking, 3_300, 3_500).resync, false);
      assert.equal(k.counts.spotMismatches, 0);
      assert.equal(k.onRestBook(lacking, 5_600, 5_800).resync, true, 'unchanged since 3.5 s: now confirmed');
    });

    it('a better REST touch the local book never got, with the local touch frozen for 2 s, is a mismatch', () => {
      const k = kept();
      // The exchange's market moved up; the subscription stopped delivering.
      assert.equal(
        k.onRestBook(rest([lvl('100.5', '1'), lvl('100', '1')], [lvl('101', '1')]), 0, 100).suspect,
        true,
      );
      assert.equal(
        k.onRestBook(rest([lvl('100.7', '1'), lvl('100', '1')], [lvl('101', '1')]), 1_000, 1_100).resync,
        false,
      );
      assert.equal(k.onRestBook(rest([lvl('100.8', '2')], [lvl('101', '1')]), 2_000, 2_100).resync, true);
      assert.match(
        k.lastProblem ?? '',
        /REST's best bid 100.8 is better than the local best bid 100, unchanged for 2000 ms/,
      );
    });

    it('a better REST touch the stream delivers in between is conflation, not a mismatch', () => {
      const k = kept();
      const ahead = rest([lvl('100.5', '1'), lvl('100', '1')], [lvl('101', '1')]);
      k.onRestBook(ahead, 0, 100);
      k.onDiff(
        {
          kind: 'book-diff',
          symbol: 'BTCTRY',
          changeSet: 11,
          bids: [{ price: '100.5', quantity: '1', remove: false }],
          asks: [],
        },
        800,
      );
      assert.deepEqual(k.onRestBook(ahead, 2_000, 2_100), NOTHING);
    });

    it('an ask side that REST no longer has is checked the same way', () => {
      const k = kept();
      const lacking = rest([lvl('100', '1')], [lvl('102', '1')]);
      k.onRestBook(lacking, 0, 100);
      assert.equal(k.onRestBook(lacking, 2_000, 2_100).resync, true);
      assert.match(k.lastProblem ?? '', /local ask 1 @ 101 is better than REST's best ask 102/);
    });
  });

  it('takes a REST book only while the stream keeps none, dated by the request', () => {
    const k = new BookKeeper('BTCTRY');
    const book = rest([lvl('100', '8')], [lvl('102', '1')]);
    k.onSnapshot(snap(10, false), 100);
    k.onRestBook(book, 200);
    assert.equal(k.source, 'stream', 'the stream keeps the book: a spot check only');
    k.onStreamLost();
    assert.equal(k.streamKept, false);
    k.onRestBook(book, 300);
    assert.equal(k.source, 'rest');
    assert.equal(k.lastDataAt, 300);
    assert.ok(k.book.bestAsk()?.price.eq(102));
    k.onRestBook(book, 250);
    assert.equal(k.lastDataAt, 300, 'an older REST reply does not move the data time back');
  });

  it('an unreadable book frame invalidates the book and asks for a resync', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    assert.equal(k.onUnreadable('AO.0.P: expected a plain decimal', 3).resync, true);
    assert.equal(k.counts.malformed, 1);
    assert.equal(k.usable, false);
  });

  it('an unknown change kind is counted apart and resynced', () => {
    const k = new BookKeeper('BTCTRY');
    k.onSnapshot(snap(10, false), 0);
    assert.equal(k.onUnreadable('BO.0.CP: 2 is not a change kind', 3, 'unknown-change-kind').resync, true);
    assert.equal(k.counts.unknownChangeKinds, 1);
    assert.equal(k.counts.malformed, 0);
    assert.match(k.lastProblem ?? '', /a change kind BTCTurk does not send: BO.0.CP: 2/);
  });
});
