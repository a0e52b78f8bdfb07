import type { EscalationState, KillSwitchState } from '../../ports/store.ts';

// The dashboard's read model: one JSON-safe snapshot of what the bot is doing, built by a source
// (a running session's, or a store's alone) and sent to the page as it is. Every figure is text
// or a number already rounded for reading; nothing in it comes from configuration, so no setting
// (and no key) can reach a page. A field only a running bot knows is null when none runs.

/** Money and quantities as decimal text, already rounded for reading. */
export type Amount = string;

export interface SymbolView {
  readonly symbol: string;
  /** Market data status (live, stale, …) and the age of its data; null without a running bot. */
  readonly status: string | null;
  readonly dataAgeMs: number | null;
  /** The book's best prices; null without a running bot or without a book. */
  readonly bookBid: Amount | null;
  readonly bookAsk: Amount | null;
  /** Our best resting buy and sell prices (from the store's open orders). */
  readonly ourBid: Amount | null;
  readonly ourAsk: Amount | null;
  /** The bot's own net base position from its fills. */
  readonly position: Amount;
  /** The base position the strategy aims for; null when it has none (or none is known). */
  readonly target: Amount | null;
  readonly averagePrice: Amount | null;
  readonly realised: Amount;
  /** Null without a mark (no running bot). */
  readonly unrealised: Amount | null;
  readonly fees: Amount;
  readonly fills: number;
  /** What holds new orders back on it now (running bot only); empty when it may trade. */
  readonly blockers: readonly string[];
}

export interface OrderView {
  readonly id: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: string;
  readonly price: Amount | null;
  readonly quantity: Amount;
  readonly filled: Amount;
  readonly state: string;
  readonly origin: string;
  readonly createdAt: number;
}

export interface FillView {
  readonly at: number;
  readonly symbol: string;
  readonly side: string;
  readonly price: Amount;
  readonly quantity: Amount;
  readonly fee: Amount;
  readonly feeAsset: string;
  readonly orderId: string | null;
}

export interface PnlView {
  readonly currency: string;
  readonly at: number;
  readonly equity: Amount;
  readonly cash: Amount;
  readonly realised: Amount;
  readonly unrealised: Amount;
  readonly fees: Amount;
  /** Equity from the store's snapshots (`store`) or valued now by the running bot (`live`). */
  readonly from: 'store' | 'live';
}

export type DecisionKind = 'placed' | 'replaced' | 'canceled' | 'rejected' | 'refused' | 'cancel-refused';

/** Why an order was placed, refused, canceled or replaced. */
export interface DecisionView {
  readonly at: number;
  readonly symbol: string | null;
  readonly kind: DecisionKind;
  readonly text: string;
}

/** An operator action from the audit trail (its detail is not shown: the page needs only the why). */
export interface AuditView {
  readonly at: number;
  readonly action: string;
  readonly source: string;
  readonly reason: string;
}

export interface ReconciliationView {
  readonly at: number;
  readonly clean: boolean;
  /** What it found, one line: "clean", or the failures and divergences. */
  readonly found: string;
}

export interface EngineView {
  readonly lastLoopAt: number | null;
  readonly evaluations: number;
  readonly submits: number;
  readonly cancels: number;
  readonly replaces: number;
  readonly actionFailures: number;
}

export interface BudgetView {
  /** The engine's own order budget: requests sent in the last minute, of its limit. */
  readonly used: number;
  readonly limit: number;
  readonly headroom: number;
}

/** One window of the exchange rate limiter's budget for an endpoint group (shared by every process on the key). */
export interface LimiterView {
  readonly group: string;
  readonly periodMs: number;
  readonly limit: number;
  readonly used: number;
  readonly remaining: number;
  /** A 429's Retry-After still in force, ms. */
  readonly blockedForMs: number;
}

/** A process on a store shared in cluster mode, as `btcbot status --cluster` reads it. */
export interface ClusterMemberView {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** Heartbeat within its lease time as of the read. */
  readonly alive: boolean;
  readonly heartbeatAt: number;
  /** The pairs it holds, each with its lease epoch. */
  readonly pairs: readonly { readonly symbol: string; readonly epoch: number }[];
  /** Its budget use as it reported it (named numbers), or null when it reported none. */
  readonly budget: Readonly<Record<string, number>> | null;
}

export interface ClusterSectionView {
  readonly at: number;
  readonly processes: readonly ClusterMemberView[];
  /** Leases no listed process holds (expired, or their holder gone): free for the taking. */
  readonly unheld: readonly { readonly symbol: string; readonly holder: string; readonly epoch: number }[];
}

export interface DashboardSnapshot {
  readonly at: number;
  /** `live`: a running bot's session; `store`: a store read alone (`btcbot dashboard --db`). */
  readonly source: 'live' | 'store';
  readonly running: boolean;
  readonly database: string;
  /** paper, dry-run or live; null without a running bot. */
  readonly mode: string | null;
  readonly symbols: readonly SymbolView[];
  readonly escalation: EscalationState;
  readonly killSwitch: KillSwitchState;
  /** Whether this dashboard may engage and release the kill switch. */
  readonly canControl: boolean;
  readonly engine: EngineView | null;
  readonly budget: BudgetView | null;
  /** The exchange rate limiter's headroom per group and window; null without a running bot. */
  readonly limiter: readonly LimiterView[] | null;
  readonly reconciliation: ReconciliationView | null;
  readonly pnl: PnlView | null;
  readonly openOrders: readonly OrderView[];
  readonly fills: readonly FillView[];
  readonly decisions: readonly DecisionView[];
  /** The operator-action trail, newest first. */
  readonly audit: readonly AuditView[];
  /** Every process on a store shared in cluster mode; null when no process row is on the store. */
  readonly cluster: ClusterSectionView | null;
  /** Inline SVG, rendered here from our own figures (every text in them escaped). */
  readonly charts: {
    readonly equity: string;
    readonly prices: readonly { readonly symbol: string; readonly svg: string }[];
  };
}

/** Builds snapshots; the server asks for one every second and after every change it makes. */
export interface DashboardSource {
  snapshot(): Promise<DashboardSnapshot>;
  close(): Promise<void>;
}

/** An operator action the dashboard performs, for the audit trail. */
export interface DashboardAction {
  readonly action: 'kill-switch-on' | 'kill-switch-off';
  readonly reason: string;
  /** Who asked, as the request showed it (the remote address), for the record. */
  readonly remote: string;
}

/**
 * Where dashboard actions are recorded with source "dashboard" (src/ports/audit.ts once the audit
 * trail exists; until then the caller passes what it has).
 */
export type DashboardAuditHook = (entry: DashboardAction) => Promise<void>;
