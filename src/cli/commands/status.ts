import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import type { Decimal } from 'decimal.js';
import { DEFAULT_DB } from '../../ops/run-defaults.ts';
import type { StoreReader } from '../../ports/store.ts';
import { MissingDatabaseError, openReader, operatorAction, withOpened } from '../stores.ts';

// `btcbot status`: what the bot's store says, read-only, so it works beside a running bot. Its
// modules load when it runs (src/cli/program.ts builds every command for every start).

interface StatusFlags {
  readonly db: string;
  readonly json?: boolean;
}

interface OpenBySymbol {
  symbol: string;
  buy: number;
  sell: number;
  states: Record<string, number>;
}

async function gather(store: StoreReader) {
  const { accountFills } = await import('../../oms/accounting.ts');
  const [escalation, killSwitch, active, fills, equity] = await Promise.all([
    store.escalation(),
    store.killSwitch(),
    store.activeOrders(),
    store.fills(),
    store.lastEquitySnapshot(),
  ]);
  const open = new Map<string, OpenBySymbol>();
  for (const order of active) {
    if (order.origin === 'foreign') continue;
    const row = open.get(order.symbol) ?? { symbol: order.symbol, buy: 0, sell: 0, states: {} };
    row[order.side] += 1;
    row.states[order.state] = (row.states[order.state] ?? 0) + 1;
    open.set(order.symbol, row);
  }
  const positions = [...accountFills(fills).values()].map((p) => ({
    symbol: p.symbol,
    position: p.quantity,
    base: p.base,
    averagePrice: p.averagePrice,
    realised: p.realised,
    fees: p.costs,
    fills: p.fillCount,
  }));
  return {
    database: store.location,
    escalation,
    killSwitch,
    openOrders: [...open.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
    fills: fills.length,
    positions,
    equity: equity ?? null,
  };
}

const money = (value: Decimal) => value.toFixed(2);
const when = (at: number | null) => (at === null ? 'never' : new Date(at).toISOString());

async function printStatus(status: Awaited<ReturnType<typeof gather>>): Promise<void> {
  const { printTable } = await import('../output.ts');
  const { escalation, killSwitch, equity } = status;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`database: ${status.database}`);
  out(
    `escalation: ${escalation.level}${escalation.reason ? ` (${escalation.reason})` : ''}, since ${when(escalation.at)}`,
  );
  out(`kill switch: ${killSwitch.on ? 'ON' : 'off'}${killSwitch.reason ? ` (${killSwitch.reason})` : ''}`);
  out(`fills: ${status.fills}`);
  out('open orders:');
  printTable(
    status.openOrders.map((o) => ({
      ...o,
      states: Object.entries(o.states)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
    })),
    ['symbol', 'buy', 'sell', 'states'],
  );
  out('positions (the bot’s own fills):');
  printTable(status.positions, ['symbol', 'position', 'base', 'averagePrice', 'realised', 'fees', 'fills']);
  if (equity === null) out('equity: no snapshot yet');
  else
    out(
      `equity at ${when(equity.at)}: ${money(equity.equity)} ${equity.currency} (cash ${money(equity.cash)}, ` +
        `realised ${money(equity.realised)}, unrealised ${money(equity.unrealised)}, fees ${money(equity.fees)}, ` +
        `peak ${money(equity.peakEquity)})`,
    );
}

async function status(flags: StatusFlags): Promise<void> {
  try {
    await withOpened(openReader(flags.db), async (store) => {
      const result = await gather(store);
      if (flags.json === true) (await import('../output.ts')).printJson(result);
      else await printStatus(result);
    });
  } catch (error) {
    if (!(error instanceof MissingDatabaseError)) throw error;
    const { sessionDbPath } = await import('../../ops/run-config.ts');
    const paper = resolve(sessionDbPath(flags.db, 'paper'));
    // The usual slip: a paper session keeps its own database beside the configured one.
    const hint = existsSync(paper)
      ? `the last paper session's is ${paper} (btcbot status --db ${paper})`
      : undefined;
    throw new MissingDatabaseError(error.path, hint);
  }
}

export function registerStatusCommand(program: Command): void {
  program.addCommand(
    new Command('status')
      .description(
        "the bot's state from its store (read-only, works while it runs): escalation, kill switch, open orders, fills, positions, equity",
      )
      .option('--db <path>', 'the bot database: a file, or a postgres:// URL', DEFAULT_DB)
      .option('--json', 'print the result as JSON')
      .action(operatorAction(status)),
  );
}
