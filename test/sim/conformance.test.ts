import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { RunningSimulator } from '../../src/sim/index.ts';
import { loginFrame, raw, settle, simAuth, subscribeFrame, withSim, WsClient } from './helpers.ts';

// Every shape the simulator serves, checked against btcturk-api.md. The schemas are written here
// from the document, not taken from the adapter, so that drift on either side is caught.

const decimalText = z.string().regex(/^-?\d+(\.\d+)?$/);
const jsonNumber = z.number();
/** Ids arrive as bare JSON integers; big ones are quoted by `parseKeepingIds` before JSON.parse. */
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)]);
const ms = z.number().int().nonnegative();
const pair = z.string().regex(/^[A-Z]+TRY$/);
const normalized = z.string().regex(/^[A-Z]+_TRY$/);

const success = <T extends z.ZodType>(data: T) =>
  z.strictObject({ success: z.literal(true), message: z.string().nullable(), code: z.literal(0), data });
const failure = z.object({ success: z.literal(false), message: z.string().min(1), code: z.number().int() });

// §4 public endpoints
const symbolRow = z.object({
  id: z.number().int(),
  name: pair,
  nameNormalized: normalized,
  status: z.string(),
  numerator: z.string(),
  denominator: z.literal('TRY'),
  numeratorScale: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  denominatorScale: z.union([z.number().int(), z.string().regex(/^\d+$/)]),
  hasFraction: z.boolean(),
  filters: z
    .array(
      z.strictObject({
        filterType: z.literal('PRICE_FILTER'),
        minPrice: decimalText,
        maxPrice: decimalText,
        tickSize: decimalText,
        minExchangeValue: decimalText,
        minAmount: z.null(),
        maxAmount: z.null(),
      }),
    )
    .length(1),
  orderMethods: z.array(z.enum(['MARKET', 'LIMIT', 'STOP_MARKET', 'STOP_LIMIT'])).min(1),
  minimumLimitOrderPrice: jsonNumber.optional(),
  maximumLimitOrderPrice: jsonNumber.optional(),
});
const exchangeInfo = success(
  z.object({
    timeZone: z.string(),
    serverTime: ms,
    symbols: z.array(symbolRow).min(1),
    currencies: z.array(z.object({ symbol: z.string() })),
  }),
);
const serverTime = z.strictObject({ serverTime: ms, serverTime2: z.iso.datetime() });
const orderBook = success(
  z.object({
    timestamp: ms,
    bids: z.array(z.tuple([decimalText, decimalText])),
    asks: z.array(z.tuple([decimalText, decimalText])),
  }),
);
const tickerRow = z
  .object({
    pair,
    pairNormalized: normalized,
    timestamp: ms,
    last: jsonNumber,
    high: jsonNumber,
    low: jsonNumber,
    bid: jsonNumber,
    ask: jsonNumber,
    open: jsonNumber,
    volume: jsonNumber,
    average: jsonNumber,
    daily: jsonNumber,
    dailyPercent: jsonNumber,
    denominatorSymbol: z.string(),
    numeratorSymbol: z.string(),
    order: z.number().int(),
  })
  .refine((row) => !('pairSymbol' in row), 'ticker rows are keyed `pair`, not pairSymbol');
const ticker = success(z.array(tickerRow).min(1));
const trades = success(
  z.array(
    z.object({
      pair,
      date: ms,
      tid: z.string().regex(/^\d+$/),
      price: decimalText,
      amount: decimalText,
      side: z.enum(['buy', 'sell']),
    }),
  ),
);

