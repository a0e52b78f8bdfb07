import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseFrame } from '../../src/btcturk/websocket/messages.ts';
import { OrderBook } from '../../src/market/book.ts';

// A level must not keep the frame it was read from alive: the frame readers cut prices and amounts
// out of the frame text, and V8 keeps a cut of 13 characters or more as a view into its source.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('order book memory', () => {
  it('levels with long amounts do not keep their frames alive (500 frames of 100 KB)', () => {
    const book = new OrderBook('SHIBTRY');
    const pad = 'x'.repeat(100_000);
    assert.equal(
      book.reset({
        changeSet: 0,
        bids: [{ price: '1', quantity: '1' }],
        asks: [{ price: '100000', quantity: '1' }],
      }),
      'applied',
    );
    const before = heapAfterGc();
    for (let cs = 1; cs <= 500; cs++) {
      // A new bid level per change set, its amount 18 characters long, in BTCTurk's layout (the
      // fast reader takes it) with a long member after the book.
      const text =
        `[432,{"CS":${cs},"PS":"SHIBTRY","AO":[],"BO":[{"CP":1,"P":"${cs + 1}","A":"123456789.12345678"}],` +
        `"channel":"obdiff","event":"SHIBTRY","type":432,"pad":"${pad}"}]`;
      const parsed = parseFrame(Buffer.from(text).toString('utf8'), 0);
      assert.ok(parsed.ok);
      const [diff] = parsed.messages;
      assert.ok(diff?.kind === 'book-diff');
      assert.equal(book.applyDiff(diff), 'applied');
    }
    const grown = heapAfterGc() - before;
    assert.equal(book.depth.bids, 501);
    assert.equal(book.bestBid()?.quantity.toFixed(), '123456789.12345678');
    // Kept frames would be 500 × 100 KB = 50 MB; the levels themselves take well under 1 MB.
    assert.ok(grown < 10_000_000, `the heap grew by ${(grown / 1e6).toFixed(1)} MB for 500 levels`);
  });
});
