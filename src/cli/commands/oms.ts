import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import { ORDER_STATES, type OrderState } from '../../domain/orders.ts';
import type { CancelResult, Oms } from '../../oms/index.ts';
import type { OrderStatusReport } from '../../domain/reports.ts';
import type { Logger } from '../../ops/logger.ts';
import type { Exchange } from '../../ports/exchange.ts';
import type { KillSwitchControl, Store } from '../../ports/store.ts';
import type { FlagValues } from '../../config/connection.ts';
import { withConnectionOptions } from '../options.ts';
import type { AuditAction } from '../../ports/audit.ts';
import { REASON_OPTION, recordCliAction } from './audit.ts';
import {
  MissingDatabaseError,
  openControl,
  openReader,
  openWriter,
  operatorAction,
  withOpened,
} from '../stores.ts';
import { exchangeFills, FILL_COLUMNS, positiveInt, requireListed, symbolArg, timeArg } from './exchange.ts';

// Operator commands on the execution core's store (DESIGN §4). Reads open the database read-only
// and the kill switch opens only its own row, so both work beside a running bot; every other write
// takes the store's single-writer lock and is refused with its message while a bot holds it.
// The OMS, the exchange adapter and the output load when a command runs, never to build the CLI.

export const DEFAULT_DB = './data/btcbot.db';
const DEFAULT_PREFIX = 'bb';

type StoreFlags = { db: string; json?: boolean };
export type OmsFlags = FlagValues & StoreFlags & { prefix?: string; symbols?: string[] };

export const action = <A extends unknown[]>(run: (...args: A) => Promise<void>) =>
  operatorAction(run, async () => {
    const { OrderRefusedError, UnknownOrderError } = await import('../../oms/index.ts');
    return [UnknownOrderError, OrderRefusedError];
  });

const output = () => import('../output.ts');

export interface WithOmsOptions {
  /** May a SQLite store that does not exist be created (`btcbot order`)? Operator actions on the bot's store: no. */
  readonly create: boolean;
  /** Also reconcile every pair where the exchange shows an open order with our prefix (`cancel-all`). */
  readonly ownOpenOrderPairs?: boolean;
}

async function clientIdPrefix(flags: OmsFlags): Promise<string> {
  const { validateClientIdPrefix } = await import('../../domain/client-ids.ts');
  return validateClientIdPrefix(flags.prefix ?? process.env.BTCBOT_CLIENT_ID_PREFIX ?? DEFAULT_PREFIX);
}

/** The configured exchange, closed after `work`. */
async function withExchange<T>(
  flags: OmsFlags,
  work: (exchange: Exchange, logger: Logger) => Promise<T>,
): Promise<T> {
  const [{ createLogger }, { createExchange, resolveSettings }] = await Promise.all([
    import('../../ops/logger.ts'),
    import('../../config/exchange.ts'),
  ]);
  const logger = createLogger();
  const exchange = createExchange(resolveSettings(flags), logger);
  try {
    return await work(exchange, logger);
  } finally {
    await exchange.close();
  }
}

/** The exchange's open orders that carry this bot's client id prefix (on `symbol`, or every pair). */
async function ownOpenOrders(
  exchange: Exchange,
  prefix: string,
  symbol?: string,
): Promise<OrderStatusReport[]> {
  const { isOwnClientOrderId } = await import('../../domain/client-ids.ts');
  return (await exchange.openOrders(symbol)).filter(
    (o) => o.clientOrderId !== null && isOwnClientOrderId(o.clientOrderId, prefix),
  );
}

/**
 * The OMS on the configured exchange and store, for one operator action. It reconciles the pairs
 * given, else every pair the store has held an order on (where an order it forgot may be).
 */
