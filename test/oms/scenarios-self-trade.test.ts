import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { PREFIX, rig, SYMBOL } from './sim-helpers.ts';

// Issue 10, item 1: our buy meets our own sell. The exchange reports one trade id for both sides
// of a self-match; each side is a fill of its own order, so the store keeps both.

describe('self-match scenarios against the simulator', () => {
  it('S1: our buy meets our own sell placed outside the OMS: both fills stored, both orders FILLED, reconciliation clean', async (t) => {
    const r = await rig(t, { seed: 510 });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));

    // Another process on the account with our prefix (or an operator) rests a sell: no gate of
    // this OMS saw it.
    const price = r.insidePrice('sell');
    const quantity = new Dec('0.001');
    const outside = await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'sell',
      method: 'limit',
      quantity,
      price,
      clientOrderId: newClientOrderId(PREFIX, seededRandom(77)),
    });
    const buy = await r.oms.submit({ symbol: SYMBOL, side: 'buy', method: 'limit', quantity, price });

    const truth = r.sim.groundTruth();
    const ours = truth.fills.filter((f) => f.accountId === r.sim.accountId);
    assert.equal(ours.length, 2, 'the simulator booked a fill for each side');
    assert.equal(
      ours[0]?.tradeId,
      ours[1]?.tradeId,
      'one trade id for both sides, as the exchange reports it',
    );
    assert.deepEqual(
      new Set(ours.map((f) => f.orderId)),
      new Set([buy.exchangeOrderId, outside.exchangeOrderId]),
    );

    const first = await r.oms.reconcile();
    assert.equal(first.clean, true, JSON.stringify(first));
    assert.deepEqual(first.divergences, []);
    assert.equal(first.actions.adopt, 1, 'the outside sell is adopted as ours');

    const fills = await r.store.fills();
    assert.deepEqual(
      fills.map((f) => [f.tradeId, f.exchangeOrderId, f.side, f.quantity.toFixed()]).sort(),
      [
        [ours[0]?.tradeId, buy.exchangeOrderId, 'buy', '0.001'],
        [ours[0]?.tradeId, outside.exchangeOrderId, 'sell', '0.001'],
      ].sort(),
    );
    const storedBuy = await r.store.order(buy.id);
    const storedSell = await r.store.orderByExchangeId(outside.exchangeOrderId);
    for (const order of [storedBuy, storedSell]) {
      assert.equal(order?.state, 'FILLED');
      assert.equal(order.filledQuantity.toFixed(), '0.001');
      assert.equal((await r.store.fills({ orderId: order.id })).length, 1);
    }
    assert.equal(storedSell?.origin, 'adopted');

    const again = await r.oms.reconcile();
    assert.equal(again.clean, true, JSON.stringify(again));
    assert.deepEqual(again.divergences, []);
    assert.equal(again.escalation.level, start.escalation.level);
    assert.equal(r.oms.stats().divergences, 0);
    assert.equal(r.oms.stats().fillsNew, 2);
    assert.equal((await r.store.fills()).length, 2, 'a second pass reads the same fills again and adds none');
  });
});
