// The bot's market data stack alone, in a process of its own, for follow-pairs' breakdown: the
// WebSocket client, the BTCTurk market feed and the market data service wired as a bot session
// wires them (src/ops/compose/market-data.ts: same streams, REST books as the fallback), following
// every pair in BENCH_SYMBOLS from BENCH_WS_URL / BENCH_REST_URL — without the engine, the OMS, the
// store or dry-run's mirror. It prints "SYMBOL ready to trade" the first time a pair's data is
// live, so the bench waits for it as for the bot, and runs until SIGINT/SIGTERM.
import { BtcturkExchange, btcturkRateLimiter } from '../../src/btcturk/index.ts';
import { BtcturkMarketFeed, BtcturkWsClient } from '../../src/btcturk/websocket/index.ts';
import { MarketDataService } from '../../src/market/service.ts';

const wsUrl = process.env.BENCH_WS_URL;
const restUrl = process.env.BENCH_REST_URL;
const symbols = (process.env.BENCH_SYMBOLS ?? '').split(',').filter((s) => s !== '');
if (wsUrl === undefined || restUrl === undefined || symbols.length === 0)
  throw new Error('market-data-only: set BENCH_WS_URL, BENCH_REST_URL and BENCH_SYMBOLS');

const exchange = new BtcturkExchange({ baseUrl: restUrl, limiter: btcturkRateLimiter({}) });
const client = new BtcturkWsClient({ url: wsUrl });
const market = new MarketDataService({
  feed: new BtcturkMarketFeed(client),
  fetchBook: (symbol) => exchange.orderBook(symbol, 100),
  symbols,
  // As a bot session subscribes (src/ops/compose/market-data.ts): no trades, which nothing of the
  // session reads following every pair (dry-run's mirror follows them only where it has orders).
  streams: { trades: false },
});
const live = new Set<string>();
market.on('status', (symbol, status) => {
  if (status !== 'live' || live.has(symbol)) return;
  live.add(symbol);
  process.stdout.write(`${symbol} ready to trade\n`);
});
market.start();
client.start();
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => {
    resolve();
  });
  process.once('SIGTERM', () => {
    resolve();
  });
});
await market.stop();
await client.stop();
await exchange.close();
