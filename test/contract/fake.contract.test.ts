import { Dec } from '../../src/domain/decimal.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import { btcRules } from '../engine/engine-fakes.ts';
import { FakeExchange, steppingClock } from '../oms/fakes.ts';
import { exchangeContract } from './exchange-contract.ts';

// The OMS unit tests' in-memory exchange keeps the same contract as the real adapter: listed pairs,
// a funded account and a market price turn its checks on.

const BTCTRY: SymbolRules = { ...btcRules(), minPrice: null, maxPrice: null };

const MARKET = new Dec(2_000_000);

exchangeContract('test fake (test/oms/fakes.ts)', () => {
  const fake = new FakeExchange(steppingClock());
  fake.list(BTCTRY, { ...BTCTRY, symbol: 'ETHTRY', base: 'ETH' });
  fake.fund({ TRY: '1000000', BTC: '1' });
  fake.marketPrice.set('BTCTRY', MARKET);
  return Promise.resolve({
    exchange: fake,
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    unlistedSymbol: 'NOPETRY',
    supports: { marketSell: true, quoteAmountBuy: true },
    // Nothing trades on the fake by itself: any price rests until a test fills it.
    restingPrice: (side) => Promise.resolve(side === 'buy' ? MARKET.sub(1_000) : MARKET.add(1_000)),
    placeElsewhere: async () =>
      (
        await fake.submitOrder({
          symbol: 'ETHTRY',
          side: 'buy',
          method: 'limit',
          quantity: new Dec('0.01'),
          price: new Dec(100_000),
          clientOrderId: 'elsewhere1',
        })
      ).exchangeOrderId,
    trade: ({ exchangeOrderId, price, quantity }) => {
      fake.fill(exchangeOrderId, quantity.toFixed(), price.toFixed());
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});
