import type { Logger } from 'pino';
import type { Engine } from '../../engine/engine.ts';
import type { ReconcileReport } from '../../oms/index.ts';
import type { RunConfig } from '../run-config.ts';
import {
  bannerLines,
  summaryLine,
  tradingLine,
  waitingLine,
  waitingText,
  WaitedFor,
  type SummaryInput,
} from '../terminal.ts';
import type { SessionView } from './view.ts';

// What the user reads on stdout: the banner, a summary line every few seconds (from the start:
// while symbols wait it says what they wait for), a line whenever what holds symbols back changes
// and one per symbol when it may trade. Text is built in src/ops/terminal.ts; this feeds it.

const SUMMARY_EVERY_MS = 5_000;
/** Until every symbol may trade, what holds them back is checked this often (and said when it changes). */
const WAITING_EVERY_MS = 200;

export function printBanner(
  config: RunConfig,
  where: { readonly exchange: string; readonly state: string; readonly metrics: string | null },
  notes: readonly string[],
  out: (line: string) => void,
): void {
  for (const line of bannerLines({
    mode: config.mode,
    symbols: config.symbols,
    strategy: config.engine.strategy.name,
    params: config.strategyParams,
    exchange: where.exchange,
    state: where.state,
    metrics: where.metrics,
    durationMs: config.durationMs,
    cancelOnExit: config.cancelOnExit,
    prefix: config.prefix,
    ordersPerMinute: config.ordersPerMinute,
    notes,
  }))
    out(line);
}

export function reconcileText(report: ReconcileReport | 'timeout' | Error): string {
  if (report === 'timeout') return 'did not finish in time';
  if (report instanceof Error) return `failed: ${report.message}`;
  if (report.clean) return 'clean';
  return `NOT clean: ${[...report.failures, ...report.divergences].join('; ') || `${report.unresolved} unresolved, ${report.openReplaces} replaces open`}`;
}

export interface Presenter {
  /** The summary's figures now (the account valued again first). */
  summary(): Promise<SummaryInput>;
  /** Starts the summary ticker and the start-up watcher, and prints a first summary. */
  start(): void;
  /** Says now what symbols wait for (after the start-up reconciliation). */
  checkWaiting(): void;
  /** No more periodic lines. */
  stop(): void;
}

export function presenter(
  view: SessionView & { refreshValuation(): Promise<void> },
  privateStream: { describe(): string | null },
  io: { readonly out: (line: string) => void; readonly logger: Logger },
): Presenter {
  const { engine, oms, store } = view.parts;
  const { out, logger } = io;
  const startedAt = performance.now();
  const elapsed = (): number => performance.now() - startedAt;
  const live = (): boolean => view.phase() === 'starting' || view.phase() === 'running';

  const summary = async (): Promise<SummaryInput> => {
    await view.refreshValuation();
    const [active, escalation, killSwitch, positions] = await Promise.all([
      store.activeOrders(),
      store.escalation(),
      store.killSwitch(),
      store.positions(),
    ]);
    // Counted from the store, as the positions are: a restart carries both on together.
    const fills = positions
      .filter((p) => view.symbols.includes(p.symbol))
      .reduce((n, p) => n + p.fillCount, 0);
    return {
      elapsedMs: elapsed(),
      valuation: view.valuation(),
      openOrders: active.filter((o) => o.origin !== 'foreign').length,
      fills,
      fillsThisRun: oms.stats().fillsNew,
      statuses: view.symbols.map((s) => [s, view.parts.market.status(s)] as const),
      budget: engine.budgetUse(),
      level: escalation.level,
      killSwitch: killSwitch.on,
      engine: engine.stats(),
      privateStream: privateStream.describe(),
      waiting: waitingText(engine.waiting(), Date.now()),
    };
  };
  const printSummary = (): void => {
    summary().then(
      (s) => {
        if (live()) out(summaryLine(s));
      },
      (error: unknown) => {
        logger.error({ err: String(error) }, 'summary failed');
      },
    );
  };
  const watcher = startupWatcher(engine, view.symbols.length, elapsed, io);
  let ticker: NodeJS.Timeout | undefined;
  let watching: NodeJS.Timeout | undefined;
  const check = (): void => {
    if (!live()) return;
    if (watcher.check()) clearInterval(watching);
  };
  return {
    summary,
    start: () => {
      ticker = setInterval(printSummary, SUMMARY_EVERY_MS);
      watching = setInterval(check, WAITING_EVERY_MS);
      check();
      printSummary();
    },
    checkWaiting: check,
    stop: () => {
      clearInterval(ticker);
      clearInterval(watching);
    },
  };
}

/**
 * Until every symbol may trade: a line whenever what holds them back changes, and one per symbol
 * when it may trade, naming what it waited for. check() is true once every symbol may trade.
 */
function startupWatcher(
  engine: Engine,
  symbolCount: number,
  elapsed: () => number,
  io: { readonly out: (line: string) => void; readonly logger: Logger },
): { check(): boolean } {
  const ready = new Set<string>();
  const waitedFor = new Map<string, WaitedFor>();
  let lastWaiting: string | null = null;
  const waitLog = io.logger.child({ component: 'start-up' });
  return {
    check: () => {
      const pending = engine.waiting().filter((w) => !ready.has(w.symbol));
      for (const w of pending) {
        const seen = waitedFor.get(w.symbol) ?? new WaitedFor();
        seen.note(w.blockers);
        waitedFor.set(w.symbol, seen);
        if (w.blockers.length > 0) continue;
        ready.add(w.symbol);
        const line = tradingLine(w.symbol, elapsed(), seen.text());
        io.out(line);
        waitLog.info({ symbol: w.symbol, afterMs: Math.round(elapsed()) }, line);
        engine.poke();
      }
      const still = pending.filter((w) => !ready.has(w.symbol));
      // Compared without the ages, so the line repeats only when a blocker changes.
      const text = waitingText(still, null);
      if (text !== null && text !== lastWaiting) {
        const line = waitingLine(elapsed(), waitingText(still, Date.now()) ?? text);
        io.out(line);
        waitLog.info({ waiting: text }, line);
      }
      lastWaiting = text;
      return ready.size === symbolCount;
    },
  };
}
