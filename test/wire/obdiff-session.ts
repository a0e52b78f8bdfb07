import { randomInt, seededRandom, type Random } from '../../src/domain/random.ts';

// A realistic BTCTurk obdiff session, seeded, in the REAL encoding (../shared/btcturk-wire/README.md
// and frames.jsonl): the exchange holds a deeper book than it shows; the subscriber sees a window
// of the best 100 levels a side. A 431 snapshot of the window, then one 432 per conflated batch with
// 7-16 level changes: CP 0 replaces an amount, CP 1 adds a level, CP 3 deletes one and still
// carries its (old, non-zero) amount. A level entering the window pushes the last one out (CP 3
// far from the touch, paired with a CP 1), a level leaving lets the next one in (CP 1 at the edge).
// Rows are {"CP","P","A"} in that key order, snapshot rows {"A","P"}; prices and amounts are
// unpadded decimal strings ("2900", "2770.7", "0.0092056", and sometimes "1.8371010").
//
// Used by test/wire/replay.test.ts and free for benchmarks: `next()` builds one frame at a time.

export interface ObdiffSessionOptions {
  readonly seed: number;
  readonly symbol?: string;
  /** Levels a side the subscriber sees (BTCTurk: 100). */
  readonly windowLevels?: number;
  /** Levels a side the exchange holds at the start (more than the window). */
  readonly sourceLevels?: number;
  /** Level changes per frame, inclusive. */
  readonly minChanges?: number;
  readonly maxChanges?: number;
  readonly startChangeSet?: number;
  /** Decimals of the price grid. */
  readonly priceDecimals?: number;
  /** Where the book starts, in price units. */
  readonly midPrice?: number;
}

export interface SessionCounts {
  frames: number;
  rows: number;
  cp0: number;
  cp1: number;
  cp3: number;
  /** The best bid or ask deleted. */
  touchDeletes: number;
  /** CP 3 of the window's last level (pushed out), and CP 1 of a level entering at the edge. */
  edgeOut: number;
  edgeIn: number;
  minRows: number;
  maxRows: number;
  /** Fewest levels a side the exchange held, after any frame. */
  minSourceDepth: number;
}

type Level = readonly [price: string, amount: string];

/** One side of the exchange's book: ticks kept best first, and the amount at each. */
class Side {
  /** Price ticks, best first. */
  readonly ticks: number[] = [];
  readonly levels = new Map<number, string>();

  constructor(readonly bids: boolean) {}

  get size(): number {
    return this.ticks.length;
  }

  best(): number | undefined {
    return this.ticks[0];
  }

  set(tick: number, amount: string): void {
    if (!this.levels.has(tick)) this.ticks.splice(this.position(tick), 0, tick);
    this.levels.set(tick, amount);
  }

  delete(tick: number): void {
    if (!this.levels.delete(tick)) return;
    this.ticks.splice(this.position(tick), 1);
  }