// §5 private endpoints
const balances = success(
  z.array(
    z.object({
      asset: z.string(),
      assetname: z.string(),
      balance: decimalText,
      locked: decimalText,
      free: decimalText,
      orderFund: decimalText,
      requestFund: decimalText,
      precision: z.number().int(),
    }),
  ),
);
const orderMethod = z.enum(['limit', 'market', 'stoplimit', 'stopmarket']);
const orderAck = success(
  z.object({
    id,
    datetime: ms,
    type: z.enum(['buy', 'sell']),
    method: orderMethod,
    price: decimalText,
    stopPrice: decimalText,
    quantity: decimalText,
    pairSymbol: pair,
    pairSymbolNormalized: normalized,
    newOrderClientId: z.string().nullable(),
  }),
);
const openRow = z.object({
  id,
  price: decimalText,
  amount: decimalText,
  quantity: decimalText,
  stopPrice: decimalText,
  pairSymbol: pair,
  pairSymbolNormalized: normalized,
  type: z.enum(['buy', 'sell']),
  method: orderMethod,
  orderClientId: z.string().nullable(),
  time: ms, // can be 0
  updateTime: ms,
  status: z.enum(['Untouched', 'Partial']),
  leftAmount: decimalText,
});
const openOrders = success(z.strictObject({ asks: z.array(openRow), bids: z.array(openRow) }));
const historyStatus = z.enum(['Untouched', 'Partial', 'Canceled', 'Closed', 'Filled']);
const historyRow = z.object({
  id,
  price: decimalText,
  amount: decimalText,
  quantity: decimalText,
  stopPrice: decimalText,
  pairsymbol: pair,
  type: z.enum(['Buy', 'Sell']),
  method: z.enum(['Limit', 'Market', 'StopLimit', 'StopMarket']),
  orderClientId: z.string().nullable(),
  time: ms,
  updateTime: ms,
  status: historyStatus,
  leftAmount: decimalText,
});
const allOrders = success(z.array(historyRow));
const singleOrder = success(openRow.extend({ status: historyStatus }));
const nonPositive = decimalText.refine(
  (text) => text === '0' || text.startsWith('-'),
  'fee and tax are negative',
);
const fills = success(
  z.array(
    z.object({
      id,
      timestamp: ms,
      amount: decimalText,
      preciseAmount: jsonNumber, // the exact amount, a JSON number as in the real 423
      fee: nonPositive,
      tax: nonPositive,
      price: decimalText,
      numeratorSymbol: z.string(),
      denominatorSymbol: z.string(),
      orderType: z.enum(['buy', 'sell']),
      orderId: id,
      orderClientId: z.string().nullable(),
    }),
  ),
);
// No `data` member at all (frames.jsonl rest-cancel-ok).
const cancelAccepted = z.strictObject({
  success: z.literal(true),
  message: z.literal('SUCCESS'),
  code: z.literal(0),
});
const tooMany = z.object({
  success: z.literal(false),
  message: z.literal('TOO_MANY_REQUESTS'),
  code: z.literal(429),
  details: z.string(),
  limit: z.string().regex(/^\d+$/),
  period: z.string(),
  policy: z.string(),
});

// §8 WebSocket frames
const frameOf = <T extends z.ZodRawShape>(type: number, shape: T) =>
  z.tuple([z.literal(type), z.object({ type: z.literal(type), ...shape })]);
/** The user trade 423 has no "type" inside (frames.jsonl ws-user-trade-423). */
const bareFrameOf = <T extends z.ZodRawShape>(type: number, shape: T) =>
  z.tuple([z.literal(type), z.strictObject(shape)]);
