import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dec } from '../../src/domain/decimal.ts';
import { ConfigError } from '../../src/domain/errors.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import {
  checkOrder,
  ladderFor,
  parseRiskLimits,
  strictest,
  type RiskContext,
  type RiskGate,
} from '../../src/engine/risk.ts';
import { BTCTRY } from '../strategies/fixtures.ts';

const d = (v: string) => new Dec(v);
const LIMITS = parseRiskLimits({});

// A buy of 0.001 BTC at 3,400,000 (3,400 TRY) that passes every gate.
const ORDER: OrderRequest = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  price: d('3400000'),
  quantity: d('0.001'),
  clientOrderId: 'bot-abc123',
};
const CONTEXT: RiskContext = {
  rules: BTCTRY,
  limits: LIMITS,
  level: 'NORMAL',
  killSwitch: false,
  freeBase: d('1'),
  freeQuote: d('100000'),
  position: d('0.002'),
  restingBuyBase: d('0'),
  restingSellBase: d('0'),
  openOrders: 3,
  openOrdersOnSymbol: 2,
  ordersAvailable: 10,
};
const SELL = { side: 'sell' } as const;

type Row = [
  name: string,
  order: Partial<OrderRequest>,
  ctx: Partial<RiskContext>,
  gate: RiskGate | null,
  reason?: RegExp,
];

