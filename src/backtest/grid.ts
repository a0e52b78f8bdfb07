import { availableParallelism } from 'node:os';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { Dec } from '../domain/decimal.ts';
import { ConfigError } from '../domain/errors.ts';
import type { BacktestOptions } from './options.ts';
import type { BacktestSummary } from './types.ts';

// `btcbot backtest --grid K=V1,V2,… [--grid …]`: every combination of the values (the Cartesian
// product, first --grid varying slowest) is one backtest of the same data, run in a pool of worker
// threads (one per core, at most one per point), and the points are ranked in one table.
//
// Ranking rule: total PnL (realised + unrealised, fees already deducted) highest first; ties by the
// smaller max drawdown, then by the grid order. A point whose backtest failed ranks last, in grid
// order, with its error.

const GRID_RANKING_RULE =
  'total PnL (realised + unrealised, after fees) descending; ties: smaller max drawdown, then grid order; failed points last';

/** Grid points at most: a typo like K=1..1000 should not start a million backtests. */
const MAX_GRID_POINTS = 10_000;

export interface GridAxis {
  readonly key: string;
  readonly values: readonly string[];
}

/** `K=V1,V2,…` → an axis; a ConfigError naming --grid otherwise. */
export function parseGridArg(text: string): GridAxis {
  const match = /^\s*([A-Za-z_][\w.-]*)\s*=(.*)$/s.exec(text);
  if (!match?.[1])
    throw new ConfigError(
      '--grid',
      `expected KEY=V1,V2,… such as spreadBps=20,40,80, got ${JSON.stringify(text)}`,
    );
  const key = match[1];
  const values = (match[2] ?? '').split(',').map((v) => v.trim());
  if (values.some((v) => v === ''))
    throw new ConfigError('--grid', `${key}: every value must be non-empty, got ${JSON.stringify(text)}`);
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw new ConfigError('--grid', `${key}: value ${JSON.stringify(v)} is given twice`);
    seen.add(v);
  }
  return { key, values };
}

/** All `--grid` arguments; a key may appear once, and not also as a `--param`. */
export function parseGridArgs(
  args: readonly string[],
  params: Readonly<Record<string, unknown>> = {},
): GridAxis[] {
  const axes = args.map(parseGridArg);
  const keys = new Set<string>();
  for (const axis of axes) {
    if (keys.has(axis.key)) throw new ConfigError('--grid', `${axis.key} is given by more than one --grid`);
    if (Object.hasOwn(params, axis.key))
      throw new ConfigError('--grid', `${axis.key} is given both by --grid and by --param`);
    keys.add(axis.key);
  }
  const count = axes.reduce((n, a) => n * a.values.length, 1);
  if (count > MAX_GRID_POINTS)
    throw new ConfigError('--grid', `${count} combinations is more than the ${MAX_GRID_POINTS} allowed`);
  return axes;
}

/** The Cartesian product of the axes, the first axis varying slowest. */
export function gridPoints(axes: readonly GridAxis[]): Record<string, string>[] {
  let points: Record<string, string>[] = [{}];
  for (const axis of axes)
    points = points.flatMap((point) => axis.values.map((value) => ({ ...point, [axis.key]: value })));
  return points;
}

/** What each worker runs: the backtest options every point shares (plain data, no callbacks). */
export type GridBaseOptions = Omit<BacktestOptions, 'onProgress'>;

export interface GridOptions {
  readonly base: GridBaseOptions;
  readonly axes: readonly GridAxis[];
  /** Worker threads; default one per core (os.availableParallelism()), never more than points. */
  readonly workers?: number | undefined;
  /** Called as each point finishes (in completion order). */
  readonly onPoint?: ((done: number, total: number, row: GridRow) => void) | undefined;
}

export interface GridRow {
  /** 1-based rank under GRID_RANKING_RULE. */
  readonly rank: number;
  /** 0-based position in the grid order. */
  readonly index: number;
  /** The grid's values for this point (the --param values are in base). */
  readonly grid: Readonly<Record<string, string>>;
  readonly summary: BacktestSummary | null;
  readonly error: string | null;
}

export interface GridResult {
  readonly rule: string;
  readonly axes: readonly GridAxis[];
  readonly points: number;
  readonly workers: number;
  /** Ranked, best first. */
  readonly rows: readonly GridRow[];
}

/** Messages between runGrid and src/backtest/grid-worker.ts. */
export interface GridTask {
  readonly index: number;
  readonly options: GridBaseOptions;
}
export type GridReply =
  | { readonly index: number; readonly summary: BacktestSummary }
  | { readonly index: number; readonly error: { name: string; message: string; setting?: string } };

/**
 * The worker script and how to start it: the compiled .js next to this module when running from
 * dist/; from the .ts source, a two-line bootstrap that registers tsx's loader in the worker and
 * then imports the .ts worker (on Node 20, `execArgv: ['--import', 'tsx']` does not make a
 * worker's .ts entry loadable: "Unknown file extension .ts").
 */