  /** Index of `tick`, or where it would go. */
  private position(tick: number): number {
    let lo = 0;
    let hi = this.ticks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const at = this.ticks[mid] ?? 0;
      if (this.bids ? at > tick : at < tick) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class ObdiffSession {
  readonly symbol: string;
  readonly windowLevels: number;
  readonly counts: SessionCounts;
  changeSet: number;
  private readonly random: Random;
  private readonly bids = new Side(true);
  private readonly asks = new Side(false);
  private readonly scale: number;
  private readonly minChanges: number;
  private readonly maxChanges: number;

  constructor(options: ObdiffSessionOptions) {
    this.random = seededRandom(options.seed);
    this.symbol = options.symbol ?? 'ETHUSDT';
    this.windowLevels = options.windowLevels ?? 100;
    this.minChanges = options.minChanges ?? 7;
    this.maxChanges = options.maxChanges ?? 16;
    this.changeSet = options.startChangeSet ?? 4_008_000;
    this.scale = options.priceDecimals ?? 1;
    const sourceLevels = options.sourceLevels ?? Math.round(this.windowLevels * 1.6);
    if (sourceLevels <= this.windowLevels)
      throw new RangeError('obdiff session: sourceLevels must exceed windowLevels');
    const mid = Math.round((options.midPrice ?? 2770) * 10 ** this.scale);
    let bid = mid - 1;
    let ask = mid + 1;
    for (let i = 0; i < sourceLevels; i++) {
      this.bids.set(bid, this.amount());
      this.asks.set(ask, this.amount());
      bid -= randomInt(this.random, 1, 3);
      ask += randomInt(this.random, 1, 3);
    }
    this.counts = {
      frames: 0,
      rows: 0,
      cp0: 0,
      cp1: 0,
      cp3: 0,
      touchDeletes: 0,
      edgeOut: 0,
      edgeIn: 0,
      minRows: Number.POSITIVE_INFINITY,
      maxRows: 0,
      minSourceDepth: sourceLevels,
    };
  }

  /** The window as the subscriber must hold it now: [price, amount] texts, best first. */
  window(): { bids: Level[]; asks: Level[] } {
    return { bids: this.view(this.bids), asks: this.view(this.asks) };
  }

  /** A 431 snapshot of the window at the current CS (what a join brings). */
  snapshot(): string {
    const rows = (levels: readonly Level[]) =>
      levels.map(([price, amount]) => `{"A":"${amount}","P":"${price}"}`).join(',');
    const { bids, asks } = this.window();
    return `[431,{"CS":${this.changeSet},"PS":"${this.symbol}","AO":[${rows(asks)}],"BO":[${rows(bids)}],"channel":"obdiff","event":"${this.symbol}","type":431}]`;
  }

  /** Moves the exchange's book by one conflated batch and returns its 432. */
  next(): string {
    const before = { bids: this.viewMap(this.bids), asks: this.viewMap(this.asks) };
    // Aim below the maximum: one last mutation can add two rows (a level in, the edge one out).
    const target = randomInt(this.random, this.minChanges, this.maxChanges - 1);
    let rows = 0;
    for (let guard = 0; rows < target && guard < 200; guard++) {
      this.mutate();
      rows = this.rowCount(before.bids, this.bids) + this.rowCount(before.asks, this.asks);
    }
    this.keepDepth();
    this.changeSet++;
    const asks = this.rows(before.asks, this.asks);
    const bids = this.rows(before.bids, this.bids);
    const c = this.counts;
    const total = asks.length + bids.length;
    c.frames++;
    c.rows += total;
    c.minRows = Math.min(c.minRows, total);
    c.maxRows = Math.max(c.maxRows, total);
    c.minSourceDepth = Math.min(c.minSourceDepth, this.bids.size, this.asks.size);
    return `[432,{"CS":${this.changeSet},"PS":"${this.symbol}","AO":[${asks.join(',')}],"BO":[${bids.join(',')}],"channel":"obdiff","event":"${this.symbol}","type":432}]`;
  }

  private mutate(): void {
    const bids = this.random.next() < 0.5;
    const side = bids ? this.bids : this.asks;
    const other = bids ? this.asks : this.bids;
    const visible = Math.min(side.size, this.windowLevels);
    const roll = this.random.next();
    if (roll < 0.35) {
      // CP 0: a visible level's amount changes.
      const tick = side.ticks[randomInt(this.random, 0, visible - 1)];
      if (tick !== undefined) side.set(tick, this.amount());
    } else if (roll < 0.45) {
      // The touch goes: CP 3 at the best price, and a level enters at the far edge (CP 1).
      const best = side.best();
      if (best !== undefined) {
        side.delete(best);
        this.counts.touchDeletes++;
      }
    } else if (roll < 0.62) {
      // A new level inside the window, mostly near the touch: the last visible level is pushed out.
      const best = side.best();
      const edge = side.ticks[visible - 1];
      if (best === undefined || edge === undefined) return;
      const span = Math.max(1, Math.abs(edge - best));
      const depth = randomInt(this.random, 1, this.random.next() < 0.6 ? Math.min(25, span) : span);
      const tick = bids ? best - depth : best + depth;
      if (!side.levels.has(tick)) side.set(tick, this.amount());
    } else if (roll < 0.77) {
      // A new best price inside the spread, never crossing the other side.
      const best = side.best();
      const opposite = other.best();
      if (best === undefined || opposite === undefined) return;
      const room = Math.floor(Math.abs(opposite - best) / 2);
      if (room < 1) return;
      const step = randomInt(this.random, 1, room);
      side.set(bids ? best + step : best - step, this.amount());
    } else if (roll < 0.87) {
      // A visible level deep in the window goes.
      const tick = side.ticks[randomInt(this.random, 1, visible - 1)];
      if (tick !== undefined) side.delete(tick);
    } else {
      // Beyond the window: nothing to send now, but it decides which level enters later.
      if (side.size <= this.windowLevels) return;
      const tick = side.ticks[randomInt(this.random, this.windowLevels, side.size - 1)];
      if (tick === undefined) return;
      if (this.random.next() < 0.5) side.set(tick, this.amount());
      else side.delete(tick);
    }
  }

  /** Keeps the exchange deeper than the window on both sides (deep levels, invisible to the subscriber). */
  private keepDepth(): void {
    for (const side of [this.bids, this.asks]) {
      let last = side.ticks[side.size - 1];
      while (side.size < this.windowLevels + 30 && last !== undefined) {
        last = side.bids ? last - randomInt(this.random, 1, 3) : last + randomInt(this.random, 1, 3);
        side.set(last, this.amount());
      }
      while (side.size > this.windowLevels * 2.5) {
        const deepest = side.ticks[side.size - 1];
        if (deepest === undefined) break;
        side.delete(deepest);
      }
    }
  }

  private view(side: Side): Level[] {
    return side.ticks
      .slice(0, this.windowLevels)
      .map((tick) => [this.priceText(tick), side.levels.get(tick) ?? '']);
  }

  private viewMap(side: Side): Map<number, string> {
    const map = new Map<number, string>();
    const n = Math.min(side.size, this.windowLevels);
    for (let i = 0; i < n; i++) {
      const tick = side.ticks[i] ?? 0;
      map.set(tick, side.levels.get(tick) ?? '');
    }
    return map;
  }

  private rowCount(before: Map<number, string>, side: Side): number {
    const after = this.viewMap(side);
    let n = 0;
    for (const [tick, amount] of after) if (before.get(tick) !== amount) n++;
    for (const tick of before.keys()) if (!after.has(tick)) n++;
    return n;
  }

  /** The window's change as rows, sorted as BTCTurk sends them (bids descending, asks ascending). */
  private rows(before: Map<number, string>, side: Side): string[] {
    const after = this.viewMap(side);
    const ticks = new Set([...before.keys(), ...after.keys()]);
    const sorted = [...ticks].sort(side.bids ? (a, b) => b - a : (a, b) => a - b);
    const lastBefore = [...before.keys()].sort(side.bids ? (a, b) => b - a : (a, b) => a - b).at(-1);
    const lastAfter = [...after.keys()].sort(side.bids ? (a, b) => b - a : (a, b) => a - b).at(-1);
    const out: string[] = [];
    for (const tick of sorted) {
      const was = before.get(tick);
      const now = after.get(tick);
      if (was === now) continue;
      let cp: number;
      let amount: string;
      if (was === undefined) {
        cp = 1;
        amount = now ?? '';
        this.counts.cp1++;
        if (tick === lastAfter) this.counts.edgeIn++;
      } else if (now === undefined) {
        cp = 3; // the delete still carries the level's last, non-zero amount
        amount = was;
        this.counts.cp3++;
        if (tick === lastBefore) this.counts.edgeOut++;
      } else {
        cp = 0;
        amount = now;
        this.counts.cp0++;
      }
      out.push(`{"CP":${cp},"P":"${this.priceText(tick)}","A":"${amount}"}`);
    }
    return out;
  }

  /** Grid ticks as BTCTurk writes a price: no padding ("2900", "2770.7"). */
  private priceText(ticks: number): string {
    if (this.scale === 0) return String(ticks);
    const unit = 10 ** this.scale;
    const whole = Math.floor(ticks / unit);
    const fraction = String(ticks % unit)
      .padStart(this.scale, '0')
      .replace(/0+$/, '');
    return fraction.length === 0 ? String(whole) : `${whole}.${fraction}`;
  }

  /** A non-zero amount with up to 8 decimals, mostly trimmed, sometimes with a trailing zero kept. */
  private amount(): string {
    const units = randomInt(this.random, 1, 2_000_000_000); // 1e-8 .. 20
    const whole = Math.floor(units / 1e8);
    const digits = String(units % 1e8).padStart(8, '0');
    // Trimmed mostly; one in five keeps seven places with whatever zero ends them ("1.8371010").
    const fraction = this.random.next() < 0.8 ? digits.replace(/0+$/, '') : digits.slice(0, 7);
    if (/^0*$/.test(fraction)) return whole === 0 ? '0.00000001' : String(whole);
    return `${whole}.${fraction}`;
  }
}
