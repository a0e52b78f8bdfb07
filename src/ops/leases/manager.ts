import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import type { Clock } from '../../domain/clock.ts';
import { ConfigError } from '../../domain/errors.ts';
import type { ClusterProcess, LeaseStore } from '../../ports/leases.ts';

// Which symbols this process trades, when several processes share one store and one symbol list
// (cluster mode). Every heartbeat (a third of the lease time) it reports itself, renews what it
// holds, and takes free or expired symbols up to its share: ceil(symbols / live processes), at most
// `maxSymbols`. A symbol becomes tradable only after `onAcquired` (the OMS reconciles it and adopts
// what a crashed holder left) has finished under the lease.
//
// Losing a lease is handled before anyone else can take it: when renewals keep failing, the
// symbol is given up (`onLost`: stop quoting, cancel its orders) once less than `marginMs` plus a
// heartbeat is left of the lease as last renewed, counted from when that renewal was sent. A lease
// found already moved on (this process was paused beyond its lease) is only stopped, not
// cancelled: its orders are the new holder's now, and the store's fence refuses any order write of
// ours there.

/** Default lease time: a crashed holder's symbols are taken over within this plus one heartbeat. */
export const DEFAULT_LEASE_MS = 10_000;
/** The shortest lease accepted: below it, store round trips eat the margins. */
const MIN_LEASE_MS = 1_000;

export interface LostInfo {
  readonly reason: string;
  /**
   * True: the lease is still ours until it expires, so cancel the symbol's orders now. False: it
   * already moved on to another process (stop quoting only; the orders are the new holder's).
   */
  readonly stillHeld: boolean;
  /** Given up because this process is stopping (its exit settings decide about cancels). */
  readonly stopping: boolean;
}

export interface LeaseManagerOptions {
  readonly leases: LeaseStore;
  /** The symbol list every process of the cluster is given. */
  readonly symbols: readonly string[];
  /** The most symbols this process takes (`--max-symbols`). */
  readonly maxSymbols: number;
  /** `--lease-ms`: how long a lease lasts without renewal. */
  readonly leaseMs: number;
  readonly clock: Clock;
  /** Runs once a symbol is taken, before it is tradable (reconcile it); a throw gives it up again. */
  readonly onAcquired: (symbol: string, epoch: number) => Promise<void>;
  /** Runs when a symbol is given up or lost; must finish within the margin (a third of the lease). */
  readonly onLost: (symbol: string, info: LostInfo) => Promise<void>;
  /** This process's rate-budget use, reported with each heartbeat. */
  readonly budget?: (() => Record<string, number> | null) | undefined;
  readonly logger?: Logger | undefined;
  readonly host?: string | undefined;
  readonly pid?: number | undefined;
}

interface Held {
  readonly epoch: number;
  /** The lease's end as last renewed, counted from when the renewal was sent. */
  validUntil: number;
  /** `onAcquired` finished under this lease. */
  tradable: boolean;
}

export function validateLeaseSettings(leaseMs: number, maxSymbols: number): void {
  if (!Number.isInteger(leaseMs) || leaseMs < MIN_LEASE_MS)
    throw new ConfigError(
      '--lease-ms',
      `must be a whole number of milliseconds ≥ ${MIN_LEASE_MS}, got ${leaseMs}`,
    );
  if (!Number.isInteger(maxSymbols) || maxSymbols < 1)
    throw new ConfigError('--max-symbols', `must be a whole number ≥ 1, got ${maxSymbols}`);
}

