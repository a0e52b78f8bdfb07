import type { Decimal } from 'decimal.js';
import type { Clock } from '../../domain/clock.ts';
import type {
  FillFilter,
  OrderFilter,
  PlaceOrderInput,
  SimBalance,
  SimBook,
  SimEngine,
  SimEngineOptions,
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
import { participantFunding, SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT, SyntheticMarket } from './market.ts';
import { isOpen, snapshot } from './orders.ts';
import { pageOrders, rollingTicker, selectFills } from './queries.ts';
import { rejections } from './rejections.ts';
import { EXCHANGE_ACCOUNT, Venue, type MarketState } from './venue.ts';

export { DEFAULT_FEES, defaultMarkets } from './defaults.ts';
export { EXCHANGE_ACCOUNT } from './venue.ts';
export { SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT } from './market.ts';
export { DAY_BUCKET_MS, RECENT_TRADES_KEPT } from './tape.ts';

const INTERNAL_ACCOUNTS: ReadonlySet<string> = new Set([
  EXCHANGE_ACCOUNT,
  ...SIM_MAKER_ACCOUNTS,
  SIM_TAKER_ACCOUNT,
]);

/** The exchange's fee account and the synthetic participants: no user of the simulator is one of these. */
export function isInternalAccount(accountId: string): boolean {
  return INTERNAL_ACCOUNTS.has(accountId);
}

/** A BTCTurk-like matching engine: pure, synchronous, replayable from its Clock and Random. */
export function createSimEngine(options: SimEngineOptions): SimEngine {
  return new Engine(options);
}

class Engine implements SimEngine {
  readonly markets: readonly SimMarketConfig[];
  private readonly clock: Clock;
  private readonly events = new EventBuffer();
  private readonly venue: Venue;
  private readonly synthetic: SyntheticMarket;

  constructor(options: SimEngineOptions) {
    this.markets = options.markets;
    this.clock = options.clock;
    const fees = feeSchedule(options.makerFeeRate, options.takerFeeRate, options.taxRate);
    this.venue = new Venue(options.markets, fees, options.clock, this.events, isInternalAccount);
    const funding = participantFunding(options.markets);
    for (const accountId of [...SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT])
      this.venue.ledger.open(accountId, funding);
    this.venue.ledger.drainDirty(); // nobody can be listening yet
    this.synthetic = new SyntheticMarket(options.markets, options.random, {
      place: (input) => this.placeOrder(input),
      cancel: (orderId) => this.completeCancel(orderId),
      isOpen: (orderId) => {
        const order = this.venue.order(orderId);
        return order !== undefined && isOpen(order);
      },
      bestPrice: (symbol, side) => {
        const m = this.requireMarket(symbol);
        return (side === 'buy' ? m.bids : m.asks).bestPrice();
      },
    });
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
    for (const m of this.venue.marketStates()) {
      const changes = [...m.bids.drainChanges(), ...m.asks.drainChanges()];
      if (changes.length > 0) this.events.push(() => ({ type: 'book', symbol: m.rules.symbol, changes }));
    }
    for (const accountId of this.venue.ledger.drainDirty())
      this.events.push(() => ({
        type: 'balance',
        accountId,
        balances: this.venue.ledger.balances(accountId),
      }));
    this.events.flush();
  }

  private requireMarket(symbol: string): MarketState {
    const m = this.venue.market(symbol);
    if (m === undefined) throw rejections.parameter(`pair "${symbol}" is not traded here`);
    return m;
  }

  createAccount(accountId: string, balances: Readonly<Record<string, Decimal>>): void {
    this.pass(() => {
      this.venue.ledger.open(accountId, balances);
    });
  }

  placeOrder(input: PlaceOrderInput): SimOrder {
    return this.pass(() => snapshot(this.venue.place(input)));
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

  stepMarket(): void {
    this.synthetic.step();
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