const wsDecimal = z.union([decimalText, jsonNumber]);
const tickerShort = {
  B: wsDecimal,
  A: wsDecimal,
  BA: wsDecimal,
  AA: wsDecimal,
  PS: pair,
  H: wsDecimal,
  L: wsDecimal,
  LA: wsDecimal,
  O: wsDecimal,
  V: wsDecimal,
  AV: wsDecimal,
  D: wsDecimal,
  DP: wsDecimal,
};
/** Trade rows as the 2022 frames (frames.jsonl ws-trade-*): D and I digit strings, A/P padded. */
const tradeShort = {
  D: z.string().regex(/^\d+$/),
  I: z.string().regex(/^\d+$/),
  A: decimalText,
  P: decimalText,
  S: z.union([z.literal(0), z.literal(1)]),
};
const level = z.object({ A: decimalText, P: decimalText });
const userOrder = {
  pairId: z.number().int(),
  symbol: z.string(),
  id,
  method: z.number().int(),
  userId: z.number().int().positive(),
  orderType: z.union([z.literal(0), z.literal(1)]),
  price: decimalText,
  amount: decimalText,
  numLeft: decimalText,
  denomLeft: decimalText,
  newOrderClientId: z.string().nullable(),
};
const WS_SCHEMAS: ReadonlyMap<number, z.ZodType> = new Map<number, z.ZodType>([
  [991, frameOf(991, {})],
  [
    114,
    z.union([
      frameOf(114, { ok: z.literal(true), id: z.number().int().positive(), message: z.null() }),
      frameOf(114, {
        ok: z.literal(false),
        id: z.literal(0),
        message: z.string().startsWith('Unauthorized - '),
      }),
    ]),
  ],
  [100, frameOf(100, { ok: z.boolean(), message: z.string().regex(/^(join|leave)\|[a-z]+:[A-Za-z_0-9]+$/) })],
  [
    401,
    frameOf(401, {
      channel: z.literal('ticker'),
      event: z.literal('all'),
      items: z.array(z.object(tickerShort)).min(1),
    }),
  ],
  [402, frameOf(402, { ...tickerShort, channel: z.literal('ticker') })],
  [
    421,
    frameOf(421, {
      symbol: pair,
      channel: z.literal('trade'),
      event: pair,
      items: z.array(z.strictObject(tradeShort)).max(50),
    }),
  ],
  [422, frameOf(422, { ...tradeShort, PS: pair, channel: z.literal('trade'), event: pair })],
  [
    431,
    frameOf(431, { CS: z.number().int().nonnegative(), PS: pair, AO: z.array(level), BO: z.array(level) }),
  ],
  [
    432,
    frameOf(432, {
      CS: z.number().int().positive(),
      PS: pair,
      AO: z.array(level.extend({ CP: z.union([z.literal(0), z.literal(1), z.literal(3)]) })),
      BO: z.array(level.extend({ CP: z.union([z.literal(0), z.literal(1), z.literal(3)]) })),
    }),
  ],
  [
    423,
    bareFrameOf(423, {
      id,
      orderId: id,
      timestamp: ms,
      numeratorSymbol: z.string(),
      denominatorSymbol: z.string(),
      amount: decimalText,
      fee: nonPositive,
      tax: nonPositive,
      price: decimalText,
      orderType: z.enum(['buy', 'sell']),
      orderClientId: z.string().nullable(),
      preciseAmount: jsonNumber,
    }),
  ],
  [
    441,
    frameOf(441, {
      id,
      user: z.number().int().positive(),
      isBid: z.boolean(),
      method: z.number().int(),
      pair: z.number().int(),
      symbol: z.string(),
      amount: decimalText,
      price: decimalText,
      clientId: z.string().nullable(),
      timestamp: z.string().regex(/^\d+$/),
    }),
  ],
  [451, frameOf(451, userOrder)],
  [452, frameOf(452, userOrder)],
  [201, frameOf(201, {})],
]);

