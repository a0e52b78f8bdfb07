import { Dec } from '../../src/domain/decimal.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import { DryRunExchange } from '../../src/engine/dry-run-exchange.ts';
import { btcRules, FakeMarket } from '../engine/engine-fakes.ts';
import { FakeExchange, steppingClock } from '../oms/fakes.ts';
import { exchangeContract } from './exchange-contract.ts';

// Dry-run's exchange keeps the contract the OMS relies on: our orders rest in it and fill against
// the real market, which here is a scripted top of book and scripted public trades. The "real"
// exchange behind it (public data only) is the test fake with the pair listed.

const BTCTRY: SymbolRules = { ...btcRules(), minPrice: null, maxPrice: null };

const BID = new Dec(1_999_000);
const ASK = new Dec(2_001_000);

exchangeContract('dry-run exchange (src/engine/dry-run-exchange.ts)', () => {
  const real = new FakeExchange(steppingClock());
  real.list(BTCTRY);
  const market = new FakeMarket();
  const exchange = new DryRunExchange({
    exchange: real,
    market,
    rules: new Map([[BTCTRY.symbol, BTCTRY]]),
    balances: new Map([
      ['TRY', new Dec(1_000_000)],
      ['BTC', new Dec(1)],
    ]),
  });
  market.emit('top', market.setTop('BTCTRY', BID.toFixed(), ASK.toFixed()));
  return Promise.resolve({
    exchange,
    symbol: 'BTCTRY',
    base: 'BTC',
    quote: 'TRY',
    unlistedSymbol: 'NOPETRY',
    supports: { marketSell: true, quoteAmountBuy: true },
    restingPrice: (side) => Promise.resolve(side === 'buy' ? BID.add(1) : ASK.sub(1)),
    // A public trade printing at our price, as large as our order: it fills us as the maker.
    trade: ({ side, price, quantity }) => {
      market.emit('trade', {
        tradeId: `t${Date.now()}`,
        symbol: 'BTCTRY',
        price,
        quantity,
        side: side === 'buy' ? 'sell' : 'buy',
        timestamp: Date.now(),
      });
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});
