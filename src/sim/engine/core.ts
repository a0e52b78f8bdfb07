import type { Decimal } from 'decimal.js';
import type { Clock } from '../../domain/clock.ts';
import type {
  FillFilter,
  OrderFilter,
  PlaceOrderInput,
  SimBalance,
  SimBook,
  SimEvent,
  SimFill,
  SimGroundTruth,
  SimMarketConfig,
  SimOrder,
  SimPublicTrade,
  SimTicker,
} from './api.ts';
import { EventBuffer } from './events.ts';
import { feeSchedule } from './fees.ts';
import { isOpen, snapshot } from './orders.ts';
import { pageOrders, rollingTicker, selectFills } from './queries.ts';
import { rejections } from './rejections.ts';
import { Venue, type MarketState, type PlaceOptions } from './venue.ts';

export interface MatchingCoreOptions {
  readonly clock: Clock;
  readonly markets: readonly SimMarketConfig[];
  readonly makerFeeRate: Decimal;
  readonly takerFeeRate: Decimal;
  readonly taxRate: Decimal;
  /** Accounts whose closed orders and their fills are forgotten at once (liquidity providers). */
  readonly transient: (accountId: string) => boolean;
  /**
   * Accounts whose balance changes raise no `balance` event: the synthetic participants, whom no
   * client can log in as, and whose balances list every asset of every market (hundreds of rows
   * per order when many pairs are listed). Default none.
   */
  readonly silentBalances?: (accountId: string) => boolean;
}

/**
 * The matching core every simulated venue shares: one ledger (accounts.ts), one fee and tax model
 * (fees.ts), one book matcher under price-time priority (venue.ts), with its queries and events.
 * Whoever provides the other side of the book drives it: the simulator's synthetic participants
 * (index.ts), or a real market mirrored into it (mirror.ts, for dry-run mode). Each call is one
 * change set whose events are delivered when it is complete.
 */
export class MatchingCore {
  readonly markets: readonly SimMarketConfig[];
  protected readonly clock: Clock;
  private readonly events = new EventBuffer();
  private readonly venue: Venue;
  private readonly silentBalances: (accountId: string) => boolean;

  constructor(options: MatchingCoreOptions) {
    this.markets = options.markets;
    this.clock = options.clock;
    this.silentBalances = options.silentBalances ?? (() => false);
    const fees = feeSchedule(options.makerFeeRate, options.takerFeeRate, options.taxRate);
    this.venue = new Venue(options.markets, fees, options.clock, this.events, options.transient);
  }

  /** Runs one change set, then emits its events: order events as they happened, then book, then balances. */
  private pass<T>(change: () => T): T {
    try {
      return change();
    } finally {
      this.commit();
    }
  }

  private commit(): void {
    // Only the markets this pass touched (one, as a rule), not every listed one.
    for (const m of this.venue.drainChangedMarkets()) {
      const changes = [...m.bids.drainChanges(), ...m.asks.drainChanges()];
      if (changes.length > 0) this.events.push(() => ({ type: 'book', symbol: m.rules.symbol, changes }));
    }
    for (const accountId of this.venue.ledger.drainDirty()) {
      if (this.silentBalances(accountId)) continue;
      this.events.push(() => ({
        type: 'balance',
        accountId,
        balances: this.venue.ledger.balances(accountId),
      }));
    }
    this.events.flush();
  }

  private requireMarket(symbol: string): MarketState {
    const m = this.venue.market(symbol);
    if (m === undefined) throw rejections.unknownPair(`pair "${symbol}" is not traded here`);
    return m;
  }

  createAccount(accountId: string, balances: Readonly<Record<string, Decimal>>): void {
    this.pass(() => {
      this.venue.ledger.open(accountId, balances);
    });
  }

  /** Opens accounts before anyone listens: no balance events for them. */
  protected openSilently(accountId: string, balances: Readonly<Record<string, Decimal>>): void {
    this.venue.ledger.open(accountId, balances);
    this.venue.ledger.drainDirty();
  }

  /** `options.unchecked`: liquidity mirrored from elsewhere, placed without the venue's order rules. */
  placeOrder(input: PlaceOrderInput, options?: PlaceOptions): SimOrder {
    return this.pass(() => snapshot(this.venue.place(input, options)));
  }

  requestCancel(accountId: string, orderId: string): SimOrder {
    return this.pass(() => snapshot(this.venue.requestCancel(accountId, orderId)));
  }

  completeCancel(orderId: string): SimOrder | undefined {
    return this.pass(() => {
      const order = this.venue.completeCancel(orderId);
      return order && snapshot(order);
    });
  }

  /** A trade elsewhere at `price` becomes the market's last price: stops it reaches trigger. */
  notePrice(symbol: string, price: Decimal): void {
    this.pass(() => {
      this.venue.notePrice(symbol, price);
    });
  }

  isOpen(orderId: string): boolean {
    const order = this.venue.order(orderId);
    return order !== undefined && isOpen(order);
  }

  bestPrice(symbol: string, side: 'buy' | 'sell'): Decimal | null {
    const m = this.requireMarket(symbol);
    return (side === 'buy' ? m.bids : m.asks).bestPrice();
  }

  order(accountId: string, orderId: string): SimOrder | undefined {
    const order = this.venue.order(orderId);
    return order?.accountId === accountId ? snapshot(order) : undefined;
  }

  openOrders(accountId: string, symbol?: string): SimOrder[] {
    return this.venue
      .ordersOf(accountId)
      .filter((o) => isOpen(o) && (symbol === undefined || o.symbol === symbol))
      .map(snapshot);
  }

  allOrders(accountId: string, filter: OrderFilter): SimOrder[] {
    return pageOrders(this.venue.ordersOf(accountId), filter).map(snapshot);
  }

  fills(accountId: string, filter: FillFilter): SimFill[] {
    return selectFills(this.venue.fillsOf(accountId), filter, this.clock.now());
  }

  balances(accountId: string): SimBalance[] {
    return this.venue.ledger.balances(accountId);
  }

  book(symbol: string, depth: number): SimBook {
    const m = this.requireMarket(symbol);
    const n = Math.max(0, Math.floor(depth));
    return { symbol, timestamp: this.clock.now(), bids: m.bids.depth(n), asks: m.asks.depth(n) };
  }

  ticker(symbol: string): SimTicker {
    const m = this.requireMarket(symbol);
    const now = this.clock.now();
    return rollingTicker({
      symbol,
      last: m.lastPrice ?? m.config.initialMid,
      day: m.tape.day(now),
      priceScale: m.rules.priceScale,
      bestBid: m.bids.depth(1)[0],
      bestAsk: m.asks.depth(1)[0],
      now,
    });
  }

  recentTrades(symbol: string, count: number): SimPublicTrade[] {
    const m = this.requireMarket(symbol);
    const n = Math.max(0, Math.floor(count));
    return m.tape.latest(n);
  }

  subscribe(listener: (event: SimEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  groundTruth(): SimGroundTruth {
    return {
      orders: [...this.venue.allOrders()].map(snapshot),
      fills: [...this.venue.allFills()],
      trades: this.venue.keptTrades(),
      balances: this.venue.ledger.all(),
    };
  }
}
