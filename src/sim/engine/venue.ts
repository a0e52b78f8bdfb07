import type { Decimal } from 'decimal.js';
import type { Clock } from '../../domain/clock.ts';
import { Dec, ZERO } from '../../domain/decimal.ts';
import type { SymbolRules } from '../../domain/symbols.ts';
import type { PlaceOrderInput, SimFill, SimMarketConfig, SimOrderStatus, SimPublicTrade } from './api.ts';
import { Ledger } from './accounts.ts';
import { BookSide } from './book.ts';
import type { EventBuffer } from './events.ts';
import { charge, worstBuyFactor, type Charge, type FeeSchedule } from './fees.ts';
import { compareIds, IdSequence } from './ids.ts';
import {
  isOpen,
  isStop,
  remaining,
  requiredLock,
  snapshot,
  spendsQuote,
  type Lock,
  type OrderRecord,
} from './orders.ts';
import { rejections } from './rejections.ts';
import { TradeTape } from './tape.ts';
import { validateOrder, type ValidOrder } from './validation.ts';

/** Receives every fee and tax, so that summed over all accounts each asset is exactly conserved. */
export const EXCHANGE_ACCOUNT = '__exchange__';

/** BTCTurk stops a market order 5% away from the best opposite price at its arrival. */
const MARKET_BOUND = new Dec('0.05');

export interface MarketState {
  readonly config: SimMarketConfig;
  readonly rules: SymbolRules;
  readonly bids: BookSide;
  readonly asks: BookSide;
  /** Untriggered stop orders, in arrival order. */
  readonly stops: Map<string, OrderRecord>;
  readonly tape: TradeTape;
  lastPrice: Decimal | null;
  /** A trade happened since the stops were last checked. */
  traded: boolean;
}

type MatchEnd = 'done' | 'dust' | 'exhausted';

export interface PlaceOptions {
  /**
   * Liquidity mirrored from another market (dry-run mode): a limit order placed as that market
   * shows it, without this venue's order rules (minimum value, price band), which bind only the
   * venue's users. Funds are still held, so the ledger stays exact.
   */
  readonly unchecked?: boolean | undefined;
}

/**
 * The matching engine's state and its transitions: placement, matching under price-time priority,
 * stop triggers and cancels. Each public method is one change set; the caller flushes its events.
 *
 * What it remembers is bounded by what its users do, not by how long it runs: every order and fill
 * of an ordinary account is kept for good (the ground truth tests compare against), but an order
 * of a `transient` account (the synthetic participants, who place a dozen orders a step) is
 * forgotten, fills included, the moment it closes; public trades live in each market's TradeTape.
 */
export class Venue {
  readonly ledger = new Ledger();
  private readonly ids: IdSequence;
  private readonly markets = new Map<string, MarketState>();
  /** Markets whose book changed since the last drainChangedMarkets(), in the order they changed. */
  private readonly changedMarkets = new Set<MarketState>();
  /** Ascending ids (insertion order): every order of an ordinary account, a transient one's while open. */
  private readonly orders = new Map<string, OrderRecord>();
  private readonly ordersByAccount = new Map<string, Map<string, OrderRecord>>();
  /** Time order: every fill of an ordinary account, a transient one's while its order is open. */
  private readonly fills = new Set<SimFill>();
  private readonly fillsByAccount = new Map<string, Set<SimFill>>();
  /** The fills of transient accounts' open orders, to forget with their order. */
  private readonly transientFills = new Map<string, SimFill[]>();
  private readonly worstFactor: Decimal;
  private now = 0;

