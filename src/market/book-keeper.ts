import type { Decimal } from 'decimal.js';
import { Dec, decText } from '../domain/decimal.ts';
import type { BookLevel, OrderBookSnapshot } from '../domain/reports.ts';
import type {
  BookLevelText,
  BookProblemCause,
  FeedBookDiff,
  FeedBookSnapshot,
} from '../ports/market-feed.ts';
import { OrderBook, type BookApplyResult } from './book.ts';
import { isZeroText } from './price-key.ts';

// The decisions around one symbol's book, free of I/O: what each feed event does to the book, when
// the book must be resynced, and how new its data is.
//
// BTCTurk's obdiff subscription is the book's only sequence: its 431 snapshot (sent on every join)
// starts it, and each 432 carries the next CS of THAT subscription. CS is counted per subscription,
// not per book: the `orderbook` channel's CS for the same pair sits at an arbitrary offset (1,129 in
// one capture, 73,273 in another), so it is never compared with the obdiff one. What obdiff cannot
// say by itself is checked three ways, none of which trusts a CS across channels:
// - the window: BTCTurk keeps 100 levels a side (a level entering pushes one out as CP 3), so a side
//   holding more than that has missed deletes;
// - REST spot checks (the service fetches the book now and then): a local level better than REST's
//   touch is one REST does not have;
// - a periodic full book (`orderbook` channel), if subscribed, compared by content only.
// Both books are conflated (one frame per pair every ~764 ms) and a REST reply is a few hundred ms
// old, so one disagreement proves nothing: only a difference that persists, on a local level that
// did not change meanwhile, across checks at least `confirmMs` apart, counts and resyncs the book.
//
// ASSUMPTION (BTCTurk): the 100-level window holds after every whole 432 (the CP 1 of a level
// entering and the CP 3 of the one it pushes out travel in the same conflated frame; the capture
// shows them paired in one frame with equal counts), so the window is checked per frame, never per
// row. ASSUMPTION (BTCTurk): the `orderbook` channel shows the same 100-level window as obdiff.

export type BookSource = 'stream' | 'rest';

export interface KeeperOutcome {
  /** The book is invalid (or has no sequence to follow): ask the feed for a fresh snapshot. */
  readonly resync: boolean;
  /** The best bid or ask (price or quantity) changed. */
  readonly topChanged: boolean;
  /** A snapshot, change set or REST book was applied to the book. */
  readonly applied: boolean;
  /** A check found a difference that a later check must confirm (or clear). */
  readonly suspect: boolean;
}

export interface KeeperCounts {
  gaps: number;
  crossed: number;
  malformed: number; // unreadable frames or levels, negative quantities
  unknownChangeKinds: number; // a 432 row whose CP is not 0, 1 or 3
  windowOverflows: number; // a side held more levels than the window: deletes were missed
  orphanDiffs: number; // a 432 with no sequenced snapshot to follow
  mismatches: number; // periodic full books that disagreed with the local book (conflation included)
  spotChecks: number; // REST books compared with the stream-kept book
  spotMismatches: number; // confirmed differences from REST (the book was resynced)
  snapshots: number;
  diffs: number;
  restBooks: number;
}

export interface KeeperOptions {
  /** Decimals of the price grid when known. */
  readonly priceScale?: number;
  /** Levels a side the stream keeps (BTCTurk: 100). */
  readonly windowLevels?: number;
  /** A difference from the exchange's full book must persist this long to count. */
  readonly confirmMs?: number;
}

export const DEFAULT_WINDOW_LEVELS = 100;
export const DEFAULT_CONFIRM_MS = 2_000;

const UNCHANGED: KeeperOutcome = { resync: false, topChanged: false, applied: false, suspect: false };
// The outcomes of an applied book, shared: a change set arrives per pair about every 764 ms.
const APPLIED: KeeperOutcome = { resync: false, topChanged: false, applied: true, suspect: false };
const APPLIED_TOP_CHANGED: KeeperOutcome = { resync: false, topChanged: true, applied: true, suspect: false };

/** REST spot checks look at this many local levels a side beyond REST's touch at most. */
const SPOT_SCAN_LEVELS = 10;

type SideName = 'bid' | 'ask';

interface Finding {
  /** The local level the finding is about (the same object later: unchanged); null: none locally. */
  readonly local: BookLevel | null;
  readonly text: string;
}

interface Suspect extends Finding {
  readonly since: number;
}

