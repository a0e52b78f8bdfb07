import type { Decimal } from 'decimal.js';
import { ZERO } from '../../domain/decimal.ts';
import type { FillFilter, OrderFilter, SimBookLevel, SimFill, SimTicker } from './api.ts';
import { rejections } from './rejections.ts';
import type { DayStats } from './tape.ts';

const DAY_MS = 86_400_000;
/** BTCTurk's trade history answers the last 30 days unless asked for another window. */
const FILL_WINDOW_MS = 30 * DAY_MS;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

interface OrderKey {
  readonly id: string;
  readonly symbol: string;
  readonly createdAt: number;
}

function whole(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(value)));
}

/**
 * allOrders: with fromOrderId, the orders with id >= it oldest first (a forward cursor); without,
 * newest first so page 1 holds the latest. `orders` must be in ascending id order.
 */
export function pageOrders<T extends OrderKey>(orders: readonly T[], filter: OrderFilter): T[] {
  const limit = whole(filter.limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
  const page = whole(filter.page, 1, 1, Number.MAX_SAFE_INTEGER);
  let from: bigint | null = null;
  if (filter.fromOrderId !== undefined) {
    if (!/^\d+$/.test(filter.fromOrderId))
      throw rejections.parameter(`orderId "${filter.fromOrderId}" is not an order id (decimal digits)`);
    from = BigInt(filter.fromOrderId);
  }
  const { symbol, startTime, endTime } = filter;
  const matches = orders.filter(
    (o) =>
      (symbol === undefined || o.symbol === symbol) &&
      (from === null || BigInt(o.id) >= from) &&
      (startTime === undefined || o.createdAt >= startTime) &&
      (endTime === undefined || o.createdAt <= endTime),
  );
  if (from === null) matches.reverse();
  return matches.slice((page - 1) * limit, page * limit);
}

export function selectFills(fills: readonly SimFill[], filter: FillFilter, now: number): SimFill[] {
  const start = filter.startTime ?? now - FILL_WINDOW_MS;
  const end = filter.endTime ?? Number.POSITIVE_INFINITY;
  return fills.filter(
    (f) =>
      f.timestamp >= start &&
      f.timestamp <= end &&
      (filter.symbol === undefined || f.symbol === filter.symbol) &&
      (filter.orderId === undefined || f.orderId === filter.orderId),
  );
}

export interface TickerInput {
  readonly symbol: string;
  /** The last trade's price, or before anything traded the market's configured mid. */
  readonly last: Decimal;
  /** The rolling-24h statistics; absent when nothing traded in the window. */
  readonly day: DayStats | undefined;
  readonly priceScale: number;
  readonly bestBid: SimBookLevel | undefined;
  readonly bestAsk: SimBookLevel | undefined;
  readonly now: number;
}

/** The rolling-24h ticker; with no trade in the window every price is the last one, volume 0. */
export function rollingTicker(input: TickerInput): SimTicker {
  const { last, day } = input;
  const volume = day?.volume ?? ZERO;
  return {
    symbol: input.symbol,
    timestamp: input.now,
    last,
    high: day?.high ?? last,
    low: day?.low ?? last,
    open: day?.open ?? last,
    volume,
    // Volume-weighted, shown on the price grid: a display figure, never used for money.
    average:
      day === undefined || volume.isZero()
        ? last
        : day.notional.div(volume).toDecimalPlaces(input.priceScale),
    bid: input.bestBid?.price ?? null,
    ask: input.bestAsk?.price ?? null,
    bidSize: input.bestBid?.quantity ?? null,
    askSize: input.bestAsk?.quantity ?? null,
  };
}