  constructor(
    configs: readonly SimMarketConfig[],
    private readonly fees: FeeSchedule,
    private readonly clock: Clock,
    private readonly events: EventBuffer,
    /** Accounts whose closed orders and their fills are not kept. */
    private readonly transient: (accountId: string) => boolean,
  ) {
    this.ids = new IdSequence(clock.now());
    for (const config of configs) {
      if (this.markets.has(config.symbol)) throw new Error(`market ${config.symbol} is configured twice`);
      const changed = (): void => {
        this.changedMarkets.add(state);
      };
      const state: MarketState = {
        config,
        rules: config.rules,
        bids: new BookSide('buy', changed),
        asks: new BookSide('sell', changed),
        stops: new Map(),
        tape: new TradeTape(),
        lastPrice: null,
        traded: false,
      };
      this.markets.set(config.symbol, state);
    }
    this.worstFactor = worstBuyFactor(fees);
    this.ledger.open(EXCHANGE_ACCOUNT, {});
  }

  market(symbol: string): MarketState | undefined {
    return this.markets.get(symbol);
  }

  /** The markets whose book changed since the last call (a pass touches one; there may be hundreds). */
  drainChangedMarkets(): MarketState[] {
    const out = [...this.changedMarkets];
    this.changedMarkets.clear();
    return out;
  }

  marketStates(): IterableIterator<MarketState> {
    return this.markets.values();
  }

  order(orderId: string): OrderRecord | undefined {
    return this.orders.get(orderId);
  }

  allOrders(): IterableIterator<OrderRecord> {
    return this.orders.values();
  }

  /** The account's orders in ascending id order. */
  ordersOf(accountId: string): OrderRecord[] {
    return [...(this.ordersByAccount.get(accountId)?.values() ?? [])];
  }

  fillsOf(accountId: string): SimFill[] {
    return [...(this.fillsByAccount.get(accountId) ?? [])];
  }

  allFills(): IterableIterator<SimFill> {
    return this.fills.values();
  }

  /** The trades every market still keeps (see TradeTape), in trade id order. */
  keptTrades(): SimPublicTrade[] {
    return [...this.markets.values()]
      .flatMap((m) => m.tape.kept())
      .sort((a, b) => compareIds(a.tradeId, b.tradeId));
  }

  place(input: PlaceOrderInput, options?: PlaceOptions): OrderRecord {
    this.now = this.clock.now();
    const m = this.markets.get(input.symbol);
    if (m === undefined) throw rejections.unknownPair(`pair "${input.symbol}" is not traded here`);
    const valid =
      options?.unchecked === true
        ? mirroredLimit(input)
        : validateOrder(input, m.rules, {
            bestBid: m.bids.bestPrice(),
            bestAsk: m.asks.bestPrice(),
            lastPrice: m.lastPrice,
          });
    const lock = requiredLock(m.rules, this.fees, valid);
    this.checkFunds(input.accountId, lock);

    const order: OrderRecord = {
      id: this.ids.orderId(),
      accountId: input.accountId,
      clientOrderId: input.clientOrderId ?? null,
      symbol: input.symbol,
      ...valid,
      filled: ZERO,
      status: 'open',
      cancelRequested: false,
      createdAt: this.now,
      updatedAt: this.now,
      lockAsset: lock.asset,
      locked: lock.amount,
    };
    this.ledger.lock(order.accountId, lock.asset, lock.amount);
    this.orders.set(order.id, order);
    const own = this.ordersByAccount.get(order.accountId);
    if (own) own.set(order.id, order);
    else this.ordersByAccount.set(order.accountId, new Map([[order.id, order]]));
    this.emitOrder('order-inserted', order);

    if (isStop(order.method)) m.stops.set(order.id, order);
    else {
      this.activate(order, m);
      this.runStops(m);
    }
    return order;
  }

  /** A trade elsewhere printed at `price`: it is this market's last price, and stops it reaches trigger. */
  notePrice(symbol: string, price: Decimal): void {
    this.now = this.clock.now();
    const m = this.markets.get(symbol);
    if (m === undefined) throw rejections.unknownPair(`pair "${symbol}" is not traded here`);
    m.lastPrice = price;
    m.traded = true;
    this.runStops(m);
  }

