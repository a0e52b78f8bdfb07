// Matching throughput of the simulator engine on a realistic flow: synthetic market makers and a
// taker on two pairs, plus user accounts placing limit orders around the touch (some marketable),
// canceling and sending market orders. A listener is attached, as the simulator's server would be.
import { pathToFileURL } from 'node:url';
import type { Decimal } from 'decimal.js';
import { Dec } from '../src/domain/decimal.ts';
import { randomInt, seededRandom, type Random } from '../src/domain/random.ts';
import { quantizePrice, quantizeQuantity } from '../src/domain/symbols.ts';
import { SimRejection, type SimEngine } from '../src/sim/engine/api.ts';
import { createSimEngine, DEFAULT_FEES, defaultMarkets } from '../src/sim/engine/index.ts';

const SYMBOLS = ['BTCTRY', 'ETHTRY'];
const USERS = 20;
const WARMUP_OPS = 3_000;
const TIMED_OPS = 20_000;

interface Counts {
  orders: number;
  trades: number;
  events: number;
}

function setUp(): { engine: SimEngine; counts: Counts; random: Random; advance: () => void } {
  let now = 1_700_000_000_000;
  const engine = createSimEngine({
    clock: { now: () => now, monotonic: () => now, sleep: () => Promise.resolve() },
    random: seededRandom(7),
    markets: defaultMarkets().filter((m) => SYMBOLS.includes(m.symbol)),
    ...DEFAULT_FEES,
  });
  const counts: Counts = { orders: 0, trades: 0, events: 0 };
  engine.subscribe((event) => {
    counts.events++;
    if (event.type === 'order-inserted') counts.orders++;
    else if (event.type === 'trade') counts.trades++;
  });
  for (let i = 0; i < USERS; i++)
    engine.createAccount(`user${i}`, { TRY: new Dec(1e9), BTC: new Dec(100), ETH: new Dec(3000) });
  for (let i = 0; i < 5; i++) engine.stepMarket();
  return { engine, counts, random: seededRandom(11), advance: () => (now += 10) };
}

/** One user action, or a market step; the mix is roughly what a busy paper-trading run sees. */
function act(engine: SimEngine, random: Random): void {
  const roll = random.next();
  if (roll < 0.15) {
    engine.stepMarket();
    return;
  }
  const accountId = `user${randomInt(random, 0, USERS - 1)}`;
  const config = engine.markets[randomInt(random, 0, engine.markets.length - 1)];
  if (config === undefined) return;
  const { symbol, rules } = config;
  if (roll < 0.35) {
    const open = engine.openOrders(accountId, symbol);
    const target = open[randomInt(random, 0, Math.max(0, open.length - 1))];
    if (target) {
      engine.requestCancel(accountId, target.id);
      engine.completeCancel(target.id);
    }
    return;
  }
  const book = engine.book(symbol, 1);
  const bid = book.bids[0]?.price;
  const ask = book.asks[0]?.price;
  if (!bid || !ask) return;
  const mid = bid.plus(ask).div(2);
  const side = random.next() < 0.5 ? 'buy' : 'sell';
  const notional = new Dec(randomInt(random, 500, 50_000));
  if (roll < 0.4) {
    const quantity = side === 'buy' ? notional : quantizeQuantity(rules, notional.div(bid));
    engine.placeOrder({ accountId, symbol, side, method: 'market', quantity });
    return;
  }
  // Limit orders within ±0.3% of the mid: about a third cross the spread.
  const offset = new Dec(randomInt(random, -30, 30)).div(10_000);
  const price: Decimal = quantizePrice(rules, side, mid.mul(offset.plus(1)));
  const quantity = quantizeQuantity(rules, notional.div(price));
  engine.placeOrder({ accountId, symbol, side, method: 'limit', price, quantity });
}

function drive(engine: SimEngine, random: Random, advance: () => void, ops: number): void {
  for (let i = 0; i < ops; i++) {
    advance();
    try {
      act(engine, random);
    } catch (error) {
      if (!(error instanceof SimRejection)) throw error;
    }
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const { engine, counts, random, advance } = setUp();
  drive(engine, random, advance, WARMUP_OPS);
  await Promise.resolve(); // let the warm-up's garbage settle outside the timed window
  const start = { ...counts };
  const t0 = performance.now();
  drive(engine, random, advance, TIMED_OPS);
  const seconds = (performance.now() - t0) / 1000;
  const orders = counts.orders - start.orders;
  const trades = counts.trades - start.trades;
  return {
    flow: `${USERS} users + synthetic market on ${SYMBOLS.join(',')}`,
    operations: TIMED_OPS,
    ordersPlaced: orders,
    tradesExecuted: trades,
    seconds: Number(seconds.toFixed(3)),
    ordersPerSecond: Math.round(orders / seconds),
    tradesPerSecond: Math.round(trades / seconds),
    eventsPerSecond: Math.round((counts.events - start.events) / seconds),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  console.log(JSON.stringify(await run()));
