import type { Decimal } from 'decimal.js';
import { ZERO } from '../../domain/decimal.ts';
import { isClosed } from '../../domain/lifecycle.ts';
import { ORDER_STATES, type OrderState } from '../../domain/orders.ts';
import type {
  FillQuery,
  OrderQuery,
  Position,
  StoredFill,
  StoredOrder,
  StoredOrderEvent,
} from '../../ports/store.ts';
import type { Db, StoreContext } from './context.ts';
import { inFillOrder, NOT_FOREIGN } from './prepared.ts';
import { dec, toEvent, toFill, toOrder } from './rows.ts';
import type { FillsTable, OrdersTable } from './schema.ts';

const ACTIVE_STATES: readonly OrderState[] = ORDER_STATES.filter((s) => !isClosed(s));

export async function findOrder(db: Db, ctx: StoreContext, id: string): Promise<StoredOrder | undefined> {
  const row = await ctx.statements.orderById.first<OrdersTable>(db, { id });
  return row && toOrder(row);
}

export async function mustFindOrder(db: Db, ctx: StoreContext, id: string): Promise<StoredOrder> {
  const order = await findOrder(db, ctx, id);
  if (!order) throw new Error(`order ${id} is not in ${ctx.location}`);
  return order;
}

/** Copies of orders kept from earlier commits (src/store/sql/recent-orders.ts), by order id. */
export type KnownOrders = (id: string) => StoredOrder | undefined;

/** The order's version alone (undefined: no such order), a tenth of the cost of its whole row. */
async function versionOf(db: Db, ctx: StoreContext, id: string): Promise<number | undefined> {
  return (await ctx.statements.orderVersion.first<{ version: number }>(db, { id }))?.version;
}

/** Whether the order is in the store, read as its version alone. */
export async function orderExists(db: Db, ctx: StoreContext, id: string): Promise<boolean> {
  return (await versionOf(db, ctx, id)) !== undefined;
}

/**
 * The order as its row is now: `known` (a copy kept from an earlier commit) when the row is still at
 * the copy's version, else the row read whole. Every change to an order's row moves its version
 * (the one UPDATE of `orders` is guarded by the version read and sets the next), so a row at the
 * copy's version holds what the copy holds. No row: mustFindOrder's error.
 */
export async function currentOrder(
  db: Db,
  ctx: StoreContext,
  id: string,
  known: KnownOrders | undefined,
): Promise<StoredOrder> {
  const copy = known?.(id);
  if (copy !== undefined && (await versionOf(db, ctx, id)) === copy.version) return copy;
  return mustFindOrder(db, ctx, id);
}

/** Ours only: foreign orders carry client ids we did not choose. */
export async function findOwnByClientId(
  db: Db,
  ctx: StoreContext,
  clientOrderId: string,
): Promise<StoredOrder | undefined> {
  const row = await ctx.statements.ownOrderByClientId.first<OrdersTable>(db, {
    client_order_id: clientOrderId,
  });
  return row && toOrder(row);
}

export async function findByExchangeId(
  db: Db,
  ctx: StoreContext,
  exchangeOrderId: string,
): Promise<StoredOrder | undefined> {
  const row = await ctx.statements.orderByExchangeId.first<OrdersTable>(db, {
    exchange_order_id: exchangeOrderId,
  });
  return row && toOrder(row);
}

/** Ids per IN list: well inside SQLite's and PostgreSQL's limits on bound parameters. */
export const LOOKUP_CHUNK = 500;

/**
 * The orders holding any of these exchange order ids, or (ours only, as findOwnByClientId) any of
 * these client order ids, each once: one read per few hundred ids instead of one per id.
 */
export async function findByIds(
  db: Db,
  ids: {
    readonly exchangeOrderIds?: readonly string[] | undefined;
    readonly clientOrderIds?: readonly string[] | undefined;
  },
): Promise<StoredOrder[]> {
  const found = new Map<string, StoredOrder>();
  const exchangeOrderIds = [...new Set(ids.exchangeOrderIds)];
  const clientOrderIds = [...new Set(ids.clientOrderIds)];
  for (let i = 0; i < exchangeOrderIds.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom('orders')
      .selectAll()
      .where('exchange_order_id', 'in', exchangeOrderIds.slice(i, i + LOOKUP_CHUNK))
      .execute();
    for (const row of rows) found.set(row.id, toOrder(row));
  }
  for (let i = 0; i < clientOrderIds.length; i += LOOKUP_CHUNK) {
    const rows = await db
      .selectFrom('orders')
      .selectAll()
      .where('client_order_id', 'in', clientOrderIds.slice(i, i + LOOKUP_CHUNK))
      .where('origin', '<>', NOT_FOREIGN)
      .execute();
    for (const row of rows) if (!found.has(row.id)) found.set(row.id, toOrder(row));
  }
  return [...found.values()];
}

