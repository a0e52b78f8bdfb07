import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyReply } from '../../src/btcturk/common/errors.ts';
import { parseJsonLossless } from '../../src/btcturk/common/json.ts';
import {
  ReplyShapeError,
  parseBalances,
  parseExchangeInfo,
  parseFills,
  parseOpenOrders,
  parseOrderAck,
  parseOrderBook,
  parseOrderHistory,
  parseServerTime,
  parseSingleOrder,
  parseTickers,
  parseTrades,
} from '../../src/btcturk/http/models.ts';
import { Dec, decText } from '../../src/domain/decimal.ts';
import type { Decimal } from 'decimal.js';
import { fixture } from './helpers.ts';

/** The `data` of a fixture, read the way the client reads a reply. */
function dataOf(name: string, bareBody = false): unknown {
  const classified = classifyReply(
    { status: 200, retryAfter: undefined, text: fixture(name) },
    { operation: 'GET test', effect: 'read', secrets: [], bareBody },
    { serverNow: 0, fallbackMs: 60_000 },
  );
  assert.ok(classified.ok);
  return classified.data;
}

const text = (value: Decimal | null | undefined) => (value ? decText(value) : value);

describe('lossless JSON', () => {
  it('keeps integers above 2^53 exact and leaves ordinary numbers as numbers', () => {
    const body = parseJsonLossless(
      '{"id":1181163798924649598,"n":9007199254740993,"t":1700000000123,"p":0.5}',
    );
    assert.deepEqual(body, { id: '1181163798924649598', n: '9007199254740993', t: 1700000000123, p: 0.5 });
  });
});

describe('exchange info', () => {
  const { info, skipped } = parseExchangeInfo(dataOf('exchangeinfo'));

  it('reads rows with integer scales and rows with numeric-string scales', () => {
    const btc = info.symbols.find((s) => s.symbol === 'BTCTRY');
    const eth = info.symbols.find((s) => s.symbol === 'ETHTRY');
    assert.ok(btc && eth);
    assert.equal(btc.quantityScale, 8);
    assert.equal(btc.priceScale, 0);
    assert.equal(eth.quantityScale, 8);
    assert.equal(eth.priceScale, 2);
    assert.equal(btc.base, 'BTC');
    assert.equal(btc.quote, 'TRY');
    assert.equal(btc.status, 'TRADING');
    assert.deepEqual(btc.orderMethods, ['market', 'limit', 'stopmarket', 'stoplimit']);
    assert.deepEqual(eth.orderMethods, ['market', 'limit']);
    assert.equal(info.serverTime, 1700000000456);
  });

  it('takes tick, minimum value and price bounds from PRICE_FILTER, and the tighter of filter and row bounds', () => {
    const btc = info.symbols.find((s) => s.symbol === 'BTCTRY');
    assert.ok(btc);
    assert.equal(text(btc.tickSize), '1');
    assert.equal(text(btc.minExchangeValue), '99.91');
    assert.equal(text(btc.minPrice), '350000'); // row's minimumLimitOrderPrice beats the filter's 1e-13
    assert.equal(text(btc.maxPrice), '35000000'); // row's maximumLimitOrderPrice beats the filter's 1e10
  });

  it('lets no explicit null erase a rule stated elsewhere', () => {
    const eth = info.symbols.find((s) => s.symbol === 'ETHTRY');
    assert.ok(eth);
    // minimumLimitOrderPrice: null and maximumLimitOrderPrice: null leave the filter's bounds.
    assert.equal(text(eth.minPrice), '0.01');
    assert.equal(text(eth.maxPrice), '1000000');
    assert.equal(text(eth.tickSize), '0.01');
    // minAmount/maxAmount: null state nothing; no bound is invented.
    assert.equal(eth.minQuantity, null);
    assert.equal(eth.maxQuantity, null);
  });

  it('skips an unreadable pair and says which and why, keeping the others', () => {
    assert.equal(info.symbols.length, 2);
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]?.name, 'NEWTRY');
    assert.match(skipped[0].problem, /numeratorScale/);
  });
});

describe('server time', () => {
  it('reads serverTime bare or wrapped in the envelope', () => {
    assert.equal(parseServerTime(dataOf('server-time-bare', true)), 1700000000456);
    assert.equal(parseServerTime(dataOf('server-time-wrapped')), 1700000000456);
  });
});

