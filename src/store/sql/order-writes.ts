import { randomUUID } from 'node:crypto';
import type { Decimal } from 'decimal.js';
import type { Transaction } from 'kysely';
import { ZERO } from '../../domain/decimal.ts';
import { transition, type OrderEvent, type OrderProgress, type StatusEvent } from '../../domain/lifecycle.ts';
import type { OrderState } from '../../domain/orders.ts';
import type { FillReport, OrderStatusReport } from '../../domain/reports.ts';
import type {
  AdoptResult,
  ApplyResult,
  FillSource,
  NewOrder,
  RecordFillResult,
  StoredOrder,
  StoredOrderEvent,
} from '../../ports/store.ts';
import type { StoreContext } from './context.ts';
import { findByExchangeId, findOrder, findOwnByClientId, mustFindOrder } from './order-reads.ts';
import { dec, eventPayload, text, textOrNull, toEvent, toFill, toOrder } from './rows.ts';
import type { FillsTable, OrdersTable, StoreSchema } from './schema.ts';

// The lifecycle's writes. Each runs inside the caller's transaction and checks every state change
// with the state machine before writing anything, so a refusal leaves the database untouched.

type Trx = Transaction<StoreSchema>;

// Observations that teach nothing new are not journaled, or polling would grow the journal forever.
const OBSERVATIONS: ReadonlySet<OrderEvent['type']> = new Set(['acked', 'venue-status', 'canceled']);

const VENUE_STATE: Readonly<Record<OrderStatusReport['status'], OrderState>> = {
  open: 'OPEN',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
};

export async function journalOrder(trx: Trx, ctx: StoreContext, order: NewOrder): Promise<StoredOrder> {
  const taken = await findOwnByClientId(trx, order.clientOrderId);
  if (taken)
    throw new Error(
      `client order id ${order.clientOrderId} is already journaled as order ${taken.id} in ${ctx.location}: ` +
        'every submit needs a new client order id',
    );
  if (order.replaceOf != null && !(await findOrder(trx, order.replaceOf)))
    throw new Error(
      `order ${order.clientOrderId} replaces order ${order.replaceOf}, which is not in ${ctx.location}`,
    );
  const now = ctx.clock.now();
  const row: OrdersTable = {
    id: randomUUID(),
    client_order_id: order.clientOrderId,
    exchange_order_id: null,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    price: textOrNull(order.price),
    stop_price: textOrNull(order.stopPrice),
    quantity: text(order.quantity),
    filled_quantity: '0',
    filled_quote: '0',
    average_price: null,
    state: 'PENDING_SUBMIT',
    state_reason: null,
    intent_id: order.intentId ?? null,
    strategy: order.strategy ?? null,
    replace_of: order.replaceOf ?? null,
    origin: 'local',
    created_at: now,
    updated_at: now,
    version: 1,
  };
  await trx.insertInto('orders').values(row).execute();
  await insertFirstEvent(trx, row, 'journaled', {
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    quantity: row.quantity,
    price: row.price,
    stopPrice: row.stop_price,
  });
  return toOrder(row);
}

export async function applyEvent(
  trx: Trx,
  ctx: StoreContext,
  orderId: string,
  event: StatusEvent,
  expectedVersion: number | undefined,
): Promise<ApplyResult> {
  const order = await mustFindOrder(trx, ctx, orderId);
  if (expectedVersion !== undefined && expectedVersion !== order.version)
    return {
      ok: false,
      reason: 'version-conflict',
      message: `order ${describe(order)} is at version ${order.version}, not ${expectedVersion}: read it again and redecide`,
      order,
    };
  const next = transition(progressOf(order), event);
  if (!next.ok)
    return {
      ok: false,
      reason: 'invalid-transition',
      message: `order ${describe(order)}: ${next.error}`,
      order,
    };
  const reason = 'reason' in event ? event.reason : undefined;
  const unchanged =
    next.state === order.state &&
    next.exchangeOrderId === order.exchangeOrderId &&
    (reason === undefined || reason === order.stateReason);
  if (unchanged && OBSERVATIONS.has(event.type)) return { ok: true, order, event: null };
  const clash = await exchangeIdClash(trx, order, next.exchangeOrderId);
  if (clash) return { ok: false, reason: 'invalid-transition', message: clash, order };
  const written = await writeTransition(trx, ctx, order, event, {
    state: next.state,
    exchangeOrderId: next.exchangeOrderId,
    reason: reason ?? (next.state === order.state ? order.stateReason : null),
  });
  return { ok: true, ...written };
}

