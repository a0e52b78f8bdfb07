import type { Decimal } from 'decimal.js';
import { ZERO } from '../../domain/decimal.ts';
import type { Side } from '../../domain/symbols.ts';
import type { SimBookLevel, SimLevelChange } from './api.ts';
import { remaining, type OrderRecord } from './orders.ts';

/** One price on one side: its orders in arrival order (a Map iterates in insertion order). */
export class PriceLevel {
  readonly orders = new Map<string, OrderRecord>();
  total: Decimal = ZERO;

  constructor(readonly price: Decimal) {}

  first(): OrderRecord | undefined {
    for (const order of this.orders.values()) return order;
    return undefined;
  }
}

/**
 * One side of a book under strict price-time priority. Levels are kept in a sorted array, worst
 * first and best last, so the touch is read and removed at the end without shifting the array and
 * a level is found by binary search. Every level whose total changed is remembered until drained,
 * which is what a book change-set event reports.
 */
export class BookSide {
  private readonly levels: PriceLevel[] = [];
  private readonly changed = new Map<string, Decimal>();

  /** `onChange`: told when a level changes while none was waiting to be drained. */
  constructor(
    readonly side: Side,
    private readonly onChange?: () => void,
  ) {}

  /** Positive when price a is better than b for this side (higher bids, lower asks). */
  private compare(a: Decimal, b: Decimal): number {
    return this.side === 'buy' ? a.comparedTo(b) : b.comparedTo(a);
  }

  /** Index of the level at `price`, or where it would be inserted. */
  private search(price: Decimal): number {
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const level = this.levels[mid];
      if (level !== undefined && this.compare(level.price, price) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private levelAt(price: Decimal): { index: number; level: PriceLevel | undefined } {
    const index = this.search(price);
    const level = this.levels[index];
    return { index, level: level?.price.eq(price) ? level : undefined };
  }

  private touch(price: Decimal): void {
    if (this.changed.size === 0) this.onChange?.();
    this.changed.set(price.toFixed(), price);
  }

  best(): PriceLevel | undefined {
    return this.levels.at(-1);
  }

  bestPrice(): Decimal | null {
    return this.best()?.price ?? null;
  }

  /** Rests an order at the back of its price level's queue. */
  add(order: OrderRecord): void {
    if (order.price === null) throw new Error(`order ${order.id} has no price and cannot rest in the book`);
    const { index, level: found } = this.levelAt(order.price);
    let level = found;
    if (level === undefined) {
      level = new PriceLevel(order.price);
      this.levels.splice(index, 0, level);
    }
    level.orders.set(order.id, order);
    level.total = level.total.plus(remaining(order));
    this.touch(order.price);
  }

  /** Records that `quantity` of a resting order traded; it leaves the queue when nothing remains. */
  filled(order: OrderRecord, quantity: Decimal): void {
    const level = this.requireLevel(order);
    level.total = level.total.minus(quantity);
    if (remaining(order).isZero()) this.drop(level, order);
    this.touch(level.price);
  }

  /** Takes a resting order off the book (a cancel). */
  remove(order: OrderRecord): void {
    const level = this.requireLevel(order);
    level.total = level.total.minus(remaining(order));
    this.drop(level, order);
    this.touch(level.price);
  }

  private requireLevel(order: OrderRecord): PriceLevel {
    const level = order.price === null ? undefined : this.levelAt(order.price).level;
    if (level?.orders.has(order.id) !== true)
      throw new Error(`order ${order.id} is not resting on the ${this.side} side of ${order.symbol}`);
    return level;
  }

  private drop(level: PriceLevel, order: OrderRecord): void {
    level.orders.delete(order.id);
    if (level.orders.size > 0) return;
    const { index } = this.levelAt(level.price);
    this.levels.splice(index, 1);
  }

  /** The best `depth` levels, best first. */
  depth(depth: number): SimBookLevel[] {
    const out: SimBookLevel[] = [];
    for (let i = this.levels.length - 1; i >= 0 && out.length < depth; i--) {
      const level = this.levels[i];
      if (level !== undefined) out.push({ price: level.price, quantity: level.total });
    }
    return out;
  }

  /** New totals of every level changed since the last drain; 0 for a level that is gone. */
  drainChanges(): SimLevelChange[] {
    const out: SimLevelChange[] = [];
    for (const price of this.changed.values()) {
      const level = this.levelAt(price).level;
      out.push({ side: this.side, price, quantity: level?.total ?? ZERO });
    }
    this.changed.clear();
    return out;
  }
}
