import { InvalidArgumentError, type Command } from 'commander';
import type { Decimal } from 'decimal.js';
import { toDec, ZERO } from '../../domain/decimal.ts';
import { ConfigError } from '../../domain/errors.ts';
import type { Side } from '../../domain/orders.ts';
import type { SubmitIntent } from '../../oms/oms.ts';
import type { StoredOrder } from '../../ports/store.ts';
import { symbolArg } from './exchange.ts';
import { action, omsCommand, withOms, type OmsFlags } from './oms.ts';
import { REASON_OPTION, recordCliAction } from './audit.ts';

// `btcbot order buy|sell SYMBOL QUANTITY …` (DESIGN §4): an operator's order through the execution
// core — its journal, its gates (kill switch, escalation, self-trade) and its lookup of an unknown
// outcome — after a reconciliation of the pair, as the bot's own orders go. Bad input exits 2
// naming the argument or flag; a refusal exits 1 with the gate's reason. What the order needs beyond
// reading its arguments loads when it runs.

type OrderFlags = OmsFlags & {
  price?: Decimal;
  stopPrice?: Decimal;
  market?: boolean;
  quoteAmount?: Decimal;
  reason?: string;
};

function sideArg(value: string): Side {
  const side = value.trim().toLowerCase();
  if (side !== 'buy' && side !== 'sell') throw new InvalidArgumentError(`"${value}" must be buy or sell`);
  return side;
}

/** A positive decimal as typed: digits and one dot, no exponent, no sign. */
function positiveDecimal(name: string) {
  return (value: string): Decimal => {
    const text = value.trim();
    if (!/^\d+(\.\d+)?$|^\.\d+$/.test(text))
      throw new InvalidArgumentError(
        `${name} must be a positive decimal number such as 0.001, got "${value}"`,
      );
    const n = toDec(text, name);
    if (n.lte(0)) throw new InvalidArgumentError(`${name} must be greater than 0, got "${value}"`);
    return n;
  };
}

export type OrderInput = Pick<
  SubmitIntent,
  'side' | 'symbol' | 'method' | 'quantity' | 'price' | 'stopPrice' | 'quoteAmount'
>;

/** The order the flags describe; a ConfigError (exit 2) names the argument or flag at fault. */
export function orderInput(
  side: Side,
  symbol: string,
  quantity: Decimal | undefined,
  flags: Pick<OrderFlags, 'price' | 'stopPrice' | 'market' | 'quoteAmount'>,
): OrderInput {
  const market = flags.market === true;
  if (market && flags.price !== undefined)
    throw new ConfigError(
      '--price',
      'not allowed with --market: a market order takes whatever price the book has',
    );
  if (!market && flags.price === undefined)
    throw new ConfigError('--price', 'required for a limit order (or give --market for a market order)');
  if (flags.quoteAmount !== undefined) {
    if (!market)
      throw new ConfigError(
        '--quote-amount',
        'only with --market: it sizes a market buy in the quote currency',
      );
    if (side !== 'buy')
      throw new ConfigError(
        '--quote-amount',
        'only on a buy: a market sell is sized by QUANTITY in the base asset',
      );
    if (quantity !== undefined)
      throw new ConfigError('QUANTITY', 'give QUANTITY or --quote-amount, not both');
  } else if (quantity === undefined)
    throw new ConfigError(
      'QUANTITY',
      market && side === 'buy'
        ? 'missing: a market buy needs --quote-amount Q (the quote to spend)'
        : 'missing',
    );
  else if (market && side === 'buy')
    throw new ConfigError(
      'QUANTITY',
      'a market buy is sized in the quote currency on BTCTurk: give --quote-amount Q (the quote to spend) instead',
    );
  const stop = flags.stopPrice !== undefined;
  return {
    side,
    symbol,
    method: market ? (stop ? 'stopmarket' : 'market') : stop ? 'stoplimit' : 'limit',
    quantity: quantity ?? ZERO,
    price: flags.price,
    stopPrice: flags.stopPrice,
    quoteAmount: flags.quoteAmount,
  };
}

