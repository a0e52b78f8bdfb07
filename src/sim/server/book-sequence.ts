import type { Decimal } from 'decimal.js';
import type { SimBook, SimLevelChange } from '../engine/api.ts';
import { CHANGE_KIND, type DiffRow } from './ws-frames.ts';

/**
 * The `CS` sequence of one pair's obdiff stream and the price levels it has announced, so each
 * change can be told apart as a new level, an amount change or a removal. CS advances once per
 * change set whether or not anyone receives it: a skipped number is how a client sees a gap.
 */
export class BookSequence {
  private current = 0;
  private readonly levels = { buy: new Map<string, Decimal>(), sell: new Map<string, Decimal>() };

  constructor(initial: SimBook) {
    for (const level of initial.bids) this.levels.buy.set(level.price.toFixed(), level.quantity);
    for (const level of initial.asks) this.levels.sell.set(level.price.toFixed(), level.quantity);
  }

  get changeSet(): number {
    return this.current;
  }

  /** Records one change set and returns its number and its rows, bids and asks apart. */
  apply(changes: readonly SimLevelChange[]): { changeSet: number; bids: DiffRow[]; asks: DiffRow[] } {
    this.current += 1;
    const bids: DiffRow[] = [];
    const asks: DiffRow[] = [];
    for (const change of changes) {
      const levels = this.levels[change.side];
      const key = change.price.toFixed();
      let kind: DiffRow['kind'];
      if (change.quantity.isZero()) {
        kind = CHANGE_KIND.removed;
        levels.delete(key);
      } else {
        kind = levels.has(key) ? CHANGE_KIND.updated : CHANGE_KIND.added;
        levels.set(key, change.quantity);
      }
      (change.side === 'buy' ? bids : asks).push({ price: change.price, quantity: change.quantity, kind });
    }
    return { changeSet: this.current, bids, asks };
  }
}
