// Symbol leases on a store shared by several bot processes (cluster mode): each symbol is traded by
// at most one process at a time. A lease carries an epoch, raised by one every time it changes
// hands; the store stamps every order written on a symbol with the epoch of its lease and refuses a
// write whose epoch is no longer the lease's (the fencing token), so a process that lost a lease
// without noticing cannot write on it beside the new holder.

export interface Lease {
  readonly symbol: string;
  /** The process holding (or last holding) it. */
  readonly holder: string;
  /** Raised by one each time the lease is taken; never lowered. */
  readonly epoch: number;
  readonly acquiredAt: number; // ms
  readonly heartbeatAt: number; // ms, last renewal
  /** After this (ms) anyone may take it. */
  readonly expiresAt: number;
}

export type AcquireResult =
  | { readonly ok: true; readonly lease: Lease }
  /** Held by another process, unexpired: `lease` is theirs. */
  | { readonly ok: false; readonly lease: Lease };

/** A process on the shared store, as it last reported itself. */
export interface ClusterProcess {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number; // ms
  readonly heartbeatAt: number; // ms
  readonly leaseMs: number;
  readonly symbols: readonly string[];
  /** Its rate-budget use as it reported it (free-form numbers), or null. */
  readonly budget: Readonly<Record<string, number>> | null;
}

/** What a process reports of itself at each heartbeat (its id is the store's holder). */
export type ProcessReport = Omit<ClusterProcess, 'heartbeatAt' | 'id'>;

/** What a lease was refused or lost for, naming the symbol and epochs. */
export class StaleLeaseError extends Error {
  constructor(
    readonly symbol: string,
    /** The epoch this process wrote under (null: it holds no lease on the symbol). */
    readonly epoch: number | null,
    /** The lease as the store has it (null: nobody ever took it). */
    readonly current: { readonly holder: string; readonly epoch: number } | null,
  ) {
    const mine =
      epoch === null ? 'this process holds no lease on it' : `this process wrote under epoch ${epoch}`;
    const theirs =
      current === null
        ? 'nobody holds it'
        : `the lease is at epoch ${current.epoch}, held by ${current.holder}`;
    super(
      `order write on ${symbol} refused: ${mine}, but ${theirs}. ` +
        'Another process trades this symbol now: stop quoting it (the lease manager does so on its own).',
    );
    this.name = 'StaleLeaseError';
  }
}

/** The leases of a shared store, for one holder (this process). */
export interface LeaseStore {
  /** This process's id on the store (the holder name of its leases). */
  readonly holder: string;
  /** Takes the lease if free or expired (epoch + 1), or reports the holder. */
  acquireLease(symbol: string, ttlMs: number): Promise<AcquireResult>;
  /** Extends a lease still held at `epoch`; null when it moved on (lost). */
  renewLease(symbol: string, epoch: number, ttlMs: number): Promise<Lease | null>;
  /** Lets the lease go at once (it stays at its epoch; the next taker raises it). */
  releaseLease(symbol: string, epoch: number): Promise<void>;
  leases(): Promise<Lease[]>;
  /** Records this process's heartbeat (creates its row the first time). */
  reportProcess(report: ProcessReport): Promise<void>;
  /** Removes this process's row (clean stop). */
  removeProcess(): Promise<void>;
  processes(): Promise<ClusterProcess[]>;
}

/** What `btcbot status --cluster` reads: any opener of the store may. */
export type ClusterReader = Pick<LeaseStore, 'leases' | 'processes'>;