  private checkFunds(accountId: string, lock: Lock): void {
    const free = this.ledger.free(accountId, lock.asset);
    if (free.gte(lock.amount)) return;
    const held = this.ledger.locked(accountId, lock.asset);
    const detail = `free ${lock.asset} ${free.toFixed()} is short of the ${lock.amount.toFixed()} this order must hold`;
    if (free.plus(held).gte(lock.amount))
      throw rejections.balanceHeldByOrders(`${detail}; open orders hold ${held.toFixed()}`);
    throw rejections.balance(detail);
  }

  /** Accepts a cancel; the order stays matchable until completeCancel, as on BTCTurk since 2024-04. */
  requestCancel(accountId: string, orderId: string): OrderRecord {
    this.now = this.clock.now();
    const order = this.orders.get(orderId);
    if (order?.accountId !== accountId) throw rejections.noSuchOrder(`no order ${orderId} for this account`);
    if (!isOpen(order)) throw rejections.notCancelable(`order ${orderId} is already ${order.status}`);
    // A second cancel while one is under way is refused the way BTCTurk refuses a cancel of an order
    // it is already closing: the first request stands and its result will still arrive.
    if (order.cancelRequested)
      throw rejections.notCancelable(`a cancel of order ${orderId} is already under way`);
    order.cancelRequested = true;
    return order;
  }

  /** Takes the order off the book and releases what it holds; nothing if it closed meanwhile. */
  completeCancel(orderId: string): OrderRecord | undefined {
    this.now = this.clock.now();
    const order = this.orders.get(orderId);
    if (order === undefined || !isOpen(order)) return undefined;
    const m = this.requireMarket(order.symbol);
    if (!m.stops.delete(order.id)) (order.side === 'buy' ? m.bids : m.asks).remove(order);
    this.close(order, 'canceled');
    this.emitOrder('order-deleted', order);
    return order;
  }

  private requireMarket(symbol: string): MarketState {
    const m = this.markets.get(symbol);
    if (m === undefined) throw new Error(`order book for ${symbol} is missing`);
    return m;
  }

  /** Matches a live (or just triggered) order; a limit remainder rests, a market remainder is canceled. */
  private activate(order: OrderRecord, m: MarketState): void {
    const buy = order.side === 'buy';
    if (order.method === 'limit' || order.method === 'stoplimit') {
      const limit = limitPrice(order);
      this.match(order, m, (p) => (buy ? p.lte(limit) : p.gte(limit)));
      if (isOpen(order)) (buy ? m.bids : m.asks).add(order);
      return;
    }
    const best = (buy ? m.asks : m.bids).bestPrice();
    if (best === null) {
      this.endMarketOrder(order, 'canceled');
      return;
    }
    const bound = buy ? best.mul(MARKET_BOUND.plus(1)) : best.mul(new Dec(1).minus(MARKET_BOUND));
    const end = this.match(order, m, (p) => (buy ? p.lte(bound) : p.gte(bound)));
    // A market buy that cannot afford one more quantity step has spent what it was given: filled.
    if (isOpen(order)) this.endMarketOrder(order, end === 'dust' ? 'filled' : 'canceled');
  }

  private match(taker: OrderRecord, m: MarketState, within: (price: Decimal) => boolean): MatchEnd {
    const side = taker.side === 'buy' ? m.asks : m.bids;
    for (;;) {
      const level = side.best();
      if (level === undefined || !within(level.price)) return 'exhausted';
      const maker = level.first();
      if (maker === undefined)
        throw new Error(`empty price level ${level.price.toFixed()} left in ${m.rules.symbol}`);
      const quantity = this.fillQuantity(taker, maker, level.price, m.rules);
      if (quantity.isZero()) return 'dust';
      this.trade(m, side, maker, taker, quantity);
      if (!isOpen(taker)) return 'done';
    }
  }

