import type { Decimal } from 'decimal.js';
import { BoundedQueue } from '../btcturk/websocket/queue.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { Dec } from '../domain/decimal.ts';
import { ExchangeError } from '../domain/errors.ts';
import { takesQuoteAmount, type OrderMethod, type OrderRequest, type Side } from '../domain/orders.ts';
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
import type { MarketDataEvents, TopOfBook } from '../market/service.ts';
import type { Exchange, FillQuery, OrderHistoryQuery } from '../ports/exchange.ts';
import type { UserStream, UserStreamEvent } from '../ports/user-stream.ts';
import {
  SimRejection,
  type SimBalance,
  type SimEvent,
  type SimFill,
  type SimOrder,
} from '../sim/engine/api.ts';
import {
  DEFAULT_FEES,
  EXCHANGE_ACCOUNT,
  MatchingCore,
  MirroredMarket,
  type MirrorLevel,
} from '../sim/engine/index.ts';
import { rejections } from '../sim/engine/rejections.ts';

// Dry-run mode's exchange: public calls go to the real exchange, private ones never leave the
// process. Our orders live in the simulator's matching core (src/sim/engine: the same ledger, fee
// and tax model and book matcher as paper mode and `btcbot sim`), and the real market's touch and
// trades are mirrored into it (MirroredMarket): a buy fills when the real best ask comes down to
// its price or a real trade prints at or below it (a sell mirrored), at its price as the maker, for
// at most the quantity the market showed there; an order that crosses the real touch when placed
// takes it, as the taker. Orders, fills and balances are pushed as private events, as the
// exchange's own socket would.
//
// Only a pair where one of our orders is open is mirrored update by update: the mirrored touch and
// prints meet nothing else, and a bot following hundreds of pairs would otherwise requote the core
// on every book change of each. On the others the last print is only remembered; an order placed
// there first brings the core up to date (that print as its last price, then the touch as it is).
// Where the market data follows trades on demand (a bot session), a pair's trades are followed
// from its first open order of ours to its last one's end.
// ASSUMPTION (BTCTurk): a trade channel join takes effect within about a round trip; a print in
// that moment after an order is placed is not mirrored (the touch still is, from the book).

/** An in-process exchange's fees; each defaults to BTCTurk's (DEFAULT_FEES). */
export interface CoreFees {
  readonly makerFeeRate?: Decimal | undefined;
  readonly takerFeeRate?: Decimal | undefined;
  /** BSMV charged on the fee. */
  readonly taxRate?: Decimal | undefined;
}

export interface DryRunOptions extends CoreFees {
  /** The real exchange, for public market data only. */
  readonly exchange: Exchange;
  /** The real market's books and trades. */
  readonly market: {
    top(symbol: string): TopOfBook | null;
    on<K extends 'top' | 'trade'>(event: K, listener: (...args: MarketDataEvents[K]) => void): unknown;
    /**
     * Follows the symbol's public trades while `on` (MarketDataService.followTrades): asked for
     * while one of our orders is open there, when the trades are not followed for every pair.
     */
    followTrades?(symbol: string, on: boolean): void;
  };
  readonly rules: ReadonlyMap<string, SymbolRules>;
  /** Starting balances; default DEFAULT_DRY_RUN_QUOTE of every quote currency and nothing else. */
  readonly balances?: ReadonlyMap<string, Decimal> | undefined;
  readonly clock?: Clock | undefined;
}

/** What dry-run starts with when neither a flag nor the account says otherwise, per quote currency. */
export const DEFAULT_DRY_RUN_QUOTE = new Dec(1_000_000);

function defaultBalances(rules: ReadonlyMap<string, SymbolRules>): Map<string, Decimal> {
  return new Map([...rules.values()].map((r) => [r.quote, DEFAULT_DRY_RUN_QUOTE] as const));
}

/** Our account in the matching core. */
const ACCOUNT = 'dry-run';
/** The real market's mirrored liquidity. */
const REAL_MARKET = '__real_market__';

