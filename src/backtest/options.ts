// The options of one backtest (src/backtest/run.ts), shared by the command, the grid and tests.

export interface BacktestOptions {
  /** The recording directory (index.json + segments, see src/record/format.ts). */
  readonly data: string;
  /** Strategy name (src/strategies/registry.ts); default "market-maker". */
  readonly strategy?: string | undefined;
  /** Strategy parameters, as `--param K=V` gives them (text) or already parsed values. */
  readonly params?: Readonly<Record<string, unknown>> | undefined;
  /** Risk limits (the config file's `risk` section); defaults otherwise. */
  readonly risk?: unknown;
  /** Symbols to trade; default: every symbol in the recording. */
  readonly symbols?: readonly string[] | undefined;
  /** Replay only recorded events in [from, to] (epoch ms of the recording). */
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  /** One-way latency of our requests (submit, cancel) to the venue, ms; default 50. */
  readonly latencyMs?: number | undefined;
  /** Starting balances per asset; default 1 000 000 of every quote currency and nothing else. */
  readonly balances?: Readonly<Record<string, string>> | undefined;
  /** Orders per minute the engine's budget allows; default as `btcbot run`. */
  readonly ordersPerMinute?: number | undefined;
  /** Fee rates and BSMV; default BTCTurk's (src/sim/engine/defaults.ts). */
  readonly makerFeeRate?: string | undefined;
  readonly takerFeeRate?: string | undefined;
  readonly taxRate?: string | undefined;
  /** Equity and touch samples at most this often (market ms); default 1000. */
  readonly sampleEveryMs?: number | undefined;
  /** Called now and then with progress (recorded ms replayed so far). */
  readonly onProgress?: ((replayedMs: number, events: number) => void) | undefined;
}

export const DEFAULT_LATENCY_MS = 50;
export const DEFAULT_SAMPLE_EVERY_MS = 1_000;
