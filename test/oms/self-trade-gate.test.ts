import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { OrderRefusedError } from '../../src/oms/context.ts';
import { selfTradeConflict, type OwnRestingOrder } from '../../src/oms/gates.ts';
import { PREFIX, rig, SYMBOL, wireLog, posts } from './sim-helpers.ts';

// Issue 10, item 2: a new order (or a replace) that would cross one of our own resting orders on
// the same symbol is refused before it is journaled or sent, counted and logged with its reason.

const own = (id: string, side: 'buy' | 'sell', price: string): OwnRestingOrder => ({
  id,
  clientOrderId: `c-${id}`,
  side,
  price: new Dec(price),
});

describe('self-trade check (pure)', () => {
  const book = [
    own('b1', 'buy', '100'),
    own('b2', 'buy', '98'),
    own('s1', 'sell', '105'),
    own('s2', 'sell', '103'),
  ];
  const order = (side: 'buy' | 'sell', price: string | null) => ({
    symbol: SYMBOL,
    side,
    price: price === null ? null : new Dec(price),
  });

  it('a buy crosses at or above our lowest sell, and names that sell', () => {
    assert.equal(selfTradeConflict(order('buy', '102'), book), null);
    assert.equal(selfTradeConflict(order('buy', '103'), book)?.id, 's2');
    assert.equal(selfTradeConflict(order('buy', '110'), book)?.id, 's2');
  });

  it('a sell crosses at or below our highest buy, and names that buy', () => {
    assert.equal(selfTradeConflict(order('sell', '101'), book), null);
    assert.equal(selfTradeConflict(order('sell', '100'), book)?.id, 'b1');
    assert.equal(selfTradeConflict(order('sell', '90'), book)?.id, 'b1');
  });

  it('a market order crosses any resting opposite order; nothing opposite, nothing crossed', () => {
    assert.equal(selfTradeConflict(order('buy', null), book)?.id, 's2');
    assert.equal(selfTradeConflict(order('sell', null), book)?.id, 'b1');
    assert.equal(selfTradeConflict(order('sell', null), [own('s', 'sell', '1')]), null);
  });
});

describe('self-trade gate in the OMS, against the simulator', () => {
  it('refuses a crossing limit buy, a market buy and a replace onto our own sell, with the reason; nothing is sent', async (t) => {
    const r = await rig(t, { seed: 520 });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));
    const sellPrice = r.insidePrice('sell');
    const sell = await r.oms.submit({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: sellPrice,
    });
    assert.equal(sell.state, 'OPEN');
    const bidPrice = r.insidePrice('buy');
    const buy = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: bidPrice,
    });
    assert.equal(buy.state, 'OPEN', 'a buy below our sell goes out');
    const log = wireLog(t);

    const crossing = r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price: sellPrice,
    });
    await assert.rejects(crossing, (error: unknown) => {
      assert.ok(error instanceof OrderRefusedError);
      assert.match(
        error.reason,
        new RegExp(
          `self-trade prevented: a buy at ${sellPrice.toFixed()} on ${SYMBOL} would cross our own resting sell ` +
            `${sell.id} \\(client id ${sell.clientOrderId ?? '-'}\\) at ${sellPrice.toFixed()}`,
        ),
      );
      return true;
    });

    await assert.rejects(
      r.oms.submit({
        symbol: SYMBOL,
        side: 'buy',
        method: 'market',
        quantity: new Dec(0),
        quoteAmount: new Dec('500'),
      }),
      /self-trade prevented: a market buy on BTCTRY would cross our own resting sell/,
    );

    await assert.rejects(
      r.oms.replace(buy.id, { price: sellPrice.add(1) }),
      /self-trade prevented: a buy at .* would cross our own resting sell/,
    );

    assert.equal(r.oms.stats().selfTradeRefusals, 3);
    assert.equal(posts(log).length, 0, 'no refused order reached the exchange');
    assert.equal(
      (await r.store.orders()).length,
      2,
      'a refused order is not journaled: only the two resting ones are stored',
    );
    assert.equal(r.ourOrders().filter((o) => o.status === 'filled').length, 0, 'nothing self-matched');

    // A replace that stays on its side of the book is not a self-trade.
    const moved = await r.oms.replace(buy.id, { price: bidPrice.add(1) });
    assert.equal(moved.txn.outcome, 'replaced');
  });

  it('does not count a foreign order on the account (placed without our prefix): it may still self-match', async (t) => {
    const r = await rig(t, { seed: 521 });
    const price = r.insidePrice('sell');
    // Someone else on the account rests a sell; the start-up reconciliation records it as foreign.
    const foreign = await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
      clientOrderId: newClientOrderId('hand', seededRandom(3)),
    });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));
    assert.equal((await r.store.orderByExchangeId(foreign.exchangeOrderId))?.origin, 'foreign');
    const buy = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
    });
    assert.equal(r.oms.stats().selfTradeRefusals, 0, 'a foreign order is no reason to refuse');
    const again = await r.oms.reconcile();
    assert.equal(again.clean, true, JSON.stringify(again));
    assert.equal((await r.store.order(buy.id))?.state, 'FILLED', 'it met the foreign sell');
    assert.equal((await r.store.fills()).length, 2, 'both sides booked, each on its own order');
  });

  it('an order from outside the OMS with our prefix is counted once the store knows it', async (t) => {
    const r = await rig(t, { seed: 522 });
    const price = r.insidePrice('sell');
    await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity: new Dec('0.001'),
      price,
      clientOrderId: newClientOrderId(PREFIX, seededRandom(4)),
    });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));
    await assert.rejects(
      r.oms.submit({ symbol: SYMBOL, side: 'buy', method: 'limit', quantity: new Dec('0.001'), price }),
      OrderRefusedError,
    );
    assert.equal(r.oms.stats().selfTradeRefusals, 1);
  });
});