/** JSON.parse after quoting integers too long for a double, as a careful BTCTurk client must. */
function parseKeepingIds(text: string): unknown {
  return JSON.parse(text.replace(/([:[,])\s*(\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

async function check(sim: RunningSimulator, schema: z.ZodType, method: string, path: string, body?: unknown) {
  const reply = await raw(sim.restUrl, method, path, { auth: simAuth(sim), body });
  const parsed = schema.safeParse(parseKeepingIds(reply.text));
  assert.ok(
    parsed.success,
    `${method} ${path}: ${parsed.success ? '' : z.prettifyError(parsed.error)}\n${reply.text.slice(0, 400)}`,
  );
  return reply;
}

describe('conformance with btcturk-api.md', () => {
  it('serves every REST endpoint in the documented shape', async () => {
    await withSim({ seed: 21, symbols: ['BTCTRY', 'ETHTRY'] }, async (sim) => {
      for (let i = 0; i < 5; i++) sim.engine.stepMarket();
      const other = sim.openAccount({ balances: { TRY: '0', BTC: '1' } });

      await check(sim, exchangeInfo, 'GET', '/api/v2/server/exchangeinfo');
      await check(sim, serverTime, 'GET', '/api/v2/server/time');
      await check(sim, orderBook, 'GET', '/api/v2/orderbook?pairSymbol=BTCTRY&limit=5');
      await check(sim, ticker, 'GET', '/api/v2/ticker');
      await check(sim, ticker, 'GET', '/api/v2/ticker?pairSymbol=ETHTRY');
      await check(sim, trades, 'GET', '/api/v2/trades?pairSymbol=BTCTRY&last=10');
      await check(sim, balances, 'GET', '/api/v1/users/balances');

      const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
      assert.ok(bid);
      const price = bid.plus(1).toFixed();
      const order = { quantity: '0.01', price, orderMethod: 'limit', orderType: 'buy', pairSymbol: 'BTCTRY' };
      const placed = await check(sim, orderAck, 'POST', '/api/v1/order', {
        ...order,
        newOrderClientId: 'conf-1',
      });
      // The alias some clients send is honoured too.
      await check(sim, orderAck, 'POST', '/api/v1/order', {
        ...order,
        price: bid.minus(5000).toFixed(),
        newClientOrderId: 'conf-2',
      });
      await raw(sim.restUrl, 'POST', '/api/v1/order', {
        auth: other,
        body: { quantity: '0.004', price, orderMethod: 'limit', orderType: 'sell', pairSymbol: 'BTCTRY' },
      });
      await check(sim, orderAck, 'POST', '/api/v1/order', {
        quantity: '0.001',
        orderMethod: 'market',
        orderType: 'sell',
        pairSymbol: 'BTCTRY',
        newOrderClientId: 'conf-3',
      });
      const orderId = /"id":(\d+)/.exec(placed.text)?.[1];
      assert.ok(orderId);

      const open = await check(sim, openOrders, 'GET', '/api/v1/openOrders?pairSymbol=BTCTRY');
      assert.match(open.text, /"status":"Partial"/);
      assert.match(open.text, /"status":"Untouched"/);
      await check(sim, openOrders, 'GET', '/api/v1/openOrders');
      await check(sim, singleOrder, 'GET', `/api/v1/order/${orderId}`);
      await check(sim, cancelAccepted, 'DELETE', `/api/v1/order?id=${orderId}`);
      const history = await check(sim, allOrders, 'GET', '/api/v1/allOrders?pairSymbol=BTCTRY&limit=50');
      assert.match(history.text, /"pairsymbol":"BTCTRY"/);
      const userTrades = await check(sim, fills, 'GET', '/api/v1/users/transactions/trade');
      assert.match(userTrades.text, /"id":\d{19}[,}]/, 'trade ids above 2^53 are bare JSON integers');
      assert.match(userTrades.text, /"amount":"-/, 'sells are negative');
      assert.match(userTrades.text, /"orderClientId":"conf-1"/);
      await check(
        sim,
        fills,
        'GET',
        '/api/v1/users/transactions/trade?type[]=buy&symbol[]=btc&pairSymbol=BTCTRY',
      );

      await check(sim, failure, 'GET', '/api/v1/order/1');
      const unknownCancel = await check(sim, failure, 'DELETE', '/api/v1/order?id=1');
      assert.equal(unknownCancel.status, 400);
      assert.equal(
        unknownCancel.text,
        '{"success":false,"message":"NO_ORDER_MATCHES_YOUR_REQUEST","code":1052}',
      );
      const unknownBook = await raw(sim.restUrl, 'GET', '/api/v2/orderbook?pairSymbol=NOPEUSDT');
      assert.equal(unknownBook.status, 400);
      assert.equal(
        unknownBook.text,
        '{"success":false,"message":"Pair NOPEUSDT does not exists.","code":1037}',
      );
      const noPair = await raw(sim.restUrl, 'GET', '/api/v2/orderbook');
      assert.equal(noPair.status, 400);
      assert.equal(noPair.text, '{"success":false,"message":"INVALID_REQUEST_ERROR","code":1037}');
      const unknownTicker = await raw(sim.restUrl, 'GET', '/api/v2/ticker?pairSymbol=NOPEUSDT');
      assert.equal(unknownTicker.status, 200);
      assert.equal(unknownTicker.text, '{"data":[],"success":true,"message":null,"code":0}');
      const aliases = await raw(sim.restUrl, 'GET', '/api/v2/orderbook?pairSymbol=btc_try');
      assert.equal(aliases.status, 200, 'the REST book takes lower case and BTC_TRY');
      await check(sim, failure, 'POST', '/api/v1/order', { ...order, orderMethod: 'iceberg' });
      const unauthorised = await raw(sim.restUrl, 'GET', '/api/v1/users/balances');
      assert.equal(unauthorised.status, 401);
      assert.ok(failure.safeParse(unauthorised.json()).success);
      sim.setFault('rate-limit-storm', 1);
      const limited = await raw(sim.restUrl, 'GET', '/api/v2/ticker');
      assert.equal(limited.status, 429);
      assert.ok(tooMany.safeParse(limited.json()).success, limited.text);
    });
  });

  it('sends every WebSocket frame type in the documented shape', async () => {
    await withSim({ seed: 22, faults: { 'cancel-delay-ms': '10ms' } }, async (sim) => {
      const client = await WsClient.connect(sim.wsUrl);
      const other = sim.openAccount({ balances: { TRY: '0', BTC: '1' } });
      try {
        await client.nextOfType(991);
        client.send(loginFrame(sim.apiKey, sim.apiSecret));
        await client.nextOfType(114);
        for (const [channel, event] of [
          ['ticker', 'all'],
          ['ticker', 'BTCTRY'],
          ['trade', 'BTCTRY'],
          ['orderbook', 'BTCTRY'],
          ['obdiff', 'BTCTRY'],
        ] as const) {
          client.send(subscribeFrame(channel, event));
          await client.nextOfType(100);
        }
        client.send(subscribeFrame('trade', 'BTCTRY', false));
        await client.next((f) => f[0] === 100 && String(f[1].message).startsWith('leave'));
        client.send(subscribeFrame('trade', 'BTCTRY'));
        await client.nextOfType(421);

        const bid = sim.engine.book('BTCTRY', 1).bids[0]?.price;
        assert.ok(bid);
        const price = bid.plus(1).toFixed();
        const placed = await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: simAuth(sim),
          body: {
            quantity: '0.01',
            price,
            orderMethod: 'limit',
            orderType: 'buy',
            pairSymbol: 'BTCTRY',
            newOrderClientId: 'ws-conf',
          },
        });
        await raw(sim.restUrl, 'POST', '/api/v1/order', {
          auth: other,
          body: { quantity: '0.004', price, orderMethod: 'limit', orderType: 'sell', pairSymbol: 'BTCTRY' },
        });
        const orderId = /"id":(\d+)/.exec(placed.text)?.[1];
        await raw(sim.restUrl, 'DELETE', `/api/v1/order?id=${orderId ?? ''}`, { auth: simAuth(sim) });
        await client.nextOfType(452);
        for (let i = 0; i < 5; i++) sim.engine.stepMarket();
        await settle();
        await client.nextOfType(432);

        const seen = new Set<number>();
        for (const frame of client.frames) {
          const schema = WS_SCHEMAS.get(frame[0]);
          assert.ok(schema, `frame type ${frame[0]} is not in btcturk-api.md`);
          const reparsed = parseKeepingIds(JSON.stringify(frame));
          const result = schema.safeParse(reparsed);
          assert.ok(
            result.success,
            `frame ${frame[0]}: ${result.success ? '' : z.prettifyError(result.error)}`,
          );
          seen.add(frame[0]);
        }
        assert.deepEqual(
          [...seen].sort(),
          [...WS_SCHEMAS.keys()].sort(),
          'every documented frame type was served',
        );
      } finally {
        client.close();
      }
    });
  });
});
