import { randomUUID } from 'node:crypto';
import { Decimal } from 'decimal.js';
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
import {
  currentOrder,
  findByExchangeId,
  findByIds,
  findOwnByClientId,
  LOOKUP_CHUNK,
  orderExists,
  type KnownOrders,
} from './order-reads.ts';
import { dec, eventPayload, text, textOrNull, toEvent, toFill, toOrder } from './rows.ts';
import type { FillsTable, OrderEventsTable, OrdersTable, StoreSchema } from './schema.ts';

// The lifecycle's writes. Each runs inside the caller's transaction and checks every state change
// with the state machine before writing anything, so a refusal leaves the database untouched.

type Trx = Transaction<StoreSchema>;

// Observations that teach nothing new are not journaled, or polling would grow the journal forever.
const OBSERVATIONS: ReadonlySet<OrderEvent['type']> = new Set(['acked', 'venue-status', 'canceled']);

/** The base quantity a quote-sized order is measured against: no fill completes or overfills it. */
const QUOTE_SIZED_CEILING = new Decimal(Infinity);

/**
 * A new order's id: a UUID of version 7 (RFC 9562), whose first 48 bits are the time in
 * milliseconds and the rest random (randomUUID's). Ids made about the same time sort together, so
 * the journal's inserts land at the end of the b-trees keyed by order id (the orders' key, the
 * events' key) instead of on a random page of each: fewer pages written, and synced, per commit.
 */
export function newOrderId(now: number = Date.now()): string {
  const time = Math.trunc(now).toString(16).padStart(12, '0').slice(-12);
  // randomUUID: xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx; the version digit is at index 14.
  return `${time.slice(0, 8)}-${time.slice(8)}-7${randomUUID().slice(15)}`;
}

const VENUE_STATE: Readonly<Record<OrderStatusReport['status'], OrderState>> = {
  open: 'OPEN',
  partially_filled: 'PARTIALLY_FILLED',
  filled: 'FILLED',
  canceled: 'CANCELED',
};

/**
 * The order's row and its first event. `sent`: marked sent in the same write (the row born
 * SUBMITTED at version 2, the `journaled` event followed by the `sent` one, as two writes would
 * leave them), for the path that sends it next and owns the send.
 */
export async function journalOrder(
  trx: Trx,
  ctx: StoreContext,
  order: NewOrder,
  sent = false,
  leaseEpoch: number | null = null,
): Promise<StoredOrder> {
  if (order.replaceOf != null && !(await orderExists(trx, ctx, order.replaceOf)))
    throw new Error(
      `order ${order.clientOrderId} replaces order ${order.replaceOf}, which is not in ${ctx.location}`,
    );
  const now = ctx.clock.now();
  const row: OrdersTable = {
    id: newOrderId(),
    client_order_id: order.clientOrderId,
    exchange_order_id: null,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    price: textOrNull(order.price),
    stop_price: textOrNull(order.stopPrice),
    quantity: text(order.quantity),
    quote_amount: textOrNull(order.quoteAmount),
    lease_epoch: leaseEpoch,
    filled_quantity: '0',
    filled_quote: '0',
    average_price: null,
    state: sent ? 'SUBMITTED' : 'PENDING_SUBMIT',
    state_reason: null,
    intent_id: order.intentId ?? null,
    strategy: order.strategy ?? null,
    replace_of: order.replaceOf ?? null,
    origin: 'local',
    created_at: now,
    updated_at: now,
    version: sent ? 2 : 1,
  };
  // The unique index on our client ids is the check (one statement fewer on the submit path): an
  // insert it turns into a no-op means the id is taken.
  const inserted = await ctx.statements.insertOrder.execute(trx, row);
  if (inserted.numAffectedRows !== 1n) {
    const taken = await findOwnByClientId(trx, ctx, order.clientOrderId);
    throw new Error(
      `client order id ${order.clientOrderId} is already journaled as order ${taken?.id ?? '(unknown)'} in ${ctx.location}: ` +
        'every submit needs a new client order id',
    );
  }
  const journaled = firstEvent(row, 'journaled', {
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    method: order.method,
    quantity: row.quantity,
    ...(row.quote_amount === null ? {} : { quoteAmount: row.quote_amount }),
    price: row.price,
    stopPrice: row.stop_price,
  });
  if (!sent) await ctx.statements.insertEvent.execute(trx, journaled);
  else
    await ctx.statements.insertEventPair.execute(trx, {
      ...journaled,
      to_state: 'PENDING_SUBMIT',
      seq_2: 2,
      type_2: 'sent',
      from_state_2: 'PENDING_SUBMIT',
      to_state_2: 'SUBMITTED',
      payload_2: JSON.stringify(eventPayload({ type: 'sent' })),
    });
  return toOrder(row);
}

