import type { Logger } from 'pino';
import { systemClock } from '../../domain/clock.ts';
import type { Oms } from '../../oms/oms.ts';
import type { LeaseStore } from '../../ports/leases.ts';
import { leasesOf } from '../../store/sql/sql-store.ts';
import { LeaseManager } from './manager.ts';
import { clusterHooks, type ClusterScope } from './scope.ts';
import type { ClusterSettings } from './settings.ts';

// One process of a cluster, as the session composes it: the scope its OMS and engine are built
// with exists first (owning nothing), the lease manager starts once the OMS is up and its
// start-up pass is done, and takes symbols from then on.

export class ClusterMember {
  readonly #settings: ClusterSettings;
  readonly #leases: LeaseStore;
  readonly #symbols: readonly string[];
  readonly #logger: Logger;
  #manager: LeaseManager | undefined;

  readonly scope: ClusterScope = {
    owns: (symbol) => this.#manager?.owns(symbol) ?? false,
    leases: { holds: (symbol) => this.#manager?.holds(symbol) ?? false },
  };

  constructor(settings: ClusterSettings, leases: LeaseStore, symbols: readonly string[], logger: Logger) {
    this.#settings = settings;
    this.#leases = leases;
    this.#symbols = symbols;
    this.#logger = logger;
  }

  get holder(): string {
    return this.#settings.holder;
  }

  start(
    oms: Pick<Oms, 'reconcile' | 'readyFor' | 'cancelAll'>,
    budget: () => { readonly used: number; readonly limit: number },
    cancelOnExit: boolean,
  ): void {
    if (this.#manager !== undefined) return;
    const hooks = clusterHooks({ oms, cancelOnExit });
    this.#manager = new LeaseManager({
      leases: this.#leases,
      symbols: this.#symbols,
      maxSymbols: this.#settings.maxSymbols,
      leaseMs: this.#settings.leaseMs,
      clock: systemClock,
      onAcquired: hooks.onAcquired,
      onLost: hooks.onLost,
      budget: () => {
        const { used, limit } = budget();
        return { ordersLastMinute: used, ordersPerMinute: limit };
      },
      logger: this.#logger,
    });
    this.#manager.start();
  }

  /** Gives every symbol up (cancelling as --cancel-on-exit says) and leaves the cluster table. */
  async stop(): Promise<void> {
    await this.#manager?.stop();
  }
}

/** The cluster member of a session in cluster mode (null: one process per store, as before). */
export function clusterMember(
  settings: ClusterSettings | null | undefined,
  store: unknown,
  symbols: readonly string[],
  logger: Logger,
): ClusterMember | null {
  if (!settings) return null;
  const leases = leasesOf(store);
  if (leases === undefined)
    throw new Error('cluster mode needs a store opened for a cluster (it has no leases)');
  return new ClusterMember(settings, leases, symbols, logger);
}
