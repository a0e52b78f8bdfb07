// The alert rules: their names (stable: flags, payloads and the store use them), what each
// watches, and the thresholds they fire at.

export const RULE_NAMES = [
  'halted',
  'reduce-only',
  'unknown-order',
  'rate-limit-burst',
  'stale-data',
  'reconcile-failing',
  'reconcile-diverging',
  'drawdown',
  'ws-login-refused',
  'loop-stalled',
  'fills',
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export type Severity = 'critical' | 'warning' | 'info';

export const SEVERITY: Readonly<Record<RuleName, Severity>> = {
  halted: 'critical',
  'reduce-only': 'warning',
  'unknown-order': 'warning',
  'rate-limit-burst': 'warning',
  'stale-data': 'warning',
  'reconcile-failing': 'warning',
  'reconcile-diverging': 'warning',
  drawdown: 'warning',
  'ws-login-refused': 'warning',
  'loop-stalled': 'critical',
  fills: 'info',
};

/** So many events within a window (ms). */
export interface Burst {
  readonly count: number;
  readonly windowMs: number;
}

export interface AlertThresholds {
  /** An order UNKNOWN for longer than this fires. */
  readonly unknownAfterMs: number;
  readonly rateLimitBurst: Burst;
  /** A symbol's market data stale for this long fires. */
  readonly staleForMs: number;
  readonly reconcileFailures: Burst;
  readonly divergences: Burst;
  /** Drawdown from the equity peak, as fractions (0.05 = 5%): one alert per step crossed. */
  readonly drawdownSteps: readonly string[];
  /** No engine loop for this long fires (and stops the heartbeat). */
  readonly loopStallMs: number;
  /** Fills are sent as one digest per this interval at most... */
  readonly digestEveryMs: number;
  /** ...or as soon as this many are waiting. */
  readonly digestMaxFills: number;
}

export const DEFAULT_THRESHOLDS: AlertThresholds = {
  unknownAfterMs: 30_000,
  rateLimitBurst: { count: 5, windowMs: 60_000 },
  staleForMs: 30_000,
  reconcileFailures: { count: 3, windowMs: 300_000 },
  divergences: { count: 3, windowMs: 300_000 },
  drawdownSteps: ['0.02', '0.05', '0.1', '0.2'],
  loopStallMs: 30_000,
  digestEveryMs: 60_000,
  digestMaxFills: 100,
};

export function isRuleName(name: string): name is RuleName {
  return (RULE_NAMES as readonly string[]).includes(name);
}
