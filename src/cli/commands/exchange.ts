import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import type { OrderStatusReport } from '../../domain/reports.ts';
import type { Exchange } from '../../ports/exchange.ts';
import type { FlagValues } from '../../config/connection.ts';
import { withConnectionOptions } from '../options.ts';
import type { WatchFlags } from './watch.ts';

// One adapter call against the configured exchange per command (DESIGN §4). The adapter, the
// output and the watch load when a command runs: building the command line loads none of them.

type Opts = FlagValues & { json?: boolean };

/** BTCTurk's book is a window of 100 levels a side (REST and WebSocket alike). */
export const MAX_WATCH_DEPTH = 100;
export const DEFAULT_WATCH_DEPTH = 10;

async function withExchange<T>(opts: Opts, call: (exchange: Exchange) => Promise<T>): Promise<T> {
  const [{ createExchange, resolveSettings }, { createLogger }] = await Promise.all([
    import('../../config/exchange.ts'),
    import('../../ops/logger.ts'),
  ]);
  const settings = resolveSettings(opts);
  const exchange = createExchange(settings, createLogger());
  try {
    return await call(exchange);
  } finally {
    await exchange.close();
  }
}

/**
 * A pair named on the command line must be one the exchange lists: asked about an unknown pair,
 * BTCTurk's private endpoints answer a generic FAILED_ORDER_PARAMETER (or nothing at all), which
 * says nothing about the typo. Checked against the exchange's own list first, as `run` does.
 */
export async function requireListed(
  exchange: Pick<Exchange, 'exchangeInfo'>,
  symbol: string | undefined,
  flag: string,
): Promise<void> {
  if (symbol === undefined) return;
  const listed = (await exchange.exchangeInfo()).symbols.map((s) => s.symbol);
  if (listed.includes(symbol)) return;
  const like = listed.filter((s) => s.slice(0, 3) === symbol.slice(0, 3) || s.endsWith(symbol.slice(-3)));
  throw new ConfigError(
    flag,
    `${symbol} is not a pair the exchange lists` +
      (like.length > 0 ? ` (it lists ${like.slice(0, 5).join(', ')}${like.length > 5 ? ', …' : ''})` : ''),
  );
}

export function positiveInt(name: string, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    return n;
  };
}

export function timeArg(name: string) {
  return (value: string): number => {
    const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(n))
      throw new InvalidArgumentError(`${name} must be ms since the epoch or an ISO date`);
    return n;
  };
}

export function symbolArg(value: string): string {
  const s = value.trim().toUpperCase().replace(/[_/-]/g, '');
  if (!/^[A-Z0-9]{4,20}$/.test(s))
    throw new InvalidArgumentError(`"${value}" is not a pair symbol such as BTCTRY`);
  return s;
}

function command(name: string, description: string): Command {
  return withConnectionOptions(new Command(name).description(description)).option(
    '--json',
    'print the parsed result as JSON',
  );
}

/** A watch that cannot go on (unknown pair, no snapshot) is one line on stderr and exit code 1. */
async function watchCommand(symbol: string, opts: WatchFlags): Promise<void> {
  const { WatchFailure, watchOrderBook } = await import('./watch.ts');
  try {
    await watchOrderBook(symbol, opts);
  } catch (error) {
    if (!(error instanceof WatchFailure)) throw error;
    process.stderr.write(`btcbot: ${error.message}\n`);
    process.exitCode = 1;
  }
}

async function show(
  opts: Opts,
  value: object,
  rows: () => Record<string, unknown>[],
  columns: string[],
): Promise<void> {
  const { printJson, printTable } = await import('../output.ts');
  if (opts.json) printJson(value);
  else printTable(rows(), columns);
}

