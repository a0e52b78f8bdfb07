import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import { DryRunExchange } from '../../src/engine/dry-run-exchange.ts';
import { holdingsAfterFills } from '../../src/engine/portfolio.ts';
import type { Exchange } from '../../src/ports/exchange.ts';
import type { UserStreamEvent } from '../../src/ports/user-stream.ts';
import { steppingClock } from '../oms/fakes.ts';
import { btcRules, FakeMarket } from './engine-fakes.ts';

// Dry-run mode's exchange: orders rest and fill in the process against the real market's book and
// trades; nothing private reaches the real exchange.

function rig() {
  const market = new FakeMarket();
  const privateCalls: string[] = [];
  const real = new Proxy({} as Exchange, {
    get: (_target, name: string) => () => {
      privateCalls.push(name);
      return Promise.reject(new Error(`the real exchange was asked for ${name}`));
    },
  });
  const exchange = new DryRunExchange({
    exchange: real,
    market,
    rules: new Map([['BTCTRY', btcRules()]]),
    clock: steppingClock(),
  });
  const events: UserStreamEvent[] = [];
  exchange.onUserEvent((event) => events.push(event));
  return { market, exchange, events, privateCalls };
}

const order = (side: 'buy' | 'sell', quantity: string, price: string, id: string): OrderRequest => ({
  symbol: 'BTCTRY',
  side,
  method: 'limit',
  quantity: new Dec(quantity),
  price: new Dec(price),
  clientOrderId: id,
});

async function rejection(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    assert.ok(isExchangeError(error, 'rejected'), String(error));
    return `${String(error.code)} ${error.venueMessage ?? ''}`;
  }
  return assert.fail('not rejected');
}

describe('dry-run exchange', () => {
  it('rests an order and fills it as the real market reaches its price, with fees, events and exact balances', async () => {
    const { market, exchange, events, privateCalls } = rig();
    market.setTop('BTCTRY', '3450000', '3500000');
    const ack = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-1'));
    assert.equal((await exchange.order(ack.exchangeOrderId)).status, 'open');
    const locked = (await exchange.balances()).find((b) => b.asset === 'TRY')?.locked;
    assert.equal(locked?.toFixed(), '34057.12', 'the buy locks its value with the worst fee and tax');

    // The best ask comes down to 3,390,000 with 0.004 on it: that much fills, at our price.
    const top = market.setTop('BTCTRY', '3380000', '3390000');
    market.emit('top', { ...top, ask: { price: new Dec('3390000'), quantity: new Dec('0.004') } });
    assert.equal((await exchange.order(ack.exchangeOrderId)).status, 'partially_filled');
    // A trade prints below our price: the rest fills.
    market.emit('trade', {
      tradeId: '1',
      symbol: 'BTCTRY',
      price: new Dec('3395000'),
      quantity: new Dec('5'),
      side: 'sell',
      timestamp: 1,
    });
    const done = await exchange.order(ack.exchangeOrderId);
    assert.deepEqual([done.status, done.leftQuantity?.toFixed()], ['filled', '0']);

    // A sell that crosses the book when placed takes the touch, as a taker.
    market.setTop('BTCTRY', '3380000', '3390000');
    await exchange.submitOrder(order('sell', '0.005', '3300000', 'bb-2'));

    const fills = await exchange.fills({ symbol: 'BTCTRY' });
    assert.deepEqual(
      fills.map((f) => [
        f.quantity.toFixed(),
        f.price.toFixed(),
        f.fee.toFixed(),
        f.tax.toFixed(),
        f.clientOrderId,
      ]),
      [
        ['0.004', '3400000', '10.88', '0.544', 'bb-1'], // maker 0.08%
        ['0.006', '3400000', '16.32', '0.816', 'bb-1'],
        ['0.005', '3380000', '27.04', '1.352', 'bb-2'], // taker 0.16%
      ],
    );
    const start = new Map([['TRY', new Dec('1000000')]]);
    const implied = holdingsAfterFills(start, fills);
    for (const b of await exchange.balances()) {
      assert.equal(b.total.toFixed(), implied.get(b.asset)?.toFixed(), `${b.asset} balance`);
      assert.equal(b.locked.toFixed(), '0', `${b.asset}: nothing stays locked once filled`);
    }
    assert.deepEqual(
      events.map((e) => (e.kind === 'order' ? `order ${e.change} ${e.leftQuantity.toFixed()}` : e.kind)),
      [
        'order inserted 0.01',
        'balances',
        'fill',
        'order updated 0.006',
        'balances',
        'fill',
        'order updated 0',
        'balances',
        'order inserted 0.005',
        'balances',
        'fill',
        'order updated 0',
        'balances',
      ],
    );
    assert.deepEqual(privateCalls, [], 'nothing went to the real exchange');
  });

  it('cancels, refuses what BTCTurk would, and never reaches the real exchange', async () => {
    const { market, exchange, privateCalls } = rig();
    market.setTop('BTCTRY', '3450000', '3500000');
    const ack = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-1'));
    await exchange.cancelOrder(ack.exchangeOrderId);
    const canceled = await exchange.order(ack.exchangeOrderId);
    assert.deepEqual([canceled.status, canceled.leftQuantity?.toFixed()], ['canceled', '0.01']);
    assert.deepEqual(
      (await exchange.balances()).map((b) => [b.asset, b.free.toFixed(), b.locked.toFixed()]),
      [['TRY', '1000000', '0']],
    );
    assert.deepEqual(await exchange.openOrders('BTCTRY'), []);
    assert.match(await rejection(exchange.cancelOrder(ack.exchangeOrderId)), /NO_ORDER_MATCHES_YOUR_REQUEST/);
    assert.match(await rejection(exchange.order('42')), /^1152 Order not found/);
    assert.match(
      await rejection(exchange.submitOrder(order('buy', '1', '3400000', 'bb-2'))),
      /BALANCE_NOT_ENOUGH/,
    );
    assert.match(
      await rejection(exchange.submitOrder(order('sell', '0.01', '3400000', 'bb-3'))),
      /BALANCE_NOT_ENOUGH/,
    );
    assert.match(
      await rejection(exchange.submitOrder(order('buy', '0.00001', '3400000', 'bb-4'))),
      /^1120 FAILED_LIMIT_ORDER/,
    );
    assert.deepEqual(privateCalls, []);
  });
});
