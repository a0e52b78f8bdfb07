import type { OrderRequest } from '../domain/orders.ts';
import type {
  BalanceReport,
  ExchangeInfo,
  FillReport,
  OrderAck,
  OrderBookSnapshot,
  OrderStatusReport,
  PublicTrade,
  Ticker,
} from '../domain/reports.ts';

export interface OrderHistoryQuery {
  readonly symbol: string;
  readonly fromOrderId?: string | undefined; // orders with id >= this
  readonly startTime?: number | undefined; // ms
  readonly endTime?: number | undefined; // ms
  readonly page?: number | undefined;
  readonly limit?: number | undefined; // ≤ 1000
}

export interface FillQuery {
  readonly symbol?: string | undefined;
  readonly exchangeOrderId?: string | undefined;
  readonly startTime?: number | undefined; // ms
  readonly endTime?: number | undefined; // ms
}

/**
 * A spot exchange as the execution core sees it. Every method fails with an `ExchangeError` whose
 * kind tells whether the request was processed (see domain/errors.ts).
 */
export interface Exchange {
  exchangeInfo(): Promise<ExchangeInfo>;
  serverTime(): Promise<number>;
  orderBook(symbol: string, limit?: number): Promise<OrderBookSnapshot>;
  tickers(symbol?: string): Promise<Ticker[]>;
  recentTrades(symbol: string, last?: number): Promise<PublicTrade[]>;

  balances(): Promise<BalanceReport[]>;
  /** Places an order. An ambiguous outcome is returned as an error, never re-sent. */
  submitOrder(order: OrderRequest): Promise<OrderAck>;
  /** Asks for a cancel. Success means the request was accepted; the order leaves the book later. */
  cancelOrder(exchangeOrderId: string): Promise<void>;
  openOrders(symbol?: string): Promise<OrderStatusReport[]>;
  orderHistory(query: OrderHistoryQuery): Promise<OrderStatusReport[]>;
  order(exchangeOrderId: string): Promise<OrderStatusReport>;
  fills(query: FillQuery): Promise<FillReport[]>;
}

/**
 * A node:diagnostics_channel name. An Exchange that sends over a network publishes an
 * `OrderRequestWritten` on it the moment an order request has been fully written, before any reply
 * is read: the venue has it, the caller does not yet know the outcome. Only tests and the crash
 * harness listen (crash points "after the request is written"); an implementation publishes only
 * while the channel has subscribers, and one that sends nothing anywhere need not publish.
 */
export const ORDER_REQUEST_WRITTEN = 'btcbot:exchange:order-request-written';

export interface OrderRequestWritten {
  readonly operation: 'submit' | 'cancel';
  /** The submitted order's client id (submit). */
  readonly clientOrderId?: string | undefined;
  /** The order the cancel is for (cancel). */
  readonly exchangeOrderId?: string | undefined;
}
