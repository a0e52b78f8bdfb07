import { Dec } from '../../domain/decimal.ts';
import type { AlertFigures, AlertFill } from './figures.ts';
import { SEVERITY, type AlertThresholds, type Burst, type RuleName, type Severity } from './rules.ts';

// The alert rules as one pure function: figures + the rules' persisted state + now → transitions
// (fired, resolved), a fills digest when one is due, and the state to persist. Each instance of a
// rule (a symbol, an order, a drawdown step) fires once and resolves once: its state says so and
// outlives a restart, so a condition still true after one does not fire again.

/** A rule's own state has key ''; an instance's key is never ''. */
export const RULE_KEY = '';
/** The key of a rule with a single instance. */
export const MAIN = 'main';

export interface StateEntry {
  readonly rule: string;
  readonly key: string;
  readonly state: unknown;
}

export interface InstanceState {
  readonly phase: 'pending' | 'firing';
  /** When the condition began (pending) — kept when it fires. */
  readonly since: number;
  readonly summary: string;
}

export interface AlertTransition {
  readonly rule: RuleName;
  readonly key: string;
  readonly status: 'firing' | 'resolved';
  readonly severity: Severity;
  readonly summary: string;
  /** When the condition began. */
  readonly since: number;
  readonly at: number;
}

export interface DigestLine {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly count: number;
  readonly quantity: string;
  /** Σ price × quantity. */
  readonly quote: string;
  readonly fees: Readonly<Record<string, string>>;
}

export interface FillDigest {
  readonly since: number;
  readonly at: number;
  readonly count: number;
  readonly lines: readonly DigestLine[];
}

export interface Evaluation {
  readonly transitions: readonly AlertTransition[];
  readonly digest: FillDigest | null;
  readonly put: readonly StateEntry[];
  readonly remove: readonly { readonly rule: string; readonly key: string }[];
}

export interface EvaluationInput {
  readonly figures: AlertFigures;
  readonly states: readonly StateEntry[];
  readonly now: number;
  readonly thresholds: AlertThresholds;
  readonly enabled: ReadonlySet<RuleName>;
}

interface CounterState {
  readonly startedAt: number;
  readonly last: number;
  /** [at, increase] within the window. */
  readonly events: readonly (readonly [number, number])[];
}

interface DigestState {
  /** recordedAt of the newest fill taken; null before the first. */
  readonly cursor: number | null;
  /** The fills taken whose recordedAt is the cursor (the next read starts at it, inclusive). */
  readonly seen: readonly string[];
  readonly pending: PendingDigest | null;
}

interface PendingDigest {
  readonly since: number;
  readonly count: number;
  readonly lines: readonly DigestLine[];
}

/** A condition true now, per instance key, and what to say about it. */
type Active = Map<string, string>;

const seconds = (ms: number): string => `${Math.round(ms / 1000)}s`;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asCounter(value: unknown): CounterState | undefined {
  if (!isObject(value) || typeof value.last !== 'number' || !Array.isArray(value.events)) return undefined;
  return value as unknown as CounterState;
}

function asInstance(value: unknown): InstanceState | undefined {
  if (!isObject(value) || (value.phase !== 'pending' && value.phase !== 'firing')) return undefined;
  return value as unknown as InstanceState;
}

function asDigest(value: unknown): DigestState {
  if (isObject(value) && Array.isArray(value.seen)) return value as unknown as DigestState;
  return { cursor: null, seen: [], pending: null };
}

/**
 * A process counter's increase since it was last seen, kept as events within the window. A counter
 * seen from another process start restarted at 0: all of its value is new.
 */
export function advanceCounter(
  previous: CounterState | undefined,
  value: number,
  startedAt: number,
  now: number,
  windowMs: number,
): { state: CounterState; inWindow: number; increase: number } {
  const sameRun = previous !== undefined && previous.startedAt === startedAt && value >= previous.last;
  const increase = sameRun ? value - previous.last : value;
  const kept = (previous?.events ?? []).filter(([at]) => at > now - windowMs);
  const events = increase > 0 ? [...kept, [now, increase] as const] : kept;
  const inWindow = events.reduce((sum, [, n]) => sum + n, 0);
  return { state: { startedAt, last: value, events }, inWindow, increase };
}

/** The drawdown from the peak as a fraction; null without a positive peak. */
export function drawdown(equity: string, peak: string): Dec | null {
  const top = new Dec(peak);
  if (top.lte(0)) return null;
  const dd = top.minus(new Dec(equity)).div(top);
  return dd.lt(0) ? new Dec(0) : dd;
}

const percent = (fraction: Dec | string): string =>
  `${new Dec(fraction).times(100).toDecimalPlaces(2).toString()}%`;

class Run {
  readonly transitions: AlertTransition[] = [];
  readonly put: StateEntry[] = [];
  readonly remove: { rule: string; key: string }[] = [];
  readonly #byRule = new Map<string, Map<string, unknown>>();