/** The core's order events as the private stream's order changes. */
export const ORDER_CHANGE = {
  'order-inserted': 'inserted',
  'order-updated': 'updated',
  'order-deleted': 'deleted',
} as const;

/** The one translation of the core's refusals: the venue's words kept, the reason venue-neutral. */
export function refusal(operation: string, error: unknown): Error {
  if (!(error instanceof SimRejection)) return error instanceof Error ? error : new Error(String(error));
  return new ExchangeError('rejected', `${operation}: ${error.message} (dry run)`, {
    operation,
    reason: error.reason,
    httpStatus: error.httpStatus,
    code: error.code,
    venueMessage: error.venueMessage,
  });
}

/**
 * A matching core for our pairs (no market of its own: the tickers' fallback mid is 0); `market` is
 * the transient account of the liquidity our orders meet.
 */
export function coreFor(
  options: CoreFees & {
    readonly clock: Clock;
    readonly rules: ReadonlyMap<string, SymbolRules>;
    readonly market: string;
    /** No balance events for the market's account (one that holds every asset of every pair). */
    readonly silentMarket?: boolean;
  },
): MatchingCore {
  const { market } = options;
  return new MatchingCore({
    clock: options.clock,
    markets: [...options.rules.values()].map((rules) => ({
      symbol: rules.symbol,
      rules,
      initialMid: new Dec(0),
      volatility: 0,
    })),
    makerFeeRate: options.makerFeeRate ?? DEFAULT_FEES.makerFeeRate,
    takerFeeRate: options.takerFeeRate ?? DEFAULT_FEES.takerFeeRate,
    taxRate: options.taxRate ?? DEFAULT_FEES.taxRate,
    transient: (accountId) => accountId === market || accountId === EXCHANGE_ACCOUNT,
    ...(options.silentMarket === true ? { silentBalances: (accountId: string) => accountId === market } : {}),
  });
}

/**
 * The private side of an in-process exchange (dry run, backtest): one account in a matching core,
 * its balances, orders and fills read from the core, its orders placed and cancelled there, and the
 * core's events for it pushed as the exchange's private socket would. Constructed once the account
 * is created in the core.
 */
export abstract class CoreAccount {
  readonly #core: MatchingCore;
  readonly #id: string;
  readonly #rules: ReadonlyMap<string, SymbolRules>;
  readonly #notRun: (symbol: string) => string;
  readonly #listeners = new Set<(event: UserStreamEvent) => void>();