const ROWS: Row[] = [
  ['a plain buy passes', {}, {}, null],
  ['kill switch blocks every new order', SELL, { killSwitch: true }, 'kill-switch', /kill switch is on/],
  ['HALTED allows nothing new', SELL, { level: 'HALTED' }, 'escalation', /HALTED: no new orders/],
  [
    'REDUCE_ONLY refuses a buy on a long position',
    {},
    { level: 'REDUCE_ONLY' },
    'escalation',
    /REDUCE_ONLY: a buy on BTCTRY would not reduce the position 0\.002/,
  ],
  [
    'REDUCE_ONLY refuses anything when flat',
    SELL,
    { level: 'REDUCE_ONLY', position: d('0') },
    'escalation',
    /would not reduce the position 0/,
  ],
  [
    'REDUCE_ONLY refuses a sell larger than the position',
    { ...SELL, quantity: d('0.003') },
    { level: 'REDUCE_ONLY' },
    'escalation',
    /sell 0\.003 on BTCTRY exceeds .* position 0\.002 with 0 already resting .* \(at most 0\.002\)/,
  ],
  [
    'REDUCE_ONLY counts sells already resting',
    SELL,
    { level: 'REDUCE_ONLY', restingSellBase: d('0.0015') },
    'escalation',
    /with 0\.0015 already resting on that side \(at most 0\.0005\)/,
  ],
  ['REDUCE_ONLY allows a sell that shrinks a long position', SELL, { level: 'REDUCE_ONLY' }, null],
  [
    'REDUCE_ONLY allows a buy that shrinks a short position',
    {},
    { level: 'REDUCE_ONLY', position: d('-0.001') },
    null,
  ],
  [
    'REDUCE_ONLY allows replacing a reducing sell (its own quantity does not count twice)',
    { ...SELL, quantity: d('0.002') },
    {
      level: 'REDUCE_ONLY',
      restingSellBase: d('0.002'),
      replacing: { side: 'sell', price: d('3500000'), quantityLeft: d('0.002') },
    },
    null,
  ],
  [
    'a submit needs one request of rate budget',
    {},
    { ordersAvailable: 0 },
    'rate-budget',
    /a submit needs 1 order request, the rate budget has 0 left/,
  ],
  [
    'a replace needs two',
    {},
    { ordersAvailable: 1, replacing: { side: 'buy', price: d('3390000'), quantityLeft: d('0.001') } },
    'rate-budget',
    /a replace needs 2 order requests, the rate budget has 1 left/,
  ],
  [
    'price off the tick',
    { price: d('3400000.5') },
    {},
    'exchange-rules',
    /price=3400000\.5: .*multiple of the tick 1/,
  ],
  [
    'below the minimum order value',
    { quantity: d('0.00002') },
    {},
    'exchange-rules',
    /order value 68 TRY is below the minimum 100/,
  ],
  [
    'a pair not trading',
    {},
    { rules: { ...BTCTRY, status: 'HALT' } },
    'exchange-rules',
    /pair status is HALT/,
  ],
  [
    'a market order with nothing to value it by',
    { method: 'market', price: undefined },
    {},
    'valuation',
    /market order on BTCTRY has no price and no reference price/,
  ],
  [
    'a market order valued at the reference price',
    { method: 'market', price: undefined, quantity: d('0.004') },
    { referencePrice: d('3400000') },
    'max-order-value',
    /order value 13600 TRY/,
  ],
  [
    'order value above the limit',
    { quantity: d('0.003') },
    {},
    'max-order-value',
    /order value 10200 TRY \(0\.003 at 3400000\) is above maxOrderQuote 10000/,
  ],
  [
    'open orders at the total limit',
    {},
    { openOrders: 20 },
    'max-open-orders',
    /20 orders open, maxOpenOrders is 20/,
  ],
  [
    'open orders at the per-symbol limit',
    {},
    { openOrdersOnSymbol: 10 },
    'max-open-orders',
    /10 orders open on BTCTRY, maxOpenOrdersPerSymbol is 10/,
  ],
  [
    'a replace does not add an open order',
    {},
    {
      openOrders: 20,
      openOrdersOnSymbol: 10,
      replacing: { side: 'buy', price: d('3390000'), quantityLeft: d('0.001') },
    },
    null,
  ],
  [
    'position value above the limit',
    {},
    { position: d('0.014') },
    'max-position',
    /could take the position to 51000 TRY at 3400000, above maxPositionQuote 50000/,
  ],
  [
    'resting buys count toward the position',
    {},
    { restingBuyBase: d('0.012') },
    'max-position',
    /position 0\.002, 0\.012 resting on that side\) could take the position to 51000 TRY/,
  ],
  [
    'position in base above the per-symbol limit',
    {},
    { limits: { ...LIMITS, maxPositionBase: { BTCTRY: d('0.0025') } } },
    'max-position',
    /could take the position to 0\.003 BTC, above maxPositionBase 0\.0025/,
  ],
  ['a sell that shrinks a large position is not a position risk', SELL, { position: d('1') }, null],
  [
    'a buy needs its value plus fees free',
    {},
    { freeQuote: d('3410') },
    'balance',
    /buy 0\.001 BTC at 3400000 needs 3410\.2 TRY with fees \(rate 0\.003\), only 3410 free/,
  ],
  [
    'a replaced buy frees its funds first',
    {},
    { freeQuote: d('10.2'), replacing: { side: 'buy', price: d('3400000'), quantityLeft: d('0.001') } },
    null,
  ],
  [
    'a replaced sell frees nothing for a buy',
    {},
    { freeQuote: d('10.2'), replacing: { side: 'sell', price: d('3400000'), quantityLeft: d('0.001') } },
    'balance',
    /only 10\.2 free/,
  ],
  [
    'a sell needs the base free',
    SELL,
    { freeBase: d('0.0005') },
    'balance',
    /sell 0\.001 BTC needs that much free, only 0\.0005 BTC free/,
  ],
  [
    'an order about to be canceled frees nothing yet',
    SELL,
    { freeBase: d('0'), restingSellBase: d('0.002') },
    'balance',
    /only 0 BTC free/,
  ],
];

