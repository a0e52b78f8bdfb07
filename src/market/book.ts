import { OrderedMap } from '@js-sdsl/ordered-map';
import type { Decimal } from 'decimal.js';
import { Dec } from '../domain/decimal.ts';
import type { BookLevel } from '../domain/reports.ts';
import type { BookLevelChange, BookLevelText } from '../ports/market-feed.ts';
import {
  isNegativeText,
  isZeroText,
  keyText,
  MAX_KEY_SCALE,
  scaledInteger,
  significantDecimals,
} from './price-key.ts';

// A live order book for one symbol, fed by a snapshot and then change sets that must follow it
// without a hole. Each side is a red-black tree (@js-sdsl/ordered-map) keyed by the scaled-integer
// price of price-key.ts: O(log n) per level change, O(1) best bid and ask (the tree keeps its
// leftmost and rightmost node). The tree holds only the amount, as the exchange's decimal text,
// under the price key: a change set allocates no level object, and what it stores is one string a
// row. That matters for the garbage collector more than for the allocation itself: a level lives
// seconds, long enough to be copied out of V8's young generation and promoted, so every object kept
// per row was copied twice and later collected from the old generation (following 380 pairs, the
// collector was a third of the bot's CPU). A level object (BookLevel) is made when it is read: the
// best level of each side is kept as one, so that reading the touch allocates nothing; Decimals are
// made on first read and cached on it.

export interface BookSnapshotText {
  readonly changeSet: number | null; // null for a REST book, which carries no sequence number
  readonly bids: readonly BookLevelText[];
  readonly asks: readonly BookLevelText[];
}

export interface BookDiff {
  readonly changeSet: number;
  readonly bids: readonly BookLevelChange[];
  readonly asks: readonly BookLevelChange[];
}

export type BookState = 'awaiting-snapshot' | 'valid' | 'invalid';

/**
 * The outcome of feeding the book. `stale`: a change set the book already contains (ignored).
 * `not-ready`: a change set the book cannot place, having no valid sequenced snapshot (ignored). Every other outcome but `applied`
 * leaves the book invalid until the next snapshot: the caller must resync.
 */
export type BookApplyResult =
  'applied' | 'stale' | 'not-ready' | 'gap' | 'crossed' | 'negative' | 'malformed';

/** A level as read, its Decimals made on first read. Immutable: a change makes a new one. */
class Level implements BookLevel {
  #price: Decimal | undefined;
  #quantity: Decimal | undefined;

  constructor(
    readonly priceText: string,
    readonly quantityText: string,
  ) {}

