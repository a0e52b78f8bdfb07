// What a backtest returns (src/backtest/run.ts). Shared with the report, the grid and `--json`:
// every decimal is a string (decimal.js toFixed(), at most 8 places: fills, fees and balances are
// exact within that, average-cost PnL is rounded half-even there), every time is epoch ms
// of the RECORDED market (virtual time), never the wall clock, so the same data and parameters
// give byte-identical JSON.
//
// `BacktestSummary` is what `btcbot backtest --json` prints and `--out DIR` writes as
// summary.json; `BacktestResult` adds the series a report draws.
//
// PnL follows the execution core's accounting (src/oms/accounting.ts, src/engine/portfolio.ts):
// average cost, in the quote currency; `realised` is AFTER fees and tax (they are costs the moment
// they are paid), `fees` says how much of it was fee + BSMV; `unrealised` values the open position
// at the last mid price. total = realised + unrealised.

/** A decimal as exact text, e.g. "123.45". */
export type DecimalText = string;

export interface PnlText {
  readonly realised: DecimalText;
  readonly unrealised: DecimalText;
  /** Fee plus tax (BSMV) paid, in the quote currency (already deducted from `realised`). */
  readonly fees: DecimalText;
  /** realised + unrealised. */
  readonly total: DecimalText;
}

export interface SymbolSummary {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Our fills (one per trade we were part of). */
  readonly fills: number;
  /** Our orders the venue accepted. */
  readonly orders: number;
  readonly pnl: PnlText;
  /** Share of our filled base quantity that was maker ("0".."1"); "0" without fills. */
  readonly makerShare: DecimalText;
  /** Largest fall of this symbol's PnL (realised + unrealised) from a previous high, in the quote currency (≥ 0). */
  readonly maxDrawdown: DecimalText;
  /** Base bought and sold (absolute quantities). */
  readonly boughtQuantity: DecimalText;
  readonly soldQuantity: DecimalText;
  /** Quote value traded (Σ price × quantity). */
  readonly volume: DecimalText;
  /** Our net position in base at the end (+ long, − short). */
  readonly endPosition: DecimalText;
  /** The mid price the end position is valued at; null when the symbol never had a two-sided book. */
  readonly lastMid: DecimalText | null;
}

export interface BacktestSummary {
  readonly version: 1;
  readonly strategy: string;
  /** Strategy parameters as given (--param K=V), sorted by key. */
  readonly params: Readonly<Record<string, string>>;
  readonly symbols: readonly string[];
  /** The quote currency PnL and equity are in (TRY on BTCTurk). */
  readonly currency: string;
  /** Recorded time replayed: the first and last event used (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** Market time replayed, ms (to − from). */
  readonly marketMs: number;
  /** Recorded events fed (frames and markers). */
  readonly events: number;
  /** One-way latency of our requests, ms. */
  readonly latencyMs: number;
  /** Fill model: "queue-position". */
  readonly fillModel: string;
  readonly fills: number;
  readonly orders: number;
  /** Requests the venue refused (rules, balance). */
  readonly rejected: number;
  readonly cancels: number;
  readonly pnl: PnlText;
  readonly makerShare: DecimalText;
  /** Largest fall of account equity from a previous high (quote currency, ≥ 0). */
  readonly maxDrawdown: DecimalText;
  readonly startEquity: DecimalText;
  readonly endEquity: DecimalText;
  /** Starting balances per asset. */
  readonly balancesStart: Readonly<Record<string, DecimalText>>;
  readonly balancesEnd: Readonly<Record<string, DecimalText>>;
  readonly perSymbol: Readonly<Record<string, SymbolSummary>>;
}

/** One sample of account equity (quote currency), at the marks then. */
export interface EquityPoint {
  readonly t: number;
  readonly equity: DecimalText;
  /** realised + unrealised, all symbols. */
  readonly pnl: DecimalText;
}

/** Our net base position of one symbol after a fill (sampled at each fill, plus start and end). */
export interface InventoryPoint {
  readonly t: number;
  readonly symbol: string;
  readonly position: DecimalText;
}

/** The recorded market's touch, sampled when it changes (at most once per sampling interval). */
export interface MidPoint {
  readonly t: number;
  readonly symbol: string;
  readonly bid: DecimalText | null;
  readonly ask: DecimalText | null;
  /** (bid + ask) / 2; null without a two-sided book. */
  readonly mid: DecimalText | null;
}

/** Our best resting quote per side when it changes; null: no order on that side. */
export interface QuotePoint {
  readonly t: number;
  readonly symbol: string;
  readonly bid: DecimalText | null;
  readonly ask: DecimalText | null;
}

export interface BacktestFill {
  readonly t: number;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly price: DecimalText;
  readonly quantity: DecimalText;
  readonly liquidity: 'maker' | 'taker';
  /** Fee + tax in the quote currency. */
  readonly fee: DecimalText;
  readonly orderId: string;
  /**
   * Always null in a backtest: our client order ids carry a process-wide counter, so a second run in
   * the same process (a test, a grid worker) would name them differently. `orderId` is deterministic.
   */
  readonly clientOrderId: string | null;
}

export interface BacktestSeries {
  readonly equity: readonly EquityPoint[];
  readonly inventory: readonly InventoryPoint[];
  readonly mid: readonly MidPoint[];
  readonly quotes: readonly QuotePoint[];
  readonly fills: readonly BacktestFill[];
}

export interface BacktestResult extends BacktestSummary {
  readonly series: BacktestSeries;
}

/** The summary alone (what --json prints and summary.json holds): the result without its series. */
export function summaryOf(result: BacktestResult): BacktestSummary {
  const { series: _series, ...summary } = result;
  return summary;
}