/**
 * Differences between the local book and the exchange's full book that a single check cannot tell
 * from conflation. A difference is confirmed when every check since its first sighting saw it, on
 * the same unchanged local level (or the same absence), for at least `confirmMs`.
 */
class Divergences {
  private suspects = new Map<string, Suspect>();

  constructor(private readonly confirmMs: number) {}

  get size(): number {
    return this.suspects.size;
  }

  /** One check's findings, keyed by side and price; the confirmed difference, or null. */
  observe(findings: ReadonlyMap<string, Finding>, at: number): string | null {
    const next = new Map<string, Suspect>();
    let confirmed: string | null = null;
    for (const [key, finding] of findings) {
      const previous = this.suspects.get(key);
      const since = previous !== undefined && previous.local === finding.local ? previous.since : at;
      next.set(key, { ...finding, since });
      if (confirmed === null && at - since >= this.confirmMs)
        confirmed = `${finding.text}, unchanged for ${at - since} ms across checks`;
    }
    this.suspects = next;
    return confirmed;
  }

  clear(): void {
    this.suspects.clear();
  }
}

export class BookKeeper {
  readonly book: OrderBook;
  /** Monotonic ms when the data in the book was last known current; null before any. */
  lastDataAt: number | null = null;
  source: BookSource | null = null;
  /** Why the book was last invalidated, naming the values. */
  lastProblem: string | null = null;
  /** Monotonic ms the book became unusable (invalid), null while it is usable. */
  invalidSince: number | null = null;
  readonly windowLevels: number;
  /** A difference from the exchange's full book must persist this long to count. */
  readonly confirmMs: number;
  readonly counts: KeeperCounts = {
    gaps: 0,
    crossed: 0,
    malformed: 0,
    unknownChangeKinds: 0,
    windowOverflows: 0,
    orphanDiffs: 0,
    mismatches: 0,
    spotChecks: 0,
    spotMismatches: 0,
    snapshots: 0,
    diffs: 0,
    restBooks: 0,
  };
  /** The window in force: the configured one, or a wider snapshot's (see onSnapshot). */
  private limit: number;
  private readonly periodic: Divergences;
  private readonly spot: Divergences;

  constructor(
    readonly symbol: string,
    options: KeeperOptions | number = {},
  ) {
    const o = typeof options === 'number' ? { priceScale: options } : options;
    this.book = new OrderBook(symbol, o.priceScale ?? 0);
    this.windowLevels = o.windowLevels ?? DEFAULT_WINDOW_LEVELS;
    if (!(Number.isInteger(this.windowLevels) && this.windowLevels >= 1))
      throw new RangeError(
        `book window: windowLevels must be a whole number of at least 1, got ${this.windowLevels}`,
      );
    this.limit = this.windowLevels;
    this.confirmMs = o.confirmMs ?? DEFAULT_CONFIRM_MS;
    this.periodic = new Divergences(this.confirmMs);
    this.spot = new Divergences(this.confirmMs);
  }

  /** True when the book's levels can be read and acted on (subject to their age). */
  get usable(): boolean {
    return this.book.valid;
  }

  /** True while the book is valid and sequenced by the stream: change sets keep it current. */
  get streamKept(): boolean {
    return this.book.valid && this.book.changeSet !== null && this.source === 'stream';
  }

  onSnapshot(snapshot: FeedBookSnapshot, at: number): KeeperOutcome {
    if (snapshot.periodic) return this.onPeriodicBook(snapshot, at);
    this.counts.snapshots++;
    // BTCTurk sends at most the window (up to 100 levels a side in the capture); a wider snapshot
    // means the window option is wrong for this feed. Its levels are the exchange's own, so they are
    // taken, and the window widened to them: refusing it would resync into the same snapshot for ever.
    this.limit = Math.max(this.windowLevels, liveCount(snapshot.bids), liveCount(snapshot.asks));
    this.periodic.clear();
    this.spot.clear();
    return this.load(() => this.book.reset(snapshot), 'stream', at);
  }

