import type { Decimal } from 'decimal.js';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { ExchangeError } from '../../src/domain/errors.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import type { FillReport, OrderAck, OrderStatusReport, VenueOrderStatus } from '../../src/domain/reports.ts';
import type { Exchange, FillQuery, OrderHistoryQuery } from '../../src/ports/exchange.ts';

// An in-memory exchange for unit tests of the OMS's decisions. Behaviour is scripted per test;
// what the OMS does against the real wire format is proven against the simulator.

/** A clock that moves only by sleeping or by advance(): backoff loops run instantly and replay. */
export function steppingClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    monotonic: () => now,
    sleep: (ms) => {
      now += Math.max(0, ms);
      return Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

export type SubmitScript = 'ack' | 'ambiguous-placed' | 'ambiguous-lost' | 'reject' | 'rate-limited';

interface VenueOrder {
  readonly id: string;
  readonly request: OrderRequest;
  filled: Decimal;
  status: VenueOrderStatus;
  readonly createdAt: number;
  visibleAt: number;
  cancelRequested: boolean;
}

const fail = (kind: ExchangeError['kind'], operation: string, extra: Partial<ExchangeError> = {}) =>
  new ExchangeError(kind, `${operation}: scripted ${kind}`, { operation, ...extra });

export class FakeExchange implements Exchange {
  readonly orders = new Map<string, VenueOrder>();
  readonly fillsList: FillReport[] = [];
  readonly calls: string[] = [];
  /** Scripts consumed one per submit; 'ack' when empty. */
  readonly submits: SubmitScript[] = [];
  /** Called inside submitOrder, before anything happens: lets a test look at the store mid-send. */
  onSubmit: ((request: OrderRequest) => Promise<void>) | undefined;
  failReads = false;
  visibilityDelayMs = 0;
  /** A cancel completes on the next lookup unless this says it stays pending. */
  cancelCompletes = true;
  #nextId = 1000;
  #nextTrade = 9_007_199_254_740_993n;

  constructor(readonly clock: Clock) {}

  #read(operation: string): void {
    this.calls.push(operation);
    if (this.failReads) throw fail('server', operation, { httpStatus: 503 });
  }

  #visible(order: VenueOrder): boolean {
    return order.visibleAt <= this.clock.now();
  }

  #settleCancels(): void {
    if (!this.cancelCompletes) return;
    for (const order of this.orders.values())
      if (order.cancelRequested && (order.status === 'open' || order.status === 'partially_filled'))
        order.status = 'canceled';
  }

  report(order: VenueOrder): OrderStatusReport {
    return {
      exchangeOrderId: order.id,
      clientOrderId: order.request.clientOrderId,
      symbol: order.request.symbol,
      side: order.request.side,
      method: order.request.method,
      price: order.request.price ?? null,
      stopPrice: null,
      quantity: order.request.quantity,
      leftQuantity: order.status === 'canceled' ? new Dec(0) : order.request.quantity.sub(order.filled),
      status: order.status,
      createdAt: order.createdAt,
      updatedAt: this.clock.now(),
    };
  }

  /** Places an order directly on the venue (a hand-placed one, or one a restored database forgot). */
  place(request: OrderRequest): VenueOrder {
    const order: VenueOrder = {
      id: String(this.#nextId++),
      request,
      filled: new Dec(0),
      status: 'open',
      createdAt: this.clock.now(),
      visibleAt: this.clock.now() + this.visibilityDelayMs,
      cancelRequested: false,
    };
    this.orders.set(order.id, order);
    return order;
  }

  /** Executes part of an order. */
  fill(exchangeOrderId: string, quantity: string, price = '100'): FillReport {
    const order = this.orders.get(exchangeOrderId);
    if (!order) throw new Error(`no venue order ${exchangeOrderId}`);
    const q = new Dec(quantity);
    order.filled = order.filled.add(q);
    if (order.status !== 'canceled')
      order.status = order.filled.gte(order.request.quantity) ? 'filled' : 'partially_filled';
    const fill: FillReport = {
      tradeId: String(this.#nextTrade++),
      exchangeOrderId,
      clientOrderId: order.request.clientOrderId,
      symbol: order.request.symbol,
      base: 'BTC',
      quote: 'TRY',
      side: order.request.side,
      price: new Dec(price),
      quantity: q,
      fee: new Dec('0.1'),
      tax: new Dec('0.02'),
      feeAsset: 'TRY',
      timestamp: this.clock.now(),
    };
    this.fillsList.push(fill);
    return fill;
  }

  async submitOrder(request: OrderRequest): Promise<OrderAck> {
    const operation = 'POST /api/v1/order';
    this.calls.push(operation);
    await this.onSubmit?.(request);
    const script = this.submits.shift() ?? 'ack';
    if (script === 'reject')
      throw fail('exchange-failure', operation, {
        code: 1120,
        venueMessage: 'FAILED_LIMIT_ORDER',
        httpStatus: 200,
      });
    if (script === 'rate-limited')
      throw fail('rate-limited', operation, { httpStatus: 429, retryAfterMs: 1000 });
    if (script === 'ambiguous-lost') throw fail('ambiguous', operation);
    const order = this.place(request);
    if (script === 'ambiguous-placed') throw fail('ambiguous', operation);
    return {
      exchangeOrderId: order.id,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      method: request.method,
      price: request.price ?? null,
      quantity: request.quantity,
      createdAt: order.createdAt,
    };
  }

  cancelOrder(exchangeOrderId: string): Promise<void> {
    const operation = 'DELETE /api/v1/order';
    this.calls.push(operation);
    const order = this.orders.get(exchangeOrderId);
    if (!order)
      return Promise.reject(fail('rejected', operation, { venueMessage: 'NO_ORDER_MATCHES_YOUR_REQUEST' }));
    if (order.status === 'canceled' || order.status === 'filled' || order.cancelRequested)
      return Promise.reject(fail('rejected', operation, { venueMessage: 'ORDER_COULD_NOT_BE_CANCELED' }));
    order.cancelRequested = true;
    return Promise.resolve();
  }

  openOrders(symbol?: string): Promise<OrderStatusReport[]> {
    this.#read('GET /api/v1/openOrders');
    this.#settleCancels();
    return Promise.resolve(
      [...this.orders.values()]
        .filter((o) => this.#visible(o) && (o.status === 'open' || o.status === 'partially_filled'))
        .filter((o) => symbol === undefined || o.request.symbol === symbol)
        .map((o) => this.report(o)),
    );
  }

  orderHistory(query: OrderHistoryQuery): Promise<OrderStatusReport[]> {
    this.#read('GET /api/v1/allOrders');
    this.#settleCancels();
    if ((query.page ?? 1) > 1) return Promise.resolve([]);
    return Promise.resolve(
      [...this.orders.values()]
        .filter((o) => this.#visible(o) && o.request.symbol === query.symbol)
        .filter((o) => query.startTime === undefined || o.createdAt >= query.startTime)
        .map((o) => this.report(o)),
    );
  }

  order(exchangeOrderId: string): Promise<OrderStatusReport> {
    const operation = 'GET /api/v1/order/{id}';
    this.#read(operation);
    this.#settleCancels();
    const order = this.orders.get(exchangeOrderId);
    if (!order || !this.#visible(order))
      return Promise.reject(
        fail('rejected', operation, { code: 1152, venueMessage: 'Order not found', httpStatus: 400 }),
      );
    return Promise.resolve(this.report(order));
  }

  fills(query: FillQuery): Promise<FillReport[]> {
    this.#read('GET /api/v1/users/transactions/trade');
    return Promise.resolve(
      this.fillsList.filter(
        (f) =>
          (query.symbol === undefined || f.symbol === query.symbol) &&
          (query.exchangeOrderId === undefined || f.exchangeOrderId === query.exchangeOrderId) &&
          (query.startTime === undefined || f.timestamp >= query.startTime),
      ),
    );
  }

  exchangeInfo(): never {
    throw new Error('not used by the OMS');
  }
  serverTime(): never {
    throw new Error('not used by the OMS');
  }
  orderBook(): never {
    throw new Error('not used by the OMS');
  }
  tickers(): never {
    throw new Error('not used by the OMS');
  }
  recentTrades(): never {
    throw new Error('not used by the OMS');
  }
  balances(): never {
    throw new Error('not used by the OMS');
  }
}
