import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { drain, probeEngine } from './engine-fakes.ts';

// A strategy that reads only some of the symbols run (Strategy.reads): a book change on another
// symbol starts no evaluation; one on a symbol it reads still starts one as before.

describe('engine: a strategy that reads some symbols', () => {
  it(
    'is evaluated on the moves of the symbols it reads, not on the others',
    { timeout: 10_000 },
    async (t) => {
      // No debounce: any trigger that counts starts an evaluation at once.
      const { market, engine, seen, nextEvaluation } = await probeEngine(t, {
        debounceMs: 0,
        symbols: ['BTCTRY', 'ETHTRY'],
        reads: new Set(['BTCTRY']),
      });
      assert.equal(seen.length, 1);

      // ETHTRY moves, and its quantity at the touch changes: not read, nothing to evaluate.
      market.emit('top', market.setTop('ETHTRY', '101000', '101010'));
      const eth = market.setTop('ETHTRY', '102000', '102010');
      market.emit('top', eth);
      market.emit('top', { ...eth, bid: { price: new Dec('102000'), quantity: new Dec('7') } });
      await drain();
      await drain();
      assert.equal(seen.length, 1, 'a symbol the strategy does not read starts no evaluation');

      // BTCTRY moves: evaluated, once, with the new price.
      let next = nextEvaluation();
      const btc = market.setTop('BTCTRY', '3507000', '3507100');
      market.emit('top', btc);
      await next;
      await drain();
      assert.deepEqual(seen, ['3500000', '3507000']);
      // And its quantity at the touch, the debounce being over at once.
      next = nextEvaluation();
      market.emit('top', { ...btc, bid: { price: new Dec('3507000'), quantity: new Dec('7') } });
      await next;
      assert.equal(engine.stats().evaluations, 3);
    },
  );
});
