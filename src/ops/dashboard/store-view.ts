import type { Decimal } from 'decimal.js';
import { fillKey } from '../../domain/reports.ts';
import { accountFills, type PositionPnl } from '../../oms/accounting.ts';
import type { EquitySnapshot, StoredFill, StoredOrder, StoreReader } from '../../ports/store.ts';
import { auditLogOf } from '../../store/sql/audit.ts';
import { clusterOf } from '../../store/sql/sql-store.ts';
import { clusterView, type ClusterView } from '../leases/cluster-status.ts';
import type { AuditView, DecisionView, FillView, OrderView } from './model.ts';

// What a store alone tells the dashboard: orders, fills, positions from the fills, the equity
// curve, the kill switch and the escalation ladder, and the decisions its order journal records.
// Read-only; every read goes through StoreReader, so it works beside a running bot.

/** Decimal text for reading: at most `places` decimals, no exponent, no trailing zeros. */
export function amount(value: Decimal, places = 8): string {
  return value.toDecimalPlaces(places).toFixed();
}

export const MONEY_PLACES = 2;

const EQUITY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface StoreViewLimits {
  readonly fills: number;
  readonly orders: number;
  readonly decisions: number;
  readonly equityPoints: number;
  /** Orders (of any state) read for the price chart and the decisions. */
  readonly recentOrders: number;
  readonly audit: number;
}

export const DEFAULT_LIMITS: StoreViewLimits = {
  fills: 50,
  orders: 100,
  decisions: 40,
  equityPoints: 2_000,
  recentOrders: 200,
  audit: 20,
};

export interface StoreView {
  readonly database: string;
  readonly escalation: Awaited<ReturnType<StoreReader['escalation']>>;
  readonly killSwitch: Awaited<ReturnType<StoreReader['killSwitch']>>;
  /** Ours (not foreign), not yet closed. */
  readonly active: readonly StoredOrder[];
  /** Newest first, any state: for the price chart and the decisions. */
  readonly recent: readonly StoredOrder[];
  /** Oldest first, every fill the store holds. */
  readonly allFills: readonly StoredFill[];
  readonly positions: ReadonlyMap<string, PositionPnl>;
  readonly equity: readonly EquitySnapshot[];
  readonly lastEquity: EquitySnapshot | undefined;
  readonly decisions: readonly DecisionView[];
  readonly audit: readonly AuditView[];
  /** What `btcbot status --cluster` reads (same function); null for a store with no cluster tables. */
  readonly cluster: ClusterView | null;
}

/**
 * Reads a store for the dashboard, keeping what it read: fills are read again only from where
 * the last read ended (by the time they were recorded), so a long history is read once.
 */
export class StoreViewReader {
  readonly #reader: StoreReader;
  readonly #limits: StoreViewLimits;
  readonly #now: () => number;
  readonly #fills = new Map<string, StoredFill>();
  #fillsSorted: StoredFill[] = [];
  #recordedSince: number | undefined;
  readonly #equityPoints: EquitySnapshot[] = [];
  #reading: Promise<StoreView> | null = null;
  /** Decisions of the orders last read, by order id, with the order version they were read at. */
  readonly #journals = new Map<string, { version: number; decisions: DecisionView[] }>();

  constructor(reader: StoreReader, limits: Partial<StoreViewLimits> = {}, now: () => number = Date.now) {
    this.#reader = reader;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#now = now;
  }

  get limits(): StoreViewLimits {
    return this.#limits;
  }