export async function recordFill(
  trx: Trx,
  ctx: StoreContext,
  fill: FillReport,
  source: FillSource,
  orderId: string | null | undefined,
): Promise<RecordFillResult> {
  const seen = await trx
    .selectFrom('fills')
    .selectAll()
    .where('trade_id', '=', fill.tradeId)
    .where('exchange_order_id', '=', fill.exchangeOrderId)
    .executeTakeFirst();
  if (seen) {
    const owner = seen.order_id === null ? null : await mustFindOrder(trx, ctx, seen.order_id);
    return { ok: true, isNew: false, fill: toFill(seen), order: owner };
  }
  const order = await fillOwner(trx, ctx, fill, orderId);
  let updated: StoredOrder | null = null;
  if (order) {
    if (order.symbol !== fill.symbol || order.side !== fill.side)
      return {
        ok: false,
        reason: 'mismatch',
        message:
          `fill ${fill.tradeId} is a ${fill.side} on ${fill.symbol}, ` +
          `but order ${describe(order)} is a ${order.side} on ${order.symbol}`,
        order,
      };
    const event: OrderEvent = {
      type: 'fill',
      quantity: fill.quantity,
      exchangeOrderId: fill.exchangeOrderId,
    };
    const next = transition(progressOf(order), event);
    if (!next.ok)
      return {
        ok: false,
        reason: 'invalid-transition',
        message: `fill ${fill.tradeId} on order ${describe(order)}: ${next.error}`,
        order,
      };
    const clash = await exchangeIdClash(trx, order, next.exchangeOrderId);
    if (clash) return { ok: false, reason: 'mismatch', message: clash, order };
    const written = await writeTransition(
      trx,
      ctx,
      order,
      event,
      {
        state: next.state,
        exchangeOrderId: next.exchangeOrderId,
        reason: next.state === order.state ? order.stateReason : null,
        filled: next.filled,
        filledQuote: order.filledQuote.add(fill.price.mul(fill.quantity)),
      },
      { tradeId: fill.tradeId, price: text(fill.price), source },
    );
    updated = written.order;
  }
  const row: FillsTable = {
    trade_id: fill.tradeId,
    order_id: updated?.id ?? null,
    exchange_order_id: fill.exchangeOrderId,
    client_order_id: fill.clientOrderId,
    symbol: fill.symbol,
    base: fill.base,
    quote: fill.quote,
    side: fill.side,
    price: text(fill.price),
    quantity: text(fill.quantity),
    fee: text(fill.fee),
    tax: text(fill.tax),
    fee_asset: fill.feeAsset,
    timestamp: fill.timestamp,
    source,
    recorded_at: ctx.clock.now(),
  };
  await trx.insertInto('fills').values(row).execute();
  return { ok: true, isNew: true, fill: toFill(row), order: updated };
}

async function fillOwner(
  trx: Trx,
  ctx: StoreContext,
  fill: FillReport,
  orderId: string | null | undefined,
): Promise<StoredOrder | undefined> {
  if (orderId === null) return undefined;
  if (orderId !== undefined) return mustFindOrder(trx, ctx, orderId);
  const byExchangeId = await findByExchangeId(trx, fill.exchangeOrderId);
  if (byExchangeId) return byExchangeId;
  return fill.clientOrderId === null ? undefined : findOwnByClientId(trx, fill.clientOrderId);
}

export async function adoptOrder(
  trx: Trx,
  ctx: StoreContext,
  report: OrderStatusReport,
  origin: 'adopted' | 'foreign',
): Promise<AdoptResult> {
  const known = await findByExchangeId(trx, report.exchangeOrderId);
  if (known) return { created: false, order: known };
  if (origin === 'adopted' && report.clientOrderId !== null) {
    const ours = await findOwnByClientId(trx, report.clientOrderId);
    if (ours) return { created: false, order: ours };
  }
  const orphans = await trx
    .selectFrom('fills')
    .select(['price', 'quantity'])
    .where('exchange_order_id', '=', report.exchangeOrderId)
    .where('order_id', 'is', null)
    .execute();
  let filled = ZERO;
  let filledQuote = ZERO;
  for (const f of orphans) {
    const quantity = dec(f.quantity, 'fills.quantity');
    filled = filled.add(quantity);
    filledQuote = filledQuote.add(dec(f.price, 'fills.price').mul(quantity));
  }
  const venueState = VENUE_STATE[report.status];
  const state = venueState === 'OPEN' && filled.gt(0) ? 'PARTIALLY_FILLED' : venueState;
  const now = ctx.clock.now();
  const row: OrdersTable = {
    id: randomUUID(),
    client_order_id: report.clientOrderId,
    exchange_order_id: report.exchangeOrderId,
    symbol: report.symbol,
    side: report.side,
    method: report.method,
    price: textOrNull(report.price),
    stop_price: textOrNull(report.stopPrice),
    quantity: text(report.quantity),
    filled_quantity: text(filled),
    filled_quote: text(filledQuote),
    average_price: filled.gt(0) ? text(filledQuote.div(filled)) : null,
    state,
    state_reason: `${origin} from the exchange, which showed it ${report.status}`,
    intent_id: null,
    strategy: null,
    replace_of: null,
    origin,
    created_at: report.createdAt ?? now,
    updated_at: now,
    version: 1,
  };
  await trx.insertInto('orders').values(row).execute();
  await insertFirstEvent(trx, row, 'adopted', {
    status: report.status,
    exchangeOrderId: report.exchangeOrderId,
    clientOrderId: report.clientOrderId,
    linkedFills: orphans.length,
  });
  await trx
    .updateTable('fills')
    .set({ order_id: row.id })
    .where('exchange_order_id', '=', report.exchangeOrderId)
    .where('order_id', 'is', null)
    .execute();
  return { created: true, order: toOrder(row) };
}

