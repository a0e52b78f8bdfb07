// The running bot's figures. Tick to order: a book frame that moves the market is stamped on
// arrival, and the time until the first order request it causes is written (the replace's cancel)
// and until the replacement is written, at 1,000 book updates a second through the real market
// data service, engine, execution core and store; only the exchange is a recording fake. Memory:
// RSS and heap of an accelerated paper session (the real `btcbot run` session with its in-process
// simulator). BENCH_LATENCY_SECONDS (default 10) and BENCH_PAPER_SECONDS (default 60, at speed 10:
// ten market minutes) set how long each runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { Dec, ZERO } from '../src/domain/decimal.ts';
import { ExchangeError } from '../src/domain/errors.ts';
import type { OrderRequest } from '../src/domain/orders.ts';
import type { OrderAck, OrderStatusReport } from '../src/domain/reports.ts';
import type { SymbolRules } from '../src/domain/symbols.ts';
import { Engine } from '../src/engine/engine.ts';
import { OrderRateBudget } from '../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../src/engine/risk.ts';
import { MarketDataService } from '../src/market/service.ts';
import { Oms } from '../src/oms/index.ts';
import { loadRunConfig } from '../src/ops/run-config.ts';
import { runSession } from '../src/ops/session.ts';
import type { Exchange } from '../src/ports/exchange.ts';
import type { MarketFeed, MarketFeedListener } from '../src/ports/market-feed.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';
import { marketMakerDefinition } from '../src/strategies/market-maker.ts';

const SYMBOL = 'BTCTRY';
const UPDATES_PER_SECOND = 1_000;
const MOVE_EVERY_MS = 250;
const RULES: SymbolRules = {
  symbol: SYMBOL,
  base: 'BTC',
  quote: 'TRY',
  status: 'TRADING',
  quantityScale: 8,
  priceScale: 0,
  tickSize: new Dec(1),
  minPrice: new Dec(1),
  maxPrice: new Dec('100000000'),
  minExchangeValue: new Dec(100),
  minQuantity: null,
  maxQuantity: null,
  orderMethods: ['limit', 'market'],
};

function seconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a number of seconds above 0`);
  return value;
}

/** An exchange that accepts everything at once and notes when each order request is written. */
class RecordingExchange implements Partial<Exchange> {
  onRequest: (kind: 'cancel' | 'submit') => void = () => undefined;
  readonly #orders = new Map<string, { request: OrderRequest; status: 'open' | 'canceled' }>();
  #next = 1;

  submitOrder(order: OrderRequest): Promise<OrderAck> {
    this.onRequest('submit');
    const id = String(this.#next++);
    this.#orders.set(id, { request: order, status: 'open' });
    return Promise.resolve({
      exchangeOrderId: id,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      method: order.method,
      price: order.price ?? null,
      quantity: order.quantity,
      createdAt: Date.now(),
    });
  }

  cancelOrder(id: string): Promise<void> {
    this.onRequest('cancel');
    const order = this.#orders.get(id);
    if (order) order.status = 'canceled';
    return Promise.resolve();
  }

  order(id: string): Promise<OrderStatusReport> {
    const order = this.#orders.get(id);
    if (!order)
      return Promise.reject(
        new ExchangeError('rejected', 'not found', { operation: 'GET order', reason: 'order-not-found' }),
      );
    const { request } = order;
    return Promise.resolve({
      exchangeOrderId: id,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      method: request.method,
      price: request.price ?? null,
      stopPrice: null,
      quantity: request.quantity,
      leftQuantity: request.quantity,
      status: order.status,
      createdAt: null,
      updatedAt: null,
    });
  }

  openOrders(): Promise<OrderStatusReport[]> {
    return Promise.resolve([]);
  }

  orderHistory(): Promise<OrderStatusReport[]> {
    return Promise.resolve([]);
  }

  fills(): Promise<never[]> {
    return Promise.resolve([]);
  }

  balances() {
    return Promise.resolve([
      { asset: 'TRY', total: new Dec(10_000_000), free: new Dec(10_000_000), locked: ZERO },
      { asset: 'BTC', total: ZERO, free: ZERO, locked: ZERO },
    ]);
  }
}

/** A market feed the bench drives frame by frame. */
class DrivenFeed implements MarketFeed {
  readonly connected = true;
  listener: MarketFeedListener | null = null;
  connectionCounts() {
    return { connects: 1, reconnects: 0 };
  }
  listen(listener: MarketFeedListener) {
    this.listener = listener;
    return () => {
      this.listener = null;
    };
  }
  watch(): void {}
  unwatch(): void {}
  resyncBook(): void {}
  lastAliveAt(): number | null {
    return null; // every frame is driven: the book's age is its last frame's
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

async function tickToOrder(durationS: number): Promise<Record<string, number>> {
  const store = await openSqliteStore({ path: ':memory:' });
  const recording = new RecordingExchange();
  const exchange = recording as unknown as Exchange;
  const feed = new DrivenFeed();
  const market = new MarketDataService({
    feed,
    fetchBook: () => Promise.reject(new Error('no REST')),
    symbols: [SYMBOL],
  });
  const oms = new Oms({ store, exchange, prefix: 'bench', symbols: [SYMBOL] });
  const engine = new Engine({
    oms,
    store,
    exchange,
    market,
    strategy: marketMakerDefinition.create({}),
    limits: parseRiskLimits({ maxOrderQuote: '1000000', maxPositionQuote: '100000000' }),
    symbols: [SYMBOL],
    rules: new Map([[SYMBOL, RULES]]),
    budget: new OrderRateBudget(300),
  });
  market.start();
  engine.start();
  await oms.start();

  let changeSet = 1;
  const send = (frame: { bids: [string, string, boolean][]; asks: [string, string, boolean][] }) => {
    changeSet += 1;
    feed.listener?.event(
      {
        kind: 'book-diff',
        symbol: SYMBOL,
        changeSet,
        bids: frame.bids.map(([price, quantity, remove]) => ({ price, quantity, remove })),
        asks: frame.asks.map(([price, quantity, remove]) => ({ price, quantity, remove })),
      },
      performance.now(),
    );
  };
  feed.listener?.event(
    {
      kind: 'book-snapshot',
      symbol: SYMBOL,
      changeSet,
      periodic: false,
      bids: [
        { price: '3500000', quantity: '1' },
        { price: '3400000', quantity: '5' },
      ],
      asks: [
        { price: '3500100', quantity: '1' },
        { price: '3600000', quantity: '5' },
      ],
    },
    performance.now(),
  );

  const toFirstRequest: number[] = [];
  const toReplacement: number[] = [];
  let movedAt: number | null = null;
  let firstSeen = false;
  recording.onRequest = (kind) => {
    if (movedAt === null) return;
    const latency = performance.now() - movedAt;
    if (!firstSeen) {
      toFirstRequest.push(latency);
      firstSeen = true;
    }
    if (kind === 'submit') {
      toReplacement.push(latency);
      movedAt = null;
    }
  };
  await sleep(500); // the first quote goes out

  const levels = [
    ['3500000', '3500100'],
    ['3517500', '3517600'], // +50 bps: beyond the maker's requote threshold
  ] as const;
  let at = 0;
  let frames = 0;
  const started = performance.now();
  let nextMove = started + MOVE_EVERY_MS;
  while (performance.now() - started < durationS * 1000) {
    const batchStart = performance.now();
    for (let i = 0; i < UPDATES_PER_SECOND / 100; i += 1) {
      frames += 1;
      if (performance.now() >= nextMove && movedAt === null) {
        const [fromBid, fromAsk] = levels[at] ?? levels[0];
        at = 1 - at;
        const [toBid, toAsk] = levels[at] ?? levels[0];
        firstSeen = false;
        movedAt = performance.now();
        send({
          bids: [
            [fromBid, '0', true],
            [toBid, '1', false],
          ],
          asks: [
            [fromAsk, '0', true],
            [toAsk, '1', false],
          ],
        });
        nextMove += MOVE_EVERY_MS;
      } else {
        // Depth churn below the touch: the top does not change.
        send({
          bids: [['3400000', String(1 + (frames % 7)), false]],
          asks: [['3600000', String(1 + (frames % 5)), false]],
        });
      }
    }
    await sleep(Math.max(0, 10 - (performance.now() - batchStart)));
  }
  const elapsed = (performance.now() - started) / 1000;
  await engine.stop();
  await oms.stop();
  await market.stop();
  await store.close();
  const first = [...toFirstRequest].sort((a, b) => a - b);
  const replaced = [...toReplacement].sort((a, b) => a - b);
  return {
    bookUpdatesPerSecond: frames / elapsed,
    moves: first.length,
    tickToFirstRequestP50Ms: percentile(first, 0.5),
    tickToFirstRequestP99Ms: percentile(first, 0.99),
    tickToReplacementP50Ms: percentile(replaced, 0.5),
    tickToReplacementP99Ms: percentile(replaced, 0.99),
  };
}

async function paperMemory(durationS: number): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-bench-'));
  const speed = 10;
  try {
    const config = loadRunConfig(
      { duration: `${durationS}s`, speed: String(speed), seed: '1', db: join(dir, 'bench.db') },
      {},
    );
    let peakRss = 0;
    let peakHeap = 0;
    let last = process.memoryUsage();
    const sampler = setInterval(() => {
      last = process.memoryUsage();
      peakRss = Math.max(peakRss, last.rss);
      peakHeap = Math.max(peakHeap, last.heapUsed);
    }, 1_000);
    const lines: string[] = [];
    try {
      await runSession(config, { out: (line) => lines.push(line), logger: pino({ enabled: false }) });
    } finally {
      clearInterval(sampler);
    }
    const mb = (bytes: number) => bytes / 2 ** 20;
    const fills = /fills: (\d+)/.exec(lines.find((l) => l.startsWith('  fills:')) ?? '')?.[1];
    return {
      paperMarketMinutes: (durationS * speed) / 60,
      paperFills: Number(fills ?? Number.NaN),
      paperRssEndMb: mb(last.rss),
      paperRssPeakMb: mb(peakRss),
      paperHeapEndMb: mb(last.heapUsed),
      paperHeapPeakMb: mb(peakHeap),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const latency = await tickToOrder(seconds('BENCH_LATENCY_SECONDS', 10));
  const memory = await paperMemory(seconds('BENCH_PAPER_SECONDS', 60));
  return { ...latency, ...memory };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await run();
  for (const [name, value] of Object.entries(results)) process.stdout.write(`${name}: ${String(value)}\n`);
}