export async function withOms(
  flags: OmsFlags,
  options: WithOmsOptions,
  work: (oms: Oms, store: Store, exchange: Exchange) => Promise<void>,
): Promise<void> {
  const [prefix, { Oms }] = await Promise.all([clientIdPrefix(flags), import('../../oms/index.ts')]);
  await withExchange(flags, async (exchange, logger) => {
    await withOpened(openWriter(flags.db, options), async (store) => {
      let symbols = flags.symbols;
      if (symbols === undefined) {
        const held = (await store.orders()).map((o) => o.symbol);
        const resting = options.ownOpenOrderPairs
          ? (await ownOpenOrders(exchange, prefix)).map((o) => o.symbol)
          : [];
        symbols = [...new Set([...held, ...resting])];
      }
      await work(new Oms({ store, exchange, prefix, logger, symbols }), store, exchange);
    });
  });
}

/**
 * `cancel-all` when `--db` names no store: the orders of ours resting on the exchange are canceled
 * anyway (found by our client id prefix), then the missing store is reported as the configuration
 * error it is (exit code 2). Nothing is created or journaled.
 */
async function cancelWithoutStore(
  flags: OmsFlags & { symbol?: string },
  missing: MissingDatabaseError,
): Promise<never> {
  const prefix = await clientIdPrefix(flags);
  const canceled: string[] = [];
  const failed: string[] = [];
  const pairs = flags.symbols ?? (flags.symbol === undefined ? [undefined] : [flags.symbol]);
  let unasked: string | undefined;
  try {
    await withExchange(flags, async (exchange) => {
      for (const pair of pairs)
        for (const order of await ownOpenOrders(exchange, prefix, pair)) {
          const name = `${order.exchangeOrderId} (${order.clientOrderId ?? '-'}, ${order.symbol} ${order.side})`;
          try {
            await exchange.cancelOrder(order.exchangeOrderId);
            canceled.push(name);
          } catch (error) {
            failed.push(`${name}: ${(error as Error).message}`);
          }
        }
    });
  } catch (error) {
    unasked = (error as Error).message;
  }
  for (const name of canceled) process.stderr.write(`btcbot: cancel requested for ${name}\n`);
  for (const line of failed) process.stderr.write(`btcbot: cancel FAILED for ${line}\n`);
  const where = missing.message.replace(/^--db: /, '');
  throw new ConfigError(
    '--db',
    unasked !== undefined
      ? `${where}; the exchange could not be asked for open orders with client id prefix "${prefix}" either (${unasked})`
      : `${where}; without the store, the exchange was asked for open orders with client id prefix "${prefix}": ` +
          `${canceled.length} cancel(s) requested` +
          (failed.length > 0 ? `, ${failed.length} failed` : '') +
          ' (not journaled: run btcbot reconcile with the right --db to record them)',
  );
}

function storeCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--db <path>', 'the bot database: a file, or a postgres:// URL', DEFAULT_DB)
    .option('--json', 'print the result as JSON');
}

export function omsCommand(name: string, description: string): Command {
  return withConnectionOptions(storeCommand(name, description))
    .option(
      '--prefix <prefix>',
      `client order id prefix of this bot (also BTCBOT_CLIENT_ID_PREFIX; default ${DEFAULT_PREFIX})`,
    )
    .option(
      '--symbols <pairs>',
      'pairs to reconcile, comma separated (default: every pair the store has held)',
      (v) => v.split(',').map(symbolArg),
    );
}

function statesArg(value: string): OrderState[] {
  const states = value.split(',').map((s) => s.trim().toUpperCase());
  for (const state of states)
    if (!(ORDER_STATES as readonly string[]).includes(state))
      throw new InvalidArgumentError(`"${state}" is not an order state; states: ${ORDER_STATES.join(', ')}`);
  return states as OrderState[];
}

const ORDER_COLUMNS = [
  'id',
  'clientOrderId',
  'exchangeOrderId',
  'symbol',
  'side',
  'price',
  'quantity',
  'filledQuantity',
  'state',
  'origin',
  'updated',
];

async function printCancels(flags: StoreFlags, results: readonly CancelResult[]): Promise<void> {
  const { printJson, printTable } = await output();
  // The order and the outcome only: the exchange report the cancel was settled on is internal (and in
  // the venue's terms, not the --json convention's).
  if (flags.json) printJson({ cancels: results.map(({ order, outcome }) => ({ order, outcome })) });
  else
    printTable(
      results.map((r) => ({ ...r.order, outcome: r.outcome, reason: r.order.stateReason })),
      ['id', 'exchangeOrderId', 'symbol', 'state', 'outcome', 'reason'],
    );
  if (results.some((r) => r.outcome === 'pending' || r.outcome === 'refused')) process.exitCode = 1;
}