/** A symbol's active orders through the prepared statement (the replace path reads them in its write). */
export async function activeOrdersOf(db: Db, ctx: StoreContext, symbol: string): Promise<StoredOrder[]> {
  const { rows } = await ctx.statements.activeOrdersOf.execute<OrdersTable>(db, { symbol });
  return rows.map(toOrder);
}

export async function activeOrders(db: Db, symbol?: string): Promise<StoredOrder[]> {
  let query = db.selectFrom('orders').selectAll().where('state', 'in', ACTIVE_STATES);
  if (symbol !== undefined) query = query.where('symbol', '=', symbol);
  const rows = await query.orderBy('created_at').orderBy('id').execute();
  return rows.map(toOrder);
}

export async function listOrders(db: Db, q: OrderQuery): Promise<StoredOrder[]> {
  if (q.states?.length === 0) return [];
  let query = db.selectFrom('orders').selectAll();
  if (q.symbol !== undefined) query = query.where('symbol', '=', q.symbol);
  if (q.states !== undefined) query = query.where('state', 'in', q.states);
  query = query.orderBy('created_at', 'desc').orderBy('id', 'desc');
  if (q.limit !== undefined) query = query.limit(q.limit);
  return (await query.execute()).map(toOrder);
}

export async function orderEvents(db: Db, orderId: string): Promise<StoredOrderEvent[]> {
  const rows = await db
    .selectFrom('order_events')
    .selectAll()
    .where('order_id', '=', orderId)
    .orderBy('seq')
    .execute();
  return rows.map(toEvent);
}

export async function listFills(db: Db, ctx: StoreContext, q: FillQuery): Promise<StoredFill[]> {
  // The engine's positions read only what was recorded since their last read, after every fill:
  // that one shape is a statement built once (building a query costs more than running this one).
  const { recordedSince } = q;
  const alone = Object.entries(q).every(([key, value]) => key === 'recordedSince' || value === undefined);
  if (recordedSince !== undefined && alone)
    return (
      await ctx.statements.fillsRecordedSince.execute<FillsTable>(db, { recorded_at: recordedSince })
    ).rows.map(toFill);
  let query = db.selectFrom('fills').selectAll();
  if (q.orderId !== undefined) query = query.where('order_id', '=', q.orderId);
  if (q.symbol !== undefined) query = query.where('symbol', '=', q.symbol);
  if (q.since !== undefined) query = query.where('timestamp', '>=', q.since);
  if (q.recordedSince !== undefined) query = query.where('recorded_at', '>=', q.recordedSince);
  query = inFillOrder(query);
  if (q.limit !== undefined) query = query.limit(q.limit);
  return (await query.execute()).map(toFill);
}

interface Totals {
  symbol: string;
  base: string;
  quote: string;
  bought: Decimal;
  sold: Decimal;
  boughtQuote: Decimal;
  soldQuote: Decimal;
  fees: Record<string, Decimal>;
  fillCount: number;
}

export async function positions(db: Db, symbol?: string): Promise<Position[]> {
  let query = db
    .selectFrom('fills')
    .select(['symbol', 'base', 'quote', 'side', 'price', 'quantity', 'fee', 'tax', 'fee_asset']);
  if (symbol !== undefined) query = query.where('symbol', '=', symbol);
  // Summed here in decimals: SQL SUM over TEXT would go through binary floats.
  const bySymbol = new Map<string, Totals>();
  for (const f of await query.orderBy('symbol').execute()) {
    let p = bySymbol.get(f.symbol);
    if (!p) {
      p = {
        symbol: f.symbol,
        base: f.base,
        quote: f.quote,
        bought: ZERO,
        sold: ZERO,
        boughtQuote: ZERO,
        soldQuote: ZERO,
        fees: {},
        fillCount: 0,
      };
      bySymbol.set(f.symbol, p);
    }
    const quantity = dec(f.quantity, 'fills.quantity');
    const notional = dec(f.price, 'fills.price').mul(quantity);
    if (f.side === 'buy') {
      p.bought = p.bought.add(quantity);
      p.boughtQuote = p.boughtQuote.add(notional);
    } else {
      p.sold = p.sold.add(quantity);
      p.soldQuote = p.soldQuote.add(notional);
    }
    const cost = dec(f.fee, 'fills.fee').add(dec(f.tax, 'fills.tax'));
    p.fees[f.fee_asset] = (p.fees[f.fee_asset] ?? ZERO).add(cost);
    p.fillCount += 1;
  }
  return [...bySymbol.values()].map((p) => ({ ...p, net: p.bought.sub(p.sold) }));
}
