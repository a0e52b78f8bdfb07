import type { Decimal } from 'decimal.js';
import { systemClock, type Clock } from '../domain/clock.ts';
import { Dec, ZERO } from '../domain/decimal.ts';
import { ExchangeError } from '../domain/errors.ts';
import { orderViolations, type OrderRequest } from '../domain/orders.ts';
import type {
  BalanceReport,
  ExchangeInfo,
  FillReport,
  OrderAck,
  OrderBookSnapshot,
  OrderStatusReport,
  PublicTrade,
  Ticker,
  VenueOrderStatus,
} from '../domain/reports.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import type { MarketDataEvents, TopOfBook } from '../market/service.ts';
import type { Exchange, FillQuery, OrderHistoryQuery } from '../ports/exchange.ts';
import type { UserStreamEvent } from '../ports/user-stream.ts';

// Dry-run mode's exchange: public calls go to the real exchange, private ones never leave the
// process. Our orders rest here and fill against the real market: a buy fills when the real best
// ask comes down to its price or a real trade prints at or below it (a sell mirrored), for at most
// the quantity the market showed there. An order that crosses the book when placed takes the touch.
// Orders, fills and balances are pushed as private events, as the exchange's own socket would.

export interface DryRunOptions {
  /** The real exchange, for public market data only. */
  readonly exchange: Exchange;
  /** The real market's books and trades. */
  readonly market: {
    top(symbol: string): TopOfBook | null;
    on<K extends 'top' | 'trade'>(event: K, listener: (...args: MarketDataEvents[K]) => void): unknown;
  };
  readonly rules: ReadonlyMap<string, SymbolRules>;
  /** Starting balances; default 1,000,000 of every quote currency and nothing else. */
  readonly balances?: ReadonlyMap<string, Decimal> | undefined;
  readonly makerFeeRate?: Decimal | undefined;
  readonly takerFeeRate?: Decimal | undefined;
  /** BSMV charged on the fee. */
  readonly taxRate?: Decimal | undefined;
  readonly clock?: Clock | undefined;
}

interface DryOrder {
  readonly id: string;
  readonly request: OrderRequest;
  readonly price: Decimal;
  filled: Decimal;
  status: VenueOrderStatus;
  /** Funds locked for what is left: quote for a buy (with the worst fee), base for a sell. */
  locked: Decimal;
  readonly createdAt: number;
  updatedAt: number;
}

interface Holding {
  free: Decimal;
  locked: Decimal;
}

const DEFAULT_QUOTE_BALANCE = new Dec(1_000_000);

function refused(
  operation: string,
  venueMessage: string,
  code: number | string,
  detail: string,
): ExchangeError {
  return new ExchangeError('rejected', `${operation}: ${venueMessage} (dry run): ${detail}`, {
    operation,
    httpStatus: 400,
    code,
    venueMessage,
  });
}

export class DryRunExchange implements Exchange {
  readonly #real: Exchange;
  readonly #market: DryRunOptions['market'];
  readonly #rules: ReadonlyMap<string, SymbolRules>;
  readonly #clock: Clock;
  readonly #maker: Decimal;
  readonly #taker: Decimal;
  readonly #tax: Decimal;
  readonly #orders = new Map<string, DryOrder>();
  /** The open ones only: every book update looks at these. */
  readonly #open = new Map<string, DryOrder>();
  readonly #fills: FillReport[] = [];
  readonly #holdings = new Map<string, Holding>();
  readonly #listeners = new Set<(event: UserStreamEvent) => void>();
  #nextOrder: number;
  #nextTrade: bigint;