  protected constructor(options: {
    readonly core: MatchingCore;
    readonly accountId: string;
    readonly rules: ReadonlyMap<string, SymbolRules>;
    /** The error for a fill on a pair not run. */
    readonly notRun: (symbol: string) => string;
  }) {
    this.#core = options.core;
    this.#id = options.accountId;
    this.#rules = options.rules;
    this.#notRun = options.notRun;
    this.#core.subscribe((event) => {
      this.#forward(event);
    });
  }

  /** Private events (orders, fills, balances), called synchronously as they happen. */
  onUserEvent(listener: (event: UserStreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Places our order in the core (throws the core's refusal). */
  protected place(order: OrderRequest): SimOrder {
    return this.#core.placeOrder({
      accountId: this.#id,
      symbol: order.symbol,
      side: order.side,
      method: order.method,
      // The core reads a market buy's quantity as the quote to spend, as BTCTurk does.
      quantity: coreQuantity(order),
      price: order.price,
      stopPrice: order.stopPrice,
      clientOrderId: order.clientOrderId,
    });
  }

  /** Cancels our order at once (throws the core's refusal). */
  protected cancel(exchangeOrderId: string): void {
    this.#core.requestCancel(this.#id, exchangeOrderId);
    this.#core.completeCancel(exchangeOrderId);
  }

  balances(): Promise<BalanceReport[]> {
    return Promise.resolve(this.#core.balances(this.#id).map(balanceReport));
  }

  openOrders(symbol?: string): Promise<OrderStatusReport[]> {
    return Promise.resolve(this.#core.openOrders(this.#id, symbol).map(statusReport));
  }

  orderHistory(query: OrderHistoryQuery): Promise<OrderStatusReport[]> {
    return Promise.resolve(this.#core.allOrders(this.#id, query).map(statusReport));
  }

  order(exchangeOrderId: string): Promise<OrderStatusReport> {
    const order = this.#core.order(this.#id, exchangeOrderId);
    if (order) return Promise.resolve(statusReport(order));
    return Promise.reject(
      refusal(
        `GET /api/v1/order/${exchangeOrderId}`,
        rejections.orderNotFound(`no order ${exchangeOrderId}`),
      ),
    );
  }

  fills(query: FillQuery): Promise<FillReport[]> {
    return Promise.resolve(
      this.#core
        .fills(this.#id, {
          symbol: query.symbol,
          orderId: query.exchangeOrderId,
          startTime: query.startTime,
          endTime: query.endTime,
        })
        .map((fill) => this.#fillReport(fill)),
    );
  }

  #fillReport(fill: SimFill): FillReport {
    const rules = this.#rules.get(fill.symbol);
    if (!rules) throw new Error(this.#notRun(fill.symbol));
    return fillReport(fill, rules);
  }

  /** The account's events, as the exchange's private socket would push them. */
  #forward(event: SimEvent): void {
    switch (event.type) {
      case 'order-inserted':
      case 'order-updated':
      case 'order-deleted': {
        const { order } = event;
        // A quote-sized buy's quantities are quote amounts, which an order event cannot say: its
        // fills and its status report (quoteSized) tell what it did.
        if (order.accountId !== this.#id || spendsQuote(order)) return;
        this.#emit({
          kind: 'order',
          change: ORDER_CHANGE[event.type],
          ...orderFields(order),
        });
        return;
      }
      case 'fill':
        if (event.fill.accountId !== this.#id) return;
        this.onOwnFill(event.fill);
        this.#emit({ kind: 'fill', fill: this.#fillReport(event.fill) });
        return;
      case 'balance':
        if (event.accountId === this.#id)
          this.#emit({ kind: 'balances', balances: event.balances.map(balanceReport) });
        return;
      case 'trade':
      case 'book':
        return;
    }
  }

  /** Each of the account's fills, before it is pushed. */
  protected onOwnFill(_fill: SimFill): void {
    // nothing by default
  }

  #emit(event: UserStreamEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** The acknowledgement of an order the core placed (`quantity` as sent: a quote-sized buy's is 0). */
export function orderAck(placed: SimOrder, order: OrderRequest): OrderAck {
  return {
    exchangeOrderId: placed.id,
    clientOrderId: placed.clientOrderId,
    symbol: placed.symbol,
    side: placed.side,
    method: placed.method,
    price: placed.price,
    quantity: order.quantity,
    createdAt: placed.createdAt,
  };
}

/** A private event source (an in-process exchange) as a UserStream, queued as the exchange's own stream is. */
export function userStreamOf(source: Pick<UserStream, 'onUserEvent'>): UserStream {
  return {
    onUserEvent: (listener) => source.onUserEvent(listener),
    userEvents: (capacity) => {
      let detach = (): void => undefined;
      const queue = new BoundedQueue<UserStreamEvent>(
        capacity,
        (dropped) => ({
          kind: 'resync',
          reason: `the event queue overflowed: ${dropped} events were dropped`,
        }),
        () => {
          detach();
        },
      );
      detach = source.onUserEvent((event) => {
        queue.push(event);
      });
      return queue;
    },
  };
}

export class DryRunExchange extends CoreAccount implements Exchange {
  readonly #real: Exchange;
  readonly #market: DryRunOptions['market'];
  readonly #rules: ReadonlyMap<string, SymbolRules>;
  readonly #mirror: MirroredMarket;
  readonly #core: MatchingCore;
  /** Per symbol, the ids of our orders open there (stops waiting to trigger included). */
  readonly #open = new Map<string, Set<string>>();
  /** The symbols whose mirrored quotes rest in the core. */
  readonly #mirrored = new Set<string>();
  /** Per symbol with none of our orders open, the last real print the core has not been told of. */
  readonly #lastPrint = new Map<string, Decimal>();

  constructor(options: DryRunOptions) {
    // The tickers' fallback mid is 0 only: dry-run's tickers come from the real market.
    const core = coreFor({
      makerFeeRate: options.makerFeeRate,
      takerFeeRate: options.takerFeeRate,
      taxRate: options.taxRate,
      clock: options.clock ?? systemClock,
      rules: options.rules,
      market: REAL_MARKET,
      // The mirror's account holds every asset of every pair: no balance event per mirrored quote.
      silentMarket: true,
    });
    const mirror = new MirroredMarket(core, REAL_MARKET);
    core.createAccount(ACCOUNT, Object.fromEntries(options.balances ?? defaultBalances(options.rules)));
    super({
      core,
      accountId: ACCOUNT,
      rules: options.rules,
      notRun: (symbol) => `dry run: a fill on ${symbol}, which is not run`,
    });
    this.#real = options.exchange;
    this.#market = options.market;
    this.#rules = options.rules;
    this.#mirror = mirror;
    this.#core = core;
    core.subscribe((event) => {
      if (event.type === 'order-inserted' || event.type === 'order-updated' || event.type === 'order-deleted')
        if (event.order.accountId === ACCOUNT) this.#track(event.order);
    });
    options.market.on('top', (top) => {
      const { symbol } = top;
      if (!this.#rules.has(symbol)) return;
      if (this.#open.has(symbol)) this.#quote(symbol, top.bid, top.ask);
      // The last of our orders there has ended: the mirrored quotes step aside until the next one.
      else if (this.#mirrored.delete(symbol)) this.#mirror.quote(symbol, null, null);
    });
    options.market.on('trade', (trade) => {
      const { symbol } = trade;
      if (!this.#rules.has(symbol)) return;
      if (this.#open.has(symbol)) this.#mirror.print(symbol, trade.price, trade.quantity);
      else this.#lastPrint.set(symbol, trade.price);
    });
  }

  /** Keeps #open up to date from the core's events for our orders. */
  #track(order: SimOrder): void {
    const open = order.status === 'open' || order.status === 'partially_filled';
    const ids = this.#open.get(order.symbol);
    if (open) {
      if (ids) ids.add(order.id);
      else {
        this.#open.set(order.symbol, new Set([order.id]));
        this.#market.followTrades?.(order.symbol, true);
      }
    } else if (ids?.delete(order.id) === true && ids.size === 0) {
      this.#open.delete(order.symbol);
      this.#market.followTrades?.(order.symbol, false);
    }
  }

  #quote(symbol: string, bid: MirrorLevel | null, ask: MirrorLevel | null): void {
    this.#mirror.quote(symbol, bid, ask);
    this.#mirrored.add(symbol);
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

  submitOrder(order: OrderRequest): Promise<OrderAck> {
    try {
      if (this.#rules.has(order.symbol)) {
        // The last print on a pair not mirrored until now (stops trigger from it), and the touch
        // as it is now (an update may not have arrived since the book last changed).
        const print = this.#lastPrint.get(order.symbol);
        if (print !== undefined) {
          this.#lastPrint.delete(order.symbol);
          this.#core.notePrice(order.symbol, print);
        }
        const top = this.#market.top(order.symbol);
        this.#quote(order.symbol, top?.bid ?? null, top?.ask ?? null);
      }
      return Promise.resolve(orderAck(this.place(order), order));
    } catch (error) {
      return Promise.reject(refusal('POST /api/v1/order', error));
    }
  }

  cancelOrder(exchangeOrderId: string): Promise<void> {
    try {
      // Accepted and carried out at once: nothing else can happen in between in the process.
      this.cancel(exchangeOrderId);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(refusal('DELETE /api/v1/order', error));
    }
  }
}

/** A fill of the core's as the exchange reports it. */
export function fillReport(fill: SimFill, rules: SymbolRules): FillReport {
  return {
    tradeId: fill.tradeId,
    exchangeOrderId: fill.orderId,
    clientOrderId: fill.clientOrderId,
    symbol: fill.symbol,
    base: rules.base,
    quote: rules.quote,
    side: fill.side,
    price: fill.price,
    quantity: fill.quantity,
    fee: fill.fee,
    tax: fill.tax,
    feeAsset: fill.feeAsset,
    timestamp: fill.timestamp,
  };
}

export function balanceReport(balance: SimBalance): BalanceReport {
  return {
    asset: balance.asset,
    total: balance.free.add(balance.locked),
    free: balance.free,
    locked: balance.locked,
  };
}

/** A market or stop-market buy: sized by the quote it spends. */
export function spendsQuote(order: { readonly side: Side; readonly method: OrderMethod }): boolean {
  return takesQuoteAmount(order.side, order.method);
}

/** The quantity the core takes: the quote amount of a quote-sized buy, else the base quantity. */
export function coreQuantity(order: OrderRequest): Decimal {
  if (spendsQuote(order)) {
    if (order.quoteAmount === undefined || !order.quantity.isZero())
      throw rejections.parameter(
        `a ${order.method} buy is sized by the quote it spends: give quoteAmount, with quantity 0`,
      );
    return order.quoteAmount;
  }
  if (order.quoteAmount !== undefined)
    throw rejections.parameter(
      `only market and stopmarket buys take a quoteAmount, not a ${order.method} ${order.side}`,
    );
  return order.quantity;
}

/** What an order event and a status report both say of an order. */
function orderFields(order: SimOrder) {
  return {
    exchangeOrderId: order.id,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    price: order.price,
    quantity: order.quantity,
    leftQuantity: order.quantity.sub(order.filled),
  };
}

export function statusReport(order: SimOrder): OrderStatusReport {
  return {
    ...orderFields(order),
    stopPrice: order.stopPrice,
    ...(spendsQuote(order) ? { quoteSized: true } : {}),
    status: order.status,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  };
}

/** Where dry-run's starting balances came from, for the banner and the log. */
export interface StartingBalances {
  readonly balances: ReadonlyMap<string, Decimal>;
  readonly source: 'flag' | 'account' | 'default';
  /** One line saying which source was used, and what it holds. */
  readonly description: string;
}

function balancesText(balances: ReadonlyMap<string, Decimal>): string {
  return balances.size === 0
    ? 'nothing'
    : [...balances].map(([asset, amount]) => `${asset}=${amount.toFixed()}`).join(',');
}

/**
 * Dry-run's starting balances: the ones given (--dry-run-balances), else the real account's free
 * balances when API keys are at hand (read-only keys suffice; what the account's own open orders
 * hold is not free to a bot either), else DEFAULT_DRY_RUN_QUOTE of every quote currency run.
 */
export async function dryRunStartingBalances(input: {
  readonly given: ReadonlyMap<string, Decimal> | null;
  readonly setting?: string | undefined;
  /** Reads the real account's balances; null without API keys. */
  readonly account: (() => Promise<readonly BalanceReport[]>) | null;
  readonly rules: ReadonlyMap<string, SymbolRules>;
}): Promise<StartingBalances> {
  if (input.given !== null)
    return {
      balances: input.given,
      source: 'flag',
      description: `dry-run starting balances from ${input.setting ?? '--dry-run-balances'}: ${balancesText(input.given)}`,
    };
  if (input.account !== null) {
    let reports: readonly BalanceReport[];
    try {
      reports = await input.account();
    } catch (error) {
      throw new Error(
        `dry run: could not read the account's balances with the API keys given (${error instanceof Error ? error.message : String(error)}); ` +
          'give the starting balances with --dry-run-balances instead, e.g. TRY=100000,BTC=0.5',
        { cause: error },
      );
    }
    const balances = new Map(reports.filter((b) => b.free.gt(0)).map((b) => [b.asset, b.free] as const));
    return {
      balances,
      source: 'account',
      description: `dry-run starting balances from the account's free balances (read with the API keys): ${balancesText(balances)}`,
    };
  }
  const balances = defaultBalances(input.rules);
  return {
    balances,
    source: 'default',
    description: `dry-run starting balances by default (no --dry-run-balances, no API keys): ${balancesText(balances)}`,
  };
}
