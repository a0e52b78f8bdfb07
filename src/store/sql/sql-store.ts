import type { Kysely, Transaction } from 'kysely';
import type { StatusEvent } from '../../domain/lifecycle.ts';
import type { FillReport, OrderStatusReport } from '../../domain/reports.ts';
import type {
  AdoptResult,
  AdvanceReplaceResult,
  ApplyResult,
  BeginReplaceResult,
  EquityQuery,
  EquitySnapshot,
  EscalationLevel,
  EscalationState,
  FillCursor,
  FillQuery,
  FillSource,
  JournalOptions,
  NewOrder,
  NewReplace,
  OrderQuery,
  Position,
  RecordFillResult,
  ReplaceChange,
  ReplaceTxn,
  ReplaceWriteOptions,
  Store,
  StoredFill,
  StoredOrder,
  StoredOrderEvent,
} from '../../ports/store.ts';
import type {
  AcquireResult,
  ClusterProcess,
  ClusterReader,
  Lease,
  LeaseStore,
  ProcessReport,
} from '../../ports/leases.ts';
import * as control from './control.ts';
import * as equity from './equity.ts';
import { GroupCommit, type CommitStats, type Work, type WriteOptions } from './group-commit.ts';
import { fenceStatement, LeaseBook, listLeases, listProcesses } from './leases.ts';
import * as reads from './order-reads.ts';
import type { KnownOrders } from './order-reads.ts';
import { RecentOrders } from './recent-orders.ts';
import * as writes from './order-writes.ts';
import * as replaces from './replaces.ts';
import type { StoreSchema } from './schema.ts';
import { SqlKillSwitchControl, type SqlStoreOptions } from './sql-control.ts';

/**
 * Status events whose record needs no disk sync of its own. An ack only repeats what the exchange
 * will tell again: lost with the power, it leaves the order SUBMITTED, which a restart resolves by
 * looking the order up, as it must for any order whose reply was never recorded. Anything done
 * about the order afterwards (a cancel request, a fill) is a synced write that makes it durable.
 */
const UNSYNCED_EVENTS: ReadonlySet<StatusEvent['type']> = new Set(['acked']);

/** Cluster mode: several processes write the store, each symbol's orders fenced by its lease. */
export interface ClusterStoreOptions {
  /** This process's id on the store: the holder of its leases. */
  readonly holder: string;
  /** Lock the lease row the fence reads until the write commits (PostgreSQL: many writers at once). */
  readonly rowLocks: boolean;
}

/**
 * The Store on any SQL database Kysely speaks to: a dialect module opens the connection, applies
 * the migrations and hands it here. Each write below is atomic on its own and durable when it
 * returns; writes that arrive together share one transaction and one disk sync (group commit).
 */
export class SqlStore extends SqlKillSwitchControl implements Store, ClusterReader {
  readonly #writer: GroupCommit;
  readonly #dataVersion: (() => unknown) | undefined;
  /** Cluster mode only: without it no write is fenced and nothing about leases runs on the hot path. */
  readonly #leases: LeaseBook | undefined;
  /** The orders committed last, so the ack after a submit need not read its row again. */
  readonly #recent = new RecentOrders();
  /** The recent copies as the writes take them (see currentOrder in order-reads.ts). */
  readonly #known: KnownOrders = (id) => this.#recent.get(id);

  constructor(db: Kysely<StoreSchema>, options: SqlStoreOptions, cluster?: ClusterStoreOptions) {
    super(db, options);
    this.#writer = new GroupCommit(db, options.unsyncedCommit);
    this.#dataVersion = options.dataVersion;
    this.#leases =
      cluster === undefined ? undefined : new LeaseBook(cluster.holder, fenceStatement(db, cluster.rowLocks));
  }

