import { isExchangeError } from '../domain/errors.ts';
import type { FillReport, OrderStatusReport } from '../domain/reports.ts';
import type { StoredOrder } from '../ports/store.ts';
import type { OmsContext } from './context.ts';

// Reads that find an order on the exchange again. The Exchange port has no lookup by client order id
// (BTCTurk has none), so an order whose submit outcome is unknown is searched for in open orders,
// order history and fills.

const HISTORY_PAGE = 1000;
const HISTORY_PAGES = 20;

/**
 * The exchange does not know the id: its adapter says so with the venue-neutral reason. Any other
 * failure (auth, parse, a refusal for another reason) propagates: it never means "not found".
 */
function isOrderNotFound(error: unknown): boolean {
  return (
    (isExchangeError(error, 'rejected') || isExchangeError(error, 'exchange-failure')) &&
    error.reason === 'order-not-found'
  );
}

/** The order's report, or null when the exchange does not (yet) know the id. */
export async function fetchOrderReport(
  ctx: OmsContext,
  exchangeOrderId: string,
): Promise<OrderStatusReport | null> {
  try {
    return await ctx.exchange.order(exchangeOrderId);
  } catch (error) {
    if (isOrderNotFound(error)) return null;
    throw error;
  }
}

/** Order history of a symbol from `since` (exchange time, ms), page by page. */
export async function historySince(
  ctx: OmsContext,
  symbol: string,
  since: number,
): Promise<OrderStatusReport[]> {
  const out: OrderStatusReport[] = [];
  for (let page = 1; page <= HISTORY_PAGES; page += 1) {
    const rows = await ctx.exchange.orderHistory({ symbol, startTime: since, page, limit: HISTORY_PAGE });
    out.push(...rows);
    if (rows.length < HISTORY_PAGE) return out;
  }
  ctx.log.warn(
    { symbol, since, rows: out.length },
    'order history longer than the pages read: older orders unseen',
  );
  return out;
}

/** Where the exchange shows an order: its report when it gives one, and fills already found. */
export interface Sighting {
  readonly exchangeOrderId: string;
  readonly report: OrderStatusReport | null;
}

/**
 * Searches for one of our orders by exchange id, then by client id in open orders and history, and
 * with `withFills` in the trade history too; null when nowhere to be seen. The trade history has
 * the tightest rate limit (120/min), so it is searched once, before concluding an order absent.
 */
export async function findOnExchange(
  ctx: OmsContext,
  order: StoredOrder,
  withFills: boolean,
): Promise<Sighting | null> {
  if (order.exchangeOrderId !== null) {
    const report = await fetchOrderReport(ctx, order.exchangeOrderId);
    if (report) return { exchangeOrderId: report.exchangeOrderId, report };
  }
  const clientId = order.clientOrderId;
  if (clientId === null) return null;
  const matches = (r: { clientOrderId: string | null }) => r.clientOrderId === clientId;
  const open = (await ctx.exchange.openOrders(order.symbol)).find(matches);
  if (open) return { exchangeOrderId: open.exchangeOrderId, report: open };
  const since = order.createdAt - ctx.timings.clockSlackMs;
  const past = (await historySince(ctx, order.symbol, since)).find(matches);
  if (past) return { exchangeOrderId: past.exchangeOrderId, report: past };
  if (!withFills) return null;
  // An order that filled at once may show only in the trade history (S8).
  const fill = (await ctx.exchange.fills({ symbol: order.symbol, startTime: since })).find(matches);
  if (fill) {
    const report = await fetchOrderReport(ctx, fill.exchangeOrderId);
    return { exchangeOrderId: fill.exchangeOrderId, report };
  }
  return null;
}

/** Fills of one exchange order. */
export function orderFills(
  ctx: OmsContext,
  order: StoredOrder,
  exchangeOrderId: string,
): Promise<FillReport[]> {
  return ctx.exchange.fills({
    symbol: order.symbol,
    exchangeOrderId,
    startTime: order.createdAt - ctx.timings.clockSlackMs,
  });
}
