import type { EngineOms } from '../../engine/engine.ts';
import type { Oms } from '../../oms/oms.ts';
import type { Store } from '../../ports/store.ts';
import type { LeaseManager, LostInfo } from './manager.ts';

// What a cluster process sees of the shared store and the exchange: only the symbols it owns (holds
// or is giving up). Its OMS and engine are given these views, so its reconciliation, its diffs and
// its private-stream handling never touch another process's orders, and its engine quotes only the
// symbols whose lease it holds, reconciled. The store's fence is the backstop underneath.

/** The symbols a process owns now: held (trading or reconciling) or being given up (cancelling). */
export type Owns = (symbol: string) => boolean;

/**
 * The store as one cluster process works on it: active orders and open replaces of its own
 * symbols only. Everything else (single orders by id, fills, positions, the kill switch) reads
 * through: those are account-wide or addressed by id.
 */
export function scopedStore(store: Store, owns: Owns): Store {
  const scoped: Partial<Store> = {
    activeOrders: async (symbol?: string) => {
      if (symbol !== undefined) return owns(symbol) ? store.activeOrders(symbol) : [];
      return (await store.activeOrders()).filter((o) => owns(o.symbol));
    },
    openReplaces: async () => {
      const out = [];
      for (const txn of await store.openReplaces()) {
        const old = await store.order(txn.oldOrderId);
        if (old !== undefined && owns(old.symbol)) out.push(txn);
      }
      return out;
    },
  };
  return new Proxy(store, {
    get(target, key, receiver) {
      if (key in scoped) return scoped[key as keyof Store];
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** What the composition gives the OMS and engine of a cluster process. */
export interface ClusterScope {
  readonly owns: Owns;
  readonly leases: Pick<LeaseManager, 'holds'>;
}

/** The reason the engine is given for a symbol this process does not trade now. */
export const NOT_LEASED = 'another process of the cluster holds its lease';

/**
 * The OMS as the engine of a cluster process uses it: a symbol is ready only while its lease is
 * held and reconciled (and the OMS says it is ready), and private events of symbols it does not
 * own are left to their owner.
 */
export function clusterOms(
  oms: EngineOms,
  leases: Pick<LeaseManager, 'holds'>,
  owns: Owns,
  since: number,
): EngineOms & Required<Pick<EngineOms, 'readyFor' | 'waitingFor'>> {
  return {
    get ready() {
      return false; // readyFor decides, symbol by symbol
    },
    readyFor: (symbol) => leases.holds(symbol) && (oms.readyFor?.(symbol) ?? oms.ready),
    waitingFor: (symbol) =>
      leases.holds(symbol) ? (oms.waitingFor?.(symbol) ?? null) : { reason: NOT_LEASED, since },
    submit: (intent) => {
      if (!leases.holds(intent.symbol))
        return Promise.reject(new Error(`no submit on ${intent.symbol}: ${NOT_LEASED}`));
      return oms.submit(intent);
    },
    cancel: (ref) => oms.cancel(ref),
    replace: (orderId, request) => oms.replace(orderId, request),
    onFill: (fill, source) => (owns(fill.symbol) ? oms.onFill(fill, source) : Promise.resolve()),
    onOrderReport: (report) => (owns(report.symbol) ? oms.onOrderReport(report) : Promise.resolve()),
    reconcile: (options) => oms.reconcile(options),
  };
}

export interface ClusterHooksOptions {
  readonly oms: Pick<Oms, 'reconcile' | 'readyFor' | 'cancelAll'>;
  /** Reconciliation passes tried before a newly leased symbol is given up again. */
  readonly attempts?: number | undefined;
  /** `--cancel-on-exit`: whether a symbol given up because the process stops has its orders cancelled. */
  readonly cancelOnExit?: boolean | undefined;
}

/**
 * The lease manager's hooks over the OMS: a symbol taken is reconciled (what a crashed holder
 * left is resolved and adopted) until its part comes out clean; a symbol given up while still held
 * has its orders cancelled.
 */
export function clusterHooks(options: ClusterHooksOptions): {
  onAcquired: (symbol: string) => Promise<void>;
  onLost: (symbol: string, info: LostInfo) => Promise<void>;
} {
  const attempts = options.attempts ?? 3;
  return {
    async onAcquired(symbol) {
      for (let i = 0; i < attempts; i += 1) {
        await options.oms.reconcile({ resolve: true });
        if (options.oms.readyFor(symbol)) return;
      }
      throw new Error(`${symbol} did not reconcile clean in ${attempts} passes after its lease was taken`);
    },
    async onLost(symbol, info) {
      // Left resting on a stop without --cancel-on-exit: the next holder adopts them.
      if (info.stillHeld && !(info.stopping && options.cancelOnExit === false))
        await options.oms.cancelAll(symbol);
    },
  };
}
