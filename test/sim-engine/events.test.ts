import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SimEvent } from '../../src/sim/engine/api.ts';
import { d, harness, limit, plain } from './helpers.ts';

function funded() {
  const h = harness();
  h.engine.createAccount('a', { TRY: d(100_000), BTC: d(10) });
  h.engine.createAccount('b', { TRY: d(100_000), BTC: d(10) });
  h.events.length = 0;
  return h;
}

const summary = (e: SimEvent): string => {
  switch (e.type) {
    case 'order-inserted':
    case 'order-updated':
    case 'order-deleted':
      return `${e.type} ${e.order.accountId} ${e.order.status} ${e.order.filled.toFixed()}`;
    case 'fill':
      return `fill ${e.fill.accountId} ${e.fill.maker ? 'maker' : 'taker'} ${e.fill.quantity.toFixed()}`;
    case 'trade':
      return `trade ${e.trade.price.toFixed()} ${e.trade.quantity.toFixed()} ${e.trade.takerSide}`;
    case 'balance':
      return `balance ${e.accountId}`;
    case 'book':
      return `book ${e.changes.map((c) => `${c.side}@${c.price.toFixed()}=${c.quantity.toFixed()}`).join(' ')}`;
  }
};

describe('events', () => {
  it('a matching pass emits order, trade and fill events as they happen, then one book event, then balances', () => {
    const { engine, events } = funded();
    engine.placeOrder(limit('a', 'sell', 1000, 1));
    engine.placeOrder(limit('a', 'sell', 1001, 1));
    events.length = 0;
    engine.placeOrder(limit('b', 'buy', 1001, '1.5'));
    assert.deepEqual(events.map(summary), [
      'order-inserted b open 0',
      'trade 1000 1 buy',
      'fill a maker 1',
      'fill b taker 1',
      'order-updated a filled 1',
      'order-updated b partially_filled 1',
      'trade 1001 0.5 buy',
      'fill a maker 0.5',
      'fill b taker 0.5',
      'order-updated a partially_filled 0.5',
      'order-updated b filled 1.5',
      'book sell@1000=0 sell@1001=0.5',
      'balance b', // in the order the accounts first changed: b locked funds before anything traded
      'balance a',
      'balance __exchange__',
    ]);
    const balance = events.find((e) => e.type === 'balance' && e.accountId === 'b');
    assert.deepEqual(plain(balance), {
      type: 'balance',
      accountId: 'b',
      balances: [
        { asset: 'TRY', free: '98496.97916', locked: '0' }, // 100000 - 1001.68 - 501.34084,
        { asset: 'BTC', free: '11.5', locked: '0' },
      ],
    });
  });

  it('delivers events only after the whole change set is applied', () => {
    const { engine } = funded();
    engine.placeOrder(limit('a', 'sell', 1000, 1));
    const seen: string[] = [];
    engine.subscribe((e) => {
      if (e.type === 'order-inserted') seen.push(engine.order('b', e.order.id)?.status ?? 'missing');
    });
    engine.placeOrder(limit('b', 'buy', 1000, 1));
    assert.deepEqual(seen, ['filled']); // the event carries the state at its time; the engine is already done
  });

  it('a resting placement is one book event with the level’s new total', () => {
    const { engine, events } = funded();
    engine.placeOrder(limit('a', 'buy', 990, 1));
    events.length = 0;
    engine.placeOrder(limit('b', 'buy', 990, 2));
    assert.deepEqual(events.map(summary), ['order-inserted b open 0', 'book buy@990=3', 'balance b']);
  });

  it('stops delivering after unsubscribe', () => {
    const { engine } = funded();
    const got: SimEvent[] = [];
    const off = engine.subscribe((e) => got.push(e));
    engine.placeOrder(limit('a', 'buy', 990, 1));
    const count = got.length;
    off();
    engine.placeOrder(limit('a', 'buy', 980, 1));
    assert.ok(count > 0);
    assert.equal(got.length, count);
  });
});
