import { Command } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import { parseBalancesArg } from './sim.ts';

// `btcbot backtest`: a recording (`btcbot record`) replayed through the live code — market data
// service, engine, risk gates, OMS, store, accounting — with the simulator's matching core as the
// exchange under a queue-position fill model, on a virtual clock (src/backtest). The backtest,
// report and grid modules load when the command runs, never to build the command line.

interface BacktestFlags {
  readonly data: string;
  readonly strategy?: string;
  readonly param: string[];
  readonly grid: string[];
  readonly from?: string;
  readonly to?: string;
  readonly symbols?: string;
  readonly latencyMs?: string;
  readonly balances?: string;
  readonly ordersPerMinute?: string;
  readonly makerFee?: string;
  readonly takerFee?: string;
  readonly taxRate?: string;
  readonly sampleMs?: string;
  readonly workers?: string;
  readonly out?: string;
  readonly json?: boolean;
}

const HELP_AFTER = `
The fill model (queue position): an order of ours reaches the venue --latency-ms after it is sent
(a cancel likewise). It first takes the recorded levels it crosses, as the taker; the rest rests
behind the whole recorded quantity at its price. Recorded trades at that price consume the queue
ahead of it first and only then fill it (partial fills possible); a trade through its price fills
it up to the trade's size. A recorded decrease of its level never fills it (the queue ahead shrinks
only when the level falls below it); a recorded opposite side at or through its price fills it as
the maker. Tick, scales, minimum order value, maker/taker fees and BSMV are BTCTurk's.

Time: --from and --to take epoch milliseconds or an ISO-8601 time (2026-01-01T10:00:00Z), both
inclusive. The replay runs on the recording's clock: the same data and flags give the same result.

Output: a summary; --json prints it as JSON (decimals as strings); --out DIR writes
DIR/summary.json and DIR/report.html. --grid K=V1,V2,… (repeatable) runs every combination in
worker threads and ranks them.`;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Epoch ms or an ISO-8601 time. */
function parseTimeFlag(setting: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(parsed))
    throw new ConfigError(
      setting,
      `expected epoch milliseconds or an ISO-8601 time such as 2026-01-01T10:00:00Z, got ${JSON.stringify(text)}`,
    );
  return parsed;
}

function numberFlag(
  setting: string,
  text: string | undefined,
  min: number,
  whole: boolean,
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min || (whole && !Number.isInteger(value)))
    throw new ConfigError(
      setting,
      `expected ${whole ? 'a whole number' : 'a number'} of at least ${min}, got ${JSON.stringify(text)}`,
    );
  return value;
}

function symbolsFlag(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const symbols = text
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter((s) => s !== '');
  if (symbols.length === 0) throw new ConfigError('--symbols', 'give at least one pair, e.g. BTCTRY');
  return symbols;
}

export function registerBacktestCommand(program: Command): void {
  program
    .command('backtest')
    .description('replay a recording through the live code with a queue-position fill model')
    .requiredOption('--data <dir>', 'the recording directory (btcbot record --out)')
    .option('--strategy <name>', 'strategy to run (default market-maker)')
    .option('--param <key=value>', 'strategy parameter (repeatable)', collect, [])
    .option(
      '--grid <key=v1,v2,...>',
      'sweep a parameter over values (repeatable; combinations run in parallel)',
      collect,
      [],
    )
    .option('--from <time>', 'replay from this recorded time (epoch ms or ISO-8601)')
    .option('--to <time>', 'replay up to this recorded time (epoch ms or ISO-8601)')
    .option('--symbols <list>', 'pairs to trade (default: every pair recorded)')
    .option('--latency-ms <ms>', 'one-way latency of our requests to the venue (default 50)')
    .option(
      '--balances <list>',
      'starting balances, e.g. TRY=1000000,BTC=0.5 (default 1000000 of each quote currency)',
    )
    .option('--orders-per-minute <n>', "the engine's order budget (default as btcbot run)")
    .option('--maker-fee <rate>', "maker fee rate (default BTCTurk's 0.0008)")
    .option('--taker-fee <rate>', "taker fee rate (default BTCTurk's 0.0016)")
    .option('--tax-rate <rate>', 'BSMV on the fee (default 0.05)')
    .option('--sample-ms <ms>', 'equity and price samples at most this often, market time (default 1000)')
    .option('--workers <n>', 'grid: worker threads (default one per core)')
    .option('--out <dir>', 'write summary.json and report.html here')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: BacktestFlags) => {
      const { paramsFromFlags } = await import('../../engine/strategy-config.ts');
      const params = paramsFromFlags(flags.param);
      const base = {
        data: flags.data,
        strategy: flags.strategy,
        params,
        symbols: symbolsFlag(flags.symbols),
        from: parseTimeFlag('--from', flags.from),
        to: parseTimeFlag('--to', flags.to),
        latencyMs: numberFlag('--latency-ms', flags.latencyMs, 0, false),
        balances: flags.balances === undefined ? undefined : parseBalancesArg(flags.balances),
        ordersPerMinute: numberFlag('--orders-per-minute', flags.ordersPerMinute, 1, true),
        makerFeeRate: flags.makerFee,
        takerFeeRate: flags.takerFee,
        taxRate: flags.taxRate,
        sampleEveryMs: numberFlag('--sample-ms', flags.sampleMs, 1, false),
      };
      const { printJson } = await import('../output.ts');
      if (flags.grid.length > 0) {
        const grid = await import('../../backtest/grid.ts');
        const axes = grid.parseGridArgs(flags.grid, params);
        const workers = numberFlag('--workers', flags.workers, 1, true);
        const result = await grid.runGrid({ base, axes, ...(workers === undefined ? {} : { workers }) });
        if (flags.out !== undefined) {
          const fs = await import('node:fs/promises');
          const path = await import('node:path');
          await fs.mkdir(flags.out, { recursive: true });
          await fs.writeFile(path.join(flags.out, 'grid.json'), `${JSON.stringify(result, null, 2)}\n`);
        }
        if (flags.json === true) printJson(result);
        else process.stdout.write(grid.formatGridTable(result));
        return;
      }
      const { runBacktest } = await import('../../backtest/run.ts');
      const { summaryOf } = await import('../../backtest/types.ts');
      const result = await runBacktest(base);
      if (flags.out !== undefined) {
        const { writeReport } = await import('../../backtest/report.ts');
        const written = await writeReport(flags.out, result);
        if (flags.json !== true)
          process.stdout.write(`wrote ${written.summaryPath} and ${written.htmlPath}\n`);
      }
      if (flags.json === true) {
        printJson(summaryOf(result));
        return;
      }
      const { summaryLines } = await import('../../backtest/summary-text.ts');
      for (const line of summaryLines(summaryOf(result))) process.stdout.write(`${line}\n`);
    });
}