export function registerOmsCommands(program: Command): void {
  program.addCommand(
    storeCommand('orders', 'orders as the store knows them (newest first)')
      .option('--symbol <pair>', 'only this pair', symbolArg)
      .option('--state <states>', 'only these states, comma separated', statesArg)
      .option('--limit <n>', 'at most this many', positiveInt('--limit', 1_000_000), 100)
      .action(
        action(async (flags: StoreFlags & { symbol?: string; state?: OrderState[]; limit: number }) => {
          const { printJson, printTable } = await output();
          await withOpened(openReader(flags.db), async (store) => {
            const orders = await store.orders({
              symbol: flags.symbol,
              states: flags.state,
              limit: flags.limit,
            });
            if (flags.json) printJson({ orders });
            else
              printTable(
                orders.map((o) => ({ ...o, updated: new Date(o.updatedAt).toISOString() })),
                ORDER_COLUMNS,
              );
          });
        }),
      ),
  );

  program.addCommand(
    withConnectionOptions(
      storeCommand('fills', 'fills as the store counted them; --exchange asks the exchange'),
    )
      .addOption(new Option('--exchange', "the exchange's trade history instead of the store"))
      .option('--symbol <pair>', 'only this pair', symbolArg)
      .option('--order-id <id>', 'only this exchange order')
      .option('--start <time>', 'from this time (ms or ISO date)', timeArg('--start'))
      .option('--end <time>', 'until this time (ms or ISO date)', timeArg('--end'))
      .action(
        action(
          async (
            flags: OmsFlags & {
              exchange?: boolean;
              symbol?: string;
              orderId?: string;
              start?: number;
              end?: number;
            },
          ) => {
            if (flags.exchange) {
              await exchangeFills(flags);
              return;
            }
            const { printJson, printTable } = await output();
            await withOpened(openReader(flags.db), async (store) => {
              const fills = (await store.fills({ symbol: flags.symbol, since: flags.start })).filter(
                (f) =>
                  (flags.orderId === undefined || f.exchangeOrderId === flags.orderId) &&
                  (flags.end === undefined || f.timestamp <= flags.end),
              );
              if (flags.json) printJson({ fills });
              else
                printTable(
                  fills.map((f) => ({ ...f, time: new Date(f.timestamp).toISOString() })),
                  [...FILL_COLUMNS, 'source'],
                );
            });
          },
        ),
      ),
  );

  program.addCommand(
    omsCommand('reconcile', 'compare the store with the exchange and repair it (exit 1 unless clean)').action(
      action(async (flags: OmsFlags) => {
        const { printJson } = await output();
        await withOms(flags, { create: false }, async (oms) => {
          const report = await oms.start();
          if (flags.json) printJson(report);
          else {
            // Nothing contradicts the store, only not found yet: an order sent moments ago that the
            // exchange's reads do not show yet (or whose outcome is still being looked up).
            const onlyPending = report.failures.length === 0 && report.divergences.length === 0;
            process.stdout.write(
              `${report.clean ? 'clean' : onlyPending ? 'NOT CLEAN YET' : 'NOT CLEAN'}: symbols ${report.symbols.join(', ') || '-'}; ` +
                `repairs ${JSON.stringify(report.actions)}; escalation ${report.escalation.level}\n`,
            );
            for (const line of [...report.failures, ...report.divergences])
              process.stdout.write(`  ${line}\n`);
            if (report.unresolved > 0)
              process.stdout.write(
                `  ${report.unresolved} order(s) not visible on the exchange yet (sent moments ago, or the outcome of a send is still being looked up): not a divergence so far\n`,
              );
            if (report.openReplaces > 0)
              process.stdout.write(`  ${report.openReplaces} replace(s) still under way\n`);
            if (!report.clean)
              process.stdout.write(
                '  hint: the exchange can take a few seconds to show a new order or a cancel; wait and run btcbot reconcile again before acting on this\n',
              );
          }
          if (!report.clean) process.exitCode = 1;
        });
      }),
    ),
  );

  program.addCommand(
    omsCommand('cancel', 'cancel one order, by local or exchange id, or by client id')
      .argument('[id]', 'local order id or exchange order id')
      .option('--client-id <cid>', 'the order with this client order id')
      .option(...REASON_OPTION)
      .action(
        action(async (id: string | undefined, flags: OmsFlags & { clientId?: string; reason?: string }) => {
          if ((id === undefined) === (flags.clientId === undefined))
            throw new ConfigError('cancel', 'give an order id or --client-id, not both and not neither');
          const ref =
            flags.clientId !== undefined ? { clientOrderId: flags.clientId } : { orderId: id ?? '' };
          const { UnknownOrderError } = await import('../../oms/index.ts');
          await withOms(flags, { create: false }, async (oms, store) => {
            await recordCliAction(store, 'cancel', flags.reason, {
              orderId: id ?? null,
              clientOrderId: flags.clientId ?? null,
            });
            // An order the store does not know yet (placed before a restore) is adopted first.
            const result = await oms.cancel(ref).catch(async (error: unknown) => {
              if (!(error instanceof UnknownOrderError)) throw error;
              await oms.reconcile();
              return oms.cancel(ref);
            });
            await printCancels(flags, [result]);
          });
        }),
      ),
  );

  program.addCommand(
    omsCommand('cancel-all', 'cancel every resting order of this bot (hand-placed orders are left alone)')
      .option('--symbol <pair>', 'only this pair', symbolArg)
      .option(...REASON_OPTION)
      .action(
        action(async (flags: OmsFlags & { symbol?: string; reason?: string }) => {
          const symbols = flags.symbols ?? (flags.symbol === undefined ? undefined : [flags.symbol]);
          try {
            await withOms(
              { ...flags, symbols },
              { create: false, ownOpenOrderPairs: true },
              async (oms, store, exchange) => {
                await requireListed(exchange, flags.symbol, '--symbol');
                await recordCliAction(store, 'cancel-all', flags.reason, { symbol: flags.symbol ?? null });
                await oms.reconcile();
                await printCancels(flags, await oms.cancelAll(flags.symbol));
              },
            );
          } catch (error) {
            if (error instanceof MissingDatabaseError) await cancelWithoutStore(flags, error);
            throw error;
          }
        }),
      ),
  );

  program.addCommand(
    storeCommand(
      'kill-switch',
      'turn the kill switch on (no new orders; cancels still go), off, or show it; works while a bot runs',
    )
      .argument('<action>', 'on, off or status', (value: string) => {
        if (!['on', 'off', 'status'].includes(value))
          throw new InvalidArgumentError('must be on, off or status');
        return value;
      })
      .option('--reason <text>', 'why (recorded with the switch)')
      .action(
        action(async (what: string, flags: StoreFlags & { reason?: string }) => {
          const reason = flags.reason ?? 'operator, from the command line';
          const { printJson } = await output();
          // Its own row only, without the writer lock: a running bot sees it at its next evaluation.
          await withOpened(openControl(flags.db), async (control: KillSwitchControl) => {
            if (what === 'on') await control.setKillSwitch(true, reason);
            if (what === 'off') await control.clearKillSwitch(reason);
            if (what !== 'status')
              await recordCliAction(control, `kill-switch-${what}` as AuditAction, flags.reason);
            const [killSwitch, escalation] = await Promise.all([control.killSwitch(), control.escalation()]);
            if (flags.json) printJson({ killSwitch, escalation });
            else
              process.stdout.write(
                `kill switch ${killSwitch.on ? 'ON' : 'off'}${killSwitch.reason ? ` (${killSwitch.reason})` : ''}; ` +
                  `escalation ${escalation.level}${escalation.reason ? ` (${escalation.reason})` : ''}\n`,
              );
          });
        }),
      ),
  );
}
