import { pino, type Logger } from 'pino';
import type { Clock } from '../domain/clock.ts';
import { systemClock } from '../domain/clock.ts';
import { decText } from '../domain/decimal.ts';
import { ExchangeError } from '../domain/errors.ts';
import {
  isQuoteSized,
  OrderValidationError,
  orderViolations,
  takesQuoteAmount,
  type OrderRequest,
  type RuleViolation,
} from '../domain/orders.ts';
import { processRandom, type Random } from '../domain/random.ts';
import type {
  BalanceReport,
  ExchangeInfo,
  FillReport,
  OrderAck,
  OrderBookSnapshot,
  OrderStatusReport,
  PublicTrade,
  Ticker,
} from '../domain/reports.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { Exchange, FillQuery, OrderHistoryQuery } from '../ports/exchange.ts';
import {
  DEFAULT_BACKOFF,
  DEFAULT_CLOCK_SYNC_INTERVAL_MS,
  DEFAULT_DEADLINE_MS,
  DEFAULT_MAX_CONSECUTIVE_AUTH_FAILURES,
  DEFAULT_REQUEST_TIMEOUT_MS,
  ENDPOINTS,
  operationName,
} from './common/constants.ts';
import { BtcturkCredentials } from './common/credentials.ts';
import { btcturkLimiterOptions } from './common/limiter-policy.ts';
import { RateLimiter, type LimiterStore } from './common/rate-limiter.ts';
import type { BackoffPolicy } from './common/retry.ts';
import { BtcturkHttpClient, type HttpClientObserver } from './http/client.ts';
import {
  parseBalances,
  parseExchangeInfo,
  parseFills,
  parseOpenOrders,
  parseOrderAck,
  parseOrderBook,
  parseOrderHistory,
  parseServerTime,
  parseSingleOrder,
  parseTickers,
  parseTrades,
  normalSymbol,
  REST_BOOK_MAX_LEVELS,
  type SkippedRow,
} from './http/models.ts';

export interface BtcturkExchangeOptions {
  baseUrl: string; // e.g. https://api.btcturk.com or http://127.0.0.1:PORT
  credentials?: { apiKey: string; apiSecret: string } | undefined;
  requestTimeoutMs?: number; // per attempt, default 10_000
  deadlineMs?: number; // per call incl. retries, default 30_000
  clock?: Clock;
  random?: Random;
  limiter?: RateLimiter;
  logger?: Logger;
  clockSyncIntervalMs?: number;
  maxConsecutiveAuthFailures?: number;
  backoff?: BackoffPolicy; // full-jitter retry backoff, default 250 ms doubling to 8 s
  observe?: HttpClientObserver | undefined; // told of every request, wait, 429 and retry (metrics)
}

/**
 * A rate limiter with BTCTurk's table. Share one between exchanges on the same key and IP; give it
 * a shared store when several processes use that key.
 */
export function btcturkRateLimiter(options: { clock?: Clock; store?: LimiterStore } = {}): RateLimiter {
  return new RateLimiter(btcturkLimiterOptions(options));
}

/**
 * BTCTurk reads the quantity of a market buy (and of a stop-market buy, which becomes one) as the
 * quote amount to spend (btcturk-api.md, broker-api-docs#177/#429): such a buy must say how much
 * quote it spends (`quoteAmount`), which goes out as BTCTurk's `quantity`. A base quantity sent
 * there would spend a different amount than asked and its fills would not add up to it.
 */
function quoteSizedViolations(order: OrderRequest): RuleViolation[] {
  if (!takesQuoteAmount(order.side, order.method) || isQuoteSized(order)) return [];
  return [
    {
      field: 'quoteAmount',
      value: 'missing',
      rule:
        `a ${order.method} buy is sized in the quote currency on BTCTurk: give the quote amount to spend ` +
        '(or place a limit buy at a price past the best ask to take liquidity now)',
    },
  ];
}

