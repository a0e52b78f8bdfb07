import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import type { BalanceReport, PublicTrade } from '../../src/domain/reports.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import { DryRunExchange, dryRunStartingBalances } from '../../src/engine/dry-run-exchange.ts';
import { holdingsAfterFills } from '../../src/engine/portfolio.ts';
import type { Exchange } from '../../src/ports/exchange.ts';
import type { UserStreamEvent } from '../../src/ports/user-stream.ts';
import { steppingClock } from '../oms/fakes.ts';
import { btcRules, FakeMarket } from './engine-fakes.ts';

// Dry-run mode's exchange: orders rest and fill in the process against the real market's book and
// trades; nothing private reaches the real exchange.

function rig(options: { balances?: Record<string, string>; rules?: SymbolRules } = {}) {
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
    rules: new Map([['BTCTRY', options.rules ?? btcRules()]]),
    balances:
      options.balances &&
      new Map(Object.entries(options.balances).map(([asset, amount]) => [asset, new Dec(amount)])),
    clock: steppingClock(),
  });
  const events: UserStreamEvent[] = [];
  exchange.onUserEvent((event) => events.push(event));
  return { market, exchange, events, privateCalls };
}

const trade = (price: string, quantity: string): PublicTrade => ({
  tradeId: '1',
  symbol: 'BTCTRY',
  price: new Dec(price),
  quantity: new Dec(quantity),
  side: 'sell',
  timestamp: 1,
});

const level = (price: string, quantity: string) => ({ price: new Dec(price), quantity: new Dec(quantity) });

const order = (side: 'buy' | 'sell', quantity: string, price: string, id: string): OrderRequest => ({
  symbol: 'BTCTRY',
  side,
  method: 'limit',
  quantity: new Dec(quantity),
  price: new Dec(price),
  clientOrderId: id,
});

