import type { BacktestOptions } from './options.ts';
import type { BacktestResult } from './types.ts';

export type { BacktestOptions } from './options.ts';
export type { BacktestResult, BacktestSummary } from './types.ts';

/**
 * Replays a recording through the live code (market data service, engine, risk gates, OMS, store,
 * accounting) with a queue-position matching core standing in for the exchange, on a virtual
 * clock. Deterministic: the same data and options give the same result. Bad options throw a
 * ConfigError naming the flag.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const { replay } = await import('./replay.ts');
  return replay(options);
}
