import type { Decimal } from 'decimal.js';
import type { OrderEventType, StatusEvent } from '../domain/lifecycle.ts';
import type { OrderMethod, OrderRequest, OrderState, Side } from '../domain/orders.ts';
import type { FillReport, OrderStatusReport } from '../domain/reports.ts';

// The durable store of the execution core. Every write that returns is durable — except the two
// that only say what a restart can learn again (a journaled order not yet marked sent, and an
// ack): they are visible at once and survive the process, and the next durable write makes them
// durable too; a power cut before it loses at most a never-sent order or an ack a restart looks up.
// Every write the lifecycle needs atomic is one transaction. Async so that a networked database fits the same
// port; expected outcomes (a forbidden transition, a lost optimistic race) come back as values,
// programming errors (an unknown order id) are thrown.

/** `local`: placed by this bot; `adopted`: ours by prefix, found on the exchange only; `foreign`: not ours. */
export type OrderOrigin = 'local' | 'adopted' | 'foreign';

export type FillSource = 'stream' | 'poll' | 'reconcile';

export interface NewOrder extends OrderRequest {
  readonly intentId?: string | null | undefined;
  readonly strategy?: string | null | undefined;
  /** Local id of the order this one replaces. */
  readonly replaceOf?: string | null | undefined;
}

export interface StoredOrder {
  readonly id: string; // local id
  readonly clientOrderId: string | null; // null only for foreign orders placed without one
  readonly exchangeOrderId: string | null;
  readonly symbol: string;
  readonly side: Side;
  readonly method: OrderMethod;
  readonly price: Decimal | null;
  readonly stopPrice: Decimal | null;
  /** Base quantity; 0 on an order sized by `quoteAmount` (its fills bring its base quantity). */
  readonly quantity: Decimal;
  /** Quote to spend, for a market buy sized in the quote currency; null otherwise. */
  readonly quoteAmount: Decimal | null;
  readonly filledQuantity: Decimal;
  readonly filledQuote: Decimal; // Σ price × quantity of the fills: exact, unlike the average
  readonly averagePrice: Decimal | null; // null until something filled
  readonly state: OrderState;
  readonly stateReason: string | null;
  readonly intentId: string | null;
  readonly strategy: string | null;
  readonly replaceOf: string | null;
  readonly origin: OrderOrigin;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** Bumped by every write; pass it back as `expectedVersion` to detect a concurrent change. */
  readonly version: number;
}

/** JSON-safe event detail; decimals are stored as their plain text. */
export type EventPayload = Readonly<Record<string, string | number | boolean | null>>;

export interface StoredOrderEvent {
  readonly orderId: string;
  readonly seq: number; // 1 for the creating event; equals the order's version after it
  readonly at: number;
  readonly type: OrderEventType | 'journaled' | 'adopted';
  readonly fromState: OrderState | null; // null on the creating event
  readonly toState: OrderState;
  readonly payload: EventPayload;
}

export interface StoredFill extends FillReport {
  readonly orderId: string | null; // null while no stored order matches it
  readonly source: FillSource;
  readonly recordedAt: number;
}

export type ApplyResult =
  | {
      readonly ok: true;
      readonly order: StoredOrder;
      /** null when the event taught nothing new (an observation of the state already held): not journaled. */
      readonly event: StoredOrderEvent | null;
    }
  | {
      readonly ok: false;
      readonly reason: 'invalid-transition' | 'version-conflict';
      readonly message: string;
      readonly order: StoredOrder; // as it is now; nothing was written
    };

export type RecordFillResult =
  | {
      readonly ok: true;
      /** false when the fill (trade id, exchange order id) was already recorded: nothing changed. */
      readonly isNew: boolean;
      readonly fill: StoredFill;
      readonly order: StoredOrder | null;
    }
  | {
      readonly ok: false;
      /** `mismatch`: the fill's symbol, side or exchange order id contradicts the order. */
      readonly reason: 'invalid-transition' | 'mismatch';
      readonly message: string;
      readonly order: StoredOrder; // nothing was written; record it unlinked (`orderId: null`) to keep it counted
    };

export interface AdoptResult {
  readonly created: boolean; // false when an order with that exchange id was already stored
  readonly order: StoredOrder;
}