  get price(): Decimal {
    return (this.#price ??= new Dec(this.priceText));
  }

  get quantity(): Decimal {
    return (this.#quantity ??= new Dec(this.quantityText));
  }
}

const ascending = (a: number, b: number): number => a - b;

/**
 * V8 keeps a slice of 13 characters or more as a view into the string it was cut from: the frame
 * readers cut prices and amounts out of the frame text, so a level holding such a slice
 * ("37154.70820000", a long amount) would keep its whole frame alive (a 100-level snapshot is
 * several KB; 76,000 levels over 380 pairs, each pinning a frame, would be tens of MB). A
 * concatenation read by slice() is flattened into a string of its own, 1 + length characters long.
 */
const SLICE_MIN_LENGTH = 13;
function ownText(text: string): string {
  return text.length < SLICE_MIN_LENGTH ? text : ` ${text}`.slice(1);
}

/**
 * One side of the book: the tree of amounts by price key, plus its best level kept on the side as
 * a Level, so that reading it, and the crossed-book check after every change set, cost no tree
 * walk and no allocation. The best Level is replaced exactly when the best price or its amount
 * changes (the book keeper tells a changed touch by the object). Only removing the best level asks
 * the tree for the next one.
 */
class BookSide {
  private tree = new OrderedMap<number, string>([], ascending);
  bestKey = Number.NaN;
  best: Level | undefined = undefined;
  /** Decimals of the price keys (the book's scale), to write a key back as a price. */
  scale = 0;

  constructor(private readonly bids: boolean) {}

  get size(): number {
    return this.tree.size();
  }

  /** The amount at `key`; `price` is the row's own text, kept only if the level becomes the best. */
  set(key: number, quantity: string, price: string): void {
    this.tree.setElement(key, quantity);
    if (
      this.best === undefined ||
      key === this.bestKey ||
      (this.bids ? key > this.bestKey : key < this.bestKey)
    ) {
      this.bestKey = key;
      this.best = new Level(ownText(price), quantity);
    }
  }

  /** The amount at `key`, or undefined when the side holds no level there. */
  get(key: number): string | undefined {
    return this.tree.getElementByKey(key);
  }

  erase(key: number): void {
    if (!this.tree.eraseElementByKey(key) || key !== this.bestKey) return;
    this.findBest();
  }

  clear(): void {
    this.tree = new OrderedMap<number, string>([], ascending);
    this.findBest();
  }

  /** Rebuilds the tree at a finer price scale; false when a price cannot be keyed at it. */
  rekey(scale: number): boolean {
    const tree = new OrderedMap<number, string>([], ascending);
    for (const [key, quantity] of this.tree) {
      const rekeyed = scaledInteger(keyText(key, this.scale), scale);
      if (Number.isNaN(rekeyed)) return false;
      tree.setElement(rekeyed, quantity);
    }
    this.tree = tree;
    this.scale = scale;
    this.findBest();
    return true;
  }

  /** Up to `depth` levels, best first. */
  take(depth: number): Level[] {
    const out: Level[] = [];
    const tree = this.tree;
    const end = this.bids ? tree.rEnd() : tree.end();
    for (
      let it = this.bids ? tree.rBegin() : tree.begin();
      !it.equals(end) && out.length < depth;
      it.next()
    ) {
      const [key, quantity] = it.pointer;
      out.push(
        key === this.bestKey && this.best !== undefined
          ? this.best
          : new Level(keyText(key, this.scale), quantity),
      );
    }
    return out;
  }

  private findBest(): void {
    const entry = this.bids ? this.tree.back() : this.tree.front();
    if (entry === undefined) {
      this.bestKey = Number.NaN;
      this.best = undefined;
      return;
    }
    this.bestKey = entry[0];
    this.best = new Level(keyText(entry[0], this.scale), entry[1]);
  }
}

export class OrderBook {
  private readonly bids = new BookSide(true);
  private readonly asks = new BookSide(false);
  #state: BookState = 'awaiting-snapshot';
  #changeSet: number | null = null;
  #problem: string | null = null;

  constructor(
    readonly symbol: string,
    /** Decimals of the price grid when known (the pair's denominatorScale); the book widens it if a price needs more. */
    priceScale = 0,
  ) {
    this.scale = priceScale;
  }

  /** Decimals of the price keys, the same on both sides. */
  private get scale(): number {
    return this.bids.scale;
  }

  private set scale(value: number) {
    this.bids.scale = value;
    this.asks.scale = value;
  }

  get state(): BookState {
    return this.#state;
  }

  get valid(): boolean {
    return this.#state === 'valid';
  }

  /** The change set the book reflects; null before a snapshot or after a REST book. */
  get changeSet(): number | null {
    return this.#changeSet;
  }

  /** Why the book is invalid, naming the value that made it so; null when it is not. */
  get problem(): string | null {
    return this.#problem;
  }

  get depth(): { readonly bids: number; readonly asks: number } {
    return { bids: this.bids.size, asks: this.asks.size };
  }

  /** Bid levels held (depth.bids without the object). */
  get bidCount(): number {
    return this.bids.size;
  }

  get askCount(): number {
    return this.asks.size;
  }

  /** Replaces the whole book. Levels with zero quantity are left out. */
  reset(snapshot: BookSnapshotText): BookApplyResult {
    const needed = Math.max(neededScale(snapshot.bids), neededScale(snapshot.asks));
    if (needed < 0) return this.fail('malformed', 'a snapshot level has a price that is not a plain decimal');
    if (needed > MAX_KEY_SCALE)
      return this.fail('malformed', `a snapshot price has more than ${MAX_KEY_SCALE} decimals`);
    this.scale = Math.max(this.scale, needed);
    this.bids.clear();
    this.asks.clear();
    this.#changeSet = snapshot.changeSet;
    for (const row of snapshot.bids) {
      const result = this.setLevel(true, row.price, row.quantity, false);
      if (result !== 'applied') return result;
    }
    for (const row of snapshot.asks) {
      const result = this.setLevel(false, row.price, row.quantity, false);
      if (result !== 'applied') return result;
    }
    if (this.isCrossed()) return this.fail('crossed', this.crossedText());
    this.#state = 'valid';
    this.#problem = null;
    return 'applied';
  }

  /** Applies the change set that follows the book's, or refuses a gap; see BookApplyResult. */
  applyDiff(diff: BookDiff): BookApplyResult {
    const current = this.#changeSet;
    // Without a sequenced snapshot (none yet, an invalid book, a REST book) continuity is unprovable.
    if (this.#state !== 'valid' || current === null) return 'not-ready';
    if (diff.changeSet <= current) return 'stale';
    if (diff.changeSet !== current + 1)
      return this.fail(
        'gap',
        `change set ${diff.changeSet} arrived after ${current}: ${diff.changeSet - current - 1} missed`,
      );
    for (const row of diff.bids) {
      const result = this.setLevel(true, row.price, row.quantity, row.remove);
      if (result !== 'applied') return result;
    }
    for (const row of diff.asks) {
      const result = this.setLevel(false, row.price, row.quantity, row.remove);
      if (result !== 'applied') return result;
    }
    this.#changeSet = diff.changeSet;
    if (this.isCrossed())
      return this.fail('crossed', `${this.crossedText()} after change set ${diff.changeSet}`);
    return 'applied';
  }

  /**
   * The feed that sequenced this book is gone: the levels stay readable (their age says how much to
   * trust them), but no change set applies until a new snapshot restarts the sequence.
   */
  detach(): void {
    this.#changeSet = null;
  }

  /** Marks the book unusable until the next snapshot. */
  invalidate(reason: string): void {
    this.#state = 'invalid';
    this.#problem = reason;
  }

  bestBid(): BookLevel | null {
    return this.bids.best ?? null;
  }

  bestAsk(): BookLevel | null {
    return this.asks.best ?? null;
  }

  /** The amount held at `price` on one side, as the exchange wrote it, or undefined for none. */
  amountAt(side: 'bid' | 'ask', price: string): string | undefined {
    const key = scaledInteger(price, this.scale);
    if (Number.isNaN(key)) return undefined; // more decimals than any price in the book: none there
    return (side === 'bid' ? this.bids : this.asks).get(key);
  }

  /** Up to `depth` levels per side, best first. */
  levels(depth = Number.POSITIVE_INFINITY): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: this.bids.take(depth), asks: this.asks.take(depth) };
  }

  /**
   * The first difference between this book and a full snapshot of the same change set, or null
   * when they agree level for level (quantities compared as decimals: "1.50" equals "1.5").
   */
  difference(snapshot: BookSnapshotText): string | null {
    const mine = this.levels();
    return sideDifference('bid', mine.bids, snapshot.bids) ?? sideDifference('ask', mine.asks, snapshot.asks);
  }

  private setLevel(bid: boolean, price: string, quantity: string, remove: boolean): BookApplyResult {
    let key = scaledInteger(price, this.scale);
    if (Number.isNaN(key)) {
      if (!this.widenFor(price))
        return this.fail('malformed', `price ${JSON.stringify(price)} is not a usable decimal`);
      key = scaledInteger(price, this.scale);
    }
    const side = bid ? this.bids : this.asks;
    if (remove || isZeroText(quantity)) {
      side.erase(key);
      return 'applied';
    }
    if (isNegativeText(quantity))
      return this.fail('negative', `level ${price} would hold the negative quantity ${quantity}`);
    side.set(key, ownText(quantity), price);
    return 'applied';
  }

  /** Re-keys both sides at a finer scale when a price has more decimals than the book's; false if impossible. */
  private widenFor(price: string): boolean {
    const needed = significantDecimals(price);
    if (needed <= this.scale || needed > MAX_KEY_SCALE) return false;
    const rekeyed = this.bids.rekey(needed) && this.asks.rekey(needed);
    this.scale = needed;
    return rekeyed && Number.isFinite(scaledInteger(price, needed));
  }

  private isCrossed(): boolean {
    // NaN (an empty side) compares false: an empty side cannot cross.
    return this.bids.bestKey >= this.asks.bestKey;
  }

  private crossedText(): string {
    return `best bid ${this.bids.best?.priceText ?? '?'} is not below best ask ${this.asks.best?.priceText ?? '?'}`;
  }

  private fail(result: BookApplyResult, reason: string): BookApplyResult {
    this.invalidate(`${this.symbol}: ${reason}`);
    return result;
  }
}

function neededScale(rows: readonly BookLevelText[]): number {
  let needed = 0;
  for (const row of rows) {
    const decimals = significantDecimals(row.price);
    if (decimals < 0) return -1;
    if (decimals > needed) needed = decimals;
  }
  return needed;
}

function sideDifference(
  name: string,
  mine: readonly BookLevel[],
  theirs: readonly BookLevelText[],
): string | null {
  const wanted = theirs.filter((row) => !isZeroText(row.quantity));
  if (mine.length !== wanted.length)
    return `${name} side has ${mine.length} levels, the full book ${wanted.length}`;
  for (let i = 0; i < wanted.length; i++) {
    const a = mine[i];
    const b = wanted[i];
    if (a === undefined || b === undefined) break;
    if (!a.price.eq(b.price) || !a.quantity.eq(b.quantity))
      return `${name} level ${i + 1}: local ${a.quantity.toFixed()} @ ${a.price.toFixed()}, full book ${b.quantity} @ ${b.price}`;
  }
  return null;
}
