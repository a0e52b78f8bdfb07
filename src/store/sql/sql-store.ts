import type { Kysely } from 'kysely';
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
  Store,
  StoredFill,
  StoredOrder,
  StoredOrderEvent,
} from '../../ports/store.ts';
import * as control from './control.ts';
import * as equity from './equity.ts';
import { GroupCommit, type CommitStats, type Work, type WriteOptions } from './group-commit.ts';
import * as reads from './order-reads.ts';
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

/**
 * The Store on any SQL database Kysely speaks to: a dialect module opens the connection, applies
 * the migrations and hands it here. Each write below is atomic on its own and durable when it
 * returns; writes that arrive together share one transaction and one disk sync (group commit).
 */
export class SqlStore extends SqlKillSwitchControl implements Store {
  readonly #writer: GroupCommit;

  constructor(db: Kysely<StoreSchema>, options: SqlStoreOptions) {
    super(db, options);
    this.#writer = new GroupCommit(db, options.unsyncedCommit);
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
    return this.tx((trx) => writes.journalOrder(trx, this.ctx, order, sent), { durable: sent });
  }

  async journalOrders(orders: readonly NewOrder[]): Promise<StoredOrder[]> {
    return this.tx(async (trx) => {
      const out: StoredOrder[] = [];
      for (const order of orders) out.push(await writes.journalOrder(trx, this.ctx, order));
      return out;
    });
  }

  async applyEvent(orderId: string, event: StatusEvent, expectedVersion?: number): Promise<ApplyResult> {
    return this.tx((trx) => writes.applyEvent(trx, this.ctx, orderId, event, expectedVersion), {
      durable: !UNSYNCED_EVENTS.has(event.type),
    });
  }

  async recordFill(fill: FillReport, source: FillSource, orderId?: string | null): Promise<RecordFillResult> {
    return this.tx((trx) => writes.recordFill(trx, this.ctx, fill, source, orderId));
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
    return reads.findOwnByClientId(await this.conn(), clientOrderId);
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
    return reads.listFills(await this.conn(), query);
  }

  async positions(symbol?: string): Promise<Position[]> {
    return reads.positions(await this.conn(), symbol);
  }

  async beginReplace(replace: NewReplace): Promise<BeginReplaceResult> {
    return this.tx((trx) => replaces.beginReplace(trx, this.ctx, replace));
  }

  async advanceReplace(
    id: string,
    change: ReplaceChange,
    expectedVersion: number,
  ): Promise<AdvanceReplaceResult> {
    return this.tx((trx) => replaces.advanceReplace(trx, this.ctx, id, change, expectedVersion));
  }

  async replace(id: string): Promise<ReplaceTxn | undefined> {
    return replaces.findReplace(await this.conn(), id);
  }

  async openReplaces(): Promise<ReplaceTxn[]> {
    return replaces.openReplaces(await this.conn());
  }

  async fillCursor(symbol: string): Promise<FillCursor | undefined> {
    return control.fillCursor(await this.conn(), symbol);
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