export interface OrderQuery {
  readonly symbol?: string | undefined;
  readonly states?: readonly OrderState[] | undefined;
  readonly limit?: number | undefined; // newest first
}

export interface FillQuery {
  readonly orderId?: string | undefined;
  readonly symbol?: string | undefined;
  readonly since?: number | undefined; // fill timestamp ≥ since, ms
  /** recordedAt ≥ recordedSince, ms: what was stored since a reader last looked, whatever its timestamp. */
  readonly recordedSince?: number | undefined;
  readonly limit?: number | undefined;
}

/** Net result of the fills of one symbol. */
export interface Position {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  readonly bought: Decimal;
  readonly sold: Decimal;
  readonly net: Decimal; // bought − sold, in the base asset
  readonly boughtQuote: Decimal; // Σ price × quantity of buys
  readonly soldQuote: Decimal;
  readonly fees: Readonly<Record<string, Decimal>>; // fee + tax, per asset
  readonly fillCount: number;
}

export type ReplaceMode = 'safe' | 'fast';
/** Where a cancel/replace stands; a crash resumes it from here. */
export type ReplaceStep = 'started' | 'cancel-sent' | 'old-closed' | 'new-journaled' | 'done';
export type ReplaceOutcome = 'replaced' | 'nothing-left' | 'aborted';

export interface NewReplace {
  readonly oldOrderId: string;
  readonly newClientOrderId: string;
  /** What the replacement should rest with, counted from the old order's fills at the start. */
  readonly wantedQuantity: Decimal;
  readonly newPrice: Decimal | null;
  readonly newStopPrice: Decimal | null;
  readonly mode: ReplaceMode;
  readonly reason?: string | null | undefined; // e.g. why fast mode fell back to safe
  /**
   * Records the old order's cancel request (PENDING_CANCEL) in the same transaction and stores the
   * replace at step `cancel-sent`: safe mode's one synced commit before its DELETE.
   */
  readonly requestCancel?: boolean | undefined;
  /** Refused (`version-conflict`) when the old order is no longer at this version: the caller's copy is stale. */
  readonly oldVersion?: number | undefined;
  /** Admission, decided inside the transaction on what it reads (a reason refuses the replace: `refused`). */
  readonly admit?: ((view: ReplaceAdmissionView) => string | null) | undefined;
}

/** What a replace's admission sees, read in the transaction that begins it. */
export interface ReplaceAdmissionView {
  readonly killSwitch: KillSwitchState;
  readonly escalation: EscalationState;
  /** The old order's symbol's orders not yet closed, the old order among them. */
  readonly active: readonly StoredOrder[];
}

export interface ReplaceTxn {
  readonly id: string;
  readonly oldOrderId: string;
  readonly newClientOrderId: string;
  readonly newOrderId: string | null;
  readonly wantedQuantity: Decimal;
  /** The old order's filled quantity when the replace began: fills beyond it shrink the replacement. */
  readonly oldFilledAtStart: Decimal;
  readonly newPrice: Decimal | null;
  readonly newStopPrice: Decimal | null;
  readonly mode: ReplaceMode;
  readonly step: ReplaceStep;
  readonly outcome: ReplaceOutcome | null; // set with step "done"
  readonly reason: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly version: number;
}

export interface ReplaceChange {
  readonly step: ReplaceStep;
  readonly newOrderId?: string | undefined;
  readonly mode?: ReplaceMode | undefined;
  readonly outcome?: ReplaceOutcome | undefined; // required when step is "done"
  readonly reason?: string | undefined;
  /**
   * Journals the replacement marked sent (SUBMITTED) in the same transaction and links it
   * (`newOrderId`), unless the kill switch is on then (`kill-switch`, nothing written): the one
   * synced commit before its POST. An order already journaled under its client id is linked, not
   * journaled twice.
   */
  readonly newOrder?: NewOrder | undefined;
  /** An event for the old order, applied in the same transaction when the state machine allows it (else left out). */
  readonly oldEvent?: StatusEvent | undefined;
}

export interface ReplaceWriteOptions {
  /**
   * False: a mark a restart learns again (the exchange still says it), committed without a disk
   * sync of its own (as an ack is). Ignored when the change journals an order. Default true.
   */
  readonly durable?: boolean | undefined;
}

