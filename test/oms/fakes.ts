import type { Decimal } from 'decimal.js';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { ExchangeError, type RefusalReason } from '../../src/domain/errors.ts';
import { orderViolations, type OrderRequest } from '../../src/domain/orders.ts';
import type {
  BalanceReport,
  ExchangeInfo,
  FillReport,
  OrderAck,
  OrderStatusReport,
  VenueOrderStatus,
} from '../../src/domain/reports.ts';
import type { SymbolRules } from '../../src/domain/symbols.ts';
import type { Exchange, FillQuery, OrderHistoryQuery } from '../../src/ports/exchange.ts';

// An in-memory exchange for unit tests of the OMS's decisions. Behaviour is scripted per test;
// what the OMS does against the real wire format is proven against the simulator. It is no
// imitation of any venue: its refusals carry only the venue-neutral reason, and it passes the
// exchange contract (test/contract/exchange-contract.ts) once given rules (list), balances (fund)
// and a market price (marketPrice) — without them it checks nothing and accepts every order.

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
  /** What the order holds of its account's balance (ledger on): quote for a buy, base for a sell. */
  locked: Decimal;
}

interface Holding {
  free: Decimal;
  locked: Decimal;
}

const fail = (kind: ExchangeError['kind'], operation: string, extra: Partial<ExchangeError> = {}) =>
  new ExchangeError(kind, `${operation}: scripted ${kind}`, { operation, ...extra });

const refuse = (operation: string, reason: RefusalReason, detail: string) =>
  new ExchangeError('rejected', `${operation}: refused (${reason}): ${detail}`, {
    operation,
    reason,
    httpStatus: 400,
  });