export function registerExchangeCommands(program: Command): void {
  program.addCommand(
    command('exchange-info', 'trading rules of every pair').action(async (opts: Opts) => {
      const info = await withExchange(opts, (x) => x.exchangeInfo());
      await show(
        opts,
        { at: info.serverTime, pairs: info.symbols },
        () => info.symbols.map((s) => ({ ...s })),
        [
          'symbol',
          'status',
          'quantityScale',
          'priceScale',
          'tickSize',
          'minPrice',
          'maxPrice',
          'minExchangeValue',
          'orderMethods',
        ],
      );
    }),
  );

  program.addCommand(
    command('orderbook', 'the order book of one pair; with --watch, as the bot keeps it from the WebSocket')
      .argument('<symbol>', 'pair such as BTCTRY', symbolArg)
      .option(
        '--limit <n>',
        'levels per side (max 100: BTCTurk sends no more)',
        positiveInt('--limit', 100),
        20,
      )
      .option('--watch', 'follow the book from the WebSocket and print it after every applied change')
      .option(
        '--depth <n>',
        `with --watch: levels per side to print (default ${DEFAULT_WATCH_DEPTH}, max ${MAX_WATCH_DEPTH})`,
        positiveInt('--depth', MAX_WATCH_DEPTH),
      )
      .option('--duration <d>', 'with --watch: stop after this long (250ms, 90s, 5m, 2h)')
      .option(
        '--snapshot-timeout <d>',
        'with --watch: fail when a subscription brings no snapshot within this long (default 10s)',
      )
      .action(async (symbol: string, opts: Opts & WatchFlags & { limit: number; watch?: boolean }) => {
        if (opts.watch === true) {
          await watchCommand(symbol, opts);
          return;
        }
        for (const [value, flag] of [
          [opts.depth, '--depth'],
          [opts.duration, '--duration'],
          [opts.snapshotTimeout, '--snapshot-timeout'],
        ] as const)
          if (value !== undefined)
            throw new ConfigError(flag, 'applies only with --watch (a one-off book takes --limit)');
        const book = await withExchange(opts, (x) => x.orderBook(symbol, opts.limit));
        const depth = Math.max(book.bids.length, book.asks.length);
        await show(
          opts,
          book,
          () =>
            Array.from({ length: depth }, (_, i) => ({
              bidQty: book.bids[i]?.quantity,
              bid: book.bids[i]?.price,
              ask: book.asks[i]?.price,
              askQty: book.asks[i]?.quantity,
            })),
          ['bidQty', 'bid', 'ask', 'askQty'],
        );
      }),
  );

  program.addCommand(
    command('balances', 'account balances (private)').action(async (opts: Opts) => {
      const balances = await withExchange(opts, (x) => x.balances());
      await show(opts, { balances }, () => balances.filter((b) => !b.total.isZero()).map((b) => ({ ...b })), [
        'asset',
        'total',
        'free',
        'locked',
      ]);
    }),
  );

  const orderColumns = [
    'exchangeOrderId',
    'clientOrderId',
    'symbol',
    'side',
    'method',
    'price',
    'quantity',
    'leftQuantity',
    'state',
  ];

  // The exchange's order status in the store's names, so that `open-orders`, `order-history` and
  // `orders` say an order's lifecycle the same way (the --json convention, src/cli/output.ts).
  const STATE_OF_STATUS = {
    open: 'OPEN',
    partially_filled: 'PARTIALLY_FILLED',
    filled: 'FILLED',
    canceled: 'CANCELED',
  } as const;
  const withState = (orders: readonly OrderStatusReport[]) =>
    orders.map(({ status, ...o }) => ({ ...o, state: STATE_OF_STATUS[status] }));

  program.addCommand(
    command('open-orders', 'resting orders on the exchange (private)')
      .option('--symbol <pair>', 'only this pair', symbolArg)
      .action(async (opts: Opts & { symbol?: string }) => {
        const orders = withState(
          await withExchange(opts, async (x) => {
            await requireListed(x, opts.symbol, '--symbol');
            return x.openOrders(opts.symbol);
          }),
        );
        await show(opts, { orders }, () => orders, orderColumns);
      }),
  );

  program.addCommand(
    command('order-history', "the exchange's order history of one pair (private)")
      .requiredOption('--symbol <pair>', 'pair such as BTCTRY', symbolArg)
      .option('--from-id <id>', 'orders with id at or above this')
      .option('--start <time>', 'from this time (ms or ISO date)', timeArg('--start'))
      .option('--end <time>', 'until this time (ms or ISO date)', timeArg('--end'))
      .option('--page <n>', 'page number', positiveInt('--page', 1_000_000))
      .option('--limit <n>', 'rows per page (max 1000)', positiveInt('--limit', 1000))
      .action(
        async (
          opts: Opts & {
            symbol: string;
            fromId?: string;
            start?: number;
            end?: number;
            page?: number;
            limit?: number;
          },
        ) => {
          const history = await withExchange(opts, async (x) => {
            await requireListed(x, opts.symbol, '--symbol');
            return x.orderHistory({
              symbol: opts.symbol,
              fromOrderId: opts.fromId,
              startTime: opts.start,
              endTime: opts.end,
              page: opts.page,
              limit: opts.limit,
            });
          });
          const orders = withState(history);
          await show(opts, { orders }, () => orders, orderColumns);
        },
      ),
  );
}

export const FILL_COLUMNS = [
  'tradeId',
  'exchangeOrderId',
  'symbol',
  'side',
  'price',
  'quantity',
  'fee',
  'tax',
  'feeAsset',
  'time',
];

/** `btcbot fills --exchange`: the account's trades as the exchange reports them (private). */
export async function exchangeFills(
  opts: Opts & { symbol?: string; orderId?: string; start?: number; end?: number },
): Promise<void> {
  const fills = await withExchange(opts, async (x) => {
    await requireListed(x, opts.symbol, '--symbol');
    return x.fills({
      symbol: opts.symbol,
      exchangeOrderId: opts.orderId,
      startTime: opts.start,
      endTime: opts.end,
    });
  });
  await show(
    opts,
    { fills },
    () => fills.map((f) => ({ ...f, time: new Date(f.timestamp).toISOString() })),
    FILL_COLUMNS,
  );
}