  constructor(readonly input: EvaluationInput) {
    for (const { rule, key, state } of input.states) {
      const keys = this.#byRule.get(rule) ?? new Map<string, unknown>();
      keys.set(key, state);
      this.#byRule.set(rule, keys);
    }
  }

  ruleState(rule: RuleName): unknown {
    return this.#byRule.get(rule)?.get(RULE_KEY);
  }

  instances(rule: RuleName): Map<string, InstanceState> {
    const out = new Map<string, InstanceState>();
    for (const [key, state] of this.#byRule.get(rule) ?? []) {
      const instance = asInstance(state);
      if (key !== RULE_KEY && instance) out.set(key, instance);
    }
    return out;
  }

  putRuleState(rule: RuleName, state: unknown): void {
    if (JSON.stringify(state) !== JSON.stringify(this.ruleState(rule)))
      this.put.push({ rule, key: RULE_KEY, state });
  }

  counter(rule: RuleName, value: number, windowMs: number): { inWindow: number; increase: number } {
    const { figures, now } = this.input;
    const out = advanceCounter(asCounter(this.ruleState(rule)), value, figures.startedAt, now, windowMs);
    this.putRuleState(rule, out.state);
    return out;
  }

  /** Fires what has been active for `forMs`, resolves what no longer is. */
  settle(rule: RuleName, active: Active, forMs = 0): void {
    const { now } = this.input;
    const existing = this.instances(rule);
    const severity = SEVERITY[rule];
    for (const [key, summary] of active) {
      const previous = existing.get(key);
      if (previous?.phase === 'firing') continue;
      const since = previous?.since ?? now;
      if (now - since >= forMs) {
        this.put.push({ rule, key, state: { phase: 'firing', since, summary } satisfies InstanceState });
        this.transitions.push({ rule, key, status: 'firing', severity, summary, since, at: now });
      } else if (previous === undefined) {
        this.put.push({ rule, key, state: { phase: 'pending', since, summary } satisfies InstanceState });
      }
    }
    for (const [key, previous] of existing) {
      if (active.has(key)) continue;
      this.remove.push({ rule, key });
      if (previous.phase === 'firing')
        this.transitions.push({
          rule,
          key,
          status: 'resolved',
          severity,
          summary: `resolved after ${seconds(now - previous.since)}: ${previous.summary}`,
          since: previous.since,
          at: now,
        });
    }
  }
}

/** A burst rule: fires while the counter `value` rose `burst.count` times or more within `burst.windowMs`. */
function settleBurst(run: Run, rule: RuleName, value: number, burst: Burst, what: string): void {
  const { inWindow } = run.counter(rule, value, burst.windowMs);
  const summary = `${inWindow} ${what} in the last ${seconds(burst.windowMs)} (alert at ${burst.count})`;
  run.settle(rule, new Map(inWindow >= burst.count ? [[MAIN, summary]] : []));
}

const RULES: Readonly<Record<Exclude<RuleName, 'fills'>, (run: Run) => void>> = {
  halted(run) {
    const { level, reason } = run.input.figures.escalation;
    run.settle(
      'halted',
      new Map(level === 'HALTED' ? [[MAIN, `trading HALTED (kill switch on): ${reason}`]] : []),
    );
  },
  'reduce-only'(run) {
    const { level, reason } = run.input.figures.escalation;
    run.settle(
      'reduce-only',
      new Map(level === 'REDUCE_ONLY' ? [[MAIN, `trading stepped down to REDUCE_ONLY: ${reason}`]] : []),
    );
  },
  'unknown-order'(run) {
    const { figures, now, thresholds } = run.input;
    const active: Active = new Map();
    for (const o of figures.unknownOrders)
      if (now - o.since >= thresholds.unknownAfterMs)
        active.set(
          o.orderId,
          `order ${o.orderId} on ${o.symbol} UNKNOWN (outcome of its send not known) for ${seconds(now - o.since)}`,
        );
    run.settle('unknown-order', active);
  },
  'rate-limit-burst'(run) {
    const { figures, thresholds } = run.input;
    settleBurst(
      run,
      'rate-limit-burst',
      figures.rateLimited,
      thresholds.rateLimitBurst,
      'rate-limit (429) answers',
    );
  },
  'stale-data'(run) {
    const { figures, thresholds } = run.input;
    const active: Active = new Map();
    for (const m of figures.marketData)
      if (m.status === 'stale')
        active.set(
          m.symbol,
          `${m.symbol} market data stale${m.dataAgeMs === null ? ' (none yet)' : ` (newest ${seconds(m.dataAgeMs)} old)`}`,
        );
    run.settle('stale-data', active, thresholds.staleForMs);
  },
  'reconcile-failing'(run) {
    const { figures, thresholds } = run.input;
    settleBurst(
      run,
      'reconcile-failing',
      figures.reconcile.failures,
      thresholds.reconcileFailures,
      'failed reconciliation passes',
    );
  },
  'reconcile-diverging'(run) {
    const { figures, thresholds } = run.input;
    settleBurst(
      run,
      'reconcile-diverging',
      figures.reconcile.divergences,
      thresholds.divergences,
      'divergences between the store and the exchange',
    );
  },
  drawdown(run) {
    const { figures, thresholds } = run.input;
    const active: Active = new Map();
    const dd = figures.equity === null ? null : drawdown(figures.equity.equity, figures.equity.peak);
    if (dd !== null && figures.equity !== null)
      for (const step of thresholds.drawdownSteps)
        if (dd.gte(step))
          active.set(
            percent(step),
            `drawdown ${percent(dd)} from the peak ${figures.equity.peak} ${figures.equity.currency} (step ${percent(step)})`,
          );
    run.settle('drawdown', active);
  },
  'ws-login-refused'(run) {
    const stream = run.input.figures.privateStream;
    if (stream === null) {
      run.settle('ws-login-refused', new Map());
      return;
    }
    const { increase } = run.counter('ws-login-refused', stream.loginRefusals, 60_000);
    // Refused until a login succeeds: the alert stays up while fills come only from polling.
    const still = run.instances('ws-login-refused').has(MAIN) && !stream.loggedIn;
    run.settle(
      'ws-login-refused',
      new Map(
        increase > 0 || still
          ? [
              [
                MAIN,
                'WebSocket login refused: fills and order states come from REST polling until a login succeeds',
              ],
            ]
          : [],
      ),
    );
  },
  'loop-stalled'(run) {
    const { figures, now, thresholds } = run.input;
    const last = figures.lastLoopAt ?? figures.startedAt;
    run.settle(
      'loop-stalled',
      new Map(
        now - last >= thresholds.loopStallMs
          ? [
              [
                MAIN,
                `engine loop stalled: no evaluation for ${seconds(now - last)} (alert at ${seconds(thresholds.loopStallMs)})`,
              ],
            ]
          : [],
      ),
    );
  },
};