describe('market data', () => {
  it('reads the order book best first with decimal levels', () => {
    const book = parseOrderBook(dataOf('orderbook'), 'BTCTRY');
    assert.equal(book.timestamp, 1700000000123);
    assert.deepEqual(
      book.bids.map((l) => text(l.price)),
      ['3450000', '3449990', '3449000'],
    );
    assert.deepEqual(
      book.asks.map((l) => text(l.price)),
      ['3450050', '3450100'],
    );
    assert.equal(text(book.bids[0]?.quantity), '0.053');
  });

  it('reads tickers sent as numbers or strings, keyed by `pair`, skipping a pair without prices', () => {
    const { tickers, skipped } = parseTickers(dataOf('ticker'));
    assert.deepEqual(
      tickers.map((t) => [t.symbol, text(t.last), text(t.bid), text(t.volume)]),
      [
        ['BTCTRY', '3450050', '3450000', '312.43958121'],
        ['USDTTRY', '40.123', '40.12', '1203344.12'],
      ],
    );
    assert.deepEqual(
      skipped.map((s) => s.name),
      ['NEWTRY'],
    );
  });

  it('keeps public trade ids exact, whether sent as strings or as numbers above 2^53', () => {
    const trades = parseTrades(dataOf('trades'), 'BTCTRY');
    assert.deepEqual(
      trades.map((t) => [t.tradeId, t.side, text(t.quantity)]),
      [
        ['1181163798924649601', 'buy', '0.0012'],
        ['1181163798924649599', 'sell', '0.01'],
      ],
    );
  });
});

