import assert from 'node:assert/strict';
import { isOwnClientOrderId } from '../../src/domain/client-ids.ts';
import { fillKey } from '../../src/domain/reports.ts';
import type { OrderState } from '../../src/domain/orders.ts';
import type { StoreReader } from '../../src/ports/store.ts';
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