  private fillQuantity(taker: OrderRecord, maker: OrderRecord, price: Decimal, rules: SymbolRules): Decimal {
    if (!spendsQuote(taker.side, taker.method)) return Dec.min(remaining(taker), remaining(maker));
    const budget = remaining(taker);
    const step = new Dec(1).div(new Dec(10).pow(rules.quantityScale));
    let affordable = budget.div(price).toDecimalPlaces(rules.quantityScale, Dec.ROUND_DOWN);
    // The quotient is rounded at 40 digits before it is cut; never let that buy more than the budget.
    if (affordable.mul(price).gt(budget)) affordable = affordable.minus(step);
    return Dec.min(affordable, remaining(maker));
  }

  private trade(
    m: MarketState,
    book: BookSide,
    maker: OrderRecord,
    taker: OrderRecord,
    quantity: Decimal,
  ): void {
    const { base, quote, symbol } = m.rules;
    const price = limitPrice(maker);
    const notional = price.mul(quantity);
    const makerCharge = charge(notional, this.fees.maker, this.fees.taxRate);
    const takerCharge = charge(notional, this.fees.taker, this.fees.taxRate);
    const makerBuys = maker.side === 'buy';
    const buyer = makerBuys ? maker : taker;
    const seller = makerBuys ? taker : maker;
    const buyerCharge = makerBuys ? makerCharge : takerCharge;
    const sellerCharge = makerBuys ? takerCharge : makerCharge;

    // The buyer pays price, fee and tax out of what its order holds; a limit buy held the worst
    // case for this quantity at its own price, and the difference goes back to its free balance.
    const cost = notional.plus(buyerCharge.fee).plus(buyerCharge.tax);
    const held = spendsQuote(buyer.side, buyer.method)
      ? cost
      : quantity.mul(limitPrice(buyer)).mul(this.worstFactor);
    spendLock(buyer, held);
    this.ledger.release(buyer.accountId, quote, held.minus(cost));
    this.ledger.debitLocked(buyer.accountId, quote, cost);
    this.ledger.credit(buyer.accountId, base, quantity);

    spendLock(seller, quantity);
    this.ledger.debitLocked(seller.accountId, base, quantity);
    this.ledger.credit(seller.accountId, quote, notional.minus(sellerCharge.fee).minus(sellerCharge.tax));

    this.ledger.credit(
      EXCHANGE_ACCOUNT,
      quote,
      makerCharge.fee.plus(makerCharge.tax).plus(takerCharge.fee).plus(takerCharge.tax),
    );

    maker.filled = maker.filled.plus(quantity);
    taker.filled = taker.filled.plus(spendsQuote(taker.side, taker.method) ? notional : quantity);
    book.filled(maker, quantity);

    const trade: SimPublicTrade = {
      tradeId: this.ids.tradeId(),
      symbol,
      price,
      quantity,
      takerSide: taker.side,
      timestamp: this.now,
    };
    m.tape.record(trade);
    m.lastPrice = price;
    m.traded = true;
    const makerFill = this.recordFill(trade, maker, makerCharge, true, quote);
    const takerFill = this.recordFill(trade, taker, takerCharge, false, quote);
    this.events.push(() => ({ type: 'trade', trade }));
    this.events.push(() => ({ type: 'fill', fill: makerFill }));
    this.events.push(() => ({ type: 'fill', fill: takerFill }));

    this.progress(maker);
    this.progress(taker);
    this.emitOrder('order-updated', maker);
    this.emitOrder('order-updated', taker);
  }

  private recordFill(
    trade: SimPublicTrade,
    order: OrderRecord,
    fee: Charge,
    maker: boolean,
    feeAsset: string,
  ): SimFill {
    const fill: SimFill = {
      tradeId: trade.tradeId,
      orderId: order.id,
      clientOrderId: order.clientOrderId,
      accountId: order.accountId,
      symbol: trade.symbol,
      side: order.side,
      price: trade.price,
      quantity: trade.quantity,
      fee: fee.fee,
      tax: fee.tax,
      feeAsset,
      maker,
      timestamp: trade.timestamp,
    };
    this.fills.add(fill);
    const own = this.fillsByAccount.get(order.accountId);
    if (own) own.add(fill);
    else this.fillsByAccount.set(order.accountId, new Set([fill]));
    if (this.transient(order.accountId)) {
      const ofOrder = this.transientFills.get(order.id);
      if (ofOrder) ofOrder.push(fill);
      else this.transientFills.set(order.id, [fill]);
    }
    return fill;
  }

