import type { EscalationLevel } from '../ports/store.ts';

// The ladder of DESIGN §2.6: repeated reconciliation failure, lasting divergence, or an order whose
// submit stays unresolved step the bot down NORMAL → REDUCE_ONLY → HALTED. Pure: the shell measures,
// this decides. The ladder only steps down by itself; stepping back up is the operator's call.

export interface EscalationPolicy {
  /** Consecutive failed reconciliations before REDUCE_ONLY, and before HALTED. */
  readonly failuresToReduce: number;
  readonly failuresToHalt: number;
  /** How long a divergence may last before REDUCE_ONLY, and before HALTED. */
  readonly divergenceReduceMs: number;
  readonly divergenceHaltMs: number;
  /** How long an order may stay unresolved before REDUCE_ONLY, and before HALTED. */
  readonly unresolvedReduceMs: number;
  readonly unresolvedHaltMs: number;
}

export const DEFAULT_ESCALATION_POLICY: EscalationPolicy = {
  failuresToReduce: 3,
  failuresToHalt: 6,
  divergenceReduceMs: 30_000,
  divergenceHaltMs: 120_000,
  unresolvedReduceMs: 30_000,
  unresolvedHaltMs: 120_000,
};

/** What the shell measured; each problem comes with words for the reason. */
export interface Health {
  readonly consecutiveFailures: number;
  readonly lastFailure: string | null;
  /** How long the oldest divergence still present has lasted; null when none. */
  readonly divergentForMs: number | null;
  readonly divergence: string | null;
  /** How long the oldest unresolved order has been unresolved; null when none. */
  readonly unresolvedForMs: number | null;
  readonly unresolved: string | null;
}

export interface Assessment {
  readonly level: EscalationLevel;
  readonly reason: string | null;
}

const RANK: Readonly<Record<EscalationLevel, number>> = { NORMAL: 0, REDUCE_ONLY: 1, HALTED: 2 };

export function isWorse(level: EscalationLevel, than: EscalationLevel): boolean {
  return RANK[level] > RANK[than];
}

/** The level the measured health calls for, with the reason of the worst problem. */
export function assessHealth(policy: EscalationPolicy, health: Health): Assessment {
  const findings: Assessment[] = [];
  const step = (measure: number | null, reduceAt: number, haltAt: number, reason: string): void => {
    if (measure === null || measure < reduceAt) return;
    findings.push({ level: measure >= haltAt ? 'HALTED' : 'REDUCE_ONLY', reason });
  };
  step(
    health.consecutiveFailures === 0 ? null : health.consecutiveFailures,
    policy.failuresToReduce,
    policy.failuresToHalt,
    `reconciliation failed ${health.consecutiveFailures} times in a row (last: ${health.lastFailure ?? '-'})`,
  );
  step(
    health.divergentForMs,
    policy.divergenceReduceMs,
    policy.divergenceHaltMs,
    `local state has diverged from the exchange for ${health.divergentForMs ?? 0} ms: ${health.divergence ?? '-'}`,
  );
  step(
    health.unresolvedForMs,
    policy.unresolvedReduceMs,
    policy.unresolvedHaltMs,
    `an order has been unresolved for ${health.unresolvedForMs ?? 0} ms: ${health.unresolved ?? '-'}`,
  );
  let worst: Assessment = { level: 'NORMAL', reason: null };
  for (const finding of findings) if (isWorse(finding.level, worst.level)) worst = finding;
  return worst;
}
