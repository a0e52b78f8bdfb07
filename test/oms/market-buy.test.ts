import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOrderHistory } from '../../src/btcturk/http/models.ts';
import { Dec, ZERO } from '../../src/domain/decimal.ts';
import { orderViolations } from '../../src/domain/orders.ts';
import { executedQuantity } from '../../src/oms/reconcile-diff.ts';
import { btcRules } from '../engine/engine-fakes.ts';
import { storeMigratedFromBeforeFillIdentity } from '../store/migrated-store.ts';
import { newClientOrderId } from '../../src/domain/client-ids.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { PREFIX, rig, SYMBOL, wireLog, posts } from './sim-helpers.ts';

// Issue 10, item 7: a market buy sized in the quote currency, as BTCTurk sizes them, through the
// same journal, send, lookup and reconciliation as every other order.

describe('market buys sized in the quote currency', () => {
  it('fills against the simulator over HTTP: spends about the quote amount, fills stored, FILLED, reconciliation clean', async (t) => {
    const r = await rig(t, { seed: 530 });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));
    const log = wireLog(t);
    const before = r.sim.engine.balances(r.sim.accountId);
    const tryBefore = before.find((b) => b.asset === 'TRY')?.free ?? ZERO;

    const quoteAmount = new Dec('2500');
    const placed = await r.oms.submit({
      symbol: SYMBOL,
      side: 'buy',
      method: 'market',
      quantity: ZERO,
      quoteAmount,
      intentId: 'market-by-quote',
    });
    assert.equal(posts(log).length, 1);
    assert.ok(placed.exchangeOrderId, 'acknowledged with an exchange order id');
    assert.equal(placed.quoteAmount?.toFixed(), '2500');
    assert.equal(placed.quantity.toFixed(), '0');

    // What went over the wire: BTCTurk's `quantity` carries the quote amount.
    const simOrder = r.ourOrders().find((o) => o.id === placed.exchangeOrderId);
    assert.equal(simOrder?.quantity.toFixed(), '2500', 'the exchange read the quote amount as quantity');
    assert.equal(simOrder.status, 'filled');

    const pass = await r.oms.reconcile();
    assert.equal(pass.clean, true, JSON.stringify(pass));
    assert.deepEqual(pass.divergences, []);
    const stored = await r.store.order(placed.id);
    assert.equal(stored?.state, 'FILLED');
    const fills = await r.store.fills({ orderId: placed.id });
    const truth = r.sim.groundTruth().fills.filter((f) => f.orderId === placed.exchangeOrderId);
    assert.ok(truth.length > 0);
    assert.deepEqual(
      fills.map((f) => f.tradeId).sort(),
      truth.map((f) => f.tradeId).sort(),
      'every fill stored once',
    );
    const base = fills.reduce((sum, f) => sum.add(f.quantity), ZERO);
    const spent = fills.reduce((sum, f) => sum.add(f.quantity.mul(f.price)), ZERO);
    assert.equal(
      stored.filledQuantity.toFixed(),
      base.toFixed(),
      'its base quantity is what its fills brought',
    );
    assert.equal(stored.filledQuote.toFixed(), spent.toFixed());
    // The spend is the quote amount less at most one quantity step at the worst price paid.
    const worst = Dec.max(...fills.map((f) => f.price));
    assert.ok(spent.lte(quoteAmount), `spent ${spent.toFixed()} ≤ ${quoteAmount.toFixed()}`);
    assert.ok(quoteAmount.sub(spent).lte(worst.mul('0.00000001')), `spent ${spent.toFixed()} ≈ 2500`);
    const tryAfter = r.sim.engine.balances(r.sim.accountId).find((b) => b.asset === 'TRY')?.free ?? ZERO;
    const fees = fills.reduce((sum, f) => sum.add(f.fee).add(f.tax), ZERO);
    assert.equal(
      tryBefore.sub(tryAfter).toFixed(),
      spent.add(fees).toFixed(),
      'the account paid the fills and their costs',
    );

    // A restart (new OMS, same store) reconciles it clean again, without new fills or divergences.
    const again = r.newOms();
    const restart = await again.start();
    assert.equal(restart.clean, true, JSON.stringify(restart));
    assert.equal((await r.store.fills({ orderId: placed.id })).length, fills.length);
    assert.equal(r.oms.stats().divergences + again.stats().divergences, 0);
  });

  it('is adopted from the exchange with its quote amount when the store does not know it', async (t) => {
    const r = await rig(t, { seed: 531 });
    const placed = await r.exchange.submitOrder({
      symbol: SYMBOL,
      side: 'buy',
      method: 'market',
      quantity: ZERO,
      quoteAmount: new Dec('1000'),
      clientOrderId: newClientOrderId(PREFIX, seededRandom(9)),
    });
    const start = await r.oms.start();
    assert.equal(start.clean, true, JSON.stringify(start));
    const adopted = await r.store.orderByExchangeId(placed.exchangeOrderId);
    assert.equal(adopted?.origin, 'adopted');
    assert.equal(adopted.state, 'FILLED');
    assert.equal(adopted.quoteAmount?.toFixed(), '1000');
    assert.ok(adopted.filledQuantity.gt(0), 'its fills were read');
    const again = await r.oms.reconcile();
    assert.equal(again.clean, true, JSON.stringify(again));
  });

  it('checks the rules on the quote amount: minimum total, quote scale, only market buys, quantity 0', () => {
    const rules = {
      ...btcRules(),
      minPrice: null,
      maxPrice: null,
      orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'] as const,
    };
    const base = { symbol: 'BTCTRY', clientOrderId: 'x', quantity: ZERO } as const;
    const fields = (o: Parameters<typeof orderViolations>[1]) =>
      orderViolations({ ...rules, orderMethods: [...rules.orderMethods] }, o).map(
        (v) => `${v.field}: ${v.rule}`,
      );
    assert.deepEqual(fields({ ...base, side: 'buy', method: 'market', quoteAmount: new Dec('150') }), []);
    assert.match(
      fields({ ...base, side: 'buy', method: 'market', quoteAmount: new Dec('99') }).join(),
      /quoteAmount: order value 99 TRY is below the minimum 100/,
    );
    assert.match(
      fields({ ...base, side: 'buy', method: 'market', quoteAmount: new Dec('150.5') }).join(),
      /quoteAmount: at most 0 decimals/,
    );
    assert.match(
      fields({ ...base, side: 'sell', method: 'market', quoteAmount: new Dec('150') }).join(),
      /quoteAmount: only market and stopmarket buys/,
    );
    assert.match(
      fields({
        ...base,
        side: 'buy',
        method: 'limit',
        price: new Dec(1),
        quoteAmount: new Dec('150'),
      }).join(),
      /quoteAmount: only market and stopmarket buys/,
    );
    assert.match(
      fields({
        ...base,
        quantity: new Dec('0.1'),
        side: 'buy',
        method: 'market',
        quoteAmount: new Dec('150'),
      }).join(),
      /quantity: must be 0/,
    );
  });

  it('reads a closed market buy row as BTCTurk sent it (broker-api-docs#429) as quote-sized: its fills, not its quantity, count', () => {
    const [row] = parseOrderHistory([
      {
        id: 6529417647,
        price: '2.419',
        amount: '618.1514887833388887',
        quantity: '0.0000000000000001',
        stopPrice: '0',
        pairSymbol: 'DOGETRY',
        pairSymbolNormalized: 'DOGE_TRY',
        type: 'buy',
        method: 'market',
        orderClientId: '7942534a-cb7e-4a11-a734-668608e79d3f',
        time: 1642374005437,
        updateTime: 1642374005670,
        status: 'Closed',
        leftAmount: '0.0000000000000000',
      },
    ]);
    assert.equal(row?.quoteSized, true);
    assert.equal(row.status, 'filled');
    assert.equal(executedQuantity(row), null, 'no executed base quantity is read from it');
  });

  it('migration 0004 adds the column to a store of an earlier version and keeps its orders and fills', async (t) => {
    const { store } = await storeMigratedFromBeforeFillIdentity(t);
    const old = await store.order('o-1');
    assert.equal(old?.quoteAmount, null, 'an existing order reads back as base-sized');
    assert.equal(old.quantity.toFixed(), '1');
    assert.equal(old.filledQuantity.toFixed(), '0.25');
    assert.equal(old.state, 'PARTIALLY_FILLED');
    const order = await store.journalOrder({
      clientOrderId: 'tst-mkt-1',
      symbol: SYMBOL,
      side: 'buy',
      method: 'market',
      quantity: ZERO,
      quoteAmount: new Dec('150.25'),
    });
    assert.equal((await store.order(order.id))?.quoteAmount?.toFixed(), '150.25');
  });
});
