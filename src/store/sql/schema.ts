// Row shapes of the store's tables, as the query layer sees them. Decimals are TEXT (never a binary
// float), ids are TEXT, times are integer milliseconds. Shared by every SQL dialect the store runs on.

export interface OrdersTable {
  id: string;
  client_order_id: string | null;
  exchange_order_id: string | null;
  symbol: string;
  side: string;
  method: string;
  price: string | null;
  stop_price: string | null;
  quantity: string;
  /** Added by migration 0004: quote to spend, for a market buy sized in the quote currency. */
  quote_amount: string | null;
  /** Added by migration 0007: the epoch of the symbol's lease the order was journaled under (cluster mode). */
  lease_epoch: number | null;
  filled_quantity: string;
  filled_quote: string;
  average_price: string | null;
  state: string;
  state_reason: string | null;
  intent_id: string | null;
  strategy: string | null;
  replace_of: string | null;
  origin: string;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface OrderEventsTable {
  order_id: string;
  seq: number;
  at: number;
  type: string;
  from_state: string | null;
  to_state: string;
  payload: string; // JSON object
}

export interface FillsTable {
  trade_id: string;
  order_id: string | null;
  exchange_order_id: string;
  client_order_id: string | null;
  symbol: string;
  base: string;
  quote: string;
  side: string;
  price: string;
  quantity: string;
  fee: string;
  tax: string;
  fee_asset: string;
  timestamp: number;
  source: string;
  recorded_at: number;
}

export interface ReplaceTxnsTable {
  id: string;
  old_order_id: string;
  new_client_order_id: string;
  new_order_id: string | null;
  wanted_quantity: string;
  old_filled_at_start: string;
  new_price: string | null;
  new_stop_price: string | null;
  mode: string;
  step: string;
  outcome: string | null;
  reason: string | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface FillCursorsTable {
  symbol: string;
  timestamp: number;
  trade_id: string;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  value: string; // JSON
  updated_at: number;
}

export interface EquitySnapshotsTable {
  at: number;
  currency: string;
  equity: string;
  cash: string;
  realised: string;
  unrealised: string;
  fees: string;
  peak_equity: string;
}

/** Added by migration 0006 (src/store/sql/audit.ts): the operator-action trail. */
export interface AuditLogTable {
  id: number;
  at: number;
  action: string;
  source: string;
  reason: string;
  detail: string; // JSON object
}

/** Added by migration 0007 (src/store/sql/leases.ts): which process trades a symbol, fenced by epoch. */
export interface LeasesTable {
  symbol: string;
  holder: string;
  epoch: number;
  acquired_at: number;
  heartbeat_at: number;
  expires_at: number;
}

/** Added by migration 0007: the processes sharing the store, for `btcbot status --cluster`. */
export interface ProcessesTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
  lease_ms: number;
  symbols: string; // JSON array of the symbols it holds
  budget: string | null; // JSON object: its rate-budget use, when it reports one
}

/** Added by migration 0005 (src/store/sql/alerts.ts): alert rules' state, and the alert outbox. */
export interface AlertStatesTable {
  rule: string;
  key: string;
  state: string; // JSON
  updated_at: number;
}

export interface AlertOutboxTable {
  id: string;
  receiver: string;
  payload: string; // JSON
  status: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
  delivered_at: number | null;
  last_error: string | null;
}

export interface StoreSchema {
  orders: OrdersTable;
  order_events: OrderEventsTable;
  fills: FillsTable;
  replace_txns: ReplaceTxnsTable;
  fill_cursors: FillCursorsTable;
  settings: SettingsTable;
  equity_snapshots: EquitySnapshotsTable;
  audit_log: AuditLogTable;
  leases: LeasesTable;
  processes: ProcessesTable;
  alert_states: AlertStatesTable;
  alert_outbox: AlertOutboxTable;
}
