import type { RateWindow } from './rate-limiter.ts';

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_DEADLINE_MS = 30_000;
export const DEFAULT_CLOCK_SYNC_INTERVAL_MS = 5 * 60_000;
// BTCTurk may block an IP after ~50 unauthorised requests in a row; stop far below that.
export const DEFAULT_MAX_CONSECUTIVE_AUTH_FAILURES = 5;
// The server accepts a stamp within ±5 s of its own clock (btcturk-api.md §2).
export const STAMP_WINDOW_MS = 5_000;
// A 429 that names no wait (no Retry-After, no quota period) waits out BTCTurk's longest window.
export const RATE_LIMIT_FALLBACK_MS = 60_000;
export const DEFAULT_BACKOFF = { baseMs: 250, capMs: 8_000 } as const;

/** Rate-limit groups: each endpoint draws from its own budget (btcturk-api.md §7). */
export type LimitGroup =
  | 'exchange-info'
  | 'server-time'
  | 'orderbook'
  | 'ticker'
  | 'trades'
  | 'balances'
  | 'order-submit'
  | 'order-cancel'
  | 'order-get'
  | 'open-orders'
  | 'all-orders'
  | 'fills';

const SECOND = 1_000;
const MINUTE = 60_000;

/** BTCTurk's table; where it states two windows, a request must fit both. */
export const RATE_LIMITS: Readonly<Record<LimitGroup, readonly RateWindow[]>> = {
  'exchange-info': [],
  'server-time': [],
  orderbook: [{ limit: 180, periodMs: MINUTE }],
  ticker: [{ limit: 600, periodMs: MINUTE }],
  trades: [{ limit: 90, periodMs: MINUTE }],
  balances: [{ limit: 120, periodMs: MINUTE }],
  'order-submit': [
    { limit: 10, periodMs: SECOND },
    { limit: 300, periodMs: MINUTE },
  ],
  'order-cancel': [
    { limit: 10, periodMs: SECOND },
    { limit: 300, periodMs: MINUTE },
  ],
  'order-get': [
    { limit: 30, periodMs: SECOND },
    { limit: 900, periodMs: MINUTE },
  ],
  'open-orders': [{ limit: 300, periodMs: MINUTE }],
  'all-orders': [{ limit: 300, periodMs: MINUTE }],
  fills: [{ limit: 120, periodMs: MINUTE }],
};

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface EndpointSpec {
  readonly method: HttpMethod;
  readonly path: string; // "{id}" marks a path parameter
  readonly group: LimitGroup;
  readonly access: 'public' | 'private';
  /** A write changes state on the exchange: it is never re-sent once its outcome is unknown. */
  readonly effect: 'read' | 'write';
}

export const ENDPOINTS = {
  exchangeInfo: {
    method: 'GET',
    path: '/api/v2/server/exchangeinfo',
    group: 'exchange-info',
    access: 'public',
    effect: 'read',
  },
  serverTime: {
    method: 'GET',
    path: '/api/v2/server/time',
    group: 'server-time',
    access: 'public',
    effect: 'read',
  },
  orderBook: {
    method: 'GET',
    path: '/api/v2/orderbook',
    group: 'orderbook',
    access: 'public',
    effect: 'read',
  },
  ticker: { method: 'GET', path: '/api/v2/ticker', group: 'ticker', access: 'public', effect: 'read' },
  trades: { method: 'GET', path: '/api/v2/trades', group: 'trades', access: 'public', effect: 'read' },
  balances: {
    method: 'GET',
    path: '/api/v1/users/balances',
    group: 'balances',
    access: 'private',
    effect: 'read',
  },
  submitOrder: {
    method: 'POST',
    path: '/api/v1/order',
    group: 'order-submit',
    access: 'private',
    effect: 'write',
  },
  cancelOrder: {
    method: 'DELETE',
    path: '/api/v1/order',
    group: 'order-cancel',
    access: 'private',
    effect: 'write',
  },
  order: { method: 'GET', path: '/api/v1/order/{id}', group: 'order-get', access: 'private', effect: 'read' },
  openOrders: {
    method: 'GET',
    path: '/api/v1/openOrders',
    group: 'open-orders',
    access: 'private',
    effect: 'read',
  },
  allOrders: {
    method: 'GET',
    path: '/api/v1/allOrders',
    group: 'all-orders',
    access: 'private',
    effect: 'read',
  },
  fills: {
    method: 'GET',
    path: '/api/v1/users/transactions/trade',
    group: 'fills',
    access: 'private',
    effect: 'read',
  },
} as const satisfies Record<string, EndpointSpec>;

/** "POST /api/v1/order": how errors and logs name a call. */
export function operationName(endpoint: EndpointSpec): string {
  return `${endpoint.method} ${endpoint.path}`;
}
