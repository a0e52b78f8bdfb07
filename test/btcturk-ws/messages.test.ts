import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFrame, type WsMessage } from '../../src/btcturk/websocket/messages.ts';
import * as F from './fixtures/frames.ts';

const NOW = 1_700_000_009_000;

function one(text: string): WsMessage {
  const parsed = parseFrame(text, NOW);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
  assert.equal(parsed.messages.length, 1);
  const [message] = parsed.messages;
  assert.ok(message);
  return message;
}

/** Decimals compared by value, shown as text. */
function plain(value: unknown): unknown {
  if (value && typeof value === 'object' && 'toFixed' in value && 'isZero' in value)
    return (value as { toFixed(): string }).toFixed();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

describe('frame parsing: control frames', () => {
  it('reads the welcome, subscription results and the login result', () => {
    assert.deepEqual(one(F.WELCOME), { kind: 'welcome' });
    assert.deepEqual(one(F.JOIN_OK), {
      kind: 'subscription-result',
      ok: true,
      message: 'join|obdiff:BTCTRY',
    });
    assert.deepEqual(one(F.JOIN_REFUSED), {
      kind: 'subscription-result',
      ok: false,
      message: 'unknown channel or pair: obdiff:NOPETRY',
    });
    assert.deepEqual(one(F.LOGIN_OK), { kind: 'login-result', ok: true, message: 'success' });
  });

  it('ignores unknown frame types', () => {
    assert.deepEqual(parseFrame('[999,{"type":999,"whatever":[1,2]}]', NOW), { ok: true, messages: [] });
  });

  it('names what is wrong with a frame it cannot read', () => {
    assert.deepEqual(parseFrame('not json', NOW), {
      ok: false,
      type: null,
      symbol: null,
      reason: 'the frame is not JSON',
    });
    assert.deepEqual(parseFrame('{"type":431}', NOW), {
      ok: false,
      type: null,
      symbol: null,
      reason: 'the frame is not [type, {...}]',
    });
    const bad = parseFrame('[431,{"CS":5,"PS":"BTCTRY","AO":[{"A":"1","P":"12,5"}],"BO":[]}]', NOW);
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok);
    assert.equal(bad.symbol, 'BTCTRY', 'a broken book frame still names its pair, for the resync');
    assert.match(bad.reason, /AO\.0\.P: expected a plain decimal/);
  });
});

describe('frame parsing: market data', () => {
  it('reads a periodic full book and an obdiff snapshot', () => {
    assert.deepEqual(one(F.ORDER_BOOK), {
      kind: 'book-snapshot',
      symbol: 'BTCTRY',
      changeSet: 1043,
      periodic: true,
      bids: [{ price: '3399990', quantity: '0.30000000' }],
      asks: [
        { price: '3400010', quantity: '0.12000000' },
        { price: '3400050', quantity: '1.50000000' },
      ],
    });
    const snapshot = one(F.OBDIFF_SNAPSHOT);
    assert.ok(snapshot.kind === 'book-snapshot');
    assert.equal(snapshot.periodic, false);
  });

  it('reads an obdiff change set: CP 2 removes, other kinds set the new total', () => {
    assert.deepEqual(one(F.OBDIFF), {
      kind: 'book-diff',
      symbol: 'BTCTRY',
      changeSet: 1044,
      asks: [{ price: '3400020', quantity: '0.25000000', remove: false }],
      bids: [
        { price: '3399990', quantity: '0.40000000', remove: false },
        { price: '3399980', quantity: '0', remove: true },
      ],
    });
  });

  it('reads tickers, one pair or all, with decimals as strings or numbers', () => {
    assert.deepEqual(plain(one(F.TICKER)), {
      kind: 'ticker',
      ticker: {
        symbol: 'BTCTRY',
        timestamp: NOW,
        last: '3400000',
        bid: '3399990',
        ask: '3400010',
        high: '3450000',
        low: '3300000',
        open: '3350000',
        volume: '152.3125',
      },
    });
    const all = parseFrame(F.TICKER_ALL, NOW);
    assert.ok(all.ok);
    assert.deepEqual(
      all.messages.map((m) =>
        m.kind === 'ticker' ? `${m.ticker.symbol} ${m.ticker.volume.toFixed()}` : m.kind,
      ),
      ['BTCTRY 152.3125', 'ETHTRY 900.5'],
    );
  });

  it('reads a public trade and the recent-trade list', () => {
    assert.deepEqual(plain(one(F.TRADE)), {
      kind: 'trade',
      trade: {
        tradeId: '100000000000012345',
        symbol: 'BTCTRY',
        price: '3400000',
        quantity: '0.015',
        side: 'sell',
        timestamp: 1700000000123,
      },
    });
    const list = one(F.TRADE_LIST);
    assert.ok(list.kind === 'trades');
    assert.equal(list.trades[0]?.side, 'buy');
  });
});

describe('frame parsing: the private user stream', () => {
  it('reads a user trade into a fill, keeping ids above 2^53 exact and costs positive', () => {
    assert.deepEqual(plain(one(F.USER_TRADE)), {
      kind: 'fill',
      fill: {
        tradeId: '1181163798924649598',
        exchangeOrderId: '9007199254740993',
        clientOrderId: 'bb-7f3a-1',
        symbol: 'BTCTRY',
        base: 'BTC',
        quote: 'TRY',
        side: 'buy',
        price: '3400000',
        quantity: '0.01',
        fee: '54.4',
        tax: '9.792',
        feeAsset: 'TRY',
        timestamp: 1700000000456,
      },
    });
  });

  it('reads an order match', () => {
    assert.deepEqual(plain(one(F.ORDER_MATCH)), {
      kind: 'order-match',
      exchangeOrderId: '9007199254740993',
      clientOrderId: 'bb-7f3a-1',
      symbol: 'BTCTRY',
      side: 'buy',
      price: '3400000',
      quantity: '0.01',
      timestamp: 1700000000456,
    });
  });

  it('reads order insert, update and delete events', () => {
    assert.deepEqual(plain(one(F.ORDER_INSERT)), {
      kind: 'order',
      change: 'inserted',
      exchangeOrderId: '9007199254740993',
      clientOrderId: 'bb-7f3a-1',
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      price: '3400000',
      quantity: '0.05',
      leftQuantity: '0.05',
    });
    const update = plain(one(F.ORDER_UPDATE)) as Record<string, unknown>;
    assert.equal(update.change, 'updated');
    assert.equal(update.leftQuantity, '0.04');
    assert.deepEqual(plain(one(F.ORDER_DELETE)), {
      kind: 'order',
      change: 'deleted',
      exchangeOrderId: '9007199254740994',
      clientOrderId: null,
      symbol: 'BTCTRY',
      side: 'sell',
      method: 'market',
      price: null,
      quantity: '1000',
      leftQuantity: '0',
    });
  });

  it('reads a balance update', () => {
    assert.deepEqual(plain(one(F.BALANCES)), {
      kind: 'balances',
      balances: [{ asset: 'TRY', total: '1000000', free: '830000', locked: '170000' }],
    });
  });

  it('refuses a fill without an order id rather than guessing', () => {
    const parsed = parseFrame(F.USER_TRADE.replace('"orderId":9007199254740993,', ''), NOW);
    assert.ok(!parsed.ok);
    assert.match(parsed.reason, /orderId/);
  });
});
