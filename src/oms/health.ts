import { isUnresolved } from '../domain/lifecycle.ts';
import type { EscalationLevel, EscalationState } from '../ports/store.ts';
import type { OmsContext } from './context.ts';
import { assessHealth, isWorse, type Health } from './escalation.ts';

// Measures what the ladder decides on — failed passes, lasting divergences, orders left
// unresolved — and persists each step down with its reason (the store turns the kill switch on
// with HALTED).

export interface Alert {
  readonly level: EscalationLevel;
  readonly reason: string;
  readonly at: number;
}

interface Divergence {
  readonly since: number;
  readonly problem: string;
}

export class HealthMonitor {
  readonly #ctx: OmsContext;
  readonly #onAlert: (alert: Alert) => void;
  #failures = 0;
  #lastFailure: string | null = null;
  // By scope (a symbol), then by order: a divergence lasts as long as each pass finds it again.
  readonly #divergences = new Map<string, Map<string, Divergence>>();

  constructor(ctx: OmsContext, onAlert: (alert: Alert) => void) {
    this.#ctx = ctx;
    this.#onAlert = onAlert;
  }

  passSucceeded(): void {
    this.#failures = 0;
  }

  passFailed(reason: string): void {
    this.#failures += 1;
    this.#lastFailure = reason;
    this.#ctx.stats.reconcileFailures += 1;
  }

  get consecutiveFailures(): number {
    return this.#failures;
  }

  /** Replaces the divergences found in `scope`; one found again keeps the time it was first seen. */
  setDivergences(scope: string, found: ReadonlyMap<string, string>): void {
    const before = this.#divergences.get(scope) ?? new Map<string, Divergence>();
    const now = this.#ctx.clock.now();
    const after = new Map<string, Divergence>();
    for (const [key, problem] of found) after.set(key, { since: before.get(key)?.since ?? now, problem });
    this.#divergences.set(scope, after);
  }

  divergences(): string[] {
    return [...this.#divergences.values()].flatMap((m) =>
      [...m.entries()].map(([key, d]) => `${key}: ${d.problem}`),
    );
  }

  /** Measures, then steps down the ladder if the measure calls for a worse level than the stored one. */
  async evaluate(): Promise<EscalationState> {
    const { store, clock, escalation } = this.#ctx;
    const now = clock.now();
    let oldest: Divergence | null = null;
    for (const scope of this.#divergences.values())
      for (const d of scope.values()) if (oldest === null || d.since < oldest.since) oldest = d;
    const unresolved = (await store.activeOrders())
      .filter((o) => isUnresolved(o.state))
      .sort((a, b) => a.updatedAt - b.updatedAt)[0];
    const health: Health = {
      consecutiveFailures: this.#failures,
      lastFailure: this.#lastFailure,
      divergentForMs: oldest === null ? null : now - oldest.since,
      divergence: oldest?.problem ?? null,
      unresolvedForMs: unresolved ? now - unresolved.updatedAt : null,
      unresolved: unresolved
        ? `order ${unresolved.id} (client id ${unresolved.clientOrderId ?? '-'}) on ${unresolved.symbol} is ${unresolved.state}`
        : null,
    };
    return this.escalate(assessHealth(escalation, health));
  }

  async escalate(assessment: { level: EscalationLevel; reason: string | null }): Promise<EscalationState> {
    const { store, stats, log } = this.#ctx;
    const current = await store.escalation();
    if (!isWorse(assessment.level, current.level) || assessment.reason === null) return current;
    const next = await store.setEscalation(assessment.level, assessment.reason);
    stats.escalations += 1;
    log.error({ level: next.level, reason: next.reason }, 'escalated');
    this.#onAlert({ level: next.level, reason: assessment.reason, at: next.at ?? this.#ctx.clock.now() });
    return next;
  }
}
