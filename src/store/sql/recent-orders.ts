import { isClosed } from '../../domain/lifecycle.ts';
import type { StoredOrder } from '../../ports/store.ts';

/** Orders kept at most: the ones in flight, a few per symbol; the oldest go first. */
const MAX_ORDERS = 256;

/**
 * The orders this store's writes committed last, as they were committed: the ack that follows a
 * submit takes its order from here instead of reading the row it just wrote. A copy is only ever a
 * guess — another writer (a replace, a second process in cluster mode) may have moved the row since —
 * so order-writes.ts writes from it only under its version guard and otherwise reads the row again.
 * Only what a committed transaction returned goes in: never a write that may still roll back.
 */
export class RecentOrders {
  readonly #orders = new Map<string, StoredOrder>();

  get(id: string): StoredOrder | undefined {
    return this.#orders.get(id);
  }

  /** After the transaction that wrote or read `order` committed. */
  remember(order: StoredOrder | null | undefined): void {
    if (order == null) return;
    const kept = this.#orders.get(order.id);
    if (kept !== undefined && kept.version > order.version) return;
    this.#orders.delete(order.id);
    // A closed order takes no more status events worth the memory.
    if (isClosed(order.state)) return;
    this.#orders.set(order.id, order);
    if (this.#orders.size > MAX_ORDERS) {
      const oldest = this.#orders.keys().next();
      if (oldest.done !== true) this.#orders.delete(oldest.value);
    }
  }

  get size(): number {
    return this.#orders.size;
  }
}
