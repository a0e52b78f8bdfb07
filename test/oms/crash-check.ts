import assert from 'node:assert/strict';
import type { Decimal } from 'decimal.js';
import { Dec } from '../../src/domain/decimal.ts';
import { isOwnClientOrderId } from '../../src/domain/client-ids.ts';
import { fillKey } from '../../src/domain/reports.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import type { StoredOrder, StoreReader } from '../../src/ports/store.ts';
import type { SimGroundTruth, SimOrder } from '../../src/sim/engine/api.ts';

// What must hold between the store and the simulator after any crash, restart and reconciliation:
// no intent placed twice, no order of ours unknown here, every fill counted once, same states.

export interface Divergence {
  readonly duplicates: number;
  readonly lost: number;
  readonly fillMismatches: number;
  readonly stateMismatches: number;
  readonly details: readonly string[];
}

function expectedState(order: SimOrder): OrderState {
  switch (order.status) {
    case 'open':
      return 'OPEN';
    case 'partially_filled':
      return 'PARTIALLY_FILLED';
    case 'filled':
      return 'FILLED';
    case 'canceled':
      return 'CANCELED';
  }
}

/**
 * Compares the store with the simulator's ground truth for one account. An intent may own one
 * exchange order, and each order at most one replacement: more is a duplicate.
 */
export async function compareWithTruth(
  store: StoreReader,
  truth: SimGroundTruth,
  accountId: string,
  prefix: string,
): Promise<Divergence> {
  const details: string[] = [];
  const simOrders = truth.orders.filter((o) => o.accountId === accountId);
  const bySlot = new Map<string, number>();
  let lost = 0;
  let stateMismatches = 0;
  let fillMismatches = 0;
  for (const simOrder of simOrders) {
    const clientId = simOrder.clientOrderId ?? '';
    if (!isOwnClientOrderId(clientId, prefix)) continue;
    const local = await store.orderByClientId(clientId);
    if (!local) {
      lost += 1;
      details.push(`lost: exchange order ${simOrder.id} (${clientId}) is unknown locally`);
      continue;
    }
    const slot = `intent ${local.intentId ?? local.id}, ${local.replaceOf === null ? 'first order' : `replacing ${local.replaceOf}`}`;
    bySlot.set(slot, (bySlot.get(slot) ?? 0) + 1);
    if (local.state !== expectedState(simOrder)) {
      stateMismatches += 1;
      details.push(`state: ${clientId} is ${local.state} here, ${simOrder.status} on the exchange`);
    }
    if (!local.filledQuantity.eq(simOrder.filled)) {
      fillMismatches += 1;
      details.push(
        `filled: ${clientId} ${local.filledQuantity.toFixed()} here, ${simOrder.filled.toFixed()} there`,
      );
    }
  }
  let duplicates = 0;
  for (const [slot, count] of bySlot)
    if (count > 1) {
      duplicates += count - 1;
      details.push(`duplicate: ${slot} has ${count} exchange orders`);
    }
  // By (trade id, order id): both sides of a self-match share one trade id.
  const simFills = truth.fills
    .filter((f) => f.accountId === accountId)
    .map((f) => fillKey({ tradeId: f.tradeId, exchangeOrderId: f.orderId }))
    .sort();
  const localFills = (await store.fills()).map((f) => fillKey(f)).sort();
  if (simFills.join() !== localFills.join()) {
    fillMismatches += 1;
    details.push(`fills: exchange has [${simFills.join(', ')}], store has [${localFills.join(', ')}]`);
  }
  return { duplicates, lost, fillMismatches, stateMismatches, details };
}

export function assertConverged(d: Divergence, context: string): void {
  assert.deepEqual(
    {
      duplicates: d.duplicates,
      lost: d.lost,
      fillMismatches: d.fillMismatches,
      stateMismatches: d.stateMismatches,
    },
    { duplicates: 0, lost: 0, fillMismatches: 0, stateMismatches: 0 },
    `${context}:\n${d.details.join('\n')}`,
  );
}

/** compareBothWays' result: Divergence plus what only the store → exchange direction finds. */
export interface TwoWayDivergence extends Divergence {
  /** Store orders (origin local or adopted) or store fills the exchange does not have. */
  readonly phantom: number;
  /** Store orders left UNKNOWN, SUBMITTED, PENDING_SUBMIT or PENDING_CANCEL. */
  readonly unsettled: number;
  /** Sum of every count: 0 means the store and the exchange agree both ways. */
  readonly total: number;
}

const UNSETTLED: ReadonlySet<OrderState> = new Set([
  'UNKNOWN',
  'SUBMITTED',
  'PENDING_SUBMIT',
  'PENDING_CANCEL',
]);

/**
 * The two-way check of a converged run, for one account (every order on it is ours):
 * - exchange → store: every exchange order is in the store exactly once (by exchange order id, and
 *   once per intent slot), with the same state and filled quantity; every exchange fill is in the
 *   store exactly once, keyed by (trade id, exchange order id);
 * - store → exchange: every store order of origin local or adopted that is not REJECTED is on the
 *   exchange under its exchange id and client id, and a REJECTED one is not; every store fill is on
 *   the exchange, linked to its order, and each order's fills add up to its filled quantity;
 * - no store order is left UNKNOWN, SUBMITTED, PENDING_SUBMIT or PENDING_CANCEL.
 */
