import type { OrderStatusReport, VenueOrderStatus } from '../domain/reports.ts';
import type { OrderUpdateEvent } from '../ports/user-stream.ts';

// The private stream pushes an order's change with the quantity it still has resting; the execution
// core takes the venue's status report. The port's meaning (ports/user-stream.ts), which each venue
// adapter produces from its own wire (BTCTurk's 452 + 451 pairs: btcturk/websocket/user-stream.ts):
// `deleted` is a cancel's final result, so canceled whatever is left (its fills, if any, arrive as
// fills); an order that left the book because it filled is an `updated` (or `inserted`) with nothing
// left, so filled; otherwise what is left against the original quantity tells open from partly filled.

function statusOf(event: OrderUpdateEvent): VenueOrderStatus {
  if (event.change === 'deleted') return 'canceled';
  if (event.leftQuantity.lte(0)) return 'filled';
  return event.leftQuantity.lt(event.quantity) ? 'partially_filled' : 'open';
}

/**
 * The status report an order event stands for; null for an order whose method the stream did not
 * name (the reconciliation's REST reading settles such an order).
 */
export function orderReportOf(event: OrderUpdateEvent): OrderStatusReport | null {
  if (event.method === null) return null;
  return {
    exchangeOrderId: event.exchangeOrderId,
    clientOrderId: event.clientOrderId,
    symbol: event.symbol,
    side: event.side,
    method: event.method,
    price: event.price,
    stopPrice: null,
    quantity: event.quantity,
    leftQuantity: event.leftQuantity,
    status: statusOf(event),
    createdAt: null,
    updatedAt: null,
  };
}