  async #readFills(): Promise<StoredFill[]> {
    const fresh = await this.#reader.fills(
      this.#recordedSince === undefined ? {} : { recordedSince: this.#recordedSince },
    );
    let added = false;
    for (const fill of fresh) {
      const key = fillKey(fill);
      const known = this.#fills.get(key);
      // A fill recorded unlinked can be linked to its order later: keep the newest reading.
      if (known?.orderId !== fill.orderId || known.recordedAt !== fill.recordedAt) added = true;
      this.#fills.set(key, fill);
      // `recordedSince` is inclusive: the next read repeats the last millisecond, deduplicated above.
      this.#recordedSince = Math.max(this.#recordedSince ?? 0, fill.recordedAt);
    }
    if (added || this.#recordedSince === undefined)
      this.#fillsSorted = [...this.#fills.values()].sort(
        (a, b) => a.timestamp - b.timestamp || (a.tradeId < b.tradeId ? -1 : 1),
      );
    return this.#fillsSorted;
  }

  /** One read at a time: callers asking meanwhile share the read under way (its caches are not re-entrant). */
  read(): Promise<StoreView> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = null;
    });
    return this.#reading;
  }

  async #read(): Promise<StoreView> {
    const reader = this.#reader;
    const lastEquity = await reader.lastEquitySnapshot();
    const cluster = clusterOf(reader);
    const [escalation, killSwitch, active, recent, allFills, equity, audit, clustered] = await Promise.all([
      reader.escalation(),
      reader.killSwitch(),
      reader.activeOrders(),
      reader.orders({ limit: this.#limits.recentOrders }),
      this.#readFills(),
      this.#equity(lastEquity),
      auditLogOf(reader).entries({ limit: this.#limits.audit }),
      cluster === undefined ? null : clusterView(cluster, this.#now()),
    ]);
    const ours = active.filter((o) => o.origin !== 'foreign');
    return {
      database: reader.location,
      escalation,
      killSwitch,
      active: ours,
      recent,
      allFills,
      positions: accountFills(allFills),
      equity,
      lastEquity,
      decisions: await this.#decisions(recent),
      audit: audit.map((e) => ({ at: e.at, action: e.action, source: e.source, reason: e.reason })),
      cluster: clustered,
    };
  }

  async #equity(last: EquitySnapshot | undefined): Promise<EquitySnapshot[]> {
    if (last === undefined) return [];
    // Read once from a day before the last point, then only what is newer than the newest kept.
    const newest = this.#equityPoints.at(-1);
    const since = newest === undefined ? last.at - EQUITY_WINDOW_MS : newest.at + 1;
    if (newest === undefined || last.at > newest.at) {
      const points = await this.#reader.equitySnapshots({ since });
      this.#equityPoints.push(...points);
      const from = last.at - EQUITY_WINDOW_MS;
      const drop = this.#equityPoints.findIndex((p) => p.at >= from);
      if (drop > 0) this.#equityPoints.splice(0, drop);
    }
    return this.#equityPoints.slice(-this.#limits.equityPoints);
  }

  async #decisions(recent: readonly StoredOrder[]): Promise<DecisionView[]> {
    const orders = recent.filter((o) => o.origin === 'local').slice(0, this.#limits.decisions);
    // An order's journal is read again only when the order changed (its version moved).
    const read = await Promise.all(
      orders.map(async (order): Promise<[string, { version: number; decisions: DecisionView[] }]> => {
        const known = this.#journals.get(order.id);
        if (known?.version === order.version) return [order.id, known];
        const events = await this.#reader.orderEvents(order.id);
        const decisions = events.flatMap((e) => decisionOf(order, e.type, e.at, e.payload.reason) ?? []);
        return [order.id, { version: order.version, decisions }];
      }),
    );
    this.#journals.clear();
    for (const [id, journal] of read) this.#journals.set(id, journal);
    const out = read.flatMap(([, journal]) => journal.decisions);
    return out.sort((a, b) => b.at - a.at).slice(0, this.#limits.decisions);
  }
}

function orderText(order: StoredOrder): string {
  const price = order.price === null ? 'market' : `@ ${amount(order.price)}`;
  return `${order.side} ${amount(order.quantity)} ${order.symbol} ${price}`;
}

/** The decision an order's journal entry records, or null for bookkeeping (sent, acked, fills). */
export function decisionOf(
  order: StoredOrder,
  type: string,
  at: number,
  reason: string | number | boolean | null | undefined,
): DecisionView | null {
  const why = typeof reason === 'string' && reason !== '' ? reason : null;
  const slot = order.intentId === null ? '' : ` for slot ${order.intentId}`;
  const by = order.strategy === null ? '' : ` (${order.strategy})`;
  const base = { at, symbol: order.symbol };
  switch (type) {
    case 'journaled':
      return order.replaceOf === null
        ? { ...base, kind: 'placed', text: `placed ${orderText(order)}${slot}${by}` }
        : {
            ...base,
            kind: 'replaced',
            text: `replaced order ${order.replaceOf} with ${orderText(order)}${slot}${by}`,
          };
    case 'rejected':
    case 'resolved-not-found':
      return { ...base, kind: 'rejected', text: `${orderText(order)} refused: ${why ?? type}` };
    case 'cancel-requested':
      return { ...base, kind: 'canceled', text: `cancel asked for ${orderText(order)}${slot}` };
    case 'canceled':
      return {
        ...base,
        kind: 'canceled',
        text: `${orderText(order)} canceled${why === null ? '' : `: ${why}`}`,
      };
    case 'cancel-refused':
      return { ...base, kind: 'cancel-refused', text: `cancel of ${orderText(order)} refused: ${why ?? ''}` };
    default:
      return null;
  }
}

export function orderView(order: StoredOrder): OrderView {
  return {
    id: order.id,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    price: order.price === null ? null : amount(order.price),
    quantity: amount(order.quantity),
    filled: amount(order.filledQuantity),
    state: order.state,
    origin: order.origin,
    createdAt: order.createdAt,
  };
}

export function fillView(fill: StoredFill): FillView {
  return {
    at: fill.timestamp,
    symbol: fill.symbol,
    side: fill.side,
    price: amount(fill.price),
    quantity: amount(fill.quantity),
    fee: amount(fill.fee.add(fill.tax)),
    feeAsset: fill.feeAsset,
    orderId: fill.orderId,
  };
}

/** Our best resting price per side of a symbol: the highest buy and the lowest sell. */
export function ourQuotes(
  active: readonly StoredOrder[],
  symbol: string,
): { bid: Decimal | null; ask: Decimal | null } {
  let bid: Decimal | null = null;
  let ask: Decimal | null = null;
  for (const o of active) {
    if (o.symbol !== symbol || o.price === null) continue;
    if (o.side === 'buy' && (bid === null || o.price.gt(bid))) bid = o.price;
    if (o.side === 'sell' && (ask === null || o.price.lt(ask))) ask = o.price;
  }
  return { bid, ask };
}
