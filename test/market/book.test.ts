import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import { OrderBook, type BookDiff, type BookSnapshotText } from '../../src/market/book.ts';

const lvl = (price: string, quantity: string) => ({ price, quantity });
const chg = (price: string, quantity: string, remove = false) => ({ price, quantity, remove });

function snapshot(changeSet: number): BookSnapshotText {
  return {
    changeSet,
    bids: [lvl('100.00', '1.0'), lvl('99.50', '2.0'), lvl('99.00', '3.0')],
    asks: [lvl('101.00', '1.5'), lvl('101.50', '2.5')],
  };
}

function diff(changeSet: number, bids: BookDiff['bids'] = [], asks: BookDiff['asks'] = []): BookDiff {
  return { changeSet, bids, asks };
}

function flat(book: OrderBook): { bids: string[]; asks: string[] } {
  const { bids, asks } = book.levels();
  const show = (l: { price: Dec; quantity: Dec }) => `${l.quantity.toFixed()}@${l.price.toFixed()}`;
  return { bids: bids.map(show), asks: asks.map(show) };
}

describe('order book: change-set continuity', () => {
  it('applies the change set that follows, ignores ones it already has', () => {
    const book = new OrderBook('BTCTRY', 2);
    assert.equal(book.applyDiff(diff(6)), 'not-ready', 'nothing applies before a snapshot');
    assert.equal(book.reset(snapshot(5)), 'applied');
    assert.equal(book.applyDiff(diff(6, [chg('100.00', '0.4')])), 'applied');
    assert.equal(book.applyDiff(diff(6, [chg('100.00', '9')])), 'stale');
    assert.equal(book.applyDiff(diff(4)), 'stale');
    assert.equal(book.changeSet, 6);
    assert.equal(book.bestBid()?.quantity.toFixed(), '0.4');
  });

  it('a skipped change set invalidates the book until the next snapshot', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(5));
    assert.equal(book.applyDiff(diff(7, [chg('100.00', '0.4')])), 'gap');
    assert.equal(book.state, 'invalid');
    assert.match(book.problem ?? '', /change set 7 arrived after 5: 1 missed/);
    assert.equal(book.applyDiff(diff(8)), 'not-ready', 'no change set applies to an invalid book');
    assert.equal(book.reset(snapshot(20)), 'applied');
    assert.equal(book.applyDiff(diff(21)), 'applied');
    assert.ok(book.valid);
  });

  it('a crossed book after a change set is invalid', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    assert.equal(book.applyDiff(diff(2, [chg('101.00', '1')])), 'crossed', 'bid at the best ask');
    assert.match(book.problem ?? '', /best bid 101.00 is not below best ask 101.00 after change set 2/);
    book.reset(snapshot(1));
    assert.equal(book.applyDiff(diff(2, [], [chg('99.75', '1')])), 'crossed', 'ask under the best bid');
  });

  it('a crossed snapshot is refused', () => {
    const book = new OrderBook('BTCTRY', 2);
    assert.equal(book.reset({ changeSet: 1, bids: [lvl('102', '1')], asks: [lvl('101', '1')] }), 'crossed');
    assert.equal(book.valid, false);
  });

  it('a negative quantity invalidates the book', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    assert.equal(book.applyDiff(diff(2, [chg('98.00', '-0.5')])), 'negative');
    assert.match(book.problem ?? '', /negative quantity -0.5/);
  });

  it('removes a level by its change kind or by a zero total', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    book.applyDiff(diff(2, [chg('100.00', '1.0', true)], [chg('101.00', '0.00000000')]));
    assert.deepEqual(flat(book), { bids: ['2@99.5', '3@99'], asks: ['2.5@101.5'] });
  });

  it('finds the amount at a price, in any spelling of the price', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    assert.equal(book.amountAt('bid', '99.5'), '2.0', "the exchange's text");
    assert.equal(book.amountAt('bid', '99.50'), '2.0', 'any spelling of the price');
    assert.equal(book.amountAt('ask', '99.5'), undefined);
    assert.equal(book.amountAt('bid', '99.123'), undefined, 'finer than any price in the book');
    book.applyDiff(diff(2, [chg('99.5', '4')]));
    assert.equal(book.amountAt('bid', '99.5'), '4');
    book.applyDiff(diff(3, [chg('99.5', '4', true)]));
    assert.equal(book.amountAt('bid', '99.5'), undefined);
  });

  it('keeps the best level as the same object until the best price or its amount changes', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    const bid = book.bestBid();
    const ask = book.bestAsk();
    assert.equal(book.levels(1).bids[0], bid, 'the levels read start with the kept best');
    book.applyDiff(diff(2, [chg('99', '4')], [chg('102', '1')]));
    assert.equal(book.bestBid(), bid, 'a level below the best changed: the best did not');
    assert.equal(book.bestAsk(), ask);
    book.applyDiff(diff(3, [chg('100.00', '1.5')]));
    assert.notEqual(book.bestBid(), bid, 'a new amount at the best price');
    assert.equal(book.bestBid()?.quantity.toFixed(), '1.5');
    assert.equal(book.bestAsk(), ask);
    book.applyDiff(diff(4, [], [chg('101.00', '1.5', true)]));
    assert.equal(
      book.bestAsk()?.price.toFixed(),
      '101.5',
      'the best ask deleted: the next one, read from its key',
    );
    assert.equal(book.bestAsk()?.quantity.toFixed(), '2.5');
  });

  it('a detached book keeps its levels but applies no change set until a snapshot', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    book.detach();
    assert.ok(book.valid);
    assert.equal(book.bestAsk()?.price.toFixed(), '101');
    assert.equal(book.applyDiff(diff(2)), 'not-ready');
  });

  it('widens its price scale when a finer price arrives', () => {
    const book = new OrderBook('AVAXTRY', 0);
    book.reset({ changeSet: 1, bids: [lvl('1200', '1')], asks: [lvl('1201', '1')] });
    assert.equal(book.applyDiff(diff(2, [chg('1200.5', '2')])), 'applied');
    assert.equal(book.applyDiff(diff(3, [], [chg('1200.75', '3')])), 'applied');
    assert.deepEqual(flat(book), { bids: ['2@1200.5', '1@1200'], asks: ['3@1200.75', '1@1201'] });
  });

  it('names the first difference from a full book, comparing quantities as decimals', () => {
    const book = new OrderBook('BTCTRY', 2);
    book.reset(snapshot(1));
    assert.equal(
      book.difference({ ...snapshot(1), bids: [lvl('100', '1.000'), lvl('99.5', '2'), lvl('99', '3')] }),
      null,
    );
    assert.match(
      book.difference({ ...snapshot(1), asks: [lvl('101.00', '1.5'), lvl('101.50', '2.4')] }) ?? '',
      /ask level 2: local 2.5 @ 101.5, full book 2.4 @ 101.50/,
    );
    assert.match(
      book.difference({ ...snapshot(1), bids: [] }) ?? '',
      /bid side has 3 levels, the full book 0/,
    );
  });
});

