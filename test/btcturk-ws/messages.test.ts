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
      message: 'join|obdiff:BTCTRY',
    });
    assert.deepEqual(one(F.LOGIN_OK), { kind: 'login-result', ok: true, message: '' });
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
      cause: 'unreadable',
    });
    assert.deepEqual(parseFrame('{"type":431}', NOW), {
      ok: false,
      type: null,
      symbol: null,
      reason: 'the frame is not [type, {...}]',
      cause: 'unreadable',
    });
    const bad = parseFrame('[431,{"CS":5,"PS":"BTCTRY","AO":[{"A":"1","P":"12,5"}],"BO":[]}]', NOW);
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok);
    assert.equal(bad.symbol, 'BTCTRY', 'a broken book frame still names its pair, for the resync');
    assert.match(bad.reason, /AO\.0\.P: expected a price above zero such as "2900", got "12,5"/);
    assert.equal(bad.cause, 'unreadable');
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

  it('reads an obdiff change set: CP 0 replaces, CP 1 adds, CP 3 deletes though its amount is not zero', () => {
    const expected = {
      kind: 'book-diff',
      symbol: 'BTCTRY',
      changeSet: 1044,
      asks: [{ price: '3400010', quantity: '0.25', remove: false }],
      bids: [
        { price: '3399995', quantity: '0.4', remove: false },
        { price: '3399990', quantity: '0.30000000', remove: true },
      ],
    };
    assert.deepEqual(one(F.OBDIFF), expected);
    // The simulator's old row layout still reads, through the general path, to the same change set.
    assert.deepEqual(one(F.OBDIFF_OLD_LAYOUT), expected);
  });

  it('fails a change set with CP 2 (or any kind BTCTurk does not send) as an unknown change kind', () => {
    assert.deepEqual(parseFrame(F.OBDIFF_CP2, NOW), {
      ok: false,
      type: 432,
      symbol: 'BTCTRY',
      reason:
        'BO.0.CP: unknown change kind CP 2 at price "3399980" (BTCTurk sends CP 0 amount replaced, 1 new level, 3 deleted)',
      cause: 'unknown-change-kind',
    });
    for (const cp of ['4', '-1', '7']) {
      const parsed = parseFrame(F.OBDIFF.replace('"CP":1', `"CP":${cp}`), NOW);
      assert.ok(!parsed.ok && parsed.cause === 'unknown-change-kind', cp);
      assert.match(parsed.reason, new RegExp(`CP ${cp}`));
    }
    // A CP that is not an integer at all is unreadable, not a change kind.
    const text = parseFrame(F.OBDIFF.replace('"CP":1', '"CP":"1"'), NOW);
    assert.ok(!text.ok && text.cause === 'unreadable');
  });

  it('refuses a price of zero or below and a negative amount, naming the field and the value', () => {
    const cases: [string, RegExp][] = [
      [F.OBDIFF.replace('"P":"3399995"', '"P":"0"'), /BO\.0\.P: expected a price above zero .*got "0"/],
      [F.OBDIFF.replace('"P":"3399995"', '"P":"0.000"'), /BO\.0\.P: .*got "0\.000"/],
      [F.OBDIFF.replace('"P":"3399995"', '"P":"-3399995"'), /BO\.0\.P: .*got "-3399995"/],
      [
        F.OBDIFF.replace('"A":"0.4"', '"A":"-0.4"'),
        /BO\.0\.A: expected an amount of zero or more .*got "-0\.4"/,
      ],
      [F.OBDIFF.replace('"P":"3399995"', '"P":0'), /BO\.0\.P: .*got "0"/],
      [F.OBDIFF_SNAPSHOT.replace('"P":"3399990"', '"P":"0"'), /BO\.0\.P: .*got "0"/],
      [F.OBDIFF_SNAPSHOT.replace('"A":"0.30000000"', '"A":"-0.3"'), /BO\.0\.A: .*got "-0\.3"/],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseFrame(text, NOW);
      assert.ok(!parsed.ok, text);
      assert.equal(parsed.symbol, 'BTCTRY');
      assert.equal(parsed.cause, 'unreadable');
      assert.match(parsed.reason, reason);
    }
    // A zero amount is a level to leave out (snapshot) or remove (CP 0/1): readable.
    const zero = one(F.OBDIFF.replace('"A":"0.4"', '"A":"0"'));
    assert.ok(zero.kind === 'book-diff' && zero.bids[0]?.quantity === '0' && !zero.bids[0].remove);
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
  it('reads a user trade into a fill: ids above 2^53 exact, the exact preciseAmount preferred, costs positive', () => {
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
        quantity: '0.0100000001', // preciseAmount, not the truncated amount "0.01"
        fee: '54.4',
        tax: '9.792',
        feeAsset: 'TRY',
        timestamp: 1700000000456,
      },
    });
    const sell = one(F.USER_TRADE_SELL);
    assert.ok(sell.kind === 'fill');
    assert.equal(sell.fill.side, 'sell');
    assert.equal(sell.fill.quantity.toFixed(), '0.02', 'a sell amount is signed negative on the wire');
    assert.equal(sell.fill.fee.toFixed(), '108.8');
    // Without preciseAmount, the amount.
    const noPrecise = one(F.USER_TRADE.replace(',"preciseAmount":0.0100000001', ''));
    assert.ok(noPrecise.kind === 'fill' && noPrecise.fill.quantity.toFixed() === '0.01');
  });

  it('keeps a preciseAmount beyond a double exact', () => {
    const parsed = one(
      F.USER_TRADE.replace('"preciseAmount":0.0100000001', '"preciseAmount":0.01000000010000000001'),
    );
    assert.ok(parsed.kind === 'fill');
    assert.equal(parsed.fill.quantity.toFixed(), '0.01000000010000000001');
  });

  it('refuses a fill whose amount contradicts its side, rather than flipping the sign', () => {
    const cases: [string, RegExp][] = [
      [F.USER_TRADE_SELL.replace('"amount":"-0.02"', '"amount":"0.02"'), /amount: 0\.02 on a sell fill/],
      [
        F.USER_TRADE_SELL.replace('"preciseAmount":-0.02', '"preciseAmount":0.02'),
        /preciseAmount: 0\.02 on a sell/,
      ],
      [F.USER_TRADE.replace('"amount":"0.01"', '"amount":"-0.01"'), /amount: -0\.01 on a buy fill/],
      [
        F.USER_TRADE.replace('"preciseAmount":0.0100000001', '"preciseAmount":-0.0100000001'),
        /preciseAmount/,
      ],
      [
        F.USER_TRADE.replace('"amount":"0.01"', '"amount":"0"').replace(',"preciseAmount":0.0100000001', ''),
        /zero/,
      ],
      [
        F.USER_TRADE.replace('"price":"3400000"', '"price":"0"'),
        /price: expected a decimal above zero, got "0"/,
      ],
    ];
    for (const [text, reason] of cases) {
      const parsed = parseFrame(text, NOW);
      assert.ok(!parsed.ok, text);
      assert.equal(parsed.cause, 'unreadable');
      assert.match(parsed.reason, reason);
    }
  });

  it('reads an order match: id is the order id, pair the pair id, timestamp a string or absent', () => {
    assert.deepEqual(plain(one(F.ORDER_MATCH)), {
      kind: 'order-match',
      exchangeOrderId: '9007199254740993',
      clientOrderId: 'bb-7f3a-1',
      symbol: 'BTCTRY',
      pairId: 1,
      side: 'buy',
      price: '3400000',
      quantity: '0.01',
      timestamp: 1700000000456,
    });
    const bare = plain(
      one(
        F.ORDER_MATCH.replace(',"symbol":"BTCTRY"', '')
          .replace(',"clientId":"bb-7f3a-1"', '')
          .replace(',"timestamp":"1700000000456"', ''),
      ),
    ) as Record<string, unknown>;
    assert.equal(bare.symbol, null, 'a pair id without a name: the order id resolves it');
    assert.equal(bare.pairId, 1);
    assert.equal(bare.clientOrderId, null);
    assert.equal(bare.timestamp, null);
    const nameless = parseFrame(
      F.ORDER_MATCH.replace(',"symbol":"BTCTRY"', '').replace(',"pair":1', ''),
      NOW,
    );
    assert.ok(!nameless.ok && /neither "symbol" nor "pair"/.test(nameless.reason));
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

  it('reads private events without a client id (orders placed by hand)', () => {
    const insert = one(F.ORDER_INSERT.replace(',"newOrderClientId":"bb-7f3a-1"', ''));
    assert.ok(insert.kind === 'order' && insert.clientOrderId === null);
    const fill = one(F.USER_TRADE.replace(',"orderClientId":"bb-7f3a-1"', ''));
    assert.ok(fill.kind === 'fill' && fill.fill.clientOrderId === null);
    const match = one(F.ORDER_MATCH.replace(',"clientId":"bb-7f3a-1"', ''));
    assert.ok(match.kind === 'order-match' && match.clientOrderId === null);
  });

  it('ignores order events for order id 0 (seen on a socket that never logged in)', () => {
    const zeroed =
      '[451,{"type":451,"pairId":0,"symbol":"BTCTRY","id":0,"method":0,"userId":0,"orderType":0,"price":"0",' +
      '"amount":"0","numLeft":"0.00","denomLeft":"0","newOrderClientId":null}]';
    assert.deepEqual(parseFrame(zeroed, NOW), { ok: true, messages: [] });
    assert.deepEqual(parseFrame(F.ORDER_MATCH.replace('"id":9007199254740993', '"id":0'), NOW), {
      ok: true,
      messages: [],
    });
  });

  it('refuses negative order amounts', () => {
    const parsed = parseFrame(F.ORDER_INSERT.replace('"numLeft":"0.05000000"', '"numLeft":"-0.05"'), NOW);
    assert.ok(!parsed.ok);
    assert.match(parsed.reason, /numLeft: expected a decimal of zero or more, got "-0\.05"/);
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

describe('frame parsing: hostile input', () => {
  it('answers a member nested 7,000 arrays deep with events or a typed failure, never a throw', () => {
    const deep = `${'['.repeat(7000)}${']'.repeat(7000)}`;
    const book = F.OBDIFF.replace(',"channel"', `,"x":${deep},"channel"`);
    const read = parseFrame(book, NOW);
    assert.ok(read.ok && read.messages[0]?.kind === 'book-diff', 'an extra member is skipped, however deep');
    const user = F.USER_TRADE.replace('"orderId"', `"x":${deep},"orderId"`);
    const refused = parseFrame(user, NOW);
    assert.ok(!refused.ok);
    assert.equal(refused.cause, 'unreadable');
    assert.match(refused.reason, /nests deeper than/);
  });

  it('keeps a failure short however long the value it names', () => {
    const parsed = parseFrame(F.OBDIFF.replace('"P":"3399995"', `"P":"${'x'.repeat(100_000)}"`), NOW);
    assert.ok(!parsed.ok);
    assert.ok(parsed.reason.length < 400, `${parsed.reason.length} characters`);
  });
});
