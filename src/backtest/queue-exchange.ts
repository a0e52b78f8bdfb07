import type { Decimal } from 'decimal.js';
import type { Clock } from '../domain/clock.ts';
import { Dec, ZERO } from '../domain/decimal.ts';
import type { OrderRequest, Side } from '../domain/orders.ts';
import {
  fillKey,
  type BookLevel,
  type ExchangeInfo,
  type FillReport,
  type OrderAck,
  type OrderBookSnapshot,
  type PublicTrade,
  type Ticker,
} from '../domain/reports.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { CoreAccount, coreFor, orderAck, refusal, type CoreFees } from '../engine/dry-run-exchange.ts';
import type { Exchange } from '../ports/exchange.ts';
import type { BookLevelChange, BookLevelText, MarketFeedEvent } from '../ports/market-feed.ts';
import type { SimFill, SimOrder } from '../sim/engine/api.ts';
import type { MatchingCore } from '../sim/engine/index.ts';
import { rejections } from '../sim/engine/rejections.ts';

// The exchange a backtest trades on: the simulator's matching core (one ledger, BTCTurk's fee and
// BSMV model, its order rules: tick, scales, minimum value) holds our orders, and the RECORDED
// book is the market, under a queue-position fill model:
//
// - An order of ours reaches the venue `latencyMs` after it was sent (a cancel likewise); the reply
//   and our private events come at that moment.
// - On arrival it first takes, as the taker, the recorded levels it crosses (at their prices, up to
//   what they show less what we already took from them); what is left rests at its price BEHIND
//   the whole recorded quantity at that price then (`ahead`).
// - A recorded trade at our price consumes the queue ahead of us first; only what is left of it
//   fills us (as the maker, at our price; partial fills possible). A trade at a price through ours
//   (a sell-taker's trade below our bid, a buy-taker's above our ask) means the queue at our price
//   is gone: it fills us up to its quantity.
// - A recorded change that lowers our level never fills us: it is taken as cancels from behind us
//   unless the level falls below the quantity ahead of us, which then shrinks to the level's new
//   size (pessimistic); a removed level puts us first in line. (A trade's own echo in the next
//   change set is absorbed the same way: no double counting.)
// - A recorded change that brings the other side to or through our price (a recorded ask at or
//   below our bid) fills us as the maker at our price, up to the quantity shown there: those
//   orders would have met ours.
// - Liquidity we take from a recorded level is remembered until that level next changes, so the
//   same shown quantity is not taken twice.
//
// ASSUMPTION (BTCTurk): price-time priority within a level (an order joins behind what the level
// shows when it arrives), and a trade's `S` is the taker's side (0 buy, 1 sell), as the adapter
// reads it. ASSUMPTION (BTCTurk): a trade's quantity leaves the level again in a later change set;
// the rule for decreases above absorbs that echo whether or not it comes.
//
// Fills are carried out in the core by a transient account placing the matching counter order at
// our price, so the ledger, fees, tax, order states and private events are the core's own.

/** Our account in the core. */
const ACCOUNT = 'backtest';
/** The recorded market's liquidity, when our order meets it. */
const MARKET = '__recorded_market__';
const FUNDING = new Dec('1e15');

/** Decimal text as Decimal#toFixed() writes it (no sign, exponent, leading or trailing zeros). */
const PLAIN = /^(?:0|[1-9]\d*)(?:\.\d*[1-9])?$/;

/** A price's key: its plain decimal text (the recorded text itself when it is written so already). */
function priceKey(text: string): string {
  return PLAIN.test(text) ? text : new Dec(text).toFixed();
}

/** Whether a recorded quantity is above 0 (read without a Decimal when it is written plainly). */
function positive(text: string): boolean {
  return PLAIN.test(text) ? text !== '0' : new Dec(text).gt(0);
}

/**
 * A recorded level. Its quantity is read from the recorded text when first asked for: most
 * levels change many times and are never met by an order of ours.
 */
class Level {
  #text: string;
  #quantity: Decimal | null = null;
  /** What our orders took from it since it last changed. */
  taken: Decimal = ZERO;

  constructor(
    readonly price: Decimal,
    quantity: string,
  ) {
    this.#text = quantity;
  }

  get quantity(): Decimal {
    this.#quantity ??= new Dec(this.#text);
    return this.#quantity;
  }

  /** A new total at this price. */
  change(quantity: string): void {
    this.#text = quantity;
    this.#quantity = null;
    this.taken = ZERO;
  }
}