/** The refusal as `reason code venueMessage`: the reason is what the execution core reads. */
async function rejection(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    assert.ok(isExchangeError(error, 'rejected'), String(error));
    return `${error.reason ?? 'no reason'} ${String(error.code)} ${error.venueMessage ?? ''}`;
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
        // Placed and filled in one change set: one balance update after both.
        'order inserted 0.005',
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
    assert.equal(
      await rejection(exchange.cancelOrder(ack.exchangeOrderId)),
      'order-closed 0 ORDER_COULD_NOT_BE_CANCELED',
    );
    assert.equal(
      await rejection(exchange.cancelOrder('42')),
      'order-not-found 0 NO_ORDER_MATCHES_YOUR_REQUEST',
    );
    assert.equal(await rejection(exchange.order('42')), 'order-not-found 1152 Order not found');
    assert.equal(
      await rejection(exchange.submitOrder(order('buy', '1', '3400000', 'bb-2'))),
      'insufficient-balance 0 BALANCE_NOT_ENOUGH',
    );
    assert.equal(
      await rejection(exchange.submitOrder(order('sell', '0.01', '3400000', 'bb-3'))),
      'insufficient-balance 0 BALANCE_NOT_ENOUGH',
    );
    assert.equal(
      await rejection(exchange.submitOrder(order('buy', '0.00001', '3400000', 'bb-4'))),
      'invalid-order 1123 FAILED_MIN_TOTAL_AMOUNT',
    );
    assert.equal(
      await rejection(
        exchange.submitOrder({ ...order('buy', '0.01', '3400000', 'bb-5'), symbol: 'DOGETRY' }),
      ),
      'unknown-symbol 0 FAILED_ORDER_PARAMETER',
    );
    assert.equal(
      await rejection(exchange.submitOrder(order('buy', '0.01', '3400000.5', 'bb-6'))),
      'invalid-order 1126 FAILED_INVALID_PRICE_SCALE',
    );
    assert.equal(
      await rejection(exchange.submitOrder({ ...order('buy', '0.01', '3400000', 'bb-7'), method: 'market' })),
      'invalid-order 0 FAILED_ORDER_PARAMETER',
      'a market buy is sized by the quote it spends',
    );
    assert.deepEqual(privateCalls, []);
  });

  it('a real trade fills the resting orders it went through, at their own prices, for at most its quantity in all', async () => {
    const { market, exchange } = rig();
    market.setTop('BTCTRY', '3450000', '3500000');
    const a = await exchange.submitOrder(order('buy', '0.01', '3440000', 'bb-1'));
    const b = await exchange.submitOrder(order('buy', '0.01', '3430000', 'bb-2'));
    const c = await exchange.submitOrder(order('buy', '0.01', '3420000', 'bb-3'));
    market.emit('trade', trade('3430000', '0.015'));
    const left = async (id: string) => {
      const report = await exchange.order(id);
      return `${report.status} ${report.leftQuantity?.toFixed() ?? '?'}`;
    };
    assert.deepEqual(
      [await left(a.exchangeOrderId), await left(b.exchangeOrderId), await left(c.exchangeOrderId)],
      ['filled 0', 'partially_filled 0.005', 'open 0.01'],
      'best price first, the trade quantity shared, the order below the print untouched',
    );
    assert.deepEqual(
      (await exchange.fills({ symbol: 'BTCTRY' })).map((f) => [f.price.toFixed(), f.quantity.toFixed()]),
      [
        ['3440000', '0.01'],
        ['3430000', '0.005'],
      ],
    );
    // The mirrored touch is back after the print: a sell crossing it takes the real best bid (and
    // only that quantity is the market's; our own bids below it are not reached here).
    await exchange.submitOrder(order('sell', '0.001', '3400000', 'bb-4'));
    const last = (await exchange.fills({ symbol: 'BTCTRY' })).at(-1);
    assert.deepEqual([last?.clientOrderId, last?.price.toFixed()], ['bb-4', '3450000']);
    assert.deepEqual(
      (await exchange.openOrders('BTCTRY')).map((o) => o.clientOrderId),
      ['bb-2', 'bb-3'],
      'only our orders are ever visible: the mirrored market is not',
    );
  });

  it('a resting sell fills as the real best bid rises to it; market orders take the real touch', async () => {
    const { market, exchange } = rig({ balances: { BTC: '1' } });
    market.setTop('BTCTRY', '3450000', '3500000');
    const rest = await exchange.submitOrder(order('sell', '0.1', '3600000', 'bb-1'));
    const top = market.setTop('BTCTRY', '3610000', '3620000');
    market.emit('top', { ...top, bid: level('3610000', '0.03') });
    const report = await exchange.order(rest.exchangeOrderId);
    assert.deepEqual([report.status, report.leftQuantity?.toFixed()], ['partially_filled', '0.07']);

    // The real bid falls back; a market sell takes it (the whole touch shown is its to take).
    market.setTop('BTCTRY', '3590000', '3620000');
    const market1 = await exchange.submitOrder({
      symbol: 'BTCTRY',
      side: 'sell',
      method: 'market',
      quantity: new Dec('0.02'),
      clientOrderId: 'bb-2',
    });
    assert.equal((await exchange.order(market1.exchangeOrderId)).status, 'filled');
    const fills = await exchange.fills({ symbol: 'BTCTRY' });
    assert.deepEqual(
      fills.map((f) => [f.clientOrderId, f.price.toFixed(), f.quantity.toFixed(), f.fee.toFixed()]),
      [
        ['bb-1', '3600000', '0.03', '86.4'], // maker 0.08% of 108,000
        ['bb-2', '3590000', '0.02', '114.88'], // taker 0.16% of 71,800
      ],
    );
    const balances = new Map((await exchange.balances()).map((b) => [b.asset, b] as const));
    assert.equal(balances.get('BTC')?.total.toFixed(), '0.95');
    assert.equal(balances.get('BTC')?.locked.toFixed(), '0.07', 'the resting sell holds what is left of it');
    assert.equal(
      balances.get('TRY')?.total.toFixed(),
      new Dec('108000').sub('86.4').sub('4.32').add('71800').sub('114.88').sub('5.744').toFixed(),
    );
  });

  it('a stop order triggers on the real tape and then trades against the real touch', async () => {
    const rules: SymbolRules = {
      ...btcRules(),
      orderMethods: ['limit', 'market', 'stoplimit', 'stopmarket'],
    };
    const { market, exchange } = rig({ balances: { BTC: '1' }, rules });
    market.setTop('BTCTRY', '3450000', '3460000');
    const stop = await exchange.submitOrder({
      ...order('sell', '0.01', '3390000', 'bb-1'),
      method: 'stoplimit',
      stopPrice: new Dec('3400000'),
    });
    market.emit('trade', trade('3410000', '0.5'));
    assert.equal((await exchange.fills({})).length, 0, 'the stop is not reached yet');
    const top = market.setTop('BTCTRY', '3395000', '3405000');
    market.emit('top', top);
    market.emit('trade', trade('3400000', '0.5'));
    const report = await exchange.order(stop.exchangeOrderId);
    assert.equal(report.status, 'filled');
    assert.deepEqual(
      (await exchange.fills({})).map((f) => [f.price.toFixed(), f.quantity.toFixed()]),
      [['3395000', '0.01']],
      'triggered at the print, the limit sell took the real best bid',
    );
  });

  it('mirrors a pair only while one of our orders is open there; the next order brings the core up to date', async () => {
    const { market, exchange } = rig({ balances: { TRY: '1000000', BTC: '1' } });
    // No order of ours: the real book and tape come and go, the last print is remembered.
    market.emit('top', market.setTop('BTCTRY', '3450000', '3500000'));
    market.emit('trade', trade('3480000', '0.1'));
    market.emit('trade', trade('3000000', '0.1'));
    // The core knows the last print once an order is placed: under a tenth of it is refused.
    assert.equal(
      await rejection(exchange.submitOrder(order('sell', '0.01', '299999', 'bb-1'))),
      'invalid-order 0 ORDER_MIN_PRICE_EXCEEDED',
    );
    // A buy rests, is canceled, and another rests: the real market is mirrored again for it.
    const first = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-2'));
    await exchange.cancelOrder(first.exchangeOrderId);
    market.emit('top', market.setTop('BTCTRY', '3300000', '3350000'));
    assert.equal((await exchange.fills({})).length, 0, 'a canceled order does not fill');
    market.emit('top', market.setTop('BTCTRY', '3450000', '3500000'));
    const second = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-3'));
    market.emit('top', market.setTop('BTCTRY', '3380000', '3390000'));
    assert.equal((await exchange.order(second.exchangeOrderId)).status, 'filled');
    // It filled: nothing open, so the next book changes are not mirrored; a later buy still takes
    // the real touch as it is when placed.
    market.emit('top', market.setTop('BTCTRY', '3350000', '3360000'));
    market.setTop('BTCTRY', '3340000', '3345000');
    await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-4'));
    assert.deepEqual(
      (await exchange.fills({})).map((f) => [f.clientOrderId, f.price.toFixed()]),
      [
        ['bb-3', '3400000'],
        ['bb-4', '3345000'],
      ],
    );
  });

  it('asks for a pair’s trades from its first open order of ours to the end of its last', async () => {
    class FollowingMarket extends FakeMarket {
      readonly follows: string[] = [];
      followTrades(symbol: string, on: boolean): void {
        this.follows.push(`${symbol} ${on ? 'on' : 'off'}`);
      }
    }
    const market = new FollowingMarket();
    const exchange = new DryRunExchange({
      exchange: {} as Exchange,
      market,
      rules: new Map([['BTCTRY', btcRules()]]),
      balances: new Map([['TRY', new Dec('1000000')]]),
      clock: steppingClock(),
    });
    market.setTop('BTCTRY', '3450000', '3500000');
    const first = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-1'));
    const second = await exchange.submitOrder(order('buy', '0.01', '3300000', 'bb-2'));
    assert.deepEqual(market.follows, ['BTCTRY on']);
    await exchange.cancelOrder(first.exchangeOrderId);
    assert.deepEqual(market.follows, ['BTCTRY on'], 'one order is still open');
    await exchange.cancelOrder(second.exchangeOrderId);
    assert.deepEqual(market.follows, ['BTCTRY on', 'BTCTRY off']);
    // Placed and filled at once (it crosses the real ask): followed for that moment only.
    await exchange.submitOrder(order('buy', '0.001', '3500000', 'bb-3'));
    assert.deepEqual(market.follows, ['BTCTRY on', 'BTCTRY off', 'BTCTRY on', 'BTCTRY off']);
  });

  it('with no real book a market order is refused as market-unavailable, a limit order rests, and our own orders meet', async () => {
    const { exchange } = rig({ balances: { TRY: '1000000', BTC: '1' } });
    const marketSell = (id: string): OrderRequest => ({
      symbol: 'BTCTRY',
      side: 'sell',
      method: 'market',
      quantity: new Dec('0.004'),
      clientOrderId: id,
    });
    assert.equal(
      await rejection(exchange.submitOrder(marketSell('bb-1'))),
      'market-unavailable 1118 FAILED_MARKET_ORDER',
    );
    const rest = await exchange.submitOrder(order('buy', '0.01', '3400000', 'bb-2'));
    assert.equal((await exchange.order(rest.exchangeOrderId)).status, 'open');
    // Our own resting buy is on the book: a sell of ours meets it, as it would on the exchange,
    // and the one trade is booked once per side (fill identity is trade id and order id).
    await exchange.submitOrder(marketSell('bb-3'));
    const fills = await exchange.fills({ symbol: 'BTCTRY' });
    assert.deepEqual(
      fills.map((f) => [f.clientOrderId, f.side, f.quantity.toFixed()]),
      [
        ['bb-2', 'buy', '0.004'],
        ['bb-3', 'sell', '0.004'],
      ],
    );
    assert.equal(fills[0]?.tradeId, fills[1]?.tradeId);
  });
});

