import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import type { Side } from '../../domain/symbols.ts';
import type { SimOrder } from './api.ts';
import type { MatchingCore } from './core.ts';

// Another market's liquidity, mirrored into the matching core so that the core's users trade
// against it (dry-run mode: the real exchange's book and trades, our orders in the core). One
// account holds the mirrored quotes: its best bid and ask follow the other market's touch,
// requoted on every update, so a resting order of ours fills when that touch comes through its
// price (at our price, as the maker, for at most the quantity shown), and an order that crosses
// when placed takes the touch (at the touch price, as the taker). A trade printed there at or
// through a resting order's price fills it (at its price, as the maker) for at most the trade's
// quantity, and becomes the core's last price (stop orders trigger from it).

export interface MirrorLevel {
  readonly price: Decimal;
  readonly quantity: Decimal;
}

interface Quotes {
  bid: MirrorLevel | null;
  ask: MirrorLevel | null;
  orderIds: string[];
}

/** Enough of every asset that no mirrored quote or trade is ever short of funds. */
const FUNDING = new Dec('1e15');

export class MirroredMarket {
  private readonly quotes = new Map<string, Quotes>();

  /** `accountId` must be one of the core's transient accounts: its closed orders are not kept. */
  constructor(
    private readonly core: MatchingCore,
    readonly accountId: string,
  ) {
    const funding: Record<string, Decimal> = {};
    for (const { rules } of core.markets) {
      funding[rules.base] = FUNDING;
      funding[rules.quote] = FUNDING;
    }
    core.createAccount(accountId, funding);
  }

  /** The other market's touch now: the mirrored quotes are replaced by these levels. */
  quote(symbol: string, bid: MirrorLevel | null, ask: MirrorLevel | null): void {
    this.withdraw(symbol);
    const shownAsk = usable(ask);
    let shownBid = usable(bid);
    // A crossed touch (a stale side) would trade the mirror with itself: the ask stands alone.
    if (shownBid && shownAsk && shownBid.price.gte(shownAsk.price)) shownBid = null;
    const quotes: Quotes = { bid: shownBid, ask: shownAsk, orderIds: [] };
    this.quotes.set(symbol, quotes);
    // The ask first: if it reaches our resting bids they fill before the mirrored bid rests.
    for (const [side, level] of [
      ['sell', quotes.ask],
      ['buy', quotes.bid],
    ] as const) {
      if (level === null) continue;
      const order = this.place(symbol, side, level);
      if (this.core.isOpen(order.id)) quotes.orderIds.push(order.id);
    }
  }

  /** A trade printed on the other market: resting orders it went through fill, up to its quantity. */
  print(symbol: string, price: Decimal, quantity: Decimal): void {
    if (price.gt(0) && quantity.gt(0)) {
      const bid = this.core.bestPrice(symbol, 'buy');
      const ask = this.core.bestPrice(symbol, 'sell');
      const throughBids = bid?.gte(price) === true;
      const throughAsks = ask?.lte(price) === true;
      if (throughBids || throughAsks) {
        // The mirrored quotes step aside so that the print meets only the orders it went through.
        const held = this.quotes.get(symbol);
        this.withdraw(symbol);
        this.sweep(symbol, throughBids ? 'sell' : 'buy', { price, quantity });
        if (held) this.quote(symbol, held.bid, held.ask);
      }
    }
    this.core.notePrice(symbol, price);
  }

  /** Takes what it can at the level and cancels the rest: a print is never a resting order. */
  private sweep(symbol: string, side: Side, level: MirrorLevel): void {
    const order = this.place(symbol, side, level);
    if (this.core.isOpen(order.id)) this.core.completeCancel(order.id);
  }

  private place(symbol: string, side: Side, level: MirrorLevel): SimOrder {
    return this.core.placeOrder(
      {
        accountId: this.accountId,
        symbol,
        side,
        method: 'limit',
        price: level.price,
        quantity: level.quantity,
      },
      { unchecked: true },
    );
  }

  private withdraw(symbol: string): void {
    const quotes = this.quotes.get(symbol);
    if (!quotes) return;
    for (const id of quotes.orderIds) this.core.completeCancel(id);
    quotes.orderIds = [];
  }
}

function usable(level: MirrorLevel | null): MirrorLevel | null {
  return level !== null && level.price.gt(0) && level.quantity.gt(0) ? level : null;
}