  private progress(order: OrderRecord): void {
    if (order.filled.eq(order.quantity)) this.close(order, 'filled');
    else {
      order.status = 'partially_filled';
      order.updatedAt = this.now;
    }
  }

  /** Ends an order: whatever it still holds goes back to the account's free balance. */
  private close(order: OrderRecord, status: Exclude<SimOrderStatus, 'open' | 'partially_filled'>): void {
    this.ledger.release(order.accountId, order.lockAsset, order.locked);
    order.locked = ZERO;
    order.status = status;
    order.cancelRequested = false;
    order.updatedAt = this.now;
    if (this.transient(order.accountId)) this.forget(order);
  }

  /**
   * Drops a closed order of a transient account and its fills. Whatever this change set still does
   * with it (its events, the match loop) holds the record itself and never looks it up again.
   */
  private forget(order: OrderRecord): void {
    this.orders.delete(order.id);
    this.ordersByAccount.get(order.accountId)?.delete(order.id);
    const own = this.fillsByAccount.get(order.accountId);
    for (const fill of this.transientFills.get(order.id) ?? []) {
      this.fills.delete(fill);
      own?.delete(fill);
    }
    this.transientFills.delete(order.id);
  }

  private endMarketOrder(order: OrderRecord, status: 'filled' | 'canceled'): void {
    this.close(order, status);
    this.emitOrder(status === 'canceled' ? 'order-deleted' : 'order-updated', order);
  }

  /**
   * Activates the stops the last trade price has reached (a buy stop at or below it, a sell stop at
   * or above it), in arrival order; their trades may reach further stops, so it repeats until quiet.
   */
  private runStops(m: MarketState): void {
    while (m.traded && m.stops.size > 0) {
      m.traded = false;
      const last = m.lastPrice;
      if (last === null) return;
      const due = [...m.stops.values()].filter((o) => {
        const stop = stopPrice(o);
        return o.side === 'buy' ? last.gte(stop) : last.lte(stop);
      });
      for (const order of due) {
        m.stops.delete(order.id);
        order.updatedAt = this.now;
        this.emitOrder('order-updated', order);
        this.activate(order, m);
      }
    }
    m.traded = false;
  }

  private emitOrder(type: 'order-inserted' | 'order-updated' | 'order-deleted', order: OrderRecord): void {
    this.events.push(() => ({ type, order: snapshot(order) }));
  }
}

function mirroredLimit(input: PlaceOrderInput): ValidOrder {
  const { price } = input;
  if (
    input.method !== 'limit' ||
    price === null ||
    price === undefined ||
    !price.gt(0) ||
    !input.quantity.gt(0)
  )
    throw new Error(`mirrored liquidity must be a limit order with a positive price and quantity`);
  return { side: input.side, method: 'limit', quantity: input.quantity, price, stopPrice: null };
}

function limitPrice(order: OrderRecord): Decimal {
  if (order.price === null) throw new Error(`order ${order.id} (${order.method}) has no limit price`);
  return order.price;
}

function stopPrice(order: OrderRecord): Decimal {
  if (order.stopPrice === null) throw new Error(`stop order ${order.id} has no stop price`);
  return order.stopPrice;
}

function spendLock(order: OrderRecord, amount: Decimal): void {
  const left = order.locked.minus(amount);
  if (left.isNegative())
    throw new Error(
      `order ${order.id} would spend ${amount.toFixed()} ${order.lockAsset} but holds only ${order.locked.toFixed()}`,
    );
  order.locked = left;
}
