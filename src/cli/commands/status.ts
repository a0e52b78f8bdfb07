import { Command } from 'commander';
import type { Decimal } from 'decimal.js';
import { DEFAULT_DB } from '../../ops/run-defaults.ts';
import type { EquitySnapshot, StoreReader } from '../../ports/store.ts';
import { openReader, operatorAction, withOpened } from '../stores.ts';

// `btcbot status`: what the bot's store says, read-only, so it works beside a running bot. Its
// modules load when it runs (src/cli/program.ts builds every command for every start).

interface StatusFlags {
  readonly db: string;
  readonly json?: boolean;
  readonly cluster?: boolean;
}

interface OpenBySymbol {
  symbol: string;
  buy: number;
  sell: number;
  states: Record<string, number>;
}

/** Decimal places of a price as the exchange writes it: the pair's price scale, as its fills show it. */
function places(value: Decimal): number {
  return Math.max(0, value.decimalPlaces());
}

async function gather(store: StoreReader) {
  const { accountFills } = await import('../../oms/accounting.ts');
  const [escalation, killSwitch, active, fills, equity, [firstEquity]] = await Promise.all([
    store.escalation(),
    store.killSwitch(),
    store.activeOrders(),
    store.fills(),
    store.lastEquitySnapshot(),
    store.equitySnapshots({ limit: 1 }),
  ]);
  const open = new Map<string, OpenBySymbol>();
  for (const order of active) {
    if (order.origin === 'foreign') continue;
    const row = open.get(order.symbol) ?? { symbol: order.symbol, buy: 0, sell: 0, states: {} };
    row[order.side] += 1;
    row.states[order.state] = (row.states[order.state] ?? 0) + 1;
    open.set(order.symbol, row);
  }
  // The pair's price scale as its fills were priced: what a price of it is shown at.
  const priceScale = new Map<string, number>();
  for (const fill of fills)
    priceScale.set(fill.symbol, Math.max(priceScale.get(fill.symbol) ?? 0, places(fill.price)));
  const positions = [...accountFills(fills).values()].map((p) => ({
    symbol: p.symbol,
    position: p.quantity,
    base: p.base,
    averagePrice: p.averagePrice,
    realised: p.realised,
    fees: p.costs,
    fills: p.fillCount,
    priceScale: priceScale.get(p.symbol) ?? 0,
  }));
  return {
    database: store.location,
    escalation,
    killSwitch,
    openOrders: [...open.values()].sort((a, b) => (a.symbol < b.symbol ? -1 : 1)),
    fills: fills.length,
    positions,
    /** The first point of the equity curve: what the account held when the bot started valuing it. */
    startingEquity: firstEquity ?? null,
    equity: equity ?? null,
  };
}

type Status = Awaited<ReturnType<typeof gather>>;

// Money in the quote currency: two places, as BTCTurk shows TRY (exact values stay in --json).
const money = (value: Decimal) => value.toFixed(2);
const signed = (value: Decimal) => (value.isNegative() ? '' : '+') + money(value);
const when = (at: number | null) => (at === null ? 'never' : new Date(at).toISOString());

/** Where the equity came from: what it started at, and how much of the change the bot's own trading made. */
function equityLines(start: EquitySnapshot | null, now: EquitySnapshot | null): string[] {
  if (now === null) return ['equity: no snapshot yet'];
  const lines = [
    `equity at ${when(now.at)}: ${money(now.equity)} ${now.currency} (cash ${money(now.cash)}, ` +
      `realised ${signed(now.realised)}, unrealised ${signed(now.unrealised)}, fees ${money(now.fees)}, ` +
      `peak ${money(now.peakEquity)})`,
  ];
  if (start === null || start.currency !== now.currency) return lines;
  const change = now.equity.sub(start.equity);
  const traded = now.realised.add(now.unrealised).sub(start.realised.add(start.unrealised));
  lines.push(
    `  started at ${when(start.at)} with ${money(start.equity)} ${start.currency} ` +
      `(cash ${money(start.cash)}, holdings ${money(start.equity.sub(start.cash))} at the mid); ` +
      `change ${signed(change)}: the bot's trading ${signed(traded)}, ` +
      `the price of holdings it did not trade ${signed(change.sub(traded))}`,
  );
  return lines;
}

async function printStatus(status: Status): Promise<void> {
  const { printTable } = await import('../output.ts');
  const { escalation, killSwitch } = status;
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
  out('positions (the bot’s own fills; prices at the pair’s scale, PnL in the quote currency):');
  printTable(
    status.positions.map((p) => ({
      ...p,
      averagePrice: p.averagePrice?.toFixed(p.priceScale) ?? null,
      realised: signed(p.realised),
      fees: money(p.fees),
    })),
    ['symbol', 'position', 'base', 'averagePrice', 'realised', 'fees', 'fills'],
  );
  for (const line of equityLines(status.startingEquity, status.equity)) out(line);
}

async function status(flags: StatusFlags): Promise<void> {
  await withOpened(openReader(flags.db), async (store) => {
    if (flags.cluster === true) return clusterStatus(store, flags.json === true);
    const result = await gather(store);
    if (flags.json === true) (await import('../output.ts')).printJson(result);
    else await printStatus(result);
  });
}

/** `--cluster`: every process sharing the store, its pairs with their lease epochs, heartbeat, budget. */
async function clusterStatus(store: StoreReader, json: boolean): Promise<void> {
  const { clusterOf } = await import('../../store/sql/sql-store.ts');
  const { clusterView, clusterLines } = await import('../../ops/leases/cluster-status.ts');
  const reader = clusterOf(store);
  if (reader === undefined) throw new Error(`store ${store.location} has no cluster tables`);
  const view = await clusterView(reader, Date.now());
  if (json) (await import('../output.ts')).printJson(view);
  else for (const line of clusterLines(view)) process.stdout.write(`${line}\n`);
}

export function registerStatusCommand(program: Command): void {
  program.addCommand(
    new Command('status')
      .description(
        "the bot's state from its store (read-only, works while it runs): escalation, kill switch, open orders, fills, positions, equity",
      )
      .option('--db <path>', 'the bot database: a file, or a postgres:// URL', DEFAULT_DB)
      .option('--json', 'print the result as JSON')
      .option('--cluster', 'every process sharing the store: its pairs, lease epochs, heartbeat, budget use')
      .action(operatorAction(status)),
  );
}