  onDiff(diff: FeedBookDiff, at: number): KeeperOutcome {
    this.counts.diffs++;
    const bid = this.book.bestBid();
    const ask = this.book.bestAsk();
    const result = this.book.applyDiff(diff);
    if (result === 'applied') {
      if (this.book.bidCount > this.limit || this.book.askCount > this.limit) {
        this.counts.windowOverflows++;
        this.book.invalidate(
          `${this.symbol}: after change set ${diff.changeSet} the book holds ${this.book.bidCount} bids and ${this.book.askCount} asks, more than the ${this.limit}-level window: deletes were missed`,
        );
        return this.failed('malformed', at, false);
      }
      this.lastDataAt = at;
      // Levels are immutable: a different object at the top is a changed price or quantity.
      return this.book.bestBid() !== bid || this.book.bestAsk() !== ask ? APPLIED_TOP_CHANGED : APPLIED;
    }
    if (result === 'stale') return UNCHANGED;
    if (result === 'not-ready') {
      // A change set with no sequenced snapshot before it (a 432 before any 431, or after a REST
      // book): it cannot be placed, and only a join brings a snapshot. The book, if any, stays.
      this.counts.orphanDiffs++;
      this.lastProblem = `${this.symbol}: change set ${diff.changeSet} arrived with no order book snapshot to follow`;
      return { resync: true, topChanged: false, applied: false, suspect: false };
    }
    return this.failed(result, at);
  }

  /** A book frame of this symbol could not be read: what it changed is unknown. */
  onUnreadable(reason: string, at: number, cause: BookProblemCause = 'unreadable'): KeeperOutcome {
    this.book.invalidate(
      cause === 'unknown-change-kind'
        ? `${this.symbol}: a change set holds a change kind BTCTurk does not send: ${reason}`
        : `${this.symbol}: a book frame could not be read: ${reason}`,
    );
    if (cause === 'unknown-change-kind') {
      this.counts.unknownChangeKinds++;
      return this.failed('malformed', at, false);
    }
    return this.failed('malformed', at);
  }

  /**
   * A book fetched over REST. While the stream keeps the book it is a spot check (see the header);
   * otherwise it stands in for the stream. `requestedAt` (monotonic, when the request left) dates
   * it: the book is at least that new. `at`: when the reply arrived.
   */
  onRestBook(snapshot: OrderBookSnapshot, requestedAt: number, at = requestedAt): KeeperOutcome {
    if (this.streamKept) return this.spotCheck(snapshot, at);
    if (this.book.valid && this.book.changeSet !== null) return UNCHANGED;
    if (this.lastDataAt !== null && this.lastDataAt > requestedAt) return UNCHANGED;
    this.counts.restBooks++;
    const text = (levels: OrderBookSnapshot['bids']) =>
      levels.map((level) => ({ price: decText(level.price), quantity: decText(level.quantity) }));
    return this.load(
      () => this.book.reset({ changeSet: null, bids: text(snapshot.bids), asks: text(snapshot.asks) }),
      'rest',
      requestedAt,
    );
  }

  /** The stream that sequenced the book is gone; its levels age from here. */
  onStreamLost(): void {
    this.book.detach();
    this.periodic.clear();
    this.spot.clear();
  }

  /**
   * A full book from the `orderbook` channel: compared by content only (its CS belongs to another
   * subscription). Every disagreement is counted; only a confirmed one resyncs. It never replaces
   * the obdiff-kept book, and is ignored while there is none.
   */
  private onPeriodicBook(snapshot: FeedBookSnapshot, at: number): KeeperOutcome {
    if (!this.streamKept) return UNCHANGED;
    const findings = new Map<string, Finding>();
    this.compareFull('bid', snapshot.bids, findings);
    this.compareFull('ask', snapshot.asks, findings);
    if (findings.size > 0) this.counts.mismatches++;
    const confirmed = this.periodic.observe(findings, at);
    if (confirmed === null) return { ...UNCHANGED, suspect: findings.size > 0 };
    this.book.invalidate(`${this.symbol}: the full book (orderbook channel) disagrees: ${confirmed}`);
    return this.failed('malformed', at, false);
  }

  private spotCheck(snapshot: OrderBookSnapshot, at: number): KeeperOutcome {
    this.counts.spotChecks++;
    const findings = new Map<string, Finding>();
    this.beyondTouch('bid', snapshot.bids, findings);
    this.beyondTouch('ask', snapshot.asks, findings);
    const confirmed = this.spot.observe(findings, at);
    if (confirmed === null) return { ...UNCHANGED, suspect: findings.size > 0 };
    this.counts.spotMismatches++;
    this.book.invalidate(`${this.symbol}: REST spot check: ${confirmed}`);
    return this.failed('malformed', at, false);
  }

