import { Decimal } from 'decimal.js';
import { decText, toDec } from '../../domain/decimal.ts';
import type { OrderEvent } from '../../domain/lifecycle.ts';
import { ORDER_STATES, type OrderMethod, type OrderState, type Side } from '../../domain/orders.ts';
import type {
  EventPayload,
  FillSource,
  OrderOrigin,
  ReplaceMode,
  ReplaceOutcome,
  ReplaceStep,
  ReplaceTxn,
  StoredFill,
  StoredOrder,
  StoredOrderEvent,
} from '../../ports/store.ts';
import type { FillsTable, OrderEventsTable, OrdersTable, ReplaceTxnsTable } from './schema.ts';

// Rows ↔ domain values. Every enum read back is checked, so a row written by a newer or broken
// program fails loudly naming the column and value instead of flowing on as a wrong state.

const SIDES = ['buy', 'sell'] as const;
const METHODS = ['limit', 'market', 'stoplimit', 'stopmarket'] as const;
const ORIGINS = ['local', 'adopted', 'foreign'] as const;
const SOURCES = ['stream', 'poll', 'reconcile'] as const;
const MODES = ['safe', 'fast'] as const;
const STEPS = ['started', 'cancel-sent', 'old-closed', 'new-journaled', 'done'] as const;
const OUTCOMES = ['replaced', 'nothing-left', 'aborted'] as const;
const EVENT_TYPES = [
  'journaled',
  'adopted',
  'sent',
  'acked',
  'send-ambiguous',
  'rejected',
  'resolved-not-found',
  'fill',
  'venue-status',
  'cancel-requested',
  'cancel-refused',
  'canceled',
] as const;

export function oneOf<T extends string>(allowed: readonly T[], value: string, column: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new Error(`stored ${column} ${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return value as T;
}

export const dec = (text: string, column: string): Decimal => toDec(text, column);
export const decOrNull = (text: string | null, column: string): Decimal | null =>
  text === null ? null : toDec(text, column);
export const text = (value: Decimal): string => decText(value);
export const textOrNull = (value: Decimal | null | undefined): string | null =>
  value === null || value === undefined ? null : decText(value);

export const stateOf = (value: string): OrderState => oneOf(ORDER_STATES, value, 'orders.state');

export function toOrder(row: OrdersTable): StoredOrder {
  return {
    id: row.id,
    clientOrderId: row.client_order_id,
    exchangeOrderId: row.exchange_order_id,
    symbol: row.symbol,
    side: oneOf<Side>(SIDES, row.side, 'orders.side'),
    method: oneOf<OrderMethod>(METHODS, row.method, 'orders.method'),
    price: decOrNull(row.price, 'orders.price'),
    stopPrice: decOrNull(row.stop_price, 'orders.stop_price'),
    quantity: dec(row.quantity, 'orders.quantity'),
    quoteAmount: decOrNull(row.quote_amount, 'orders.quote_amount'),
    filledQuantity: dec(row.filled_quantity, 'orders.filled_quantity'),
    filledQuote: dec(row.filled_quote, 'orders.filled_quote'),
    averagePrice: decOrNull(row.average_price, 'orders.average_price'),
    state: stateOf(row.state),
    stateReason: row.state_reason,
    intentId: row.intent_id,
    strategy: row.strategy,
    replaceOf: row.replace_of,
    origin: oneOf<OrderOrigin>(ORIGINS, row.origin, 'orders.origin'),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

export function toEvent(row: OrderEventsTable): StoredOrderEvent {
  return {
    orderId: row.order_id,
    seq: row.seq,
    at: row.at,
    type: oneOf(EVENT_TYPES, row.type, 'order_events.type'),
    fromState: row.from_state === null ? null : stateOf(row.from_state),
    toState: stateOf(row.to_state),
    payload: JSON.parse(row.payload) as EventPayload,
  };
}

export function toFill(row: FillsTable): StoredFill {
  return {
    tradeId: row.trade_id,
    orderId: row.order_id,
    exchangeOrderId: row.exchange_order_id,
    clientOrderId: row.client_order_id,
    symbol: row.symbol,
    base: row.base,
    quote: row.quote,
    side: oneOf<Side>(SIDES, row.side, 'fills.side'),
    price: dec(row.price, 'fills.price'),
    quantity: dec(row.quantity, 'fills.quantity'),
    fee: dec(row.fee, 'fills.fee'),
    tax: dec(row.tax, 'fills.tax'),
    feeAsset: row.fee_asset,
    timestamp: row.timestamp,
    source: oneOf<FillSource>(SOURCES, row.source, 'fills.source'),
    recordedAt: row.recorded_at,
  };
}

export function toReplace(row: ReplaceTxnsTable): ReplaceTxn {
  return {
    id: row.id,
    oldOrderId: row.old_order_id,
    newClientOrderId: row.new_client_order_id,
    newOrderId: row.new_order_id,
    wantedQuantity: dec(row.wanted_quantity, 'replace_txns.wanted_quantity'),
    oldFilledAtStart: dec(row.old_filled_at_start, 'replace_txns.old_filled_at_start'),
    newPrice: decOrNull(row.new_price, 'replace_txns.new_price'),
    newStopPrice: decOrNull(row.new_stop_price, 'replace_txns.new_stop_price'),
    mode: oneOf<ReplaceMode>(MODES, row.mode, 'replace_txns.mode'),
    step: oneOf<ReplaceStep>(STEPS, row.step, 'replace_txns.step'),
    outcome:
      row.outcome === null ? null : oneOf<ReplaceOutcome>(OUTCOMES, row.outcome, 'replace_txns.outcome'),
    reason: row.reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** An event's fields as JSON, decimals as plain text; the type is its own column. */
export function eventPayload(event: OrderEvent): EventPayload {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(event) as [string, unknown][]) {
    if (key === 'type' || value === undefined) continue;
    out[key] = Decimal.isDecimal(value) ? decText(value) : (value as string | number | boolean | null);
  }
  return out;
}