/** BTCTurk behind the venue-neutral Exchange port. */
export class BtcturkExchange implements Exchange {
  readonly #client: BtcturkHttpClient;
  readonly #log: Logger;
  // Rules from the last exchangeInfo(); an order on a known symbol is checked before it leaves.
  readonly #rules = new Map<string, SymbolRules>();

  constructor(o: BtcturkExchangeOptions) {
    const clock = o.clock ?? systemClock;
    this.#log = (o.logger ?? pino({ enabled: false })).child({ component: 'btcturk' });
    this.#client = new BtcturkHttpClient({
      baseUrl: o.baseUrl,
      credentials: o.credentials
        ? new BtcturkCredentials(o.credentials.apiKey, o.credentials.apiSecret)
        : undefined,
      requestTimeoutMs: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      deadlineMs: o.deadlineMs ?? DEFAULT_DEADLINE_MS,
      clock,
      random: o.random ?? processRandom(),
      limiter: o.limiter ?? btcturkRateLimiter({ clock }),
      logger: o.logger,
      clockSyncIntervalMs: o.clockSyncIntervalMs ?? DEFAULT_CLOCK_SYNC_INTERVAL_MS,
      maxConsecutiveAuthFailures: o.maxConsecutiveAuthFailures ?? DEFAULT_MAX_CONSECUTIVE_AUTH_FAILURES,
      backoff: o.backoff ?? DEFAULT_BACKOFF,
      observe: o.observe,
    });
  }

  /**
   * The exchange's wall-clock time in ms: the local clock corrected by the last measured server
   * offset — the same offset REST stamps use (e.g. for the WebSocket login's `timestamp`). Before
   * the first measurement (syncClock() or any private call) it is the local wall clock.
   */
  serverNow(): number {
    return this.#client.serverNow();
  }

  /** Re-measures the server clock offset now (it is also kept fresh on its own). */
  syncClock(): Promise<void> {
    return this.#client.syncClock();
  }

  close(): Promise<void> {
    return this.#client.close();
  }

  async exchangeInfo(): Promise<ExchangeInfo> {
    const { info, skipped } = await this.#client.call(
      { endpoint: ENDPOINTS.exchangeInfo },
      parseExchangeInfo,
    );
    this.#warnSkipped('exchange info', skipped);
    this.#rules.clear();
    for (const rules of info.symbols) this.#rules.set(rules.symbol, rules);
    return info;
  }

  serverTime(): Promise<number> {
    return this.#client.call({ endpoint: ENDPOINTS.serverTime, bareBody: true }, parseServerTime);
  }

  /**
   * The REST book, at most REST_BOOK_MAX_LEVELS (100) levels a side: BTCTurk caps it there whatever
   * `limit` says (btcturk-wire), so a larger limit is clamped rather than sent as a promise the
   * exchange does not keep. Fewer levels than asked is normal (a thin book).
   */
  orderBook(symbol: string, limit?: number): Promise<OrderBookSnapshot> {
    const levels = limit === undefined ? undefined : Math.min(limit, REST_BOOK_MAX_LEVELS);
    return this.#client.call(
      {
        endpoint: ENDPOINTS.orderBook,
        query: { pairSymbol: symbol, limit: levels },
        subject: `pair ${symbol}`,
      },
      (data) => parseOrderBook(data, symbol),
    );
  }

  async tickers(symbol?: string): Promise<Ticker[]> {
    const { tickers, skipped } = await this.#client.call(
      {
        endpoint: ENDPOINTS.ticker,
        query: { pairSymbol: symbol },
        subject: symbol === undefined ? undefined : `pair ${symbol}`,
      },
      parseTickers,
    );
    this.#warnSkipped('ticker', skipped);
    return tickers;
  }

  recentTrades(symbol: string, last?: number): Promise<PublicTrade[]> {
    return this.#client.call(
      { endpoint: ENDPOINTS.trades, query: { pairSymbol: symbol, last }, subject: `pair ${symbol}` },
      (data) => parseTrades(data, symbol),
    );
  }

  balances(): Promise<BalanceReport[]> {
    return this.#client.call({ endpoint: ENDPOINTS.balances }, parseBalances);
  }

  async submitOrder(order: OrderRequest): Promise<OrderAck> {
    const rules = this.#rules.get(order.symbol);
    const violations = [...quoteSizedViolations(order), ...(rules ? orderViolations(rules, order) : [])];
    if (violations.length > 0) {
      const invalid = new OrderValidationError(order.symbol, violations);
      throw new ExchangeError(
        'rejected',
        `${operationName(ENDPOINTS.submitOrder)} not sent: ${invalid.message}`,
        {
          operation: operationName(ENDPOINTS.submitOrder),
          code: 'LOCAL_VALIDATION',
          reason: 'invalid-order',
          cause: invalid,
        },
      );
    }
    const body: Record<string, string> = {
      // A quote-sized buy's amount goes out as `quantity`: BTCTurk reads it as the quote to spend.
      quantity: decText(order.quoteAmount ?? order.quantity),
      newOrderClientId: order.clientOrderId,
      orderMethod: order.method,
      orderType: order.side,
      pairSymbol: order.symbol,
    };
    if (order.price) body.price = decText(order.price);
    if (order.stopPrice) body.stopPrice = decText(order.stopPrice);
    return this.#client.call(
      {
        endpoint: ENDPOINTS.submitOrder,
        body,
        subject: `order ${order.clientOrderId} (${order.side} ${order.symbol})`,
      },
      (data) => parseOrderAck(data, order),
    );
  }

  async cancelOrder(exchangeOrderId: string): Promise<void> {
    // HTTP 200 means "cancel accepted": the order leaves the book later (asynchronous since 2024-04).
    // The success reply has no `data` at all (btcturk-wire rest-cancel-ok): nothing to read.
    await this.#client.call(
      {
        endpoint: ENDPOINTS.cancelOrder,
        query: { id: exchangeOrderId },
        subject: `order ${exchangeOrderId}`,
      },
      () => undefined,
    );
  }

  openOrders(symbol?: string): Promise<OrderStatusReport[]> {
    return this.#client.call(
      {
        endpoint: ENDPOINTS.openOrders,
        query: { pairSymbol: symbol },
        subject: symbol === undefined ? undefined : `pair ${symbol}`,
      },
      parseOpenOrders,
    );
  }

  orderHistory(query: OrderHistoryQuery): Promise<OrderStatusReport[]> {
    return this.#client.call(
      {
        endpoint: ENDPOINTS.allOrders,
        query: {
          pairSymbol: query.symbol,
          orderId: query.fromOrderId,
          startTime: query.startTime,
          endTime: query.endTime,
          page: query.page,
          limit: query.limit,
        },
      },
      parseOrderHistory,
    );
  }

  order(exchangeOrderId: string): Promise<OrderStatusReport> {
    return this.#client.call(
      { endpoint: ENDPOINTS.order, pathParams: { id: exchangeOrderId }, subject: `order ${exchangeOrderId}` },
      (data) => parseSingleOrder(data, exchangeOrderId),
    );
  }

  async fills(query: FillQuery): Promise<FillReport[]> {
    const fills = await this.#client.call(
      {
        endpoint: ENDPOINTS.fills,
        query: {
          pairSymbol: query.symbol,
          orderId: query.exchangeOrderId,
          startDate: query.startTime,
          endDate: query.endTime,
        },
      },
      parseFills,
    );
    // Filtered here as well, so a server that ignores a filter cannot hand over other orders' fills.
    const symbol = query.symbol === undefined ? undefined : normalSymbol(query.symbol);
    return fills.filter(
      (f) =>
        (symbol === undefined || f.symbol === symbol) &&
        (query.exchangeOrderId === undefined || f.exchangeOrderId === query.exchangeOrderId) &&
        (query.startTime === undefined || f.timestamp >= query.startTime) &&
        (query.endTime === undefined || f.timestamp <= query.endTime),
    );
  }

  #warnSkipped(source: string, skipped: readonly SkippedRow[]): void {
    for (const row of skipped)
      this.#log.warn({ source, row: row.name, problem: row.problem }, 'unreadable row skipped');
  }
}