  /**
   * The touch compared both ways. Local levels better than REST's best are levels REST does not
   * have (a delete the stream missed: the harmful case, liquidity that is gone). REST's best better
   * than the local best is a level the stream never brought (a missed add, or a subscription that
   * stopped delivering while the market moved): keyed by the local best, so it is confirmed only
   * when the local touch has not moved for the whole confirmation time.
   */
  private beyondTouch(side: SideName, rest: OrderBookSnapshot['bids'], into: Map<string, Finding>): void {
    const touch = rest[0]?.price;
    const better = (a: Decimal, b: Decimal): boolean => (side === 'bid' ? a.gt(b) : a.lt(b));
    const local = this.book.levels(SPOT_SCAN_LEVELS);
    const mine = side === 'bid' ? local.bids : local.asks;
    for (const level of mine) {
      if (touch !== undefined && !better(level.price, touch)) break;
      const price = level.price.toFixed();
      into.set(`${side} ${price}`, {
        local: level,
        text: `local ${side} ${level.quantity.toFixed()} @ ${price} is better than REST's best ${side} ${touch?.toFixed() ?? '(none)'}`,
      });
    }
    const best = mine[0] ?? null;
    if (touch !== undefined && (best === null || better(touch, best.price)))
      into.set(`${side} behind`, {
        local: best,
        text: `REST's best ${side} ${touch.toFixed()} is better than the local best ${side} ${best?.price.toFixed() ?? '(none)'}`,
      });
  }

  /** Every level, within the range both books cover, that the two disagree on. */
  private compareFull(side: SideName, theirs: readonly BookLevelText[], into: Map<string, Finding>): void {
    const rows = theirs.filter((row) => !isZeroText(row.quantity));
    const levels = this.book.levels();
    const mine = side === 'bid' ? levels.bids : levels.asks;
    const theirsByPrice = new Map<string, BookLevelText>();
    for (const row of rows) theirsByPrice.set(canonical(row.price), row);
    // A full window says nothing about levels beyond its last one.
    const bound = rows.length >= this.windowLevels ? rows[rows.length - 1]?.price : undefined;
    const inRange = (level: BookLevel): boolean =>
      bound === undefined || (side === 'bid' ? level.price.gte(bound) : level.price.lte(bound));
    for (const level of mine) {
      if (!inRange(level)) break;
      const price = level.price.toFixed();
      const row = theirsByPrice.get(price);
      if (row !== undefined && level.quantity.eq(row.quantity)) continue;
      into.set(`${side} ${price}`, {
        local: level,
        text: `${side} ${price}: local ${level.quantity.toFixed()}, full book ${row === undefined ? 'none' : row.quantity}`,
      });
    }
    for (const row of rows) {
      if (this.book.amountAt(side, row.price) !== undefined) continue;
      const price = canonical(row.price);
      into.set(`${side} ${price}`, {
        local: null,
        text: `${side} ${price}: local none, full book ${row.quantity}`,
      });
    }
  }

  private load(reset: () => BookApplyResult, source: BookSource, at: number): KeeperOutcome {
    const bid = this.book.bestBid();
    const ask = this.book.bestAsk();
    const result = reset();
    if (result !== 'applied') return this.failed(result, at);
    this.source = source;
    this.lastDataAt = at;
    this.invalidSince = null;
    return this.book.bestBid() !== bid || this.book.bestAsk() !== ask ? APPLIED_TOP_CHANGED : APPLIED;
  }

  /** The book was invalidated (by the book, or by the caller when `count` is false). */
  private failed(result: BookApplyResult, at: number, count = true): KeeperOutcome {
    if (count) {
      if (result === 'gap') this.counts.gaps++;
      else if (result === 'crossed') this.counts.crossed++;
      else if (result === 'negative' || result === 'malformed') this.counts.malformed++;
    }
    this.periodic.clear();
    this.spot.clear();
    this.lastProblem = this.book.problem;
    this.invalidSince ??= at;
    return { resync: true, topChanged: true, applied: false, suspect: false };
  }
}

/** One spelling per price ("2900.0" and "2900" are one level); the text is known to be a plain decimal. */
function canonical(price: string): string {
  return new Dec(price).toFixed();
}

function liveCount(rows: readonly BookLevelText[]): number {
  let n = 0;
  for (const row of rows) if (!isZeroText(row.quantity)) n++;
  return n;
}
