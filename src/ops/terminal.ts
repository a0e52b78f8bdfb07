import type { Decimal } from 'decimal.js';
import type { EngineStats, SymbolWait } from '../engine/engine.ts';
import type { Valuation } from '../engine/portfolio.ts';
import type { BudgetUse } from '../engine/rate-budget.ts';
import type { MarketStatus } from '../market/freshness.ts';
import type { EscalationLevel } from '../ports/store.ts';
import { formatDuration } from './duration.ts';

// What the user sees on stdout while the bot runs: a banner that says what is running and where its
// state lives, a one-line summary every few seconds, and a final summary. Pure text builders.

export interface BannerInput {
  readonly mode: string;
  readonly symbols: readonly string[];
  readonly strategy: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly exchange: string;
  /** Where the orders, fills and equity curve are kept, and for how long. */
  readonly state: string;
  readonly metrics: string | null;
  readonly durationMs: number | null;
  readonly cancelOnExit: boolean;
  readonly prefix: string;
  readonly ordersPerMinute: number;
  /** Mode-specific lines (the simulator's seed and speed, …). */
  readonly notes: readonly string[];
}

function paramText(params: Readonly<Record<string, unknown>>): string {
  const entries = Object.entries(params);
  if (entries.length === 0) return 'defaults';
  return entries.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
}

export function bannerLines(b: BannerInput): string[] {
  return [
    `btcbot ${b.mode} mode: ${b.strategy} on ${b.symbols.join(', ')}`,
    `  strategy parameters: ${paramText(b.params)}`,
    `  exchange: ${b.exchange}`,
    `  state: ${b.state}`,
    `  metrics: ${b.metrics ?? 'off (--metrics-port N to serve Prometheus text)'}`,
    `  client order id prefix: ${b.prefix}; order budget: ${b.ordersPerMinute} requests/min`,
    `  stops ${b.durationMs === null ? 'on SIGINT/SIGTERM (Ctrl-C)' : `after ${formatDuration(b.durationMs)} or on SIGINT/SIGTERM`}; ` +
      `resting orders are ${b.cancelOnExit ? 'canceled' : 'left in place'} on exit`,
    ...b.notes.map((n) => `  ${n}`),
  ];
}

export interface SummaryInput {
  readonly elapsedMs: number;
  readonly valuation: Valuation | null;
  readonly openOrders: number;
  /** The bot's fills on its symbols as the store holds them (what its positions are made of). */
  readonly fills: number;
  /** Of those, recorded by this process; shown when it differs (after a restart). */
  readonly fillsThisRun?: number | undefined;
  readonly statuses: readonly (readonly [string, MarketStatus])[];
  readonly budget: BudgetUse;
  readonly level: EscalationLevel;
  readonly killSwitch: boolean;
  readonly engine: EngineStats;
  /**
   * The private stream when it is not doing its job (login refused, socket down), e.g. "login
   * refused (Unauthorized - Invalid Signature); polling REST every 5 s"; null while it works or
   * the mode has none.
   */
  readonly privateStream: string | null;
  /** What holds symbols back from trading now (`waitingText`); null or absent when nothing does. */
  readonly waiting?: string | null | undefined;
}

const money = (value: Decimal) => value.toFixed(2);
const signed = (value: Decimal) => (value.isNegative() ? '' : '+') + money(value);

function pnlText(v: Valuation | null): string {
  if (v === null) return 'equity - (waiting for prices)';
  return (
    `equity ${money(v.equity)} ${v.currency} | PnL realised ${signed(v.realised)} ` +
    `unrealised ${signed(v.unrealised)} fees ${money(v.fees)}`
  );
}

/** "12", or "40 (3 this run)" once a restart carried earlier fills over. */
function fillsText(s: Pick<SummaryInput, 'fills' | 'fillsThisRun'>): string {
  return s.fillsThisRun === undefined || s.fillsThisRun === s.fills
    ? String(s.fills)
    : `${s.fills} (${s.fillsThisRun} this run)`;
}

/** The order budget: the minute's use, and the 10-second cap when that is what holds orders back. */
export function budgetText(b: BudgetUse): string {
  const minute = `budget ${b.used}/${b.limit}`;
  if (b.heldBy === undefined) return minute;
  const { windowSeconds, used, limit } = b.heldBy;
  return `${minute} (${windowSeconds}-second cap ${used}/${limit}: holding ${used >= limit ? 'orders' : 'replaces'})`;
}

/** Up to this many pairs the summary names each with its status; more are counted by status. */
export const NAMED_STATUSES_MAX = 8;
/** Pairs named per status that is not live, when they are counted. */
const NAMED_PER_STATUS = 5;

/**
 * The pairs' market data: each pair and its status while there are few ("BTCTRY live ETHTRY
 * stale"); beyond NAMED_STATUSES_MAX (a bot following every pair), a count per status, live first,
 * naming the first pairs of every other status ("380 pairs: 378 live, 2 stale (SYN007TRY
 * SYN008TRY)"): a line of every pair would be kilobytes every few seconds, and the pairs that are
 * not live are the ones to see.
 */
