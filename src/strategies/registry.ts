import { ConfigError } from '../domain/errors.ts';
import { marketMakerDefinition } from './market-maker.ts';
import { rebalanceDefinition } from './rebalance.ts';
import type { StrategyDefinition } from './types.ts';

const STRATEGIES: readonly StrategyDefinition[] = [marketMakerDefinition, rebalanceDefinition];

export const STRATEGY_NAMES: readonly string[] = STRATEGIES.map((s) => s.name);

/** The strategy called `name`; a ConfigError listing the known names otherwise. */
export function strategyByName(name: string): StrategyDefinition {
  const found = STRATEGIES.find((s) => s.name === name);
  if (!found)
    throw new ConfigError('--strategy', `unknown strategy "${name}" (known: ${STRATEGY_NAMES.join(', ')})`);
  return found;
}