async function insertFirstEvent(
  trx: Trx,
  row: OrdersTable,
  type: 'journaled' | 'adopted',
  payload: Record<string, string | number | null>,
): Promise<void> {
  await trx
    .insertInto('order_events')
    .values({
      order_id: row.id,
      seq: 1,
      at: row.updated_at,
      type,
      from_state: null,
      to_state: row.state,
      payload: JSON.stringify(payload),
    })
    .execute();
}

/** A message when another order already holds the exchange id this one is about to take. */
async function exchangeIdClash(
  trx: Trx,
  order: StoredOrder,
  exchangeOrderId: string | null,
): Promise<string | null> {
  if (exchangeOrderId === null || exchangeOrderId === order.exchangeOrderId) return null;
  const other = await findByExchangeId(trx, exchangeOrderId);
  return other
    ? `exchange order ${exchangeOrderId} already belongs to order ${describe(other)}, not to order ${describe(order)}`
    : null;
}

interface NextRow {
  readonly state: OrderState;
  readonly exchangeOrderId: string | null;
  readonly reason: string | null;
  readonly filled?: Decimal;
  readonly filledQuote?: Decimal;
}

/** Appends the event and moves the current row, guarded by the version read in this transaction. */
async function writeTransition(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  event: OrderEvent,
  next: NextRow,
  extra: Record<string, string> = {},
): Promise<{ order: StoredOrder; event: StoredOrderEvent }> {
  const now = ctx.clock.now();
  const version = order.version + 1;
  const filled = next.filled ?? order.filledQuantity;
  const filledQuote = next.filledQuote ?? order.filledQuote;
  const averagePrice = filled.gt(0) ? filledQuote.div(filled) : null;
  const result = await trx
    .updateTable('orders')
    .set({
      state: next.state,
      state_reason: next.reason,
      exchange_order_id: next.exchangeOrderId,
      filled_quantity: text(filled),
      filled_quote: text(filledQuote),
      average_price: textOrNull(averagePrice),
      updated_at: now,
      version,
    })
    .where('id', '=', order.id)
    .where('version', '=', order.version)
    .executeTakeFirst();
  // Within the transaction only a second writer on the database could have moved the row, which
  // the instance lock exists to prevent: fail loudly rather than overwrite it.
  if (result.numUpdatedRows !== 1n)
    throw new Error(`order ${describe(order)} changed under a running transaction in ${ctx.location}`);
  const eventRow = {
    order_id: order.id,
    seq: version,
    at: now,
    type: event.type,
    from_state: order.state,
    to_state: next.state,
    payload: JSON.stringify({ ...eventPayload(event), ...extra }),
  };
  await trx.insertInto('order_events').values(eventRow).execute();
  return {
    order: {
      ...order,
      state: next.state,
      stateReason: next.reason,
      exchangeOrderId: next.exchangeOrderId,
      filledQuantity: filled,
      filledQuote,
      averagePrice,
      updatedAt: now,
      version,
    },
    event: toEvent(eventRow),
  };
}

function progressOf(order: StoredOrder): OrderProgress {
  return {
    state: order.state,
    quantity: order.quantity,
    filled: order.filledQuantity,
    exchangeOrderId: order.exchangeOrderId,
  };
}

function describe(order: StoredOrder): string {
  return `${order.id} (client id ${order.clientOrderId ?? 'none'}, ${order.state})`;
}
