import { ConfigError } from '../domain/errors.ts';
import { strategyByName } from '../strategies/registry.ts';
import type { Strategy } from '../strategies/types.ts';
import { parseRiskLimits, type RiskLimits } from './risk.ts';

// What the engine runs with: one strategy with validated parameters and validated risk limits,
// read from the config file's `strategy`/`risk` sections and overridden by flags. Everything is
// checked before the first order, and every error names what to fix.

export const DEFAULT_STRATEGY = 'market-maker';

export interface StrategyConfigInput {
  /** `--strategy`, else the config file's `strategy.name`. */
  readonly name?: string | undefined;
  /** The config file's `strategy.params`. */
  readonly params?: unknown;
  /** `--param KEY=VALUE` flags; they override `params`. */
  readonly paramFlags?: readonly string[] | undefined;
  /** The config file's `risk` section. */
  readonly risk?: unknown;
}

export interface EngineConfig {
  readonly strategy: Strategy;
  readonly risk: RiskLimits;
}

/**
 * `KEY=VALUE` pairs as parameters. A value that starts with `{` or `[` is read as JSON (e.g.
 * `targets={"BTC":0.5,"TRY":0.5}`); any other stays text, which the schemas read as numbers.
 */
export function paramsFromFlags(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new ConfigError('--param', `"${pair}" must look like KEY=VALUE, e.g. spreadBps=40`);
    const key = pair.slice(0, at).trim();
    const text = pair.slice(at + 1).trim();
    if (!/^[[{]/.test(text)) {
      out[key] = text;
      continue;
    }
    try {
      out[key] = JSON.parse(text) as unknown;
    } catch (error) {
      throw new ConfigError('--param', `${key}: ${text} is not valid JSON (${(error as Error).message})`);
    }
  }
  return out;
}

function objectOrEmpty(setting: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(setting, `must be an object of parameters, got ${JSON.stringify(value)}`);
  return value as Record<string, unknown>;
}

export function loadEngineConfig(input: StrategyConfigInput): EngineConfig {
  const definition = strategyByName(input.name ?? DEFAULT_STRATEGY);
  const params = {
    ...objectOrEmpty('strategy.params', input.params),
    ...paramsFromFlags(input.paramFlags ?? []),
  };
  return { strategy: definition.create(params), risk: parseRiskLimits(objectOrEmpty('risk', input.risk)) };
}