class RecordedSide {
  readonly levels = new Map<string, Level>();
  /** Levels best first; null when a change made it stale. */
  #sorted: Level[] | null = [];
  /** The best level; undefined when a change made it unknown. */
  #best: Level | null | undefined = null;

  constructor(readonly side: Side) {}

  set(rows: readonly BookLevelText[]): void {
    this.levels.clear();
    this.#stale();
    for (const row of rows)
      if (positive(row.quantity))
        this.levels.set(priceKey(row.price), new Level(new Dec(row.price), row.quantity));
  }

  /** Applies change rows; returns the keys changed. */
  apply(rows: readonly BookLevelChange[]): string[] {
    const keys: string[] = [];
    for (const row of rows) {
      const key = priceKey(row.price);
      keys.push(key);
      const held = this.levels.get(key);
      if (row.remove || !positive(row.quantity)) {
        if (held) {
          this.levels.delete(key);
          this.#stale();
        }
      } else if (held) {
        // Same price, new total: the order of levels stands.
        held.change(row.quantity);
      } else {
        this.levels.set(key, new Level(new Dec(row.price), row.quantity));
        this.#stale();
      }
    }
    return keys;
  }

  #stale(): void {
    this.#sorted = null;
    this.#best = undefined;
  }

  quantityAt(key: string): Decimal {
    return this.levels.get(key)?.quantity ?? ZERO;
  }

  /** Levels best first (kept until the set of prices changes). */
  sorted(): readonly Level[] {
    if (this.#sorted === null) {
      const all = [...this.levels.values()];
      this.#sorted =
        this.side === 'buy'
          ? all.sort((a, b) => b.price.comparedTo(a.price))
          : all.sort((a, b) => a.price.comparedTo(b.price));
    }
    return this.#sorted;
  }

  best(): Level | undefined {
    if (this.#sorted !== null) return this.#sorted[0];
    if (this.#best === undefined) {
      // One pass for the touch, which every event reads; the full order only when it is needed.
      let best: Level | null = null;
      for (const level of this.levels.values())
        if (best === null || (this.side === 'buy' ? level.price.gt(best.price) : level.price.lt(best.price)))
          best = level;
      this.#best = best;
    }
    return this.#best ?? undefined;
  }
}

interface RecordedBook {
  readonly bids: RecordedSide;
  readonly asks: RecordedSide;
}

/** One of our orders resting in the core, with its place in the recorded queue. */
interface Resting {
  readonly id: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: Decimal;
  readonly key: string;
  readonly seq: number;
  /** Recorded quantity still ahead of us at our price. */
  ahead: Decimal;
}

export interface QueueExchangeOptions extends CoreFees {
  readonly clock: Clock;
  readonly rules: ReadonlyMap<string, SymbolRules>;
  readonly balances: ReadonlyMap<string, Decimal>;
  readonly latencyMs: number;
}

export interface QueueExchangeStats {
  readonly orders: number;
  readonly rejected: number;
  readonly cancels: number;
}

export class QueueExchange extends CoreAccount implements Exchange {
  readonly #clock: Clock;
  readonly #rules: ReadonlyMap<string, SymbolRules>;
  readonly #latencyMs: number;
  readonly #core: MatchingCore;
  readonly #books = new Map<string, RecordedBook>();
  readonly #resting = new Map<string, Resting>();
  /** Whether each of our fills was the maker's, by fill key. */
  readonly #makers = new Map<string, boolean>();
  readonly #fillListeners = new Set<(fill: SimFill) => void>();
  #seq = 0;
  #stats = { orders: 0, rejected: 0, cancels: 0 };

  constructor(options: QueueExchangeOptions) {
    const core = coreFor({
      clock: options.clock,
      rules: options.rules,
      market: MARKET,
      makerFeeRate: options.makerFeeRate,
      takerFeeRate: options.takerFeeRate,
      taxRate: options.taxRate,
    });
    const funding: Record<string, Decimal> = {};
    for (const rules of options.rules.values()) {
      funding[rules.base] = FUNDING;
      funding[rules.quote] = FUNDING;
    }
    core.createAccount(MARKET, funding);
    core.createAccount(ACCOUNT, Object.fromEntries(options.balances));
    super({
      core,
      accountId: ACCOUNT,
      rules: options.rules,
      notRun: (symbol) => `backtest: a fill on ${symbol}, which is not replayed`,
    });
    this.#clock = options.clock;
    this.#rules = options.rules;
    this.#latencyMs = options.latencyMs;
    this.#core = core;
    for (const symbol of options.rules.keys())
      this.#books.set(symbol, { bids: new RecordedSide('buy'), asks: new RecordedSide('sell') });
  }