function describeOrder(order: StoredOrder): string {
  const size = order.quoteAmount ? `for ${order.quoteAmount.toFixed()} quote` : order.quantity.toFixed();
  const price = order.price ? ` @ ${order.price.toFixed()}` : '';
  const stop = order.stopPrice ? ` stop ${order.stopPrice.toFixed()}` : '';
  const average = order.averagePrice ? ` avg ${order.averagePrice.toDecimalPlaces(8).toFixed()}` : '';
  const reason = order.stateReason ? ` (${order.stateReason})` : '';
  return (
    `order ${order.id}: ${order.side} ${order.symbol} ${order.method} ${size}${price}${stop}: ` +
    `${order.state}${reason}, filled ${order.filledQuantity.toFixed()}${average}; ` +
    `exchange id ${order.exchangeOrderId ?? '-'}, client id ${order.clientOrderId ?? '-'}\n`
  );
}

export function registerOrderCommand(program: Command): void {
  program.addCommand(
    omsCommand(
      'order',
      'place an order through the execution core (journal, kill switch, escalation and self-trade gates), ' +
        'after reconciling the pair; prints the order as the exchange answered (exit 1 if refused)',
    )
      .argument('<side>', 'buy or sell', sideArg)
      .argument('<symbol>', 'pair such as BTCTRY', symbolArg)
      .argument(
        '[quantity]',
        'base quantity (not for a market buy: use --quote-amount)',
        positiveDecimal('QUANTITY'),
      )
      .option('--price <p>', 'limit price (a limit order; not with --market)', positiveDecimal('--price'))
      .option(
        '--stop-price <s>',
        'stop price: a stop-limit order, or stop-market with --market',
        positiveDecimal('--stop-price'),
      )
      .option('--market', 'a market order (takes the book now)')
      .option(
        '--quote-amount <q>',
        'with --market on a buy: the quote currency to spend (BTCTurk sizes market buys so)',
        positiveDecimal('--quote-amount'),
      )
      .option(...REASON_OPTION)
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  btcbot order buy BTCTRY 0.001 --price 2500000         a limit buy\n' +
          '  btcbot order buy BTCTRY --market --quote-amount 1500  a market buy spending 1500 TRY\n' +
          '  btcbot order sell BTCTRY 0.001 --market               a market sell of 0.001 BTC\n' +
          '\nExit codes: 0 placed (the order is printed), 1 refused (the gate or exchange says why),\n' +
          '2 bad input (the argument or flag is named).',
      )
      .action(
        action(async (side: Side, symbol: string, quantity: Decimal | undefined, flags: OrderFlags) => {
          const input = orderInput(side, symbol, quantity, flags);
          const [{ isClosed }, { orderViolations }, { printJson }] = await Promise.all([
            import('../../domain/lifecycle.ts'),
            import('../../domain/orders.ts'),
            import('../output.ts'),
          ]);
          await withOms({ ...flags, symbols: [symbol] }, { create: true }, async (oms, store, exchange) => {
            const info = await exchange.exchangeInfo();
            const rules = info.symbols.find((r) => r.symbol === symbol);
            if (!rules) throw new ConfigError('SYMBOL', `${symbol} is not a pair the exchange lists`);
            const violations = orderViolations(rules, { ...input, clientOrderId: 'operator' });
            if (violations.length > 0)
              throw new ConfigError(
                violations[0]?.field === 'quoteAmount' ? '--quote-amount' : (violations[0]?.field ?? 'order'),
                `the order breaks ${symbol}'s rules: ` +
                  violations.map((v) => `${v.field}=${v.value}: ${v.rule}`).join('; '),
              );
            // The OMS refuses every new order before a clean reconciliation: its report says why.
            const report = await oms.start();
            if (!report.clean)
              process.stderr.write(
                `btcbot: reconciliation not clean: ${[...report.failures, ...report.divergences].join('; ') || `${report.unresolved} unresolved`}\n`,
              );
            await recordCliAction(store, 'order', flags.reason, {
              side: input.side,
              symbol: input.symbol,
              method: input.method,
              quantity: input.quantity.toFixed(),
              price: input.price?.toFixed() ?? null,
              stopPrice: input.stopPrice?.toFixed() ?? null,
              quoteAmount: input.quoteAmount?.toFixed() ?? null,
            });
            let order = await oms.submit({ ...input, strategy: 'operator' });
            // Its fills and final status (a market order's) are read once before it is printed.
            if (!isClosed(order.state) && order.exchangeOrderId !== null) {
              await oms.reconcile({ resolve: false });
              order = (await store.order(order.id)) ?? order;
            }
            if (flags.json) printJson(order);
            else process.stdout.write(describeOrder(order));
            if (order.state === 'REJECTED') {
              process.stderr.write(`btcbot: the exchange refused the order: ${order.stateReason ?? '-'}\n`);
              process.exitCode = 1;
            }
          });
        }),
      ),
  );
}
