import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError } from '../../domain/errors.ts';
import { DEFAULT_LEASE_MS, validateLeaseSettings } from './manager.ts';

// Cluster mode is on when `--max-symbols` is given: the process then shares its store with the
// other processes given the same `--symbols` (no writer lock; each symbol traded by the holder of
// its lease) and takes at most that many symbols. `--lease-ms` (default 10 s) is how long a
// crashed process's symbols wait before another takes them over (plus one heartbeat, a third of it).

export interface ClusterFlags {
  readonly maxSymbols?: string | undefined;
  readonly leaseMs?: string | undefined;
}

export interface ClusterSettings {
  readonly maxSymbols: number;
  readonly leaseMs: number;
  /** This process's id on the shared store (the holder of its leases). */
  readonly holder: string;
}

function whole(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new ConfigError(flag, `expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Null without `--max-symbols` (one process per store, as before). */
export function clusterSettings(flags: ClusterFlags): ClusterSettings | null {
  if (flags.maxSymbols === undefined) {
    if (flags.leaseMs !== undefined)
      throw new ConfigError('--lease-ms', 'is for cluster mode, which --max-symbols turns on');
    return null;
  }
  const maxSymbols = whole('--max-symbols', flags.maxSymbols);
  const leaseMs = flags.leaseMs === undefined ? DEFAULT_LEASE_MS : whole('--lease-ms', flags.leaseMs);
  validateLeaseSettings(leaseMs, maxSymbols);
  return { maxSymbols, leaseMs, holder: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}` };
}