  /** The epoch to stamp an order on `symbol` with, checked against its lease in `trx`; null outside cluster mode. */
  #fence(trx: Transaction<StoreSchema>, symbol: string): Promise<number | null> {
    return this.#leases === undefined ? Promise.resolve(null) : this.#leases.check(trx, symbol);
  }

  /** This store's leases, when it was opened in cluster mode. */
  get leaseStore(): LeaseStore | undefined {
    const book = this.#leases;
    if (book === undefined) return undefined;
    const now = (): number => this.ctx.clock.now();
    return {
      holder: book.holder,
      acquireLease: (symbol: string, ttlMs: number): Promise<AcquireResult> =>
        this.tx((trx) => book.acquire(trx, symbol, now(), ttlMs)),
      renewLease: (symbol: string, epoch: number, ttlMs: number): Promise<Lease | null> =>
        this.tx((trx) => book.renew(trx, symbol, epoch, now(), ttlMs)),
      releaseLease: (symbol: string, epoch: number): Promise<void> =>
        this.tx((trx) => book.release(trx, symbol, epoch, now())),
      leases: () => this.leases(),
      reportProcess: (report: ProcessReport): Promise<void> =>
        this.tx((trx) => book.report(trx, report, now())),
      removeProcess: (): Promise<void> => this.tx((trx) => book.remove(trx)),
      processes: () => this.processes(),
    };
  }

  async leases(): Promise<Lease[]> {
    return listLeases(await this.conn());
  }

  async processes(): Promise<ClusterProcess[]> {
    return listProcesses(await this.conn());
  }

  protected override tx<T>(work: Work<T>, options?: WriteOptions): Promise<T> {
    return this.#writer.run(work, options);
  }

  // A read waits for the writes asked for before it (they may still be queued for their group).
  protected override async conn(): Promise<Kysely<StoreSchema>> {
    await this.#writer.settled();
    return this.db;
  }

  /** Writes asked for before the close still commit (their callers are waiting on them). */
  override async close(): Promise<void> {
    await this.#writer.settled();
    await super.close();
  }

  /** This database and writer, for a narrow port beside the Store (src/store/sql/alerts.ts). */
  sqlAccess(): {
    write: <T>(work: Work<T>, options?: WriteOptions) => Promise<T>;
    read: () => Promise<Kysely<StoreSchema>>;
  } {
    return { write: (work, options) => this.tx(work, options), read: () => this.conn() };
  }

  /**
   * SQLite: a value that changes only when another connection commits (see SqlStoreOptions), for
   * src/store/live-view.ts to tell another process's kill switch from this store's own writes.
   * Undefined where the database cannot tell (PostgreSQL: the view polls).
   */
  get dataVersion(): (() => unknown) | undefined {
    return this.#dataVersion;
  }

  /** How the writes so far were grouped into commits (for benchmarks and tests; not part of the port). */
  commitStats(): CommitStats {
    return this.#writer.stats();
  }

  // A journaled order not yet marked sent needs no disk sync of its own: the `sent` mark that must
  // be durable before the request leaves is a synced commit after it, which (the log being written
  // in order) makes this row durable too; a row lost with the power was never sent. Marked sent in
  // the same write, it is synced like the mark.
  async journalOrder(order: NewOrder, options: JournalOptions = {}): Promise<StoredOrder> {
    const sent = options.sent === true;
    const leases = this.#leases;
    // Outside cluster mode the submit path runs exactly as before: no fence, not even a promise.
    const stored = await (leases === undefined
      ? this.tx((trx) => writes.journalOrder(trx, this.ctx, order, sent), { durable: sent })
      : this.tx(
          async (trx) =>
            writes.journalOrder(trx, this.ctx, order, sent, await leases.check(trx, order.symbol)),
          { durable: sent },
        ));
    this.#recent.remember(stored);
    return stored;
  }

  async journalOrders(orders: readonly NewOrder[]): Promise<StoredOrder[]> {
    return this.tx(async (trx) => {
      const out: StoredOrder[] = [];
      for (const order of orders)
        out.push(
          await writes.journalOrder(trx, this.ctx, order, false, await this.#fence(trx, order.symbol)),
        );
      return out;
    });
  }

  async applyEvent(orderId: string, event: StatusEvent, expectedVersion?: number): Promise<ApplyResult> {
    const leases = this.#leases;
    const result = await this.tx(
      (trx) =>
        writes.applyEvent(
          trx,
          this.ctx,
          orderId,
          event,
          expectedVersion,
          leases && ((symbol) => leases.check(trx, symbol)),
          // Read when the write runs, not when it is asked for: a write queued before it may commit first.
          this.#known,
        ),
      { durable: !UNSYNCED_EVENTS.has(event.type) },
    );
    this.#recent.remember(result.order);
    return result;
  }

  async recordFill(fill: FillReport, source: FillSource, orderId?: string | null): Promise<RecordFillResult> {
    const result = await this.tx((trx) =>
      writes.recordFill(trx, this.ctx, fill, source, orderId, this.#known),
    );
    this.#recent.remember(result.order);
    return result;
  }

  async adoptOrder(report: OrderStatusReport, origin: 'adopted' | 'foreign'): Promise<AdoptResult> {
    return this.tx((trx) => writes.adoptOrder(trx, this.ctx, report, origin));
  }

  async adoptOrders(
    reports: readonly OrderStatusReport[],
    origin: 'adopted' | 'foreign',
  ): Promise<AdoptResult[]> {
    if (reports.length === 0) return [];
    return this.tx((trx) => writes.adoptOrders(trx, this.ctx, reports, origin));
  }

  async order(id: string): Promise<StoredOrder | undefined> {
    return reads.findOrder(await this.conn(), this.ctx, id);
  }

  async orderByClientId(clientOrderId: string): Promise<StoredOrder | undefined> {
    return reads.findOwnByClientId(await this.conn(), this.ctx, clientOrderId);
  }

  async orderByExchangeId(exchangeOrderId: string): Promise<StoredOrder | undefined> {
    return reads.findByExchangeId(await this.conn(), this.ctx, exchangeOrderId);
  }

  async ordersByIds(ids: {
    readonly exchangeOrderIds?: readonly string[] | undefined;
    readonly clientOrderIds?: readonly string[] | undefined;
  }): Promise<StoredOrder[]> {
    return reads.findByIds(await this.conn(), ids);
  }

  async activeOrders(symbol?: string): Promise<StoredOrder[]> {
    return reads.activeOrders(await this.conn(), symbol);
  }

  async orders(query: OrderQuery = {}): Promise<StoredOrder[]> {
    return reads.listOrders(await this.conn(), query);
  }

  async orderEvents(orderId: string): Promise<StoredOrderEvent[]> {
    return reads.orderEvents(await this.conn(), orderId);
  }

  async fills(query: FillQuery = {}): Promise<StoredFill[]> {
    return reads.listFills(await this.conn(), this.ctx, query);
  }

  async positions(symbol?: string): Promise<Position[]> {
    return reads.positions(await this.conn(), symbol);
  }

  async beginReplace(replace: NewReplace): Promise<BeginReplaceResult> {
    const leases = this.#leases;
    const result = await this.tx((trx) =>
      replaces.beginReplace(
        trx,
        this.ctx,
        replace,
        leases && ((symbol) => leases.check(trx, symbol)),
        this.#known,
      ),
    );
    if (result.ok) this.#recent.remember(result.old);
    return result;
  }

  async advanceReplace(
    id: string,
    change: ReplaceChange,
    expectedVersion: number,
    options: ReplaceWriteOptions = {},
  ): Promise<AdvanceReplaceResult> {
    // A step that journals the replacement is its one synced commit before the POST (fenced like a journal).
    const journals = change.newOrder !== undefined;
    const result = await this.tx(
      (trx) =>
        replaces.advanceReplace(
          trx,
          this.ctx,
          id,
          change,
          expectedVersion,
          (symbol) => this.#fence(trx, symbol),
          this.#known,
        ),
      { durable: journals || options.durable !== false },
    );
    if (result.ok) {
      this.#recent.remember(result.old);
      this.#recent.remember(result.newOrder);
    }
    return result;
  }

  async replace(id: string): Promise<ReplaceTxn | undefined> {
    return replaces.findReplace(await this.conn(), id);
  }

  async openReplaces(): Promise<ReplaceTxn[]> {
    return replaces.openReplaces(await this.conn(), this.ctx);
  }

  async fillCursor(symbol: string): Promise<FillCursor | undefined> {
    return control.fillCursor(await this.conn(), this.ctx, symbol);
  }

  async advanceFillCursor(symbol: string, timestamp: number, tradeId: string): Promise<FillCursor> {
    return this.tx((trx) => control.advanceFillCursor(trx, this.ctx, symbol, timestamp, tradeId));
  }

  async setEscalation(level: EscalationLevel, reason: string): Promise<EscalationState> {
    return this.tx((trx) => control.setEscalation(trx, this.ctx, level, reason));
  }

  async recordEquitySnapshot(snapshot: EquitySnapshot): Promise<void> {
    await equity.recordEquitySnapshot(await this.conn(), snapshot);
  }

  async equitySnapshots(query: EquityQuery = {}): Promise<EquitySnapshot[]> {
    return equity.equitySnapshots(await this.conn(), query);
  }

  async lastEquitySnapshot(): Promise<EquitySnapshot | undefined> {
    return equity.lastEquitySnapshot(await this.conn());
  }
}

/** The leases of a store opened in cluster mode; undefined for any other store. */
export function leasesOf(store: unknown): LeaseStore | undefined {
  return store instanceof SqlStore ? store.leaseStore : undefined;
}

/** The cluster's leases and processes as any opener of a SQL store (a reader too) sees them. */
export function clusterOf(store: unknown): ClusterReader | undefined {
  return store instanceof SqlStore ? store : undefined;
}
