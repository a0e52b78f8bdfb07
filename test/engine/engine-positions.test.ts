import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Dec } from '../../src/domain/decimal.ts';
import { PositionBook } from '../../src/engine/positions.ts';
import { accountFills } from '../../src/oms/accounting.ts';
import type { FillQuery, StoredFill } from '../../src/ports/store.ts';

// The engine's positions are read incrementally from the fills stored since it last looked; late
// fills with old timestamps arrive too. Whatever the order of recording and reading, the book must
// equal the accounting over all fills.

const FC_SEED = Number(process.env.FC_SEED ?? 29);

function storeOf(stored: StoredFill[]) {
  return {
    fills: (query: FillQuery = {}) =>
      Promise.resolve(
        stored.filter((f) => query.recordedSince === undefined || f.recordedAt >= query.recordedSince),
      ),
  };
}

const shown = (positions: ReadonlyMap<string, { quantity: Dec; averagePrice: Dec | null; realised: Dec }>) =>
  [...positions.values()]
    .map((p) => `${p.quantity.toFixed()}@${p.averagePrice?.toFixed() ?? '-'}:${p.realised.toFixed()}`)
    .sort();

describe('engine positions', () => {
  it('equal the accounting over all fills, however they are recorded and read', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 100_000 }), // the fill's own time
            delay: fc.integer({ min: 0, max: 200_000 }), // until it is recorded
            buy: fc.boolean(),
            eth: fc.boolean(),
            quantity: fc.integer({ min: 1, max: 100 }),
            price: fc.integer({ min: 90, max: 110 }),
            readAfter: fc.boolean(),
            selfMatch: fc.boolean(), // the other side of the previous fill's trade: same trade id
          }),
          { maxLength: 40 },
        ),
        async (drafts) => {
          const all: StoredFill[] = drafts.map((d, i) => ({
            tradeId: String(9_007_199_254_740_993n + BigInt(d.selfMatch && i > 0 ? i - 1 : i)),
            exchangeOrderId: String(i),
            clientOrderId: null,
            symbol: d.eth ? 'ETHTRY' : 'BTCTRY',
            base: d.eth ? 'ETH' : 'BTC',
            quote: 'TRY',
            side: d.buy ? 'buy' : 'sell',
            price: new Dec(d.price),
            quantity: new Dec(d.quantity),
            fee: new Dec('0.1'),
            tax: new Dec('0.005'),
            feeAsset: 'TRY',
            timestamp: 1_700_000_000_000 + d.at,
            orderId: null,
            source: 'stream',
            recordedAt: 1_700_000_000_000 + d.at + d.delay,
          }));
          const byRecording = all
            .map((fill, i) => ({ fill, read: drafts[i]?.readAfter ?? false }))
            .sort((a, b) => a.fill.recordedAt - b.fill.recordedAt);
          const stored: StoredFill[] = [];
          const book = new PositionBook(storeOf(stored), ['BTCTRY', 'ETHTRY']);
          for (const { fill, read } of byRecording) {
            stored.push(fill);
            if (read) await book.refresh();
          }
          await book.refresh();
          assert.deepEqual(shown(book.positions), shown(accountFills(all)));
        },
      ),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it('applies both sides of a self-match, one trade id on two orders, read apart', async () => {
    const side = (exchangeOrderId: string, buy: boolean, recordedAt: number): StoredFill => ({
      tradeId: '9007199254740993',
      exchangeOrderId,
      clientOrderId: null,
      symbol: 'BTCTRY',
      base: 'BTC',
      quote: 'TRY',
      side: buy ? 'buy' : 'sell',
      price: new Dec(100),
      quantity: new Dec(1),
      fee: new Dec('0.1'),
      tax: new Dec(0),
      feeAsset: 'TRY',
      timestamp: 1_700_000_000_000,
      orderId: null,
      source: 'stream',
      recordedAt,
    });
    const stored: StoredFill[] = [side('1', true, 1_700_000_000_001)];
    const book = new PositionBook(storeOf(stored), ['BTCTRY']);
    await book.refresh();
    assert.equal(book.positions.get('BTCTRY')?.quantity.toFixed(), '1');
    stored.push(side('2', false, 1_700_000_000_002));
    await book.refresh();
    const position = book.positions.get('BTCTRY');
    assert.equal(position?.quantity.toFixed(), '0');
    assert.equal(position.fillCount, 2);
    assert.deepEqual(shown(book.positions), shown(accountFills(stored)));
  });

  it('leaves out fills of symbols it does not run', async () => {
    const fill = (symbol: string): StoredFill => ({
      tradeId: symbol,
      exchangeOrderId: '1',
      clientOrderId: null,
      symbol,
      base: symbol.slice(0, 3),
      quote: 'TRY',
      side: 'buy',
      price: new Dec(100),
      quantity: new Dec(1),
      fee: new Dec(0),
      tax: new Dec(0),
      feeAsset: 'TRY',
      timestamp: 1,
      orderId: null,
      source: 'poll',
      recordedAt: 1,
    });
    const book = new PositionBook(storeOf([fill('BTCTRY'), fill('XRPTRY')]), ['BTCTRY']);
    await book.refresh();
    assert.deepEqual([...book.positions.keys()], ['BTCTRY']);
  });
});