  /** Notes whether our fill was the maker's, and tells the fill listeners. */
  protected override onOwnFill(fill: SimFill): void {
    this.#makers.set(fillKey({ tradeId: fill.tradeId, exchangeOrderId: fill.orderId }), fill.maker);
    for (const listener of this.#fillListeners) listener(fill);
  }

  stats(): QueueExchangeStats {
    return { ...this.#stats };
  }

  /** Our fills as the core makes them (with the maker flag), for the report's series. */
  onFill(listener: (fill: SimFill) => void): () => void {
    this.#fillListeners.add(listener);
    return () => {
      this.#fillListeners.delete(listener);
    };
  }

  /** Whether our fill was the maker's; undefined for a fill not ours. */
  isMaker(fill: Pick<FillReport, 'tradeId' | 'exchangeOrderId'>): boolean | undefined {
    return this.#makers.get(fillKey(fill));
  }

  /** The recorded best price of one side of a symbol now; null when that side is empty. */
  bestPrice(symbol: string, side: Side): Decimal | null {
    const book = this.#books.get(symbol);
    return (side === 'buy' ? book?.bids : book?.asks)?.best()?.price ?? null;
  }

  /** Our best resting bid and ask in the core. */
  ourQuotes(symbol: string): { bid: Decimal | null; ask: Decimal | null } {
    let bid: Decimal | null = null;
    let ask: Decimal | null = null;
    for (const order of this.#resting.values()) {
      if (order.symbol !== symbol) continue;
      if (order.side === 'buy') bid = bid === null || order.price.gt(bid) ? order.price : bid;
      else ask = ask === null || order.price.lt(ask) ? order.price : ask;
    }
    return { bid, ask };
  }

  /** Our balances now (free + locked) per asset. */
  holdings(): Map<string, Decimal> {
    return new Map(this.#core.balances(ACCOUNT).map((b) => [b.asset, b.free.add(b.locked)] as const));
  }

  /**
   * A recorded market event, before the bot sees it: the recorded book follows it and our resting
   * orders fill as the queue-position model says. False when the event changes nothing here (a
   * ticker, a periodic book, a symbol not replayed).
   */
  onMarket(event: MarketFeedEvent): boolean {
    switch (event.kind) {
      case 'book-snapshot': {
        if (event.periodic) return false;
        const book = this.#books.get(event.symbol);
        if (!book) return false;
        book.bids.set(event.bids);
        book.asks.set(event.asks);
        if (!this.#anyResting(event.symbol)) return true;
        for (const order of this.#restingOf(event.symbol)) {
          const side = order.side === 'buy' ? book.bids : book.asks;
          order.ahead = Dec.min(order.ahead, side.quantityAt(order.key));
        }
        this.#crossings(event.symbol);
        return true;
      }
      case 'book-diff': {
        const book = this.#books.get(event.symbol);
        if (!book) return false;
        const bids = book.bids.apply(event.bids);
        const asks = book.asks.apply(event.asks);
        if (!this.#anyResting(event.symbol)) return true;
        const changed = { buy: new Set(bids), sell: new Set(asks) };
        for (const order of this.#restingOf(event.symbol)) {
          if (!changed[order.side].has(order.key)) continue;
          const side = order.side === 'buy' ? book.bids : book.asks;
          order.ahead = Dec.min(order.ahead, side.quantityAt(order.key));
        }
        this.#crossings(event.symbol);
        return true;
      }
      case 'trade':
        if (!this.#books.has(event.trade.symbol)) return false;
        this.#trade(event.trade);
        return true;
      case 'trades':
      case 'ticker':
      case 'book-unreadable':
        return false;
    }
  }

  // ---- the Exchange port ---------------------------------------------------------------------------

  exchangeInfo(): Promise<ExchangeInfo> {
    return Promise.resolve({ serverTime: this.#clock.now(), symbols: [...this.#rules.values()] });
  }

  serverTime(): Promise<number> {
    return Promise.resolve(this.#clock.now());
  }

  /** The recorded book now (the market data service's REST fallback reads it). */
  orderBook(symbol: string, limit = 100): Promise<OrderBookSnapshot> {
    const book = this.#books.get(symbol);
    if (!book)
      return Promise.reject(
        refusal(`GET /api/v2/orderbook`, rejections.unknownPair(`pair "${symbol}" is not replayed`)),
      );
    const levels = (side: RecordedSide): BookLevel[] =>
      side
        .sorted()
        .slice(0, limit)
        .map((l) => ({ price: l.price, quantity: l.quantity }));
    return Promise.resolve({
      symbol,
      timestamp: this.#clock.now(),
      bids: levels(book.bids),
      asks: levels(book.asks),
    });
  }

  tickers(): Promise<Ticker[]> {
    return Promise.resolve([]);
  }

  recentTrades(): Promise<PublicTrade[]> {
    return Promise.resolve([]);
  }

  async submitOrder(order: OrderRequest): Promise<OrderAck> {
    if (this.#latencyMs > 0) await this.#clock.sleep(this.#latencyMs);
    try {
      return this.#arrive(order);
    } catch (error) {
      this.#stats.rejected++;
      throw refusal('POST /api/v1/order', error);
    }
  }

  async cancelOrder(exchangeOrderId: string): Promise<void> {
    if (this.#latencyMs > 0) await this.#clock.sleep(this.#latencyMs);
    try {
      this.cancel(exchangeOrderId);
      this.#resting.delete(exchangeOrderId);
      this.#stats.cancels++;
    } catch (error) {
      throw refusal('DELETE /api/v1/order', error);
    }
  }

  // ---- the fill model --------------------------------------------------------------------------------

  /** Our order reaches the venue: it takes the recorded levels it crosses, and the rest rests in line. */
  #arrive(order: OrderRequest): OrderAck {
    const book = this.#books.get(order.symbol);
    const mirrored: { id: string; level: Level }[] = [];
    if (book !== undefined && order.method !== 'stoplimit' && order.method !== 'stopmarket') {
      // Resting orders of ours the recorded book has come through fill first (keeps the book uncrossed).
      this.#crossings(order.symbol);
      const opposite = order.side === 'buy' ? book.asks : book.bids;
      for (const level of opposite.sorted()) {
        if (
          order.method === 'limit' &&
          order.price !== undefined &&
          !crosses(order.side, order.price, level.price)
        )
          break;
        const shown = level.quantity.sub(level.taken);
        if (shown.lte(0)) continue;
        const placed = this.#counter(order.symbol, order.side, level.price, shown);
        if (this.#core.isOpen(placed.id)) mirrored.push({ id: placed.id, level });
      }
    }
    const takenBy = new Map<string, Decimal>();
    const track = this.onFill((fill) => {
      const key = fill.price.toFixed();
      takenBy.set(key, (takenBy.get(key) ?? ZERO).add(fill.quantity));
    });
    let placed;
    try {
      placed = this.place(order);
    } finally {
      track();
      for (const { id } of mirrored) if (this.#core.isOpen(id)) this.#core.completeCancel(id);
    }
    for (const { level } of mirrored) {
      const took = takenBy.get(level.price.toFixed());
      if (took !== undefined) level.taken = level.taken.add(took);
    }
    this.#stats.orders++;
    if (this.#core.isOpen(placed.id) && placed.price !== null && placed.method === 'limit') {
      const key = placed.price.toFixed();
      const same = book === undefined ? undefined : order.side === 'buy' ? book.bids : book.asks;
      this.#resting.set(placed.id, {
        id: placed.id,
        symbol: placed.symbol,
        side: placed.side,
        price: placed.price,
        key,
        seq: ++this.#seq,
        ahead: same?.quantityAt(key) ?? ZERO,
      });
    }
    return orderAck(placed, order);
  }

  /** Whether any order of ours on the symbol may rest (a cheap test before the work they need). */
  #anyResting(symbol: string): boolean {
    for (const order of this.#resting.values()) if (order.symbol === symbol) return true;
    return false;
  }

  /** Whether an order of ours of `side` may rest at `price` or better (a trade there reaches it). */
  #anyReached(symbol: string, side: Side, price: Decimal): boolean {
    for (const order of this.#resting.values())
      if (order.symbol === symbol && order.side === side && crosses(side, order.price, price)) return true;
    return false;
  }

  /** Our open resting orders of a symbol, best price first, then in arrival order. */
  #restingOf(symbol: string, side?: Side): Resting[] {
    const out: Resting[] = [];
    for (const order of this.#resting.values()) {
      if (!this.#core.isOpen(order.id)) {
        this.#resting.delete(order.id);
        continue;
      }
      if (order.symbol === symbol && (side === undefined || order.side === side)) out.push(order);
    }
    return out.sort(
      (a, b) =>
        (a.side === 'buy' ? b.price.comparedTo(a.price) : a.price.comparedTo(b.price)) || a.seq - b.seq,
    );
  }

  /** A recorded trade: the queue ahead at its price goes first, then us; a trade through our price fills us. */
  #trade(trade: PublicTrade): void {
    if (!this.#books.has(trade.symbol)) return;
    // A sell taker's trade meets bids at or above its price; a buy taker's, asks at or below.
    const side: Side = trade.side === 'sell' ? 'buy' : 'sell';
    if (!this.#anyReached(trade.symbol, side, trade.price)) {
      this.#core.notePrice(trade.symbol, trade.price);
      return;
    }
    let left = trade.quantity;
    let priceBlocked: string | null = null;
    let consumedAtPrice = ZERO;
    for (const order of this.#restingOf(trade.symbol, side)) {
      if (left.lte(0)) break;
      if (!crosses(side, order.price, trade.price) && !order.price.eq(trade.price)) break;
      if (order.price.eq(trade.price)) {
        // Recorded quantity already consumed at this price counts for every order of ours in line.
        order.ahead = Dec.max(ZERO, order.ahead.sub(consumedAtPrice));
        const queue = Dec.min(left, order.ahead);
        order.ahead = order.ahead.sub(queue);
        left = left.sub(queue);
        consumedAtPrice = consumedAtPrice.add(queue);
        // An earlier order of ours at this price not yet filled stands before this one.
        if (priceBlocked === order.key) continue;
      } else order.ahead = ZERO;
      const fill = Dec.min(left, this.#remaining(order));
      if (fill.gt(0)) {
        this.#fillResting(order, fill);
        left = left.sub(fill);
      }
      if (this.#core.isOpen(order.id)) priceBlocked = order.key;
    }
    this.#core.notePrice(trade.symbol, trade.price);
  }

  /** The recorded other side at or through our resting prices fills them, as the maker, at our price. */
  #crossings(symbol: string): void {
    const book = this.#books.get(symbol);
    if (!book || !this.#anyResting(symbol)) return;
    for (const side of ['buy', 'sell'] as const) {
      const opposite = side === 'buy' ? book.asks : book.bids;
      const best = opposite.best();
      if (best === undefined) continue;
      const orders = this.#restingOf(symbol, side).filter((o) => crosses(side, o.price, best.price));
      if (orders.length === 0) continue;
      const levels = opposite.sorted();
      for (const order of orders) {
        for (const level of levels) {
          if (!crosses(side, order.price, level.price)) break;
          const shown = level.quantity.sub(level.taken);
          if (shown.lte(0)) continue;
          const fill = Dec.min(shown, this.#remaining(order));
          if (fill.lte(0)) break;
          this.#fillResting(order, fill);
          level.taken = level.taken.add(fill);
        }
        // What an order left open could not take, the orders behind it cannot either.
        if (this.#core.isOpen(order.id)) break;
      }
    }
  }

  #remaining(order: Resting): Decimal {
    const now = this.#core.order(ACCOUNT, order.id);
    return now === undefined ? ZERO : now.quantity.sub(now.filled);
  }

  /** Fills `quantity` of our resting order at its price: the recorded market's counter order meets it. */
  #fillResting(order: Resting, quantity: Decimal): void {
    const before = this.#core.order(ACCOUNT, order.id)?.filled ?? ZERO;
    const counter = this.#counter(order.symbol, order.side, order.price, quantity);
    if (this.#core.isOpen(counter.id)) this.#core.completeCancel(counter.id);
    const after = this.#core.order(ACCOUNT, order.id)?.filled ?? ZERO;
    if (!after.sub(before).eq(quantity))
      throw new Error(
        `backtest: a fill of ${quantity.toFixed()} meant for order ${order.id} filled it by ${after.sub(before).toFixed()} (the model and the core disagree)`,
      );
    if (!this.#core.isOpen(order.id)) this.#resting.delete(order.id);
  }

  /** The recorded market's limit order meeting ours (of `side`) at `price`. */
  #counter(symbol: string, side: Side, price: Decimal, quantity: Decimal): SimOrder {
    return this.#core.placeOrder(
      {
        accountId: MARKET,
        symbol,
        side: side === 'buy' ? 'sell' : 'buy',
        method: 'limit',
        price,
        quantity,
      },
      { unchecked: true },
    );
  }
}

/** Whether an order of `side` at `price` reaches a level at `level` on the other side. */
function crosses(side: Side, price: Decimal, level: Decimal): boolean {
  return side === 'buy' ? price.gte(level) : price.lte(level);
}
