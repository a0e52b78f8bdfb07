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

export interface StoreSchema {
  orders: OrdersTable;
  order_events: OrderEventsTable;
  fills: FillsTable;
  replace_txns: ReplaceTxnsTable;
  fill_cursors: FillCursorsTable;
  settings: SettingsTable;
  equity_snapshots: EquitySnapshotsTable;
}
