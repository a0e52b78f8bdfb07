// The strategies' names as `btcbot run --help` lists them, without loading a strategy.
// test/cli/startup.test.ts checks they are registry.ts's STRATEGY_NAMES.
export const STRATEGY_NAMES: readonly string[] = ['market-maker', 'rebalance'];
