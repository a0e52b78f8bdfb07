import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { systemClock, type Clock } from '../domain/clock.ts';
import { isClosed } from '../domain/lifecycle.ts';
import type { AcquireResult, LeaseStore } from '../ports/leases.ts';
import type {
  AdoptResult,
  AdvanceReplaceResult,
  ApplyResult,
  BeginReplaceResult,
  EscalationState,
  KillSwitchState,
  RecordFillResult,
  Store,
  StoredOrder,
} from '../ports/store.ts';
import * as control from './sql/control.ts';
import type { StoreSchema } from './sql/schema.ts';
import { sqliteDialect } from './sqlite/dialect.ts';

// An in-memory read model of this process's active orders, kill switch and escalation level, over
// the Store port: the three reads every evaluation and every admission makes are answered from
// memory instead of a database round trip (which on SQLite also waited for the writes queued
// before it). It is fed by the store's own writes: every write that returns an order (journal,
// event, fill, adoption) puts that order in (or, once closed, takes it out), by version, so a
// result that arrives late never overwrites a newer one. Loaded once when opened.
//
// What another process may change:
// - the kill switch and the escalation level (`btcbot kill-switch` beside a running bot, the
//   dashboard of another process, a cluster peer): on SQLite, `PRAGMA data_version` tells at each
//   read whether another connection committed since the last one (then both are read again) — an
//   external switch is seen by the very next read. It is asked on the store's own connection when
//   the store offers it (`dataVersion`), where this process's writes never change it, so the
//   journal's commits on a market move cost no read of the switch; else on a connection of the
//   view's own, where every commit does; on PostgreSQL they are polled every `pollMs` and a read finding the last poll older than
//   `boundMs` waits for a fresh one: a switch committed `boundMs` before a read is always seen.
// - active orders, in cluster mode only (a store with leases): the symbols a lease is taken for are
//   read again as the lease is taken (before its reconciliation), and every `resyncEveryMs` all are,
//   merged by version (late writes of a previous holder). Outside cluster mode the instance or
//   writer lock leaves this process the only writer of orders.
// A write that fails, or a method of the store this view does not know, makes the next read load
// everything again from the store: the view never guesses.

/** How the view learns of kill switch and escalation changes made by another process. */
export type ControlWatch =
  /** No other process can write (an in-memory store). */
  | { readonly kind: 'none' }
  /** A SQLite file: `PRAGMA data_version` on a read-only connection of the view's own. */
  | { readonly kind: 'sqlite'; readonly path: string }
  /** Any other store (PostgreSQL): polled. */
  | { readonly kind: 'poll'; readonly pollMs?: number | undefined; readonly boundMs?: number | undefined };

export interface LiveViewOptions {
  readonly watch: ControlWatch;
  /** Cluster mode: every active order read again from the store this often (0: never). */
  readonly resyncEveryMs?: number | undefined;
  readonly clock?: Clock | undefined;
  /** Told when a background poll or resync fails (it is retried on the next one). */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** PostgreSQL: the kill switch and escalation are read this often in the background. */
export const DEFAULT_CONTROL_POLL_MS = 100;
/** PostgreSQL: a read never answers from a poll that started longer ago than this. */
export const DEFAULT_CONTROL_BOUND_MS = 300;

/** Store methods that only read (or touch nothing the view holds): passed through as they are. */
const PASS_THROUGH: ReadonlySet<string> = new Set([
  'location',
  'order',
  'orderByClientId',
  'orderByExchangeId',
  'ordersByIds',
  'orders',
  'orderEvents',
  'fills',
  'positions',
  'replace',
  'openReplaces',
  'fillCursor',
  'equitySnapshots',
  'lastEquitySnapshot',
  'advanceFillCursor',
  'recordEquitySnapshot',
  // SqlStore extras beside the port: leases and processes (cluster), the alerts' and audit trail's
  // access (tables of their own), commit statistics.
  'leases',
  'processes',
  'sqlAccess',
  'commitStats',
  'dataVersion',
  'audit',
  'alerts',
]);

/** A property the Promise machinery and inspection probe: never treated as an unknown method. */
const INERT: ReadonlySet<PropertyKey> = new Set(['then', 'constructor', 'toJSON', Symbol.toStringTag]);

function compareOrders(a: StoredOrder, b: StoredOrder): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Orders sorted as the store returns active orders (created_at, then id). */
class SortedOrders {
  readonly items: StoredOrder[] = [];