describe('checkOrder', () => {
  for (const [name, order, ctx, gate, reason] of ROWS) {
    it(name, () => {
      const decision = checkOrder({ ...ORDER, ...order }, { ...CONTEXT, ...ctx });
      if (gate === null) {
        assert.deepEqual(decision, { ok: true });
        return;
      }
      assert.equal(decision.ok, false, 'expected a refusal');
      assert.equal(decision.gate, gate, decision.reason);
      assert.match(decision.reason, reason ?? /./);
    });
  }

  it('puts the kill switch before every other gate', () => {
    const decision = checkOrder(
      { ...ORDER, price: d('0.5') },
      { ...CONTEXT, killSwitch: true, level: 'HALTED', ordersAvailable: 0 },
    );
    assert.equal(decision.ok ? 'ok' : decision.gate, 'kill-switch');
  });
});

describe('ladderFor', () => {
  const rows: [name: string, pnl: string, peak: string, now: string, level: string, reason: RegExp | null][] =
    [
      ['within limits', '-1000', '100000', '99000', 'NORMAL', null],
      ['a gain', '5000', '105000', '105000', 'NORMAL', null],
      [
        'daily loss at the soft limit',
        '-2000',
        '100000',
        '98000',
        'REDUCE_ONLY',
        /daily loss 2000 is 2% of the day's starting equity 100000, at or above the soft limit 2%/,
      ],
      [
        'daily loss at the hard limit',
        '-4000',
        '100000',
        '96000',
        'HALTED',
        /daily loss 4000 is 4% .* hard limit 4%/,
      ],
      [
        'drawdown at the soft limit',
        '0',
        '110000',
        '104000',
        'REDUCE_ONLY',
        /drawdown 5\.45% from the equity peak 110000 to 104000, at or above the soft limit 5%/,
      ],
      ['drawdown at the hard limit', '0', '110000', '99000', 'HALTED', /drawdown 10% .* hard limit 10%/],
      [
        'both, the harder wins and both are named',
        '-2500',
        '110000',
        '99000',
        'HALTED',
        /drawdown 10% .*hard limit 10%; daily loss 2500 is 2\.46% .*soft limit 2%/,
      ],
    ];
  for (const [name, pnl, peak, now, level, reason] of rows)
    it(name, () => {
      const step = ladderFor(d(pnl), d(peak), d(now), LIMITS);
      assert.equal(step.level, level, step.reason ?? '');
      if (reason === null) assert.equal(step.reason, null);
      else assert.match(step.reason ?? '', reason);
    });
});

describe('risk limits', () => {
  it('are safe by default', () => {
    assert.equal(LIMITS.maxOrderQuote.toFixed(), '10000');
    assert.equal(LIMITS.maxOpenOrders, 20);
    assert.equal(LIMITS.dailyLossSoftPct, 2);
    assert.equal(LIMITS.dailyLossHardPct, 4);
    assert.deepEqual(LIMITS.maxPositionBase, {});
  });

  it('refuse bad values naming the limit, the value and the rule', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dailyLossSoftPct: 5 }, /^risk: dailyLossSoftPct = 5: must not exceed dailyLossHardPct \(4\)/],
      [{ maxOrderQuote: '-1' }, /maxOrderQuote = "-1": must be greater than 0/],
      [{ maxOpenOrders: '0' }, /maxOpenOrders = "0": must be at least 1/],
      [{ maxPositionBase: { BTCTRY: 'x' } }, /maxPositionBase\.BTCTRY = "x": must be a decimal number/],
      [{ maxOrderValue: 1 }, /unknown parameter "maxOrderValue" \(known: maxOrderQuote, /],
    ];
    for (const [raw, message] of cases)
      assert.throws(
        () => parseRiskLimits(raw),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
  });

  it('read numbers given as text, as flags give them', () => {
    assert.equal(parseRiskLimits({ maxOpenOrders: '7', maxOpenOrdersPerSymbol: '3' }).maxOpenOrders, 7);
  });
});

describe('strictest', () => {
  it('picks the most restrictive level', () => {
    assert.equal(strictest(), 'NORMAL');
    assert.equal(strictest('NORMAL', 'REDUCE_ONLY'), 'REDUCE_ONLY');
    assert.equal(strictest('HALTED', 'REDUCE_ONLY', 'NORMAL'), 'HALTED');
  });
});
