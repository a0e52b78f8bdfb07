import Denque from 'denque';
import type { Decimal } from 'decimal.js';
import { Dec, ZERO } from '../../domain/decimal.ts';
import type { SimPublicTrade } from './api.ts';

// One market's public trades in bounded memory: the latest trades themselves, for recentTrades and
// the ground truth, and per-minute aggregates for the rolling-24h ticker. A simulator left running
// for days must not hold every trade the synthetic participants ever made.

/** Trades kept per market: far more than any BTCTurk query returns (50 on REST and the WebSocket). */
export const RECENT_TRADES_KEPT = 1_000;
/**
 * Granularity of the rolling-24h statistics. The window is the minutes that began less than 24 h
 * ago, so a trade leaves high, low, open and volume between 23 h 59 min and 24 h after it happened.
 */
export const DAY_BUCKET_MS = 60_000;
const DAY_MS = 86_400_000;

interface Bucket {
  readonly start: number; // ms, a multiple of DAY_BUCKET_MS
  readonly open: Decimal; // the minute's first price
  high: Decimal;
  low: Decimal;
  volume: Decimal;
  notional: Decimal;
}

/** Statistics of the trades in the rolling 24 h; absent when none traded in it. */
export interface DayStats {
  readonly open: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly volume: Decimal;
  readonly notional: Decimal; // sum of price × quantity, for the volume-weighted average
}

export class TradeTape {
  private readonly recent = new Denque<SimPublicTrade>([], { capacity: RECENT_TRADES_KEPT });
  /** Oldest first; at most one per minute of the window (1,441 with the current one). */
  private readonly buckets = new Denque<Bucket>();
  // Running sums over the buckets: decimal additions and their exact reversals, never rounded.
  private volume: Decimal = ZERO;
  private notional: Decimal = ZERO;
  /** High and low over the buckets; null when a bucket holding one of them left and a scan is due. */
  private extremes: { high: Decimal; low: Decimal } | null = null;

  record(trade: SimPublicTrade): void {
    this.recent.push(trade);
    this.expire(trade.timestamp);
    const { price, quantity } = trade;
    const value = price.mul(quantity);
    const start = Math.floor(trade.timestamp / DAY_BUCKET_MS) * DAY_BUCKET_MS;
    const last = this.buckets.peekBack();
    // A clock set back (the clock-skew fault) must not reorder the window: such a trade joins the
    // newest minute.
    if (last !== undefined && start <= last.start) {
      last.high = Dec.max(last.high, price);
      last.low = Dec.min(last.low, price);
      last.volume = last.volume.plus(quantity);
      last.notional = last.notional.plus(value);
    } else {
      if (this.buckets.isEmpty()) this.extremes = { high: price, low: price };
      this.buckets.push({ start, open: price, high: price, low: price, volume: quantity, notional: value });
    }
    this.volume = this.volume.plus(quantity);
    this.notional = this.notional.plus(value);
    if (this.extremes !== null)
      this.extremes = { high: Dec.max(this.extremes.high, price), low: Dec.min(this.extremes.low, price) };
  }

  /** The latest `count` trades (at most RECENT_TRADES_KEPT), newest first. */
  latest(count: number): SimPublicTrade[] {
    const out: SimPublicTrade[] = [];
    for (let i = this.recent.length - 1; i >= 0 && out.length < count; i--) {
      const trade = this.recent.peekAt(i);
      if (trade !== undefined) out.push(trade);
    }
    return out;
  }

  /** Every trade still kept, oldest first. */
  kept(): SimPublicTrade[] {
    return this.recent.toArray();
  }

  /** The rolling-24h statistics at `now`; the window only moves forward. */
  day(now: number): DayStats | undefined {
    this.expire(now);
    const first = this.buckets.peekFront();
    if (first === undefined) return undefined;
    this.extremes ??= this.scanExtremes();
    return { open: first.open, ...this.extremes, volume: this.volume, notional: this.notional };
  }

  private expire(now: number): void {
    for (let first = this.buckets.peekFront(); first !== undefined; first = this.buckets.peekFront()) {
      if (first.start > now - DAY_MS) return;
      this.buckets.shift();
      if (this.buckets.isEmpty()) {
        this.volume = ZERO;
        this.notional = ZERO;
        this.extremes = null;
        return;
      }
      this.volume = this.volume.minus(first.volume);
      this.notional = this.notional.minus(first.notional);
      if (this.extremes !== null && (first.high.eq(this.extremes.high) || first.low.eq(this.extremes.low)))
        this.extremes = null;
    }
  }

  private scanExtremes(): { high: Decimal; low: Decimal } {
    const buckets = this.buckets.toArray();
    const first = buckets[0];
    if (first === undefined) throw new Error('high and low asked of an empty 24h window');
    let { high, low } = first;
    for (const bucket of buckets) {
      high = Dec.max(high, bucket.high);
      low = Dec.min(low, bucket.low);
    }
    return { high, low };
  }
}