export type BeginReplaceResult =
  | {
      readonly ok: true;
      readonly txn: ReplaceTxn;
      /** The old order as the transaction left it (PENDING_CANCEL with `requestCancel`). */
      readonly old: StoredOrder;
    }
  | {
      readonly ok: false;
      readonly reason: 'replace-in-progress';
      readonly message: string;
      readonly txn: ReplaceTxn;
    }
  | {
      readonly ok: false;
      /** The old order moved on (`oldVersion`), cannot be cancelled now, or `admit` refused. */
      readonly reason: 'version-conflict' | 'invalid-transition' | 'refused';
      readonly message: string;
      readonly order: StoredOrder; // as it is now; nothing was written
    };

export type AdvanceReplaceResult =
  | {
      readonly ok: true;
      readonly txn: ReplaceTxn;
      /** The order journaled (or found) for `newOrder`. */
      readonly newOrder?: StoredOrder | undefined;
      /** True when this write journaled `newOrder` (marked sent: the caller owns its send). */
      readonly journaled?: boolean | undefined;
      /** The old order after `oldEvent` (as it is, when the event was left out). */
      readonly old?: StoredOrder | undefined;
    }
  | {
      readonly ok: false;
      readonly reason: 'version-conflict' | 'finished' | 'kill-switch';
      readonly message: string;
      readonly txn: ReplaceTxn;
    };

/** How far the fill history of a symbol has been read. */
export interface FillCursor {
  readonly symbol: string;
  readonly timestamp: number; // of the newest fill seen, ms
  readonly tradeId: string; // of the newest fill seen
  readonly updatedAt: number;
}

export type EscalationLevel = 'NORMAL' | 'REDUCE_ONLY' | 'HALTED';

export interface KillSwitchState {
  readonly on: boolean;
  readonly reason: string | null;
  readonly at: number | null; // when it last changed; null if it never did
}

export interface EscalationState {
  readonly level: EscalationLevel;
  readonly reason: string | null;
  readonly at: number | null;
}

/** The account valued at one moment, in one currency: what the equity curve and the loss ladder read. */
export interface EquitySnapshot {
  readonly at: number; // ms
  readonly currency: string; // "TRY"
  /** Cash plus every held asset that has a mark, valued at it. */
  readonly equity: Decimal;
  /** Holdings of `currency` itself. */
  readonly cash: Decimal;
  /** Of the bot's own fills, on average cost; fees and tax already deducted from realised. */
  readonly realised: Decimal;
  readonly unrealised: Decimal;
  readonly fees: Decimal;
  /** Highest equity seen up to this snapshot (the drawdown is measured from it). */
  readonly peakEquity: Decimal;
}

export interface EquityQuery {
  readonly since?: number | undefined; // at ≥ since, ms
  readonly limit?: number | undefined; // oldest first
}

/** Everything that can be read; a read-only opener (an operator command beside a running bot) gets only this. */
export interface StoreReader {
  /** Where the data lives, for messages. */
  readonly location: string;

  order(id: string): Promise<StoredOrder | undefined>;
  orderByClientId(clientOrderId: string): Promise<StoredOrder | undefined>;
  orderByExchangeId(exchangeOrderId: string): Promise<StoredOrder | undefined>;
  /**
   * The orders holding any of these exchange order ids, or (ours only, as `orderByClientId`) any of
   * these client order ids, each once, in no particular order: a set-based read for a pass over
   * many orders (a first reconciliation) instead of one lookup per id.
   */
  ordersByIds(ids: {
    readonly exchangeOrderIds?: readonly string[] | undefined;
    readonly clientOrderIds?: readonly string[] | undefined;
  }): Promise<StoredOrder[]>;
  /** Orders not yet closed (see `isClosed`): what start-up reconciliation must look at. */
  activeOrders(symbol?: string): Promise<StoredOrder[]>;
  /** Newest first. */
  orders(query?: OrderQuery): Promise<StoredOrder[]>;
  orderEvents(orderId: string): Promise<StoredOrderEvent[]>;

  /** Oldest first. */
  fills(query?: FillQuery): Promise<StoredFill[]>;
  positions(symbol?: string): Promise<Position[]>;

  replace(id: string): Promise<ReplaceTxn | undefined>;
  /** Transactions not yet done, oldest first: what a restart resumes. */
  openReplaces(): Promise<ReplaceTxn[]>;

