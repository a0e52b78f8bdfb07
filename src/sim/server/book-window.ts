import type { SimBook, SimBookLevel } from '../engine/api.ts';
import { CHANGE_KIND, type BookRow, type DiffRow } from './ws-frames.ts';

// What BTCTurk's book channels show of one pair: a window of the best `size` levels a side (100 on
// the real feed), published as one conflated change set per interval. A level entering the window
// pushes the last one out (CP 3 far from the touch, paired with the CP 1 near it); a level leaving
// lets the next one in (CP 1 at the far edge). A client that applies every change set holds exactly
// `levels()`, the window as of `changeSet`.

export const DEFAULT_BOOK_WINDOW = 100;

/** The change set a publish produced: its obdiff CS and the net changes, each side sorted best first. */
export interface WindowChange {
  readonly changeSet: number;
  readonly bids: DiffRow[];
  readonly asks: DiffRow[];
}

/** Where a pair's two CS counters start; they advance together, at a fixed distance. */
export interface ChangeSetStart {
  readonly obdiff: number;
  /** The `orderbook` channel's CS minus obdiff's: arbitrary, like the 1,129 and 73,273 seen live. */
  readonly orderbookOffset: number;
}

type Side = Map<string, SimBookLevel>;

function sideOf(levels: readonly SimBookLevel[], size: number): Side {
  const side: Side = new Map();
  for (const level of levels) {
    if (side.size >= size) break;
    if (level.quantity.gt(0)) side.set(level.price.toFixed(), level);
  }
  return side;
}

const bestFirst =
  (bids: boolean) =>
  (a: BookRow, b: BookRow): number =>
    bids ? b.price.comparedTo(a.price) : a.price.comparedTo(b.price);

/**
 * The net change from `before` to `after`: rows sorted as the real feed sends them (bids descending,
 * asks ascending). A deleted level carries the amount clients last saw at it, never 0.
 * ASSUMPTION (BTCTurk): the real CP 3 row's `A` is non-zero; that it is the level's last published
 * amount (rather than, say, its amount just before it left) is the simulator's reading.
 */
function diffSide(before: Side, after: Side, bids: boolean): DiffRow[] {
  const rows: DiffRow[] = [];
  for (const [key, level] of after) {
    const previous = before.get(key);
    if (previous === undefined)
      rows.push({ kind: CHANGE_KIND.added, price: level.price, quantity: level.quantity });
    else if (!previous.quantity.eq(level.quantity))
      rows.push({ kind: CHANGE_KIND.updated, price: level.price, quantity: level.quantity });
  }
  for (const [key, level] of before) {
    if (!after.has(key))
      rows.push({ kind: CHANGE_KIND.deleted, price: level.price, quantity: level.quantity });
  }
  return rows.sort(bestFirst(bids));
}

export class BookWindow {
  private obdiff: number;
  private readonly orderbookOffset: number;
  private bids: Side;
  private asks: Side;

  constructor(
    readonly size: number,
    initial: SimBook,
    start: ChangeSetStart,
  ) {
    if (!Number.isInteger(size) || size < 1)
      throw new Error(`book window size must be 1 or more, got ${size}`);
    this.obdiff = start.obdiff;
    this.orderbookOffset = start.orderbookOffset;
    this.bids = sideOf(initial.bids, size);
    this.asks = sideOf(initial.asks, size);
  }

  /** The obdiff CS of the window as it stands (the last change set published). */
  get changeSet(): number {
    return this.obdiff;
  }

  /** The `orderbook` channel's CS for the same book: counted on its own, never comparable with obdiff's. */
  get orderbookChangeSet(): number {
    return this.obdiff + this.orderbookOffset;
  }

  /**
   * The window as clients hold it at `changeSet`, best first on each side: each side is rebuilt from
   * the engine's book, which lists levels best first, so its insertion order already is that order.
   */
  levels(): { bids: BookRow[]; asks: BookRow[] } {
    return { bids: [...this.bids.values()], asks: [...this.asks.values()] };
  }

  /**
   * Publishes `book` (the exchange's book, at least `size` levels deep where it has them): the net
   * change since the last publish as the next change set, or null when the window did not change —
   * then no CS is used and nothing is sent.
   */
  publish(book: SimBook): WindowChange | null {
    const bids = sideOf(book.bids, this.size);
    const asks = sideOf(book.asks, this.size);
    const change = { bids: diffSide(this.bids, bids, true), asks: diffSide(this.asks, asks, false) };
    if (change.bids.length === 0 && change.asks.length === 0) return null;
    this.bids = bids;
    this.asks = asks;
    this.obdiff += 1;
    return { changeSet: this.obdiff, ...change };
  }
}