export function workerEntry(moduleUrl: string = import.meta.url): {
  script: URL | string;
  options: WorkerOptions;
} {
  if (!moduleUrl.endsWith('.ts')) return { script: new URL('./grid-worker.js', moduleUrl), options: {} };
  const worker = new URL('./grid-worker.ts', moduleUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  return {
    script: `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`,
    options: { eval: true },
  };
}

type Unranked = Omit<GridRow, 'rank'>;

/** Orders rows by GRID_RANKING_RULE and numbers them. */
export function rankRows(rows: readonly Unranked[]): GridRow[] {
  const sorted = [...rows].sort((a, b) => {
    if (a.summary === null || b.summary === null) {
      if (a.summary !== b.summary) return a.summary === null ? 1 : -1;
      return a.index - b.index;
    }
    const byPnl = new Dec(b.summary.pnl.total).cmp(a.summary.pnl.total);
    if (byPnl !== 0) return byPnl;
    const byDrawdown = new Dec(a.summary.maxDrawdown).cmp(b.summary.maxDrawdown);
    if (byDrawdown !== 0) return byDrawdown;
    return a.index - b.index;
  });
  return sorted.map((row, i) => ({ ...row, rank: i + 1 }));
}

/**
 * Runs every grid point's backtest in worker threads and ranks them. When every point fails with
 * the same configuration error (a bad --param or --data), that error is thrown instead.
 */
export async function runGrid(options: GridOptions): Promise<GridResult> {
  const baseParams = options.base.params ?? {};
  const points = gridPoints(options.axes);
  const total = points.length;
  const wanted = options.workers ?? availableParallelism();
  if (!Number.isInteger(wanted) || wanted < 1)
    throw new ConfigError('--workers', `expected a whole number from 1, got ${wanted}`);
  const workerCount = Math.min(wanted, total);
  const entry = workerEntry();
  const rows: Unranked[] = [];
  const configErrors = new Map<number, string>();
  let next = 0;
  let done = 0;

  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(entry.script, entry.options);
      let current: number | null = null;
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        void worker.terminate();
        if (error) reject(error);
        else resolve();
      };
      const dispatch = (): void => {
        if (next >= total) {
          current = null;
          finish();
          return;
        }
        current = next++;
        const task: GridTask = {
          index: current,
          options: { ...options.base, params: { ...baseParams, ...points[current] } },
        };
        worker.postMessage(task);
      };
      worker.on('message', (reply: GridReply) => {
        const grid = points[reply.index] ?? {};
        let row: Unranked;
        if ('summary' in reply) row = { index: reply.index, grid, summary: reply.summary, error: null };
        else {
          row = { index: reply.index, grid, summary: null, error: reply.error.message };
          if (reply.error.name === 'ConfigError' && reply.error.setting !== undefined)
            configErrors.set(reply.index, reply.error.setting);
        }
        rows.push(row);
        done += 1;
        options.onPoint?.(done, total, { ...row, rank: 0 });
        dispatch();
      });
      worker.on('error', (error) => {
        finish(
          new Error(
            `grid worker failed${current === null ? '' : ` on point ${current + 1}`}: ${error.message}`,
          ),
        );
      });
      worker.on('exit', (code) => {
        if (!settled) finish(new Error(`grid worker exited with code ${code} before finishing`));
      });
      worker.once('online', dispatch);
    });

  await Promise.all(Array.from({ length: workerCount }, runWorker));

  // Every point refused with the same configuration error: the setting is wrong, not a point.
  const setting = configErrors.get(0);
  const firstError = rows.find((r) => r.index === 0)?.error;
  if (
    total > 0 &&
    setting !== undefined &&
    firstError !== null &&
    firstError !== undefined &&
    configErrors.size === total &&
    rows.every((r) => r.error === firstError)
  ) {
    const prefix = `${setting}: `;
    throw new ConfigError(
      setting,
      firstError.startsWith(prefix) ? firstError.slice(prefix.length) : firstError,
    );
  }
  const ranked = rankRows(rows);
  return { rule: GRID_RANKING_RULE, axes: options.axes, points: total, workers: workerCount, rows: ranked };
}

const pctText = (share: string): string => `${(Number(share) * 100).toFixed(1)}%`;
/** Money in the table: rounded to 0.01 of the quote currency (the JSON keeps the exact text). */
const money = (text: string): string => new Dec(text).toFixed(2);

/** The ranked grid as an aligned text table (one line per point) followed by the ranking rule. */
export function formatGridTable(result: GridResult): string {
  const keys = result.axes.map((a) => a.key);
  const columns = [
    'rank',
    ...keys,
    'pnl total',
    'realised',
    'unrealised',
    'fees',
    'fills',
    'orders',
    'maker',
    'max dd',
  ];
  const rows = result.rows.map((row) => {
    const s = row.summary;
    const values = keys.map((k) => row.grid[k] ?? '');
    if (s === null) return [String(row.rank), ...values, `error: ${row.error ?? 'unknown'}`];
    return [
      String(row.rank),
      ...values,
      money(s.pnl.total),
      money(s.pnl.realised),
      money(s.pnl.unrealised),
      money(s.pnl.fees),
      String(s.fills),
      String(s.orders),
      pctText(s.makerShare),
      money(s.maxDrawdown),
    ];
  });
  const complete = rows.filter((r) => r.length === columns.length);
  const widths = columns.map((c, i) => Math.max(c.length, ...complete.map((r) => (r[i] ?? '').length)));
  const numeric = columns.map(
    (_, i) => complete.length > 0 && complete.every((r) => /^-?[\d.]+%?$/.test(r[i] ?? '')),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((v, i) => {
        if (i >= widths.length || (cells.length < columns.length && i === cells.length - 1)) return v;
        const width = widths[i] ?? 0;
        return numeric[i] === true ? v.padStart(width) : v.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${result.points} points on ${result.workers} worker thread${result.workers === 1 ? '' : 's'}; money in ${result.rows.find((r) => r.summary !== null)?.summary?.currency ?? 'the quote currency'}, rounded to 0.01 (--json for exact values); ranked by ${result.rule}.`,
    '',
  ].join('\n');
}