export class LeaseManager {
  readonly #o: LeaseManagerOptions;
  readonly #log: Logger;
  readonly #held = new Map<string, Held>();
  /** Symbols being given up (their onLost running): not taken again until it finishes. */
  readonly #leaving = new Set<string>();
  /** Symbols given up, and until when (clock ms) this process leaves them to the others. */
  readonly #cooldown = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();
  readonly #startedAt: number;
  readonly #order: readonly string[];
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(options: LeaseManagerOptions) {
    validateLeaseSettings(options.leaseMs, options.maxSymbols);
    this.#o = options;
    this.#log = (options.logger ?? pino({ enabled: false })).child({ component: 'leases' });
    this.#startedAt = options.clock.now();
    // Each process starts looking at a different symbol, so that processes starting together do
    // not all contend for the first one.
    const symbols = [...new Set(options.symbols)].sort();
    const offset = symbols.length === 0 ? 0 : hash(options.leases.holder) % symbols.length;
    this.#order = [...symbols.slice(offset), ...symbols.slice(0, offset)];
  }

  get heartbeatMs(): number {
    return Math.floor(this.#o.leaseMs / 3);
  }

  /** Left of a lease when it is given up at the latest: time for onLost to cancel. */
  get marginMs(): number {
    return Math.floor(this.#o.leaseMs / 3);
  }

  /** May the engine quote `symbol` now: held, reconciled, and not within the margin of its end. */
  holds(symbol: string): boolean {
    const held = this.#held.get(symbol);
    return held !== undefined && held.tradable && this.#o.clock.now() < held.validUntil - this.marginMs;
  }

  /** Held (trading or reconciling) or being given up (cancelling): this process's to work on. */
  owns(symbol: string): boolean {
    return this.#held.has(symbol) || this.#leaving.has(symbol);
  }

  /** The symbols tradable now, with their epochs. */
  tradable(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [symbol, held] of this.#held) if (this.holds(symbol)) out.set(symbol, held.epoch);
    return out;
  }

  /** Heartbeats every third of the lease until stop(). */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const run = (): void => {
      if (this.#ticking !== undefined) return; // a slow store: the next heartbeat catches up
      this.#ticking = this.tick()
        .catch((error: unknown) => {
          this.#log.error({ err: error }, 'lease heartbeat failed');
        })
        .finally(() => {
          this.#ticking = undefined;
        });
    };
    this.#timer = setInterval(run, this.heartbeatMs);
    run();
  }

  /** One heartbeat: report, renew, give up what is over the share or expiring, take what is free. */
  async tick(): Promise<void> {
    if (this.#stopped) return;
    await this.#report();
    await this.#renew();
    const share = await this.#share();
    if (share === null) return;
    const over = this.#held.size - share;
    if (over > 0)
      for (const symbol of [...this.#held.keys()].reverse().slice(0, over))
        this.#giveUp(symbol, `over this process's share of ${share}`, true);
    else await this.#take(share);
  }

  /** Waits for the reconciliations and give-ups started so far (tests; stop). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  /** Gives every symbol up (onLost: cancel), releases the leases and leaves the process table. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#ticking;
    for (const symbol of [...this.#held.keys()]) this.#giveUp(symbol, 'this process is stopping', true);
    await this.settled();
    await this.#o.leases.removeProcess().catch((error: unknown) => {
      this.#log.warn({ err: error }, 'could not remove this process from the cluster table');
    });
  }

  async #report(): Promise<void> {
    try {
      await this.#o.leases.reportProcess({
        host: this.#o.host ?? hostname(),
        pid: this.#o.pid ?? process.pid,
        startedAt: this.#startedAt,
        leaseMs: this.#o.leaseMs,
        symbols: [...this.#held.keys()].sort(),
        budget: this.#o.budget?.() ?? null,
      });
    } catch (error) {
      this.#log.warn({ err: error }, 'could not report this process to the cluster table');
    }
  }

  async #renew(): Promise<void> {
    for (const [symbol, held] of [...this.#held]) {
      const sentAt = this.#o.clock.now();
      try {
        const lease = await this.#o.leases.renewLease(symbol, held.epoch, this.#o.leaseMs);
        if (lease === null) {
          this.#giveUp(
            symbol,
            `its lease moved on from epoch ${held.epoch} (another process took it)`,
            false,
          );
          continue;
        }
        held.validUntil = sentAt + this.#o.leaseMs;
      } catch (error) {
        this.#log.warn({ err: error, symbol }, 'could not renew the lease');
      }
      // Given up while there is still a heartbeat and the margin left: cancels finish in time.
      if (this.#o.clock.now() + this.heartbeatMs + this.marginMs >= held.validUntil)
        this.#giveUp(symbol, 'its lease could not be renewed in time', true);
    }
  }

  /** This process's share of the symbols, or null when the process table cannot be read. */
  async #share(): Promise<number | null> {
    let processes: ClusterProcess[];
    try {
      processes = await this.#o.leases.processes();
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read the cluster table');
      return null;
    }
    const now = this.#o.clock.now();
    const live = processes.filter(
      (p) => p.id === this.#o.leases.holder || p.heartbeatAt + p.leaseMs > now,
    ).length;
    return Math.min(this.#o.maxSymbols, Math.ceil(this.#order.length / Math.max(1, live)));
  }

  async #take(share: number): Promise<void> {
    const now = this.#o.clock.now();
    let taken: Map<string, { holder: string; expiresAt: number }>;
    try {
      taken = new Map((await this.#o.leases.leases()).map((l) => [l.symbol, l]));
    } catch (error) {
      this.#log.warn({ err: error }, 'could not read the leases');
      return;
    }
    for (const symbol of this.#order) {
      if (this.#held.size >= share || this.#stopped) return;
      if (this.#held.has(symbol) || this.#leaving.has(symbol)) continue;
      if ((this.#cooldown.get(symbol) ?? 0) > now) continue;
      const lease = taken.get(symbol);
      if (lease !== undefined && lease.holder !== this.#o.leases.holder && lease.expiresAt > now) continue;
      const sentAt = this.#o.clock.now();
      const result = await this.#o.leases.acquireLease(symbol, this.#o.leaseMs);
      if (!result.ok) continue;
      const held: Held = { epoch: result.lease.epoch, validUntil: sentAt + this.#o.leaseMs, tradable: false };
      this.#held.set(symbol, held);
      this.#log.info({ symbol, epoch: held.epoch }, 'took the lease: reconciling before trading');
      this.#track(
        this.#o.onAcquired(symbol, held.epoch).then(
          () => {
            if (this.#held.get(symbol) !== held) return;
            held.tradable = true;
            this.#log.info({ symbol, epoch: held.epoch }, 'symbol reconciled under its lease: trading');
          },
          (error: unknown) => {
            this.#log.error({ err: error, symbol }, 'reconciling a newly leased symbol failed: giving it up');
            if (this.#held.get(symbol) === held) this.#giveUp(symbol, 'its reconciliation failed', true);
          },
        ),
      );
    }
  }

  /** Stops trading `symbol` at once, cancels its orders (onLost), then releases the lease. */
  #giveUp(symbol: string, reason: string, stillHeld: boolean): void {
    const held = this.#held.get(symbol);
    if (held === undefined) return;
    this.#held.delete(symbol);
    this.#leaving.add(symbol);
    this.#cooldown.set(symbol, this.#o.clock.now() + this.#o.leaseMs);
    this.#log.warn({ symbol, epoch: held.epoch, reason }, 'giving the symbol up');
    this.#track(
      (async () => {
        try {
          await this.#o.onLost(symbol, { reason, stillHeld, stopping: this.#stopped });
        } catch (error) {
          this.#log.error({ err: error, symbol }, 'stopping a symbol given up failed');
        }
        if (stillHeld)
          await this.#o.leases.releaseLease(symbol, held.epoch).catch((error: unknown) => {
            this.#log.warn({ err: error, symbol }, 'could not release the lease (it expires on its own)');
          });
      })().finally(() => {
        this.#leaving.delete(symbol);
      }),
    );
  }

  #track(work: Promise<void>): void {
    this.#pending.add(work);
    void work.finally(() => this.#pending.delete(work));
  }
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i += 1) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}