describe('account data', () => {
  it('reads balances, numbers and strings alike', () => {
    const balances = parseBalances(dataOf('balances'));
    assert.deepEqual(
      balances.map((b) => [b.asset, text(b.total), text(b.free), text(b.locked)]),
      [
        ['TRY', '1000000.5', '994825.5', '5175'],
        ['BTC', '2', '1.9985', '0.0015'],
        ['ETH', '0', '0', '0'],
      ],
    );
  });

  it('reads open orders: `time: 0` is unknown, Partial is partially filled', () => {
    const orders = parseOpenOrders(dataOf('open-orders'));
    const sell = orders.find((o) => o.exchangeOrderId === '21469236282');
    const buy = orders.find((o) => o.exchangeOrderId === '21469236285');
    assert.ok(sell && buy);
    assert.equal(sell.createdAt, null);
    assert.equal(sell.updatedAt, 1700000001234);
    assert.equal(sell.side, 'sell');
    assert.equal(sell.status, 'open');
    assert.equal(sell.stopPrice, null);
    assert.equal(sell.clientOrderId, 'bb-1a2b3c4d');
    assert.equal(buy.status, 'partially_filled');
    assert.equal(text(buy.leftQuantity), '0.001');
    assert.equal(text(buy.quantity), '0.003');
    assert.equal(buy.createdAt, 1700000000100);
  });

  it('reads order history: lower-case pairsymbol, "Buy"/"Limit", every status, numbers for decimals', () => {
    const orders = parseOrderHistory(dataOf('all-orders'));
    assert.deepEqual(
      orders.map((o) => [o.exchangeOrderId, o.symbol, o.side, o.method, o.status]),
      [
        ['21469236270', 'BTCTRY', 'buy', 'limit', 'canceled'],
        ['21469236271', 'BTCTRY', 'sell', 'limit', 'filled'], // Closed
        ['21469236272', 'BTCTRY', 'buy', 'market', 'filled'], // Filled
        ['21469236282', 'BTCTRY', 'sell', 'limit', 'open'], // Untouched
        ['21469236285', 'BTCTRY', 'buy', 'stoplimit', 'partially_filled'],
      ],
    );
    const sell = orders[1];
    // Order rows are unsigned on the wire (btcturk-wire rest-all-orders-docs); this fixture once
    // guessed a negative sell quantity, which the reader now refuses (see rest-fuzz.test.ts).
    assert.equal(text(sell?.quantity), '0.0005'); // sent as the JSON number 0.0005
    assert.equal(text(sell?.price), '3410000'); // sent as a number
    assert.equal(orders[2]?.price, null); // a market order's price "0" is no price
    assert.equal(orders[2].clientOrderId, null); // "" is no client id
    assert.equal(text(orders[4]?.stopPrice), '3430000');
    assert.equal(orders[3]?.createdAt, null);
  });

  it('reads a single order', () => {
    const order = parseSingleOrder(dataOf('order'), '21469236270');
    assert.equal(order.status, 'canceled');
    assert.equal(text(order.leftQuantity), '0.0015');
    assert.equal(order.clientOrderId, 'bb-00000001');
  });

  it('reads an order acknowledgement', () => {
    const ack = parseOrderAck(dataOf('order-submit'), {
      symbol: 'BTCTRY',
      side: 'buy',
      method: 'limit',
      quantity: new Dec('0.0015'),
      price: new Dec('3440000'),
      clientOrderId: 'bb-7f3a9c01',
    });
    assert.deepEqual(
      { ...ack, price: text(ack.price), quantity: text(ack.quantity) },
      {
        exchangeOrderId: '21469236290',
        clientOrderId: 'bb-7f3a9c01',
        symbol: 'BTCTRY',
        side: 'buy',
        method: 'limit',
        price: '3440000',
        quantity: '0.0015',
        createdAt: 1700000003000,
      },
    );
  });

  it('reads fills: ids above 2^53 exact, sells made positive with the side kept, precise amounts', () => {
    const fills = parseFills(dataOf('fills'));
    const [sell, buy] = fills;
    assert.ok(sell && buy);
    assert.equal(sell.tradeId, '1181163798924649598');
    assert.equal(buy.tradeId, '9007199254740993');
    assert.equal(sell.exchangeOrderId, '21469236282');
    assert.equal(sell.side, 'sell');
    assert.equal(text(sell.quantity), '0.0005');
    assert.equal(text(sell.fee), '2.595');
    assert.equal(text(sell.tax), '0.4671');
    assert.equal(sell.feeAsset, 'TRY');
    assert.equal(sell.symbol, 'BTCTRY');
    assert.equal(buy.side, 'buy');
    assert.equal(text(buy.quantity), '0.0020000012'); // preciseAmount over amount
    assert.equal(text(buy.fee), '5.16');
  });

  it('refuses a fill list with an unreadable row, naming the field but not its value', () => {
    const rows = [{ ...(dataOf('fills') as Record<string, unknown>[])[0], price: 'secret-looking-value' }];
    assert.throws(
      () => parseFills(rows),
      (error: unknown) => {
        assert.ok(error instanceof ReplyShapeError);
        assert.match(error.message, /0\.price/);
        assert.ok(!error.message.includes('secret-looking-value'));
        return true;
      },
    );
  });

  it('refuses an order with a status it does not know rather than guessing', () => {
    const row = { ...(dataOf('order') as Record<string, unknown>), status: 'Frozen' };
    assert.throws(() => parseSingleOrder(row, '21469236270'), /unknown order status "Frozen"/);
  });
});