export async function compareBothWays(
  store: Pick<StoreReader, 'orders' | 'orderByClientId' | 'fills'>,
  truth: SimGroundTruth,
  accountId: string,
  prefix: string,
): Promise<TwoWayDivergence> {
  const details: string[] = [];
  let lost = 0;
  let duplicates = 0;
  let fillMismatches = 0;
  let stateMismatches = 0;
  let phantom = 0;
  let unsettled = 0;

  const simOrders = truth.orders.filter((o) => o.accountId === accountId);
  const simById = new Map(simOrders.map((o) => [o.id, o]));
  const simByClientId = new Map(
    simOrders.flatMap((o) => (o.clientOrderId === null ? [] : [[o.clientOrderId, o]])),
  );
  const localOrders = await store.orders();
  const localByExchangeId = new Map<string, StoredOrder[]>();
  for (const order of localOrders)
    if (order.exchangeOrderId !== null)
      localByExchangeId.set(order.exchangeOrderId, [
        ...(localByExchangeId.get(order.exchangeOrderId) ?? []),
        order,
      ]);

  // Exchange → store: orders.
  const bySlot = new Map<string, number>();
  for (const simOrder of simOrders) {
    const clientId = simOrder.clientOrderId ?? '';
    const rows = localByExchangeId.get(simOrder.id) ?? [];
    if (rows.length > 1) {
      duplicates += rows.length - 1;
      details.push(
        `duplicate: exchange order ${simOrder.id} (${clientId}) is in the store ${rows.length} times`,
      );
    }
    const local = rows[0] ?? (clientId === '' ? undefined : await store.orderByClientId(clientId));
    if (!local) {
      lost += 1;
      details.push(`lost: exchange order ${simOrder.id} (${clientId || 'no client id'}) is unknown locally`);
      continue;
    }
    if (isOwnClientOrderId(clientId, prefix)) {
      const slot = `intent ${local.intentId ?? local.id}, ${local.replaceOf === null ? 'first order' : `replacing ${local.replaceOf}`}`;
      bySlot.set(slot, (bySlot.get(slot) ?? 0) + 1);
    }
    if (local.state !== expectedState(simOrder)) {
      stateMismatches += 1;
      details.push(
        `state: ${clientId} (${simOrder.id}) is ${local.state} here, ${simOrder.status} on the exchange`,
      );
    }
    if (!local.filledQuantity.eq(simOrder.filled)) {
      fillMismatches += 1;
      details.push(
        `filled: ${clientId} ${local.filledQuantity.toFixed()} here, ${simOrder.filled.toFixed()} there`,
      );
    }
  }
  for (const [slot, count] of bySlot)
    if (count > 1) {
      duplicates += count - 1;
      details.push(`duplicate: ${slot} has ${count} exchange orders`);
    }

  // Store → exchange: orders, and nothing left half-way.
  for (const order of localOrders) {
    if (UNSETTLED.has(order.state)) {
      unsettled += 1;
      details.push(`unsettled: order ${order.id} (${order.clientOrderId ?? '-'}) is still ${order.state}`);
    }
    if (order.origin === 'foreign') continue;
    const byClient = order.clientOrderId === null ? undefined : simByClientId.get(order.clientOrderId);
    if (order.state === 'REJECTED') {
      if (byClient) {
        phantom += 1;
        details.push(
          `rejected but placed: order ${order.id} (${order.clientOrderId ?? '-'}) is REJECTED here, exchange order ${byClient.id} is ${byClient.status}`,
        );
      }
      continue;
    }
    if (order.state === 'PENDING_SUBMIT') continue; // counted as unsettled above
    const onExchange = order.exchangeOrderId === null ? undefined : simById.get(order.exchangeOrderId);
    if (!onExchange || (order.clientOrderId !== null && onExchange.clientOrderId !== order.clientOrderId)) {
      phantom += 1;
      details.push(
        `phantom: order ${order.id} (${order.clientOrderId ?? '-'}, exchange id ${order.exchangeOrderId ?? '-'}, ${order.state}) is not on the exchange`,
      );
    }
  }

  // Fills, both ways, by (trade id, exchange order id): both sides of a self-match share a trade id.
  const simFills = new Set(
    truth.fills
      .filter((f) => f.accountId === accountId)
      .map((f) => fillKey({ tradeId: f.tradeId, exchangeOrderId: f.orderId })),
  );
  const localFills = await store.fills();
  const seen = new Map<string, number>();
  const fillSums = new Map<string, Decimal>();
  const localById = new Map(localOrders.map((o) => [o.id, o]));
  for (const fill of localFills) {
    const key = fillKey(fill);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (!simFills.has(key)) {
      phantom += 1;
      details.push(`phantom fill: ${key} is in the store, not on the exchange`);
    }
    const owner = fill.orderId === null ? undefined : localById.get(fill.orderId);
    if (!owner || owner.exchangeOrderId !== fill.exchangeOrderId) {
      fillMismatches += 1;
      details.push(`unlinked fill: ${key} belongs to ${fill.orderId ?? 'no order'} in the store`);
    } else fillSums.set(owner.id, (fillSums.get(owner.id) ?? new Dec(0)).add(fill.quantity));
  }
  for (const [key, count] of seen)
    if (count > 1) {
      duplicates += count - 1;
      details.push(`duplicate fill: ${key} is in the store ${count} times`);
    }
  for (const key of simFills)
    if (!seen.has(key)) {
      fillMismatches += 1;
      details.push(`lost fill: ${key} is on the exchange, not in the store`);
    }
  for (const order of localOrders) {
    const sum = fillSums.get(order.id) ?? new Dec(0);
    if (!sum.eq(order.filledQuantity)) {
      fillMismatches += 1;
      details.push(
        `fills: order ${order.id} (${order.clientOrderId ?? '-'}) records ${order.filledQuantity.toFixed()} filled, its fills add up to ${sum.toFixed()}`,
      );
    }
  }

  const total = lost + duplicates + fillMismatches + stateMismatches + phantom + unsettled;
  return { duplicates, lost, fillMismatches, stateMismatches, phantom, unsettled, total, details };
}