/**
 * `known`: the orders as this store last committed them (src/store/sql/recent-orders.ts), to skip
 * reading the order again. Only a write guarded by its version may come of a copy as it is: any
 * other outcome (a refusal, an observation that changes nothing, a row found at another version)
 * is decided again from the order as its row is now (currentOrder: the copy itself only when the
 * row is still at its version), so a stale copy can cost a second pass, never a wrong result.
 */
export async function applyEvent(
  trx: Trx,
  ctx: StoreContext,
  orderId: string,
  event: StatusEvent,
  expectedVersion: number | undefined,
  fence?: (symbol: string) => Promise<unknown>,
  known?: KnownOrders,
): Promise<ApplyResult> {
  const copy = known?.(orderId);
  if (copy?.id === orderId) {
    const written = await applyTo(trx, ctx, copy, event, expectedVersion, fence, true);
    if (written !== STALE) return written;
  }
  const order = await currentOrder(trx, ctx, orderId, known);
  return applyTo(trx, ctx, order, event, expectedVersion, fence, false);
}

/** What applyTo answers, from an order copy, for anything but a write its version guard let through. */
const STALE = Symbol('stale');

type Fence = ((symbol: string) => Promise<unknown>) | undefined;

/** `copy`: `order` is a copy kept from an earlier commit, not the row read in this transaction. */
function applyTo(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  event: StatusEvent,
  expectedVersion: number | undefined,
  fence: Fence,
  copy: false,
): Promise<ApplyResult>;
function applyTo(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  event: StatusEvent,
  expectedVersion: number | undefined,
  fence: Fence,
  copy: true,
): Promise<ApplyResult | typeof STALE>;
async function applyTo(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  event: StatusEvent,
  expectedVersion: number | undefined,
  fence: Fence,
  copy: boolean,
): Promise<ApplyResult | typeof STALE> {
  // Cluster mode: a send goes out only under the symbol's current lease (throws when it moved on).
  if (fence !== undefined && event.type === 'sent') await fence(order.symbol);
  if (expectedVersion !== undefined && expectedVersion !== order.version)
    return copy
      ? STALE
      : {
          ok: false,
          reason: 'version-conflict',
          message: `order ${describe(order)} is at version ${order.version}, not ${expectedVersion}: read it again and redecide`,
          order,
        };
  const next = transition(progressOf(order), event);
  if (!next.ok)
    return copy
      ? STALE
      : {
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
  if (unchanged && OBSERVATIONS.has(event.type)) return copy ? STALE : { ok: true, order, event: null };
  const clash = await exchangeIdClash(trx, ctx, order, next.exchangeOrderId);
  if (clash) return copy ? STALE : { ok: false, reason: 'invalid-transition', message: clash, order };
  const written = await writeTransition(
    trx,
    ctx,
    order,
    event,
    {
      state: next.state,
      exchangeOrderId: next.exchangeOrderId,
      reason: reason ?? (next.state === order.state ? order.stateReason : null),
    },
    {},
    copy,
  );
  return written === null ? STALE : { ok: true, ...written };
}

export async function recordFill(
  trx: Trx,
  ctx: StoreContext,
  fill: FillReport,
  source: FillSource,
  orderId: string | null | undefined,
  known?: KnownOrders,
): Promise<RecordFillResult> {
  const seen = await ctx.statements.fillByKey.first<FillsTable>(trx, {
    trade_id: fill.tradeId,
    exchange_order_id: fill.exchangeOrderId,
  });
  if (seen) {
    const owner = seen.order_id === null ? null : await currentOrder(trx, ctx, seen.order_id, known);
    return { ok: true, isNew: false, fill: toFill(seen), order: owner };
  }
  const order = await fillOwner(trx, ctx, fill, orderId, known);
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
    const clash = await exchangeIdClash(trx, ctx, order, next.exchangeOrderId);
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
    // Never null: not written from a copy, a row not at its version throws.
    updated = written?.order ?? null;
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
  await ctx.statements.insertFill.execute(trx, row);
  return { ok: true, isNew: true, fill: toFill(row), order: updated };
}

async function fillOwner(
  trx: Trx,
  ctx: StoreContext,
  fill: FillReport,
  orderId: string | null | undefined,
  known: KnownOrders | undefined,
): Promise<StoredOrder | undefined> {
  if (orderId === null) return undefined;
  if (orderId !== undefined) return currentOrder(trx, ctx, orderId, known);
  const byExchangeId = await findByExchangeId(trx, ctx, fill.exchangeOrderId);
  if (byExchangeId) return byExchangeId;
  return fill.clientOrderId === null ? undefined : findOwnByClientId(trx, ctx, fill.clientOrderId);
}

export async function adoptOrder(
  trx: Trx,
  ctx: StoreContext,
  report: OrderStatusReport,
  origin: 'adopted' | 'foreign',
): Promise<AdoptResult> {
  const [result] = await adoptOrders(trx, ctx, [report], origin);
  if (!result) throw new Error(`adopting exchange order ${report.exchangeOrderId} returned nothing`);
  return result;
}

/** Rows per multi-row INSERT: well inside SQLite's and PostgreSQL's limits on bound parameters. */
const INSERT_CHUNK = 400;

/**
 * adoptOrder for many reports at once, as if one after another (a report whose exchange id, or
 * client id of ours, an earlier one took comes back `created: false`), with set-based reads and
 * multi-row inserts: a first reconciliation adopting thousands of orders costs a few statements.
 */
export async function adoptOrders(
  trx: Trx,
  ctx: StoreContext,
  reports: readonly OrderStatusReport[],
  origin: 'adopted' | 'foreign',
): Promise<AdoptResult[]> {
  const exchangeIds = [...new Set(reports.map((r) => r.exchangeOrderId))];
  const byExchangeId = new Map<string, StoredOrder>();
  const oursByClientId = new Map<string, StoredOrder>();
  for (const order of await findByIds(trx, {
    exchangeOrderIds: exchangeIds,
    clientOrderIds: origin === 'adopted' ? reports.flatMap((r) => r.clientOrderId ?? []) : [],
  })) {
    if (order.exchangeOrderId !== null) byExchangeId.set(order.exchangeOrderId, order);
    if (order.clientOrderId !== null && order.origin !== 'foreign')
      oursByClientId.set(order.clientOrderId, order);
  }
  const orphans = await orphanFills(trx, exchangeIds);
  const results: AdoptResult[] = [];
  const rows: OrdersTable[] = [];
  const events: OrderEventsTable[] = [];
  for (const report of reports) {
    const known =
      byExchangeId.get(report.exchangeOrderId) ??
      (origin === 'adopted' && report.clientOrderId !== null
        ? oursByClientId.get(report.clientOrderId)
        : undefined);
    if (known) {
      results.push({ created: false, order: known });
      continue;
    }
    const linked = orphans.get(report.exchangeOrderId) ?? [];
    const row = adoptedRow(ctx, report, origin, linked);
    rows.push(row);
    events.push(
      firstEvent(row, 'adopted', {
        status: report.status,
        exchangeOrderId: report.exchangeOrderId,
        clientOrderId: report.clientOrderId,
        linkedFills: linked.length,
      }),
    );
    const order = toOrder(row);
    byExchangeId.set(report.exchangeOrderId, order);
    if (origin === 'adopted' && report.clientOrderId !== null)
      oursByClientId.set(report.clientOrderId, order);
    results.push({ created: true, order });
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK)
    await trx
      .insertInto('orders')
      .values(rows.slice(i, i + INSERT_CHUNK))
      .execute();
  for (let i = 0; i < events.length; i += INSERT_CHUNK)
    await trx
      .insertInto('order_events')
      .values(events.slice(i, i + INSERT_CHUNK))
      .execute();
  for (const row of rows)
    if (row.exchange_order_id !== null && orphans.has(row.exchange_order_id))
      await trx
        .updateTable('fills')
        .set({ order_id: row.id })
        .where('exchange_order_id', '=', row.exchange_order_id)
        .where('order_id', 'is', null)
        .execute();
  return results;
}

/** The unlinked fills of each of these exchange orders (only those that have some). */
async function orphanFills(
  trx: Trx,
  exchangeOrderIds: readonly string[],
): Promise<Map<string, { price: string; quantity: string }[]>> {
  const out = new Map<string, { price: string; quantity: string }[]>();
  for (let i = 0; i < exchangeOrderIds.length; i += LOOKUP_CHUNK) {
    const rows = await trx
      .selectFrom('fills')
      .select(['exchange_order_id', 'price', 'quantity'])
      .where('exchange_order_id', 'in', exchangeOrderIds.slice(i, i + LOOKUP_CHUNK))
      .where('order_id', 'is', null)
      .execute();
    for (const f of rows) {
      const list = out.get(f.exchange_order_id) ?? [];
      list.push({ price: f.price, quantity: f.quantity });
      out.set(f.exchange_order_id, list);
    }
  }
  return out;
}

/** The row of an order adopted from its report, counting the fills recorded for it unlinked. */
function adoptedRow(
  ctx: StoreContext,
  report: OrderStatusReport,
  origin: 'adopted' | 'foreign',
  orphans: readonly { price: string; quantity: string }[],
): OrdersTable {
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
    id: newOrderId(),
    client_order_id: report.clientOrderId,
    exchange_order_id: report.exchangeOrderId,
    symbol: report.symbol,
    side: report.side,
    method: report.method,
    price: textOrNull(report.price),
    stop_price: textOrNull(report.stopPrice),
    // A quote-sized report's quantity is no base amount: kept as the quote amount, base 0.
    quantity: report.quoteSized === true ? '0' : text(report.quantity),
    quote_amount: report.quoteSized === true ? text(report.quantity) : null,
    lease_epoch: null,
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
  return row;
}

function firstEvent(
  row: OrdersTable,
  type: 'journaled' | 'adopted',
  payload: Record<string, string | number | null>,
): OrderEventsTable {
  return {
    order_id: row.id,
    seq: 1,
    at: row.updated_at,
    type,
    from_state: null,
    to_state: row.state,
    payload: JSON.stringify(payload),
  };
}

/** A message when another order already holds the exchange id this one is about to take. */
async function exchangeIdClash(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  exchangeOrderId: string | null,
): Promise<string | null> {
  if (exchangeOrderId === null || exchangeOrderId === order.exchangeOrderId) return null;
  const other = await findByExchangeId(trx, ctx, exchangeOrderId);
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

/**
 * Appends the event and moves the current row, guarded by the version read in this transaction
 * (`copy`: by the version of a copy kept from an earlier commit; null, nothing written, when the
 * row is no longer at it).
 */
async function writeTransition(
  trx: Trx,
  ctx: StoreContext,
  order: StoredOrder,
  event: OrderEvent,
  next: NextRow,
  extra: Record<string, string> = {},
  copy = false,
): Promise<{ order: StoredOrder; event: StoredOrderEvent } | null> {
  const now = ctx.clock.now();
  const version = order.version + 1;
  const filled = next.filled ?? order.filledQuantity;
  const filledQuote = next.filledQuote ?? order.filledQuote;
  const averagePrice = filled.gt(0) ? filledQuote.div(filled) : null;
  const result = await ctx.statements.updateOrder.execute(trx, {
    id: order.id,
    expected_version: order.version,
    state: next.state,
    state_reason: next.reason,
    exchange_order_id: next.exchangeOrderId,
    filled_quantity: text(filled),
    filled_quote: text(filledQuote),
    average_price: textOrNull(averagePrice),
    updated_at: now,
    version,
  });
  if (copy && result.numAffectedRows === 0n) return null;
  // Within the transaction only a second writer on the database could have moved the row, which
  // the instance lock exists to prevent: fail loudly rather than overwrite it.
  if (result.numAffectedRows !== 1n)
    throw new Error(`order ${describe(order)} changed under a running transaction in ${ctx.location}`);
  const eventRow: OrderEventsTable = {
    order_id: order.id,
    seq: version,
    at: now,
    type: event.type,
    from_state: order.state,
    to_state: next.state,
    payload: JSON.stringify({ ...eventPayload(event), ...extra }),
  };
  await ctx.statements.insertEvent.execute(trx, eventRow);
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
    // A quote-sized order has no base quantity to fill up: it is FILLED when the exchange says so.
    quantity: order.quoteAmount === null ? order.quantity : QUOTE_SIZED_CEILING,
    filled: order.filledQuantity,
    exchangeOrderId: order.exchangeOrderId,
  };
}

function describe(order: StoredOrder): string {
  return `${order.id} (client id ${order.clientOrderId ?? 'none'}, ${order.state})`;
}