const fillKey = (f: AlertFill): string => `${f.tradeId}/${f.exchangeOrderId}`;

function addFill(lines: DigestLine[], fill: AlertFill): DigestLine[] {
  const quote = new Dec(fill.price).times(fill.quantity);
  const i = lines.findIndex((l) => l.symbol === fill.symbol && l.side === fill.side);
  const line = lines[i];
  const fees = { ...(line?.fees ?? {}) };
  fees[fill.feeAsset] = new Dec(fees[fill.feeAsset] ?? 0).plus(fill.fee).toString();
  const next: DigestLine = {
    symbol: fill.symbol,
    side: fill.side,
    count: (line?.count ?? 0) + 1,
    quantity: new Dec(line?.quantity ?? 0).plus(fill.quantity).toString(),
    quote: new Dec(line?.quote ?? 0).plus(quote).toString(),
    fees,
  };
  return line === undefined ? [...lines, next] : lines.map((l, j) => (j === i ? next : l));
}

function digestFills(run: Run): FillDigest | null {
  const { figures, now, thresholds } = run.input;
  const state = asDigest(run.ruleState('fills'));
  const seen = new Set(state.seen);
  const fresh = figures.fills
    .filter(
      (f) =>
        state.cursor === null ||
        f.recordedAt > state.cursor ||
        (f.recordedAt === state.cursor && !seen.has(fillKey(f))),
    )
    .sort((a, b) => a.recordedAt - b.recordedAt || fillKey(a).localeCompare(fillKey(b)));
  let cursor = state.cursor;
  let atCursor = [...state.seen];
  let pending = state.pending;
  for (const fill of fresh) {
    if (cursor === null || fill.recordedAt > cursor) {
      cursor = fill.recordedAt;
      atCursor = [];
    }
    atCursor.push(fillKey(fill));
    pending = {
      since: pending?.since ?? now,
      count: (pending?.count ?? 0) + 1,
      lines: addFill([...(pending?.lines ?? [])], fill),
    };
  }
  let digest: FillDigest | null = null;
  if (
    pending !== null &&
    (now - pending.since >= thresholds.digestEveryMs || pending.count >= thresholds.digestMaxFills)
  ) {
    digest = { since: pending.since, at: now, count: pending.count, lines: pending.lines };
    pending = null;
  }
  run.putRuleState('fills', { cursor, seen: atCursor, pending } satisfies DigestState);
  return digest;
}

/** Where the next read of fills starts (recordedSince, inclusive); null: from now. */
export function fillsCursor(states: readonly StateEntry[]): number | null {
  const entry = states.find((s) => s.rule === 'fills' && s.key === RULE_KEY);
  return entry === undefined ? null : asDigest(entry.state).cursor;
}

export function evaluate(input: EvaluationInput): Evaluation {
  const run = new Run(input);
  for (const [name, rule] of Object.entries(RULES) as [Exclude<RuleName, 'fills'>, (run: Run) => void][])
    if (input.enabled.has(name)) rule(run);
  const digest = input.enabled.has('fills') ? digestFills(run) : null;
  return { transitions: run.transitions, digest, put: run.put, remove: run.remove };
}