describe('values that would be silently wrong are refused, naming field and value', () => {
  const refuses = (run: () => unknown, message: RegExp) => {
    assert.throws(run, (error: unknown) => {
      assert.ok(error instanceof ReplyShapeError, String(error));
      assert.match(error.message, message);
      return true;
    });
  };
  const fills = () => structuredClone(dataOf('fills')) as Record<string, unknown>[];
  const orders = () => structuredClone(dataOf('all-orders')) as Record<string, unknown>[];

  it('no data at all is not an empty list', () => {
    refuses(() => parseOpenOrders(undefined), /the reply has no data member/);
    refuses(() => parseBalances(undefined), /no data member/);
    refuses(() => parseOpenOrders({ bids: [] }), /asks/);
    refuses(() => parseOpenOrders({}), /asks/);
  });

  it('book levels: a price of 0, a negative size, a size of 0', () => {
    refuses(
      () => parseOrderBook({ timestamp: 1, bids: [['0', '1']], asks: [] }, 'X'),
      /bids\.0\.0: must be positive, got 0/,
    );
    refuses(
      () => parseOrderBook({ timestamp: 1, bids: [], asks: [['5', '-1']] }, 'X'),
      /asks\.0\.1: must be positive, got -1/,
    );
    refuses(
      () => parseOrderBook({ timestamp: 1, bids: [['5', 0]], asks: [] }, 'X'),
      /bids\.0\.1: must be positive, got 0/,
    );
  });

  it('balances: negative refused, zero kept', () => {
    refuses(
      () => parseBalances([{ asset: 'TRY', balance: '-1', locked: '0', free: '-1' }]),
      /0\.balance: must be non-negative, got -1/,
    );
    assert.equal(parseBalances([{ asset: 'TRY', balance: 0, locked: '0', free: '0.00' }]).length, 1);
  });

  it('orders: negative quantity or price refused (not made positive); a market price "0" is no price; a limit needs one', () => {
    const negative = orders();
    Object.assign(negative[1] ?? {}, { quantity: '-0.0005', amount: '-0.0005' });
    refuses(() => parseOrderHistory(negative), /1\.amount: must be non-negative, got -0\.0005/);
    const negativePrice = orders();
    Object.assign(negativePrice[0] ?? {}, { price: '-3400000' });
    refuses(() => parseOrderHistory(negativePrice), /0\.price: must be non-negative, got -3400000/);
    const limitWithoutPrice = orders();
    Object.assign(limitWithoutPrice[0] ?? {}, { price: '0' });
    refuses(() => parseOrderHistory(limitWithoutPrice), /0\.price: a limit order needs a price, got 0/);
    const noQuantity = orders();
    Object.assign(noQuantity[0] ?? {}, { quantity: '0', amount: '0' });
    refuses(() => parseOrderHistory(noQuantity), /0\.quantity: must be positive, got 0/);
    refuses(
      () =>
        parseOrderAck(
          { id: 5, price: '-1', quantity: '-0.1' },
          { symbol: 'BTCTRY', side: 'buy', method: 'limit', quantity: new Dec('0.1'), clientOrderId: 'x' },
        ),
      /price: must be non-negative, got -1; quantity: must be positive, got -0\.1/,
    );
    refuses(() => parseSingleOrder({ ...(dataOf('order') as object), id: 0 }, '0'), /id/);
    refuses(
      () => parseSingleOrder(dataOf('order'), '999'),
      /asked for order 999, the reply is order 21469236270/,
    );
  });

  it('fills: a sign that contradicts the side is refused, never flipped; a tiny fill with amount "0" reads by preciseAmount', () => {
    const buyNegative = fills();
    Object.assign(buyNegative[1] ?? {}, { amount: '-0.002', preciseAmount: '-0.0020000012' });
    refuses(() => parseFills(buyNegative), /1\.amount: a buy is positive on BTCTurk, got -0\.002/);
    const sellPositive = fills();
    Object.assign(sellPositive[0] ?? {}, { preciseAmount: '0.0005' });
    refuses(() => parseFills(sellPositive), /opposite signs|a sell is negative/);
    const positiveFee = fills();
    Object.assign(positiveFee[0] ?? {}, { fee: '2.595' });
    refuses(() => parseFills(positiveFee), /0\.fee: must be non-positive, got 2\.595/);
    const noFee = fills();
    delete noFee[0]?.fee;
    refuses(() => parseFills(noFee), /0\.fee/);
    const nothing = fills();
    Object.assign(nothing[0] ?? {}, { amount: '0', preciseAmount: null });
    refuses(() => parseFills(nothing), /a fill of nothing/);
    const tiny = fills();
    Object.assign(tiny[0] ?? {}, { amount: '0.00000000', preciseAmount: -1e-9 });
    const [sell] = parseFills(tiny);
    assert.ok(sell);
    assert.equal(sell.side, 'sell');
    assert.equal(text(sell.quantity), '0.000000001');
  });

  it('huge numbers and times beyond a Date are refused', () => {
    refuses(
      () => parseBalances([{ asset: 'TRY', balance: '1e400', locked: '0', free: '0' }]),
      /implausibly large: 1e400/,
    );
    refuses(() => parseServerTime({ serverTime: '99999999999999999999' }), /serverTime/);
    refuses(() => parseServerTime({ serverTime: 0 }), /serverTime: must be positive/);
  });
});