  fillCursor(symbol: string): Promise<FillCursor | undefined>;
  killSwitch(): Promise<KillSwitchState>;
  escalation(): Promise<EscalationState>;

  /** Oldest first. */
  equitySnapshots(query?: EquityQuery): Promise<EquitySnapshot[]>;
  lastEquitySnapshot(): Promise<EquitySnapshot | undefined>;

  close(): Promise<void>;
}

/**
 * The kill switch, for an operator beside a running bot: the only write that takes no writer lock
 * (one settings row; a running bot reads it on every evaluation and before every new order).
 */
export interface KillSwitchControl {
  /** Where the data lives, for messages. */
  readonly location: string;
  killSwitch(): Promise<KillSwitchState>;
  escalation(): Promise<EscalationState>;
  setKillSwitch(on: boolean, reason: string): Promise<KillSwitchState>;
  /**
   * Turns the kill switch off and takes the escalation ladder back to NORMAL, in one transaction:
   * HALTED turned the switch on, and stepping back up is the operator's call.
   */
  clearKillSwitch(reason: string): Promise<{ killSwitch: KillSwitchState; escalation: EscalationState }>;
  close(): Promise<void>;
}

export interface JournalOptions {
  /** Mark the order sent in the same write (see Store.journalOrder). Default false. */
  readonly sent?: boolean | undefined;
}

export interface Store extends StoreReader, KillSwitchControl {
  /**
   * Writes the PENDING_SUBMIT row and its first event in one transaction, without a disk sync of its
   * own: what must be durable before sending is the `sent` mark (applyEvent), which syncs both. With
   * `sent`, the order is marked sent in the same transaction (SUBMITTED, its `journaled` and `sent`
   * events), synced: for the caller that sends it next, and so owns its send.
   */
  journalOrder(order: NewOrder, options?: JournalOptions): Promise<StoredOrder>;
  /** Several orders in one transaction (one disk sync); all or none. */
  journalOrders(orders: readonly NewOrder[]): Promise<StoredOrder[]>;
  /**
   * Checks the event with the state machine, appends it and updates the order in one transaction.
   * With `expectedVersion`, refuses if the order changed since it was read.
   */
  applyEvent(orderId: string, event: StatusEvent, expectedVersion?: number): Promise<ApplyResult>;
  /**
   * Records a fill once per (trade id, exchange order id) — both sides of a self-match share one
   * trade id and are two fills — and in the same transaction moves its order's filled
   * quantity, average price and state. The order is `orderId` if given (null: record unlinked), else
   * found by exchange order id, else by client order id; a fill matching no order is kept unlinked.
   */
  recordFill(fill: FillReport, source: FillSource, orderId?: string | null): Promise<RecordFillResult>;
  /**
   * Stores an order found on the exchange but not here (ours by prefix, or foreign), linking and
   * counting any fills already recorded unlinked for it. Idempotent by exchange order id. When one
   * of our orders already has the report's client id, that order is returned unchanged (`created:
   * false`): it is an unresolved submit, to be resolved with `applyEvent`, not a second order.
   */
  adoptOrder(report: OrderStatusReport, origin: 'adopted' | 'foreign'): Promise<AdoptResult>;
  /**
   * `adoptOrder` for several reports in one transaction (one disk sync), results in their order,
   * each as if adopted one after another: what a first reconciliation that finds thousands of
   * orders calls.
   */
  adoptOrders(reports: readonly OrderStatusReport[], origin: 'adopted' | 'foreign'): Promise<AdoptResult[]>;

  /** At most one open transaction per old order. */
  beginReplace(replace: NewReplace): Promise<BeginReplaceResult>;
  advanceReplace(
    id: string,
    change: ReplaceChange,
    expectedVersion: number,
    options?: ReplaceWriteOptions,
  ): Promise<AdvanceReplaceResult>;

  /** Moves the cursor forward; a cursor older than the stored one is ignored. Returns the stored cursor. */
  advanceFillCursor(symbol: string, timestamp: number, tradeId: string): Promise<FillCursor>;
  /** HALTED also turns the kill switch on (reason "HALTED: …"), in the same transaction. */
  setEscalation(level: EscalationLevel, reason: string): Promise<EscalationState>;
  /** Appends a point of the equity curve; a second snapshot at the same millisecond replaces the first. */
  recordEquitySnapshot(snapshot: EquitySnapshot): Promise<void>;
}
