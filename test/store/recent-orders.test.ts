import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { RecentOrders } from '../../src/store/sql/recent-orders.ts';

function stored(id: string, version: number, state: OrderState = 'SUBMITTED'): StoredOrder {
  return {
    id,
    clientOrderId: `c-${id}`,
    exchangeOrderId: null,
    symbol: 'BTCTRY',
    side: 'buy',
    method: 'limit',
    price: new Dec('1'),
    stopPrice: null,
    quantity: new Dec('1'),
    quoteAmount: null,
    filledQuantity: new Dec('0'),
    filledQuote: new Dec('0'),
    averagePrice: null,
    state,
    stateReason: null,
    intentId: null,
    strategy: null,
    replaceOf: null,
    origin: 'local',
    createdAt: 1,
    updatedAt: 1,
    version,
  };
}

describe('the orders a store committed last', () => {
  it('keep the latest version of each, never an older one over it', () => {
    const recent = new RecentOrders();
    recent.remember(stored('a', 3));
    recent.remember(stored('a', 2));
    assert.equal(recent.get('a')?.version, 3);
    recent.remember(stored('a', 4));
    assert.equal(recent.get('a')?.version, 4);
    recent.remember(undefined);
    recent.remember(null);
    assert.equal(recent.size, 1);
  });

  it('let a closed order go, and hold a bounded number, the oldest leaving first', () => {
    const recent = new RecentOrders();
    recent.remember(stored('a', 2));
    recent.remember(stored('a', 3, 'FILLED'));
    assert.equal(recent.get('a'), undefined);
    for (let i = 0; i < 1000; i += 1) recent.remember(stored(`o${i}`, 2));
    assert.ok(recent.size < 1000, `holds ${recent.size}`);
    assert.equal(recent.get('o0'), undefined);
    assert.equal(recent.get('o999')?.version, 2);
  });
});
