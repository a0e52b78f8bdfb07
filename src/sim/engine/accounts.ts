import type { Decimal } from 'decimal.js';
import { Dec, ZERO } from '../../domain/decimal.ts';
import type { SimBalance } from './api.ts';

interface Holding {
  free: Decimal;
  locked: Decimal;
}

/**
 * Free and locked amounts per asset per account. Every movement is between free and locked of one
 * account, or a debit matched by a credit elsewhere in the same change set, so totals are conserved;
 * a movement that would take any amount below zero is a bug in the engine and throws.
 */
export class Ledger {
  private readonly accounts = new Map<string, Map<string, Holding>>();
  private readonly dirty = new Set<string>();

  open(accountId: string, balances: Readonly<Record<string, Decimal>>): void {
    if (this.accounts.has(accountId))
      throw new Error(`account "${accountId}" already exists: create each account once, with all its assets`);
    const holdings = new Map<string, Holding>();
    for (const [asset, amount] of Object.entries(balances)) {
      if (!amount.isFinite() || amount.isNegative())
        throw new RangeError(
          `account "${accountId}": ${asset} balance ${amount.toFixed()} must be a non-negative number`,
        );
      holdings.set(asset, { free: new Dec(amount), locked: ZERO });
    }
    this.accounts.set(accountId, holdings);
    this.dirty.add(accountId);
  }

  has(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  free(accountId: string, asset: string): Decimal {
    return this.accounts.get(accountId)?.get(asset)?.free ?? ZERO;
  }

  locked(accountId: string, asset: string): Decimal {
    return this.accounts.get(accountId)?.get(asset)?.locked ?? ZERO;
  }

  /** free → locked */
  lock(accountId: string, asset: string, amount: Decimal): void {
    const h = this.holding(accountId, asset);
    h.free = this.checked(accountId, asset, 'free', h.free.minus(amount));
    h.locked = h.locked.plus(amount);
  }

  /** locked → free */
  release(accountId: string, asset: string, amount: Decimal): void {
    if (amount.isZero()) return;
    const h = this.holding(accountId, asset);
    h.locked = this.checked(accountId, asset, 'locked', h.locked.minus(amount));
    h.free = h.free.plus(amount);
  }

  /** locked → leaves the account (paid to a counterparty or the exchange in the same change set) */
  debitLocked(accountId: string, asset: string, amount: Decimal): void {
    const h = this.holding(accountId, asset);
    h.locked = this.checked(accountId, asset, 'locked', h.locked.minus(amount));
  }

  credit(accountId: string, asset: string, amount: Decimal): void {
    const h = this.holding(accountId, asset);
    h.free = h.free.plus(amount);
  }

  private holding(accountId: string, asset: string): Holding {
    const holdings = this.accounts.get(accountId);
    if (holdings === undefined) throw new Error(`account "${accountId}" does not exist`);
    let h = holdings.get(asset);
    if (h === undefined) {
      h = { free: ZERO, locked: ZERO };
      holdings.set(asset, h);
    }
    this.dirty.add(accountId);
    return h;
  }

  private checked(accountId: string, asset: string, field: string, value: Decimal): Decimal {
    if (value.isNegative())
      throw new Error(
        `ledger invariant broken: ${accountId} ${asset} ${field} would become ${value.toFixed()}`,
      );
    return value;
  }

  /** Every asset the account has touched, zero included; empty for an unknown account. */
  balances(accountId: string): SimBalance[] {
    const holdings = this.accounts.get(accountId);
    if (holdings === undefined) return [];
    return [...holdings].map(([asset, h]) => ({ asset, free: h.free, locked: h.locked }));
  }

  all(): Record<string, SimBalance[]> {
    const out: Record<string, SimBalance[]> = {};
    for (const accountId of this.accounts.keys()) out[accountId] = this.balances(accountId);
    return out;
  }

  /** Accounts whose balances changed since the last drain, in the order they first changed. */
  drainDirty(): string[] {
    const out = [...this.dirty];
    this.dirty.clear();
    return out;
  }
}