describe('dry-run starting balances', () => {
  const rules = new Map([
    ['BTCTRY', btcRules()],
    ['ETHTRY', btcRules('ETHTRY', 'ETH')],
    ['BTCUSDT', { ...btcRules('BTCUSDT'), quote: 'USDT' }],
  ]);
  const report = (asset: string, free: string, locked = '0'): BalanceReport => ({
    asset,
    free: new Dec(free),
    locked: new Dec(locked),
    total: new Dec(free).add(locked),
  });
  const text = (balances: ReadonlyMap<string, Dec>) =>
    [...balances].map(([asset, amount]) => `${asset}=${amount.toFixed()}`).join(',');

  it('takes the given ones first, without reading the account', async () => {
    let read = 0;
    const start = await dryRunStartingBalances({
      given: new Map([
        ['TRY', new Dec('100000')],
        ['BTC', new Dec('0.5')],
      ]),
      setting: '--dry-run-balances',
      account: () => {
        read += 1;
        return Promise.resolve([]);
      },
      rules,
    });
    assert.deepEqual([start.source, text(start.balances), read], ['flag', 'TRY=100000,BTC=0.5', 0]);
    assert.match(start.description, /from --dry-run-balances: TRY=100000,BTC=0\.5$/);
  });

  it("reads the account's free balances when keys are at hand", async () => {
    const start = await dryRunStartingBalances({
      given: null,
      account: () =>
        Promise.resolve([report('TRY', '2500.5', '100'), report('BTC', '0.25'), report('ETH', '0')]),
      rules,
    });
    assert.deepEqual([start.source, text(start.balances)], ['account', 'TRY=2500.5,BTC=0.25']);
    assert.match(start.description, /account's free balances/);
  });

  it('says what to do when the account cannot be read', async () => {
    await assert.rejects(
      dryRunStartingBalances({
        given: null,
        account: () => Promise.reject(new Error('401 unauthorized')),
        rules,
      }),
      /could not read the account's balances .*401 unauthorized.*--dry-run-balances/,
    );
  });

  it('falls back to 1,000,000 of each quote currency', async () => {
    const start = await dryRunStartingBalances({ given: null, account: null, rules });
    assert.deepEqual([start.source, text(start.balances)], ['default', 'TRY=1000000,USDT=1000000']);
  });

  it('starts the exchange with them', async () => {
    const { exchange } = rig({ balances: { TRY: '5000', BTC: '0.5' } });
    assert.deepEqual(
      (await exchange.balances()).map((b) => [b.asset, b.free.toFixed(), b.locked.toFixed()]),
      [
        ['TRY', '5000', '0'],
        ['BTC', '0.5', '0'],
      ],
    );
  });
});