export function statusesText(statuses: SummaryInput['statuses']): string {
  if (statuses.length <= NAMED_STATUSES_MAX)
    return statuses.map(([symbol, status]) => `${symbol} ${status}`).join(' ');
  const byStatus = new Map<MarketStatus, string[]>();
  for (const [symbol, status] of statuses) {
    const symbols = byStatus.get(status);
    if (symbols === undefined) byStatus.set(status, [symbol]);
    else symbols.push(symbol);
  }
  const order = [...byStatus.keys()].sort((a, b) =>
    a === 'live' ? -1 : b === 'live' ? 1 : a.localeCompare(b),
  );
  const parts = order.map((status) => {
    const symbols = byStatus.get(status) ?? [];
    if (status === 'live') return `${symbols.length} live`;
    const named = symbols.slice(0, NAMED_PER_STATUS).join(' ');
    const more = symbols.length > NAMED_PER_STATUS ? ` +${symbols.length - NAMED_PER_STATUS} more` : '';
    return `${symbols.length} ${status} (${named}${more})`;
  });
  return `${statuses.length} pairs: ${parts.join(', ')}`;
}

export function summaryLine(s: SummaryInput): string {
  const refused = Object.values(s.engine.refusals).reduce((a, b) => a + b, 0);
  return [
    `[${s.elapsedMs < 1000 ? '0s' : formatDuration(s.elapsedMs)}] ${pnlText(s.valuation)}`,
    `open ${s.openOrders}`,
    `fills ${fillsText(s)}`,
    `placed ${s.engine.submits} replaced ${s.engine.replaces} canceled ${s.engine.cancels} held ${refused}`,
    statusesText(s.statuses),
    budgetText(s.budget),
    s.killSwitch ? `${s.level} KILL SWITCH ON` : s.level,
    ...(s.privateStream === null ? [] : [`private stream: ${s.privateStream}`]),
    ...(s.waiting == null ? [] : [`waiting: ${s.waiting}`]),
  ].join(' | ');
}

const LABEL: Readonly<Record<SymbolWait['blockers'][number]['kind'], string>> = {
  reconciliation: 'reconciliation',
  'market-data': 'market data',
  balances: 'balances',
};

/** Seconds for the waiting texts: "4.2s". */
export function seconds(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
}

/** One blocker, e.g. "reconciliation (resolving 1 unresolved order, 4.0s)"; `now` adds its age. */
export function blockerText(b: SymbolWait['blockers'][number], now: number | null): string {
  const age = now !== null && b.since !== null ? `, ${seconds(now - b.since)}` : '';
  return `${LABEL[b.kind]} (${b.reason}${age})`;
}

/**
 * What holds each symbol back from trading, e.g. "BTCTRY: reconciliation (resolving 1 unresolved
 * order, 4.0s), market data (no book yet); ETHTRY: balances (not read yet)"; null when every
 * symbol may trade. `now` (ms since the epoch) adds how long each blocker has lasted, when known.
 */
export function waitingText(waits: readonly SymbolWait[], now: number | null): string | null {
  const parts = waits
    .filter((w) => w.blockers.length > 0)
    .map((w) => `${w.symbol}: ${w.blockers.map((b) => blockerText(b, now)).join(', ')}`);
  return parts.length === 0 ? null : parts.join('; ');
}

/** What a symbol waited for before it could trade: each blocker's reasons, in the order seen. */
export class WaitedFor {
  readonly #seen = new Map<SymbolWait['blockers'][number]['kind'], string[]>();

  note(blockers: SymbolWait['blockers']): void {
    for (const b of blockers) {
      const reasons = this.#seen.get(b.kind) ?? [];
      if (reasons.at(-1) !== b.reason) reasons.push(b.reason);
      this.#seen.set(b.kind, reasons);
    }
  }

  /** E.g. "reconciliation (reading the exchange's orders and fills, then resolving 1 unresolved order); market data (no book yet)". */
  text(): string {
    return [...this.#seen].map(([kind, reasons]) => `${LABEL[kind]} (${reasons.join(', then ')})`).join('; ');
  }
}

/** The line printed when a symbol may trade: how long it took and what it waited for. */
export function tradingLine(symbol: string, elapsedMs: number, waitedFor: string): string {
  return (
    `${symbol}: ready to trade ${seconds(elapsedMs)} after start` +
    (waitedFor === '' ? '' : ` (waited for ${waitedFor})`)
  );
}

/** The waiting line printed when what holds symbols back changes, before they all trade. */
export function waitingLine(elapsedMs: number, text: string): string {
  return `[${seconds(elapsedMs)}] waiting to trade: ${text}`;
}

export interface FinalInput extends SummaryInput {
  readonly reason: string;
  readonly canceled: string;
  readonly reconcile: string;
}

export function finalSummaryLines(f: FinalInput): string[] {
  const lines = [
    `stopped (${f.reason}) after ${formatDuration(f.elapsedMs)}`,
    `  orders: ${f.engine.submits} placed, ${f.engine.replaces} replaced (${f.engine.replacesAborted} ended without a new order), ` +
      `${f.engine.cancels} canceled by the strategy; ${f.engine.actionFailures} failed`,
    `  fills: ${fillsText(f)}; open orders left: ${f.openOrders}`,
    ...(f.privateStream === null ? [] : [`  private stream: ${f.privateStream}`]),
    `  on exit: ${f.canceled}; final reconciliation: ${f.reconcile}`,
    `  ${pnlText(f.valuation)}`,
  ];
  for (const p of f.valuation?.symbols ?? [])
    lines.push(
      `  ${p.symbol}: position ${p.quantity.toFixed()} ${p.base} at ${p.averagePrice?.toFixed(2) ?? '-'}, ` +
        `realised ${signed(p.realised)}, unrealised ${signed(p.unrealised)}, ${p.fillCount} fills`,
    );
  const refusals = Object.entries(f.engine.refusals);
  if (refusals.length > 0)
    lines.push(`  held back by gate: ${refusals.map(([g, n]) => `${g} ${n}`).join(', ')}`);
  lines.push(`  escalation: ${f.level}${f.killSwitch ? ', kill switch ON' : ''}`);
  return lines;
}