  constructor(options: DryRunOptions) {
    this.#real = options.exchange;
    this.#market = options.market;
    this.#rules = options.rules;
    this.#clock = options.clock ?? systemClock;
    this.#maker = options.makerFeeRate ?? new Dec('0.0008');
    this.#taker = options.takerFeeRate ?? new Dec('0.0016');
    this.#tax = options.taxRate ?? new Dec('0.05');
    const start = Math.trunc(this.#clock.now());
    this.#nextOrder = start * 1000; // time-based: ids never repeat across runs
    this.#nextTrade = BigInt(start) * 1_000_000n;
    const balances =
      options.balances ??
      new Map([...options.rules.values()].map((r) => [r.quote, DEFAULT_QUOTE_BALANCE] as const));
    for (const [asset, amount] of balances) this.#holdings.set(asset, { free: amount, locked: ZERO });
    options.market.on('top', (top) => {
      this.#onTop(top);
    });
    options.market.on('trade', (trade) => {
      this.#onTrade(trade);
    });
  }

  /** Private events (orders, fills, balances), called synchronously as they happen. */
  onUserEvent(listener: (event: UserStreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  exchangeInfo(): Promise<ExchangeInfo> {
    return this.#real.exchangeInfo();
  }

  serverTime(): Promise<number> {
    return this.#real.serverTime();
  }

  orderBook(symbol: string, limit?: number): Promise<OrderBookSnapshot> {
    return this.#real.orderBook(symbol, limit);
  }

  tickers(symbol?: string): Promise<Ticker[]> {
    return this.#real.tickers(symbol);
  }

  recentTrades(symbol: string, last?: number): Promise<PublicTrade[]> {
    return this.#real.recentTrades(symbol, last);
  }

  balances(): Promise<BalanceReport[]> {
    return Promise.resolve(this.#balanceReports());
  }

  submitOrder(order: OrderRequest): Promise<OrderAck> {
    const operation = 'POST /api/v1/order';
    const rules = this.#rules.get(order.symbol);
    if (!rules)
      return Promise.reject(refused(operation, 'FAILED_ORDER_PARAMETER', 0, `${order.symbol} is not run`));
    if (order.method !== 'limit' || order.price === undefined)
      return Promise.reject(
        refused(operation, 'ORDER_METHOD_NOT_SUPPORTED', 1134, 'dry run simulates limit orders only'),
      );
    const violations = orderViolations(rules, order);
    if (violations.length > 0)
      return Promise.reject(
        refused(
          operation,
          'FAILED_LIMIT_ORDER',
          1120,
          violations.map((v) => `${v.field}: ${v.rule}`).join('; '),
        ),
      );
    const price = order.price;
    const [asset, need] =
      order.side === 'buy'
        ? [rules.quote, price.mul(order.quantity).mul(this.#worstFeeFactor())]
        : [rules.base, order.quantity];
    const holding = this.#holding(asset);
    if (holding.free.lt(need))
      return Promise.reject(
        refused(
          operation,
          'BALANCE_NOT_ENOUGH',
          0,
          `needs ${need.toFixed()} ${asset}, ${holding.free.toFixed()} free`,
        ),
      );
    holding.free = holding.free.sub(need);
    holding.locked = holding.locked.add(need);
    const now = this.#clock.now();
    const placed: DryOrder = {
      id: String(this.#nextOrder++),
      request: order,
      price,
      filled: ZERO,
      status: 'open',
      locked: need,
      createdAt: now,
      updatedAt: now,
    };
    this.#orders.set(placed.id, placed);
    this.#open.set(placed.id, placed);
    this.#emitOrder(placed, 'inserted');
    this.#emitBalances();
    // Crossing the book at arrival: it takes the touch, as a taker.
    const top = this.#market.top(order.symbol);
    const touch = order.side === 'buy' ? top?.ask : top?.bid;
    if (touch && (order.side === 'buy' ? touch.price.lte(price) : touch.price.gte(price)))
      this.#fill(placed, touch.price, touch.quantity, false);
    return Promise.resolve({
      exchangeOrderId: placed.id,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      method: order.method,
      price,
      quantity: order.quantity,
      createdAt: now,
    });
  }

  cancelOrder(exchangeOrderId: string): Promise<void> {
    const order = this.#open.get(exchangeOrderId);
    if (!order)
      return Promise.reject(
        refused(
          'DELETE /api/v1/order',
          'NO_ORDER_MATCHES_YOUR_REQUEST',
          0,
          `no open order ${exchangeOrderId}`,
        ),
      );
    order.status = 'canceled';
    order.updatedAt = this.#clock.now();
    this.#release(order);
    this.#emitOrder(order, 'deleted');
    this.#emitBalances();
    return Promise.resolve();
  }

  openOrders(symbol?: string): Promise<OrderStatusReport[]> {
    return Promise.resolve(
      [...this.#open.values()]
        .filter((o) => symbol === undefined || o.request.symbol === symbol)
        .map((o) => this.#report(o)),
    );
  }

  orderHistory(query: OrderHistoryQuery): Promise<OrderStatusReport[]> {
    const limit = query.limit ?? 100;
    const page = query.page ?? 1;
    const rows = [...this.#orders.values()]
      .filter(
        (o) =>
          o.request.symbol === query.symbol &&
          (query.fromOrderId === undefined || BigInt(o.id) >= BigInt(query.fromOrderId)) &&
          (query.startTime === undefined || o.createdAt >= query.startTime) &&
          (query.endTime === undefined || o.createdAt <= query.endTime),
      )
      .reverse();
    return Promise.resolve(rows.slice((page - 1) * limit, page * limit).map((o) => this.#report(o)));
  }

  order(exchangeOrderId: string): Promise<OrderStatusReport> {
    const order = this.#orders.get(exchangeOrderId);
    if (!order)
      return Promise.reject(
        refused(
          `GET /api/v1/order/${exchangeOrderId}`,
          'Order not found',
          1152,
          `no order ${exchangeOrderId}`,
        ),
      );
    return Promise.resolve(this.#report(order));
  }

  fills(query: FillQuery): Promise<FillReport[]> {
    return Promise.resolve(
      this.#fills.filter(
        (f) =>
          (query.symbol === undefined || f.symbol === query.symbol) &&
          (query.exchangeOrderId === undefined || f.exchangeOrderId === query.exchangeOrderId) &&
          (query.startTime === undefined || f.timestamp >= query.startTime) &&
          (query.endTime === undefined || f.timestamp <= query.endTime),
      ),
    );
  }

  #onTop(top: TopOfBook): void {
    for (const order of this.#resting(top.symbol)) {
      const level = order.request.side === 'buy' ? top.ask : top.bid;
      if (level && this.#crosses(order, level.price)) this.#fill(order, order.price, level.quantity, true);
    }
  }

  #onTrade(trade: PublicTrade): void {
    let left = trade.quantity;
    for (const order of this.#resting(trade.symbol)) {
      if (left.lte(0) || !this.#crosses(order, trade.price)) continue;
      left = left.sub(this.#fill(order, order.price, left, true));
    }
  }

  #crosses(order: DryOrder, price: Decimal): boolean {
    return order.request.side === 'buy' ? price.lte(order.price) : price.gte(order.price);
  }

  /** Fills up to `available` at `price`; returns the quantity filled. */
  #fill(order: DryOrder, price: Decimal, available: Decimal, maker: boolean): Decimal {
    const rules = this.#rules.get(order.request.symbol);
    if (!rules) return ZERO;
    const leftBefore = order.request.quantity.sub(order.filled);
    const quantity = Dec.min(leftBefore, available);
    if (quantity.lte(0)) return ZERO;
    const notional = price.mul(quantity);
    const fee = notional.mul(maker ? this.#maker : this.#taker);
    const tax = fee.mul(this.#tax);
    const now = this.#clock.now();
    order.filled = order.filled.add(quantity);
    order.status = order.filled.gte(order.request.quantity) ? 'filled' : 'partially_filled';
    order.updatedAt = now;
    const quote = this.#holding(rules.quote);
    const base = this.#holding(rules.base);
    if (order.request.side === 'buy') {
      const cost = notional.add(fee).add(tax);
      // The lock shrinks in proportion; the fill's true cost comes out of it, the rest goes back.
      const share = order.locked.mul(quantity).div(leftBefore);
      quote.locked = quote.locked.sub(share);
      order.locked = order.locked.sub(share);
      quote.free = quote.free.add(share).sub(cost);
      base.free = base.free.add(quantity);
    } else {
      base.locked = base.locked.sub(quantity);
      order.locked = order.locked.sub(quantity);
      quote.free = quote.free.add(notional).sub(fee).sub(tax);
    }
    if (order.status === 'filled') this.#release(order);
    const fill: FillReport = {
      tradeId: (this.#nextTrade++).toString(),
      exchangeOrderId: order.id,
      clientOrderId: order.request.clientOrderId,
      symbol: rules.symbol,
      base: rules.base,
      quote: rules.quote,
      side: order.request.side,
      price,
      quantity,
      fee,
      tax,
      feeAsset: rules.quote,
      timestamp: now,
    };
    this.#fills.push(fill);
    this.#emit({ kind: 'fill', fill });
    this.#emitOrder(order, 'updated');
    this.#emitBalances();
    return quantity;
  }

  /** Takes a closed order off the book and frees what it still locks. */
  #release(order: DryOrder): void {
    this.#open.delete(order.id);
    const rules = this.#rules.get(order.request.symbol);
    if (!rules || order.locked.isZero()) return;
    const holding = this.#holding(order.request.side === 'buy' ? rules.quote : rules.base);
    holding.locked = holding.locked.sub(order.locked);
    holding.free = holding.free.add(order.locked);
    order.locked = ZERO;
  }

  #worstFeeFactor(): Decimal {
    return Dec.max(this.#maker, this.#taker).mul(this.#tax.add(1)).add(1);
  }

  #resting(symbol: string): DryOrder[] {
    return [...this.#open.values()].filter((o) => o.request.symbol === symbol);
  }

  #holding(asset: string): Holding {
    let holding = this.#holdings.get(asset);
    if (!holding) {
      holding = { free: ZERO, locked: ZERO };
      this.#holdings.set(asset, holding);
    }
    return holding;
  }

  #balanceReports(): BalanceReport[] {
    return [...this.#holdings].map(([asset, h]) => ({
      asset,
      total: h.free.add(h.locked),
      free: h.free,
      locked: h.locked,
    }));
  }

  #report(order: DryOrder): OrderStatusReport {
    const { request } = order;
    return {
      exchangeOrderId: order.id,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      method: request.method,
      price: order.price,
      stopPrice: null,
      quantity: request.quantity,
      leftQuantity: request.quantity.sub(order.filled),
      status: order.status,
      createdAt: order.createdAt,
      updatedAt: order.updatedAt,
    };
  }

  #emitOrder(order: DryOrder, change: 'inserted' | 'updated' | 'deleted'): void {
    const { request } = order;
    this.#emit({
      kind: 'order',
      change,
      exchangeOrderId: order.id,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      method: request.method,
      price: order.price,
      quantity: request.quantity,
      leftQuantity: request.quantity.sub(order.filled),
    });
  }

  #emitBalances(): void {
    this.#emit({ kind: 'balances', balances: this.#balanceReports() });
  }

  #emit(event: UserStreamEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
