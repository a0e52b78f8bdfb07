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
import * as reads from './order-reads.ts';
import * as writes from './order-writes.ts';
import * as replaces from './replaces.ts';
import { SqlKillSwitchControl } from './sql-control.ts';

/**
 * The Store on any SQL database Kysely speaks to: a dialect module opens the connection, applies
 * the migrations and hands it here. Each write below is one transaction.
 */
export class SqlStore extends SqlKillSwitchControl implements Store {
  async journalOrder(order: NewOrder): Promise<StoredOrder> {
    return this.tx((trx) => writes.journalOrder(trx, this.ctx, order));
  }

  async journalOrders(orders: readonly NewOrder[]): Promise<StoredOrder[]> {
    return this.tx(async (trx) => {
      const out: StoredOrder[] = [];
      for (const order of orders) out.push(await writes.journalOrder(trx, this.ctx, order));
      return out;
    });
  }

  async applyEvent(orderId: string, event: StatusEvent, expectedVersion?: number): Promise<ApplyResult> {
    return this.tx((trx) => writes.applyEvent(trx, this.ctx, orderId, event, expectedVersion));
  }

  async recordFill(fill: FillReport, source: FillSource, orderId?: string | null): Promise<RecordFillResult> {
    return this.tx((trx) => writes.recordFill(trx, this.ctx, fill, source, orderId));
  }

  async adoptOrder(report: OrderStatusReport, origin: 'adopted' | 'foreign'): Promise<AdoptResult> {
    return this.tx((trx) => writes.adoptOrder(trx, this.ctx, report, origin));
  }

  async order(id: string): Promise<StoredOrder | undefined> {
    return reads.findOrder(this.db, id);
  }

  async orderByClientId(clientOrderId: string): Promise<StoredOrder | undefined> {
    return reads.findOwnByClientId(this.db, clientOrderId);
  }

  async orderByExchangeId(exchangeOrderId: string): Promise<StoredOrder | undefined> {
    return reads.findByExchangeId(this.db, exchangeOrderId);
  }

  async activeOrders(symbol?: string): Promise<StoredOrder[]> {
    return reads.activeOrders(this.db, symbol);
  }

  async orders(query: OrderQuery = {}): Promise<StoredOrder[]> {
    return reads.listOrders(this.db, query);
  }

  async orderEvents(orderId: string): Promise<StoredOrderEvent[]> {
    return reads.orderEvents(this.db, orderId);
  }

  async fills(query: FillQuery = {}): Promise<StoredFill[]> {
    return reads.listFills(this.db, query);
  }

  async positions(symbol?: string): Promise<Position[]> {
    return reads.positions(this.db, symbol);
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
    return replaces.findReplace(this.db, id);
  }

  async openReplaces(): Promise<ReplaceTxn[]> {
    return replaces.openReplaces(this.db);
  }

  async fillCursor(symbol: string): Promise<FillCursor | undefined> {
    return control.fillCursor(this.db, symbol);
  }

  async advanceFillCursor(symbol: string, timestamp: number, tradeId: string): Promise<FillCursor> {
    return this.tx((trx) => control.advanceFillCursor(trx, this.ctx, symbol, timestamp, tradeId));
  }

  async setEscalation(level: EscalationLevel, reason: string): Promise<EscalationState> {
    return this.tx((trx) => control.setEscalation(trx, this.ctx, level, reason));
  }

  async recordEquitySnapshot(snapshot: EquitySnapshot): Promise<void> {
    await equity.recordEquitySnapshot(this.db, snapshot);
  }

  async equitySnapshots(query: EquityQuery = {}): Promise<EquitySnapshot[]> {
    return equity.equitySnapshots(this.db, query);
  }

  async lastEquitySnapshot(): Promise<EquitySnapshot | undefined> {
    return equity.lastEquitySnapshot(this.db);
  }
}