  #find(order: StoredOrder): { at: number; found: boolean } {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareOrders(this.items[mid] as StoredOrder, order);
      if (c === 0) return { at: mid, found: true };
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return { at: lo, found: false };
  }

  put(order: StoredOrder): void {
    const { at, found } = this.#find(order);
    if (found) this.items[at] = order;
    else this.items.splice(at, 0, order);
  }

  remove(order: StoredOrder): void {
    const { at, found } = this.#find(order);
    if (found) this.items.splice(at, 1);
  }
}

interface Entry {
  order: StoredOrder;
  /** The write sequence number when it was last put in. */
  seq: number;
}

/** The SQLite side of the control watch: a read-only connection that tells whether anyone committed. */
class SqliteControlProbe {
  readonly #sqlite: Database.Database;
  readonly #db: Kysely<StoreSchema>;
  readonly #dataVersion: () => unknown;
  #last: unknown = undefined;

  /** `storeVersion`: the store's own `PRAGMA data_version`, when it offers it (see the top). */
  constructor(path: string, storeVersion: (() => unknown) | undefined) {
    this.#sqlite = new Database(path, { readonly: true, fileMustExist: true, timeout: 5_000 });
    this.#db = new Kysely<StoreSchema>({ dialect: sqliteDialect(this.#sqlite) });
    if (storeVersion !== undefined) this.#dataVersion = storeVersion;
    else {
      const own = this.#sqlite.prepare('PRAGMA data_version').pluck();
      this.#dataVersion = () => own.get();
    }
  }