describe('order book: agrees with a plain reference model (seeded)', () => {
  // Random change sets over a small price grid; the reference is a Map sorted with Decimal.
  const price = fc.integer({ min: 1, max: 400 }).map((n) => (n / 4).toFixed(2));
  const quantity = fc.oneof(
    fc.constant('0'),
    fc.integer({ min: 1, max: 10_000 }).map((n) => (n / 1000).toFixed(3)),
  );
  const row = fc.record({ price, quantity, remove: fc.boolean() });
  const changeSet = fc.record({
    bids: fc.array(row, { maxLength: 5 }),
    asks: fc.array(row, { maxLength: 5 }),
  });

  it('levels, best bid and best ask match after every change set', () => {
    fc.assert(
      fc.property(fc.array(changeSet, { maxLength: 60 }), (sets) => {
        const book = new OrderBook('TEST', 0);
        book.reset({ changeSet: 0, bids: [], asks: [] });
        const ref = { bids: new Map<string, string>(), asks: new Map<string, string>() };
        let cs = 0;
        for (const set of sets) {
          // Keep the reference uncrossed: bids below 50, asks at 50 and above.
          const bids = set.bids.filter((r) => Number(r.price) < 50);
          const asks = set.asks.filter((r) => Number(r.price) >= 50);
          cs++;
          assert.equal(book.applyDiff({ changeSet: cs, bids, asks }), 'applied');
          for (const [rows, side] of [
            [bids, ref.bids],
            [asks, ref.asks],
          ] as const) {
            for (const r of rows) {
              const key = new Dec(r.price).toFixed();
              if (r.remove || new Dec(r.quantity).isZero()) side.delete(key);
              else side.set(key, r.quantity);
            }
          }
          const sorted = (side: Map<string, string>, desc: boolean) =>
            [...side.entries()]
              .sort(([a], [b]) => (desc ? new Dec(b).cmp(new Dec(a)) : new Dec(a).cmp(new Dec(b))))
              .map(([p, q]) => `${new Dec(q).toFixed()}@${p}`);
          const expected = { bids: sorted(ref.bids, true), asks: sorted(ref.asks, false) };
          assert.deepEqual(flat(book), expected);
          assert.equal(
            book.bestBid() === null
              ? undefined
              : `${book.bestBid()?.quantity.toFixed()}@${book.bestBid()?.price.toFixed()}`,
            expected.bids[0],
          );
          assert.equal(
            book.bestAsk() === null
              ? undefined
              : `${book.bestAsk()?.quantity.toFixed()}@${book.bestAsk()?.price.toFixed()}`,
            expected.asks[0],
          );
        }
      }),
      { seed: 424242, numRuns: 150 },
    );
  });
});
