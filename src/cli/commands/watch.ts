import type { Decimal } from 'decimal.js';
import type { BtcturkExchange } from '../../btcturk/index.ts';
import { BtcturkMarketFeed, BtcturkWsClient } from '../../btcturk/websocket/index.ts';
import type { BookLevel, OrderBookSnapshot } from '../../domain/reports.ts';
import { MarketDataService } from '../../market/service.ts';
import { parseDuration } from '../../ops/duration.ts';
import { createLogger, type Logger } from '../../ops/logger.ts';
import { stopper } from '../../ops/stopper.ts';
import { createExchange, resolveSettings } from '../../config/exchange.ts';
import type { ConnectionSettings, FlagValues } from '../../config/connection.ts';
import { printTable } from '../output.ts';
import { DEFAULT_WATCH_DEPTH, MAX_WATCH_DEPTH } from './exchange.ts';

// `btcbot orderbook SYMBOL --watch`: the book exactly as the bot keeps it — the WebSocket client, the
// BTCTurk market feed and the market data service of a bot session, with REST books as its
// fallback — printed after every change the service applies. Public data only: no login.

export interface WatchFlags extends FlagValues {
  readonly json?: boolean | undefined;
  readonly depth?: number | undefined;
  readonly duration?: string | undefined;
  readonly snapshotTimeout?: string | undefined;
}

const DEFAULT_SNAPSHOT_TIMEOUT = '10s';

type Level = readonly [price: string, amount: string];

// Decimal.toFixed() is the exact value without exponent; trailing zeros of the wire text may go.
const text = (value: Decimal): string => value.toFixed();
const levels = (side: readonly BookLevel[]): Level[] => side.map((l) => [text(l.price), text(l.quantity)]);

/** One `--json` line: the keys of DESIGN §4 first, then where the book came from. */
export function bookLine(
  symbol: string,
  changeSet: number | null,
  source: 'stream' | 'rest',
  book: OrderBookSnapshot,
): string {
  return JSON.stringify({ symbol, changeSet, bids: levels(book.bids), asks: levels(book.asks), source });
}

function printBookTable(
  symbol: string,
  changeSet: number | null,
  source: 'stream' | 'rest',
  book: OrderBookSnapshot,
): void {
  const bestBid = book.bids[0]?.price;
  const bestAsk = book.asks[0]?.price;
  const spread = bestBid !== undefined && bestAsk !== undefined ? text(bestAsk.minus(bestBid)) : '-';
  const from = source === 'stream' ? `change set ${changeSet ?? '-'}` : 'REST book (the stream has none now)';
  process.stdout.write(`\n${new Date().toISOString()} ${symbol} ${from}, spread ${spread}\n`);
  const rows = Math.max(book.bids.length, book.asks.length);
  printTable(
    Array.from({ length: rows }, (_, i) => ({
      bidQty: book.bids[i]?.quantity,
      bid: book.bids[i]?.price,
      ask: book.asks[i]?.price,
      askQty: book.asks[i]?.quantity,
    })),
    ['bidQty', 'bid', 'ask', 'askQty'],
  );
}

/** A failure a user can act on: one line on stderr and exit code 1 (not a stack trace). */
export class WatchFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchFailure';
  }
}

/** Is `symbol` listed by the exchange? null when exchangeinfo could not be read. */
async function listed(exchange: BtcturkExchange, symbol: string, log: Logger): Promise<string[] | null> {
  try {
    const info = await exchange.exchangeInfo();
    return info.symbols.map((s) => s.symbol);
  } catch (error) {
    // The socket may still serve the book; the snapshot timeout catches a pair it does not know.
    log.warn(
      { symbol, err: error instanceof Error ? error.message : String(error) },
      'exchangeinfo could not be read; watching without checking the pair first',
    );
    return null;
  }
}

export async function watchOrderBook(symbol: string, flags: WatchFlags): Promise<void> {
  const settings = resolveSettings(flags);
  const depth = flags.depth ?? DEFAULT_WATCH_DEPTH;
  const durationMs = flags.duration === undefined ? null : parseDuration('--duration', flags.duration);
  const snapshotTimeoutMs = parseDuration(
    '--snapshot-timeout',
    flags.snapshotTimeout ?? DEFAULT_SNAPSHOT_TIMEOUT,
  );
  const log = createLogger();
  const exchange = createExchange({ ...settings, apiKey: undefined, apiSecret: undefined }, log);
  try {
    // ASSUMPTION (BTCTurk): a pair exchangeinfo lists under `name` is the pair the socket serves
    // under that same text (both BTCTRY in the C1/C2 captures); the socket itself never says a
    // pair is unknown, so this is the fast, clear refusal and the snapshot timeout the backstop.
    const pairs = await listed(exchange, symbol, log);
    if (pairs !== null && !pairs.includes(symbol))
      throw new WatchFailure(
        `${symbol} is not listed by the exchange at ${settings.baseUrl} (exchangeinfo lists ${pairs.length} pairs); ` +
          'check the pair, e.g. BTCTRY',
      );
    await watch(symbol, {
      settings,
      depth,
      json: flags.json === true,
      durationMs,
      snapshotTimeoutMs,
      log,
      exchange,
    });
  } finally {
    await exchange.close();
  }
}

async function watch(
  symbol: string,
  o: {
    readonly settings: ConnectionSettings;
    readonly depth: number;
    readonly json: boolean;
    readonly durationMs: number | null;
    readonly snapshotTimeoutMs: number;
    readonly log: Logger;
    readonly exchange: BtcturkExchange;
  },
): Promise<void> {
  const { depth, json, log, exchange } = o;
  // No credentials: the order book is public, and a watch must not count as a second login.
  const client = new BtcturkWsClient({ url: o.settings.wsUrl });
  const market = new MarketDataService({
    feed: new BtcturkMarketFeed(client),
    fetchBook: (s) => exchange.orderBook(s, MAX_WATCH_DEPTH),
    symbols: [symbol],
    // The book channels as the bot's defaults have them; trades and tickers are not shown here.
    streams: { trades: false, ticker: false },
    snapshotTimeoutMs: o.snapshotTimeoutMs,
  });
  const stop = stopper(o.durationMs, { endOnClosedOutput: true });
  const feedLog = log.child({ component: 'market-data' });
  market.on('book', (s, changeSet, source) => {
    const book = market.book(s, depth);
    if (book === null) return; // not usable (e.g. crossed): a resync line follows
    if (json) process.stdout.write(`${bookLine(s, changeSet, source, book)}\n`);
    else printBookTable(s, changeSet, source, book);
  });
  market.on('resync', (s, reason) => {
    if (json) process.stdout.write(`${JSON.stringify({ event: 'resync', symbol: s, reason })}\n`);
    else process.stdout.write(`\n${new Date().toISOString()} ${s} RESYNC: ${reason}\n`);
  });
  market.on('subscription-silent', (_s, message) => {
    stop.fail(new WatchFailure(message));
  });
  market.on('problem', (message) => {
    feedLog.warn(message);
  });
  client.on('problem', (problem) => {
    feedLog.warn({ kind: problem.kind, symbol: problem.symbol }, problem.message);
  });
  try {
    market.start();
    client.start();
    await stop.wait;
  } finally {
    // The handlers stay until both are stopped: a frame in flight may still print meanwhile.
    await market.stop();
    await client.stop();
    stop.dispose();
  }
}
