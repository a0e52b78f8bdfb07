import { Dec } from '../../src/domain/decimal.ts';
import { startSimulator } from '../../src/sim/index.ts';
import { exchangeFor } from '../oms/sim-helpers.ts';
import { exchangeContract } from './exchange-contract.ts';

// The BTCTurk adapter, over real HTTP on loopback, against the simulator: what BTCTurk's wire says,
// read through the adapter's classification, must keep the same contract as every other Exchange.
// The market stands still (no synthetic steps); a second account trades against our orders.

const SEED = 41;
const SYMBOL = 'BTCTRY';

exchangeContract('BTCTurk adapter on the simulator (loopback HTTP)', async () => {
  const sim = await startSimulator({ seed: SEED, autoMarket: false });
  const exchange = exchangeFor(sim, SEED);
  const counterparty = sim.openAccount({ balances: { TRY: '100000000', BTC: '100' } }).accountId;
  const rules = (await exchange.exchangeInfo()).symbols.find((r) => r.symbol === SYMBOL);
  if (!rules) throw new Error(`the simulator does not list ${SYMBOL}`);
  return {
    exchange,
    symbol: SYMBOL,
    base: rules.base,
    quote: rules.quote,
    unlistedSymbol: 'NOPETRY',
    supports: { marketSell: true, quoteAmountBuy: true },
    restingPrice: (side) => {
      const book = sim.engine.book(SYMBOL, 1);
      const best = side === 'buy' ? book.bids[0] : book.asks[0];
      if (!best) throw new Error(`the simulator's ${SYMBOL} book has no ${side}`);
      // One tick inside the spread: the best on its side, alone there.
      return Promise.resolve(
        side === 'buy' ? best.price.add(rules.tickSize) : best.price.sub(rules.tickSize),
      );
    },
    placeElsewhere: async () => {
      const bid = sim.engine.book('ETHTRY', 1).bids[0]?.price;
      if (!bid) throw new Error("the simulator's ETHTRY book has no bid");
      const ack = await exchange.submitOrder({
        symbol: 'ETHTRY',
        side: 'buy',
        method: 'limit',
        quantity: new Dec('0.01'),
        price: bid,
        clientOrderId: `elsewhere${Date.now().toString(36)}`,
      });
      return ack.exchangeOrderId;
    },
    trade: ({ side, price, quantity }) => {
      sim.engine.placeOrder({
        accountId: counterparty,
        symbol: SYMBOL,
        side: side === 'buy' ? 'sell' : 'buy',
        method: 'limit',
        quantity: new Dec(quantity),
        price,
      });
      return Promise.resolve();
    },
    close: async () => {
      await exchange.close();
      await sim.stop();
    },
  };
});