const FEE = new Dec('0.1');
const TAX = new Dec('0.02');

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
  /** Listed pairs (list()): when any is listed, orders are checked against them. */
  readonly rules = new Map<string, SymbolRules>();
  /** The price a market order fills at, per symbol; a market order without one is refused. */
  readonly marketPrice = new Map<string, Decimal>();
  /** Balances (fund()): when funded, orders lock funds and fills move them. */
  #ledger: Map<string, Holding> | null = null;
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
      if (order.cancelRequested && (order.status === 'open' || order.status === 'partially_filled')) {
        order.status = 'canceled';
        this.#release(order);
      }
  }

  /** Lists pairs: from now on an order must be on one of them and keep its rules. */
  list(...rules: SymbolRules[]): void {
    for (const r of rules) this.rules.set(r.symbol, r);
  }

  /** Credits balances and turns the ledger on: orders lock funds, fills and fees move them. */
  fund(amounts: Readonly<Record<string, string>>): void {
    this.#ledger ??= new Map<string, Holding>();
    for (const [asset, amount] of Object.entries(amounts)) this.#holding(asset).free = new Dec(amount);
  }

  #holding(asset: string): Holding {
    const ledger = (this.#ledger ??= new Map<string, Holding>());
    let holding = ledger.get(asset);
    if (!holding) {
      holding = { free: new Dec(0), locked: new Dec(0) };
      ledger.set(asset, holding);
    }
    return holding;
  }

  #assets(symbol: string): { base: string; quote: string } {
    const rules = this.rules.get(symbol);
    return rules ? { base: rules.base, quote: rules.quote } : { base: 'BTC', quote: 'TRY' };
  }

  /** Why the venue would refuse `request`, or null. */
  #refusal(request: OrderRequest): [RefusalReason, string] | null {
    if (this.rules.size > 0) {
      const rules = this.rules.get(request.symbol);
      if (!rules) return ['unknown-symbol', `${request.symbol} is not listed`];
      const violations = orderViolations(rules, request);
      if (violations.length > 0)
        return ['invalid-order', violations.map((v) => `${v.field}=${v.value}: ${v.rule}`).join('; ')];
    }
    if (request.method === 'market' && !this.marketPrice.has(request.symbol))
      return ['market-unavailable', `no market price for ${request.symbol}`];
    if (this.#ledger !== null) {
      const [asset, need] = this.#lockFor(request);
      const free = this.#holding(asset).free;
      if (free.lt(need))
        return ['insufficient-balance', `needs ${need.toFixed()} ${asset}, ${free.toFixed()} free`];
    }
    return null;
  }

  /** What an order holds while it rests: the quote it may spend (buy), the base it sells (sell). */
  #lockFor(request: OrderRequest): [string, Decimal] {
    const { base, quote } = this.#assets(request.symbol);
    if (request.side === 'sell') return [base, request.quantity];
    if (request.quoteAmount !== undefined) return [quote, request.quoteAmount];
    const price = request.price ?? this.marketPrice.get(request.symbol) ?? new Dec(0);
    return [quote, price.mul(request.quantity)];
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
      locked: new Dec(0),
    };
    this.orders.set(order.id, order);
    if (this.#ledger !== null) {
      const [asset, need] = this.#lockFor(request);
      const holding = this.#holding(asset);
      holding.free = holding.free.sub(need);
      holding.locked = holding.locked.add(need);
      order.locked = need;
    }
    return order;
  }

  /** Gives back what a closed order still holds. */
  #release(order: VenueOrder): void {
    if (this.#ledger === null || order.locked.isZero()) return;
    const { base, quote } = this.#assets(order.request.symbol);
    const holding = this.#holding(order.request.side === 'buy' ? quote : base);
    holding.locked = holding.locked.sub(order.locked);
    holding.free = holding.free.add(order.locked);
    order.locked = new Dec(0);
  }

  /** Executes part of an order. */
  fill(exchangeOrderId: string, quantity: string, price = '100'): FillReport {
    const order = this.orders.get(exchangeOrderId);
    if (!order) throw new Error(`no venue order ${exchangeOrderId}`);
    const q = new Dec(quantity);
    const at = new Dec(price);
    const { base, quote } = this.#assets(order.request.symbol);
    this.#settle(order, q, at);
    order.filled = order.filled.add(q);
    if (order.status !== 'canceled')
      order.status = order.filled.gte(order.request.quantity) ? 'filled' : 'partially_filled';
    if (order.status === 'filled') this.#release(order);
    const fill: FillReport = {
      tradeId: String(this.#nextTrade++),
      exchangeOrderId,
      clientOrderId: order.request.clientOrderId,
      symbol: order.request.symbol,
      base,
      quote,
      side: order.request.side,
      price: at,
      quantity: q,
      fee: FEE,
      tax: TAX,
      feeAsset: quote,
      timestamp: this.clock.now(),
    };
    this.fillsList.push(fill);
    return fill;
  }

  /** Moves the ledger for a fill of `q` at `at`: its share of the lock is spent, the fee paid in quote. */
  #settle(order: VenueOrder, q: Decimal, at: Decimal): void {
    if (this.#ledger === null) return;
    const { base, quote } = this.#assets(order.request.symbol);
    const notional = at.mul(q);
    const left = order.request.quantity.sub(order.filled);
    // A quote-sized buy spends from its lock what it pays; any other order a share by quantity.
    const share =
      order.request.quoteAmount !== undefined
        ? Dec.min(order.locked, notional)
        : left.lte(0)
          ? order.locked
          : Dec.min(order.locked, order.locked.mul(q).div(left));
    const b = this.#holding(base);
    const c = this.#holding(quote);
    order.locked = order.locked.sub(share);
    if (order.request.side === 'buy') {
      c.locked = c.locked.sub(share);
      c.free = c.free.add(share).sub(notional);
      b.free = b.free.add(q);
    } else {
      b.locked = b.locked.sub(share);
      c.free = c.free.add(notional);
    }
    c.free = c.free.sub(FEE).sub(TAX);
  }

  async submitOrder(request: OrderRequest): Promise<OrderAck> {
    const operation = 'POST /api/v1/order';
    this.calls.push(operation);
    await this.onSubmit?.(request);
    const script = this.submits.shift() ?? 'ack';
    if (script === 'reject') throw fail('exchange-failure', operation, { reason: 'invalid-order' });
    if (script === 'rate-limited')
      throw fail('rate-limited', operation, { httpStatus: 429, retryAfterMs: 1000 });
    if (script === 'ambiguous-lost') throw fail('ambiguous', operation);
    const refusal = this.#refusal(request);
    if (refusal) throw refuse(operation, ...refusal);
    const order = this.place(request);
    if (request.method === 'market') this.#fillMarket(order);
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

  /** A market order takes everything at the market price at once. */
  #fillMarket(order: VenueOrder): void {
    const price = this.marketPrice.get(order.request.symbol) ?? new Dec(0);
    const { quoteAmount } = order.request;
    const scale = this.rules.get(order.request.symbol)?.quantityScale ?? 8;
    const quantity =
      quoteAmount === undefined
        ? order.request.quantity
        : quoteAmount.div(price).toDecimalPlaces(scale, Dec.ROUND_DOWN);
    this.fill(order.id, quantity.toFixed(), price.toFixed());
    order.status = 'filled';
    this.#release(order);
  }

  cancelOrder(exchangeOrderId: string): Promise<void> {
    const operation = 'DELETE /api/v1/order';
    this.calls.push(operation);
    const order = this.orders.get(exchangeOrderId);
    if (!order) return Promise.reject(refuse(operation, 'order-not-found', `no order ${exchangeOrderId}`));
    if (order.status === 'canceled' || order.status === 'filled' || order.cancelRequested)
      return Promise.reject(refuse(operation, 'order-closed', `order ${exchangeOrderId} is ${order.status}`));
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
        .filter(
          (o) =>
            (query.startTime === undefined || o.createdAt >= query.startTime) &&
            (query.endTime === undefined || o.createdAt <= query.endTime) &&
            (query.fromOrderId === undefined || Number(o.id) >= Number(query.fromOrderId)),
        )
        .map((o) => this.report(o)),
    );
  }

  order(exchangeOrderId: string): Promise<OrderStatusReport> {
    const operation = 'GET /api/v1/order/{id}';
    this.#read(operation);
    this.#settleCancels();
    const order = this.orders.get(exchangeOrderId);
    if (!order || !this.#visible(order))
      return Promise.reject(refuse(operation, 'order-not-found', `no order ${exchangeOrderId}`));
    return Promise.resolve(this.report(order));
  }

  fills(query: FillQuery): Promise<FillReport[]> {
    this.#read('GET /api/v1/users/transactions/trade');
    return Promise.resolve(
      this.fillsList.filter(
        (f) =>
          (query.symbol === undefined || f.symbol === query.symbol) &&
          (query.exchangeOrderId === undefined || f.exchangeOrderId === query.exchangeOrderId) &&
          (query.startTime === undefined || f.timestamp >= query.startTime) &&
          (query.endTime === undefined || f.timestamp <= query.endTime),
      ),
    );
  }

  exchangeInfo(): Promise<ExchangeInfo> {
    this.#read('GET /api/v2/server/exchangeinfo');
    return Promise.resolve({ serverTime: this.clock.now(), symbols: [...this.rules.values()] });
  }
  serverTime(): Promise<number> {
    return Promise.resolve(this.clock.now());
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
  balances(): Promise<BalanceReport[]> {
    this.#read('GET /api/v1/users/balances');
    return Promise.resolve(
      [...(this.#ledger ?? new Map<string, Holding>())].map(([asset, h]) => ({
        asset,
        total: h.free.add(h.locked),
        free: h.free,
        locked: h.locked,
      })),
    );
  }
}