  /**
   * True when another connection committed since the last call: another process (and, asked on
   * the view's own connection, this process's writer too).
   */
  changed(): boolean {
    const now: unknown = this.#dataVersion();
    if (now === this.#last) return false;
    this.#last = now;
    return true;
  }

  /** A read after which `changed` must say true again (its answer was not kept). */
  forget(): void {
    this.#last = undefined;
  }

  async read(): Promise<[KillSwitchState, EscalationState]> {
    return Promise.all([control.killSwitch(this.#db), control.escalation(this.#db)]);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

/** The read model; `LiveStore.live` on the store it decorates. */
export class LiveView {
  readonly #inner: Store;
  readonly #clock: Clock;
  readonly #watch: ControlWatch;
  readonly #probe: SqliteControlProbe | null;
  readonly #onError: (error: unknown) => void;

  readonly #orders = new Map<string, Entry>();
  readonly #all = new SortedOrders();
  readonly #bySymbol = new Map<string, SortedOrders>();
  /** Orders taken out (closed) while a reload was running: its older copy must not bring them back. */
  readonly #closed = new Map<string, { version: number; seq: number }>();
  #seq = 0;
  /** Start sequence numbers of the reloads running now. */
  readonly #reloads = new Set<number>();
  /** A write failed or an unknown method ran: the next read loads everything first. */
  #invalid = false;
  /** The load every read waits for while it runs. */
  #loading: Promise<void> | null = null;

  #killSwitch: KillSwitchState = { on: false, reason: null, at: null };
  #escalation: EscalationState = { level: 'NORMAL', reason: null, at: null };
  /** The held control state must be read again before it is answered. */
  #controlStale = true;
  /** Bumped by every own control write: a read that started before one is not kept. */
  #controlGen = 0;
  /** Monotonic ms when the read behind the held control state started. */
  #controlReadAt = Number.NEGATIVE_INFINITY;
  /** Control reads started, and the number of the one whose answer is held. */
  #controlReadNo = 0;
  #controlHeldNo = 0;
  readonly #timers: NodeJS.Timeout[] = [];
  #closedDown = false;

  /** Reads of the store the view made (loads, control reads): for tests and benchmarks. */
  readonly stats = { orderLoads: 0, controlReads: 0 };

  constructor(inner: Store, options: LiveViewOptions) {
    this.#inner = inner;
    this.#clock = options.clock ?? systemClock;
    this.#watch = options.watch;
    this.#onError = options.onError ?? (() => undefined);
    const storeVersion: unknown = (inner as { readonly dataVersion?: unknown }).dataVersion;
    this.#probe =
      options.watch.kind === 'sqlite'
        ? new SqliteControlProbe(
            options.watch.path,
            typeof storeVersion === 'function' ? () => (storeVersion as () => unknown)() : undefined,
          )
        : null;
    if (options.watch.kind === 'poll') {
      const every = options.watch.pollMs ?? DEFAULT_CONTROL_POLL_MS;
      this.#every(every, () => this.#readControl());
    }
    const resync = options.resyncEveryMs ?? 0;
    if (resync > 0) this.#every(resync, () => this.#reload());
  }

  #every(ms: number, work: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      if (this.#closedDown) return;
      work().catch(this.#onError);
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  /** Loads every active order and the control state. */
  async load(): Promise<void> {
    await Promise.all([this.#reload(), this.#readControl()]);
  }

  // ------------------------------------------------------------------------------ orders

  /** The active orders, as `Store.activeOrders` returns them. */
  async activeOrders(symbol?: string): Promise<StoredOrder[]> {
    // Every reader waits for the load a failed write asked for (one load, shared).
    while (this.#invalid || this.#loading) {
      this.#loading ??= this.#reload().finally(() => {
        this.#loading = null;
      });
      await this.#loading;
    }
    if (symbol === undefined) return this.#all.items.slice();
    return this.#bySymbol.get(symbol)?.items.slice() ?? [];
  }

  /** Takes in an order a write returned (or a reload read): kept if newer than the one held. */
  offer(order: StoredOrder | null | undefined): void {
    if (!order) return;
    const held = this.#orders.get(order.id);
    const known = held?.order.version ?? this.#closed.get(order.id)?.version;
    if (known !== undefined && order.version <= known) return;
    this.#seq += 1;
    if (isClosed(order.state)) {
      if (held) this.#take(held.order);
      if (this.#reloads.size > 0) this.#closed.set(order.id, { version: order.version, seq: this.#seq });
      return;
    }
    if (held && held.order.symbol !== order.symbol) this.#take(held.order);
    this.#orders.set(order.id, { order, seq: this.#seq });
    this.#all.put(order);
    let list = this.#bySymbol.get(order.symbol);
    if (!list) {
      list = new SortedOrders();
      this.#bySymbol.set(order.symbol, list);
    }
    list.put(order);
  }

  #take(order: StoredOrder): void {
    this.#orders.delete(order.id);
    this.#all.remove(order);
    const list = this.#bySymbol.get(order.symbol);
    list?.remove(order);
    if (list?.items.length === 0) this.#bySymbol.delete(order.symbol);
  }

  /**
   * Reads the active orders (of one symbol, or all) from the store and merges them: an order read
   * is kept if newer than the one held; one held but not read is dropped unless a write put it in
   * after the read began (a newer order the read could not see).
   */
  async #reload(symbol?: string): Promise<void> {
    const start = this.#seq;
    this.#reloads.add(start);
    if (symbol === undefined) this.#invalid = false;
    try {
      this.stats.orderLoads += 1;
      const read = await this.#inner.activeOrders(symbol);
      const seen = new Set<string>();
      for (const order of read) {
        seen.add(order.id);
        const gone = this.#closed.get(order.id);
        if (gone !== undefined && gone.version >= order.version) continue;
        this.offer(order);
      }
      for (const entry of [...this.#orders.values()])
        if (
          !seen.has(entry.order.id) &&
          entry.seq <= start &&
          (symbol === undefined || entry.order.symbol === symbol)
        )
          this.#take(entry.order);
    } catch (error) {
      if (symbol === undefined) this.#invalid = true;
      throw error;
    } finally {
      this.#reloads.delete(start);
      const oldest = Math.min(...this.#reloads);
      for (const [id, gone] of this.#closed) if (gone.seq < oldest) this.#closed.delete(id);
    }
  }

  /** The store will be read again for `symbol` (a lease just taken: another process wrote it). */
  reloadSymbol(symbol: string): Promise<void> {
    return this.#reload(symbol);
  }

  /** Something may have changed orders unseen: the next read loads them all again. */
  invalidate(): void {
    this.#invalid = true;
  }

  // ------------------------------------------------------------------------------ control

  async killSwitch(): Promise<KillSwitchState> {
    return (await this.#control())[0];
  }

  async escalation(): Promise<EscalationState> {
    return (await this.#control())[1];
  }

  /** This process changed the control state: read it again before the next answer. */
  controlWritten(): void {
    this.#controlGen += 1;
    this.#controlStale = true;
  }

  async #control(): Promise<[KillSwitchState, EscalationState]> {
    let read = this.#controlStale;
    if (!read)
      switch (this.#watch.kind) {
        case 'none':
          break;
        case 'sqlite':
          read = this.#probe?.changed() ?? true;
          break;
        case 'poll':
          read =
            this.#clock.monotonic() - this.#controlReadAt > (this.#watch.boundMs ?? DEFAULT_CONTROL_BOUND_MS);
          break;
      }
    if (!read) return [this.#killSwitch, this.#escalation];
    return this.#readControl();
  }

  /** Reads both from the store; kept unless this process changed them meanwhile. */
  async #readControl(): Promise<[KillSwitchState, EscalationState]> {
    const gen = this.#controlGen;
    const startedAt = this.#clock.monotonic();
    const readNo = ++this.#controlReadNo;
    this.stats.controlReads += 1;
    // The probe's answer is a read of its own: `changed` must be asked first, so that a commit
    // between that and this read is seen by the next call.
    if (this.#probe && this.#controlStale) this.#probe.changed();
    const read = this.#probe
      ? await this.#probe.read()
      : await Promise.all([this.#inner.killSwitch(), this.#inner.escalation()]);
    if (gen === this.#controlGen && readNo > this.#controlHeldNo) {
      [this.#killSwitch, this.#escalation] = read;
      this.#controlStale = false;
      this.#controlReadAt = startedAt;
      this.#controlHeldNo = readNo;
    } else if (gen !== this.#controlGen) this.#probe?.forget();
    return read;
  }

  async close(): Promise<void> {
    this.#closedDown = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.#probe?.close();
  }
}

/** A Store whose active orders, kill switch and escalation are answered by its `live` view. */
export type LiveStore = Store & { readonly live: LiveView };

/** The view of a store, if it is one (the engine and benchmarks ask). */
export function liveViewOf(store: unknown): LiveView | undefined {
  if (typeof store !== 'object' || store === null) return undefined;
  const live: unknown = (store as { live?: unknown }).live;
  return live instanceof LiveView ? live : undefined;
}

/**
 * Decorates `inner` with a live view and loads it. Every other method passes through to `inner`
 * (so `instanceof` and the SQL store's extras still work); a method it does not know makes the
 * view load again on its next read.
 */
export async function openLiveStore(inner: Store, options: LiveViewOptions): Promise<LiveStore> {
  const view = new LiveView(inner, options);
  try {
    await view.load();
  } catch (error) {
    await view.close();
    throw error;
  }
  const wrote = <T>(work: Promise<T>, take: (result: T) => void): Promise<T> =>
    work.then(
      (result) => {
        take(result);
        return result;
      },
      (error: unknown) => {
        view.invalidate(); // it may have committed before it failed: never guess
        throw error;
      },
    );
  const offerOrder = (r: ApplyResult | RecordFillResult | AdoptResult) => {
    view.offer(r.order);
  };
  const control = <T>(work: Promise<T>): Promise<T> =>
    work.finally(() => {
      view.controlWritten();
    });
  const overrides: Partial<Record<keyof Store | 'live', unknown>> = {
    live: view,
    activeOrders: (symbol?: string) => view.activeOrders(symbol),
    killSwitch: () => view.killSwitch(),
    escalation: () => view.escalation(),
    journalOrder: (...args: Parameters<Store['journalOrder']>) =>
      wrote(inner.journalOrder(...args), (o) => {
        view.offer(o);
      }),
    journalOrders: (...args: Parameters<Store['journalOrders']>) =>
      wrote(inner.journalOrders(...args), (list) => {
        for (const o of list) view.offer(o);
      }),
    applyEvent: (...args: Parameters<Store['applyEvent']>) => wrote(inner.applyEvent(...args), offerOrder),
    recordFill: (...args: Parameters<Store['recordFill']>) => wrote(inner.recordFill(...args), offerOrder),
    adoptOrder: (...args: Parameters<Store['adoptOrder']>) => wrote(inner.adoptOrder(...args), offerOrder),
    adoptOrders: (...args: Parameters<Store['adoptOrders']>) =>
      wrote(inner.adoptOrders(...args), (list) => {
        for (const r of list) offerOrder(r);
      }),
    // A replace may move its old order (the cancel request) and journal the new one in its writes.
    beginReplace: (...args: Parameters<Store['beginReplace']>) =>
      wrote(inner.beginReplace(...args), (r: BeginReplaceResult) => {
        view.offer(r.ok ? r.old : 'order' in r ? r.order : undefined);
      }),
    advanceReplace: (...args: Parameters<Store['advanceReplace']>) =>
      wrote(inner.advanceReplace(...args), (r: AdvanceReplaceResult) => {
        if (!r.ok) return;
        view.offer(r.newOrder);
        view.offer(r.old);
      }),
    setKillSwitch: (...args: Parameters<Store['setKillSwitch']>) => control(inner.setKillSwitch(...args)),
    clearKillSwitch: (...args: Parameters<Store['clearKillSwitch']>) =>
      control(inner.clearKillSwitch(...args)),
    setEscalation: (...args: Parameters<Store['setEscalation']>) => control(inner.setEscalation(...args)),
    close: async () => {
      await view.close();
      await inner.close();
    },
  };
  // Wrapped once per lease store, not on every access.
  const wrappedLeases = new WeakMap<LeaseStore, LeaseStore>();
  const leaseStore = (leases: LeaseStore | undefined): LeaseStore | undefined => {
    if (leases === undefined) return undefined;
    let wrapped = wrappedLeases.get(leases);
    if (wrapped === undefined) {
      wrapped = {
        ...leases,
        // A symbol taken: what its previous holder left is read again before anyone here looks at it.
        acquireLease: async (symbol: string, ttlMs: number): Promise<AcquireResult> => {
          const result = await leases.acquireLease(symbol, ttlMs);
          if (result.ok) await view.reloadSymbol(symbol);
          return result;
        },
      };
      wrappedLeases.set(leases, wrapped);
    }
    return wrapped;
  };
  return new Proxy(inner, {
    get(target, key) {
      if (typeof key === 'string' && Object.hasOwn(overrides, key))
        return overrides[key as keyof typeof overrides];
      const value: unknown = Reflect.get(target, key, target);
      if (key === 'leaseStore') return leaseStore(value as LeaseStore | undefined);
      if (typeof value !== 'function') return value;
      const method = (value as (...a: unknown[]) => unknown).bind(target);
      if (INERT.has(key) || (typeof key === 'string' && PASS_THROUGH.has(key))) return method;
      // A method the view does not know may write orders: the next read loads them again.
      return (...args: unknown[]) => {
        view.invalidate();
        const result = method(...args);
        if (result instanceof Promise)
          void result.then(
            () => {
              view.invalidate();
            },
            () => {
              view.invalidate();
            },
          );
        return result;
      };
    },
  }) as LiveStore;
}
