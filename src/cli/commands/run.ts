import { Command } from 'commander';
import { MAX_DURATION_TEXT } from '../../ops/duration.ts';
import type { RunFlags } from '../../ops/run-config.ts';
import * as defaults from '../../ops/run-defaults.ts';
import { STRATEGY_NAMES } from '../../strategies/names.ts';
import { withConnectionOptions } from '../options.ts';
import { withAlertOptions } from '../../ops/alerts/config.ts';

// `btcbot run` (DESIGN §4): the bot. Paper mode by default: a fresh in-process simulator on
// loopback and a synthetic market, driven through exactly the code path live trading uses. The
// bot's modules load when it runs, never to build the command line.

function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function run(flags: RunFlags): Promise<void> {
  // Every setting is checked here, in every mode (a secret that is not base64 included): a
  // mistake is a configuration error now, not at the first order.
  const [{ loadRunConfig }, { createLogger }, { runSession }] = await Promise.all([
    import('../../ops/run-config.ts'),
    import('../../ops/logger.ts'),
    import('../../ops/session.ts'),
  ]);
  const config = loadRunConfig(flags);
  const logger = createLogger();
  try {
    const outcome = await runSession(config, {
      out: (line) => process.stdout.write(`${line}\n`),
      logger,
    });
    if (outcome.ordersLeft > 0 && config.cancelOnExit) {
      process.stderr.write(
        `btcbot: ${outcome.ordersLeft} orders still rest on the exchange; check them with btcbot open-orders and clear them with btcbot cancel-all\n`,
      );
      process.exitCode = 1;
    }
  } catch (error) {
    const [{ PostgresStoreLockedError }, { StoreUnavailableError }, { StoreLockedError }] = await Promise.all(
      [
        import('../../store/postgres/open.ts'),
        import('../../store/sql/errors.ts'),
        import('../../store/sqlite/open.ts'),
      ],
    );
    if (!(
      error instanceof StoreLockedError ||
      error instanceof PostgresStoreLockedError ||
      error instanceof StoreUnavailableError
    ))
      throw error;
    process.stderr.write(`btcbot: ${error.message}\n`);
    process.exitCode = 1;
  }
}

export function registerRunCommand(program: Command): void {
  program.addCommand(
    withAlertOptions(withConnectionOptions(new Command('run')))
      .description(
        'run the bot: paper mode (default) on an in-process simulator, dry-run on real market data without sending orders, or live',
      )
      .option('--mode <mode>', 'paper (default), dry-run or live (also BTCBOT_MODE)')
      .option(
        '--live',
        `arms live mode, with API keys and BTCBOT_LIVE_ACK=${defaults.LIVE_ACK} in the environment`,
      )
      .option(
        '--db <path>',
        `database file, or a postgres:// URL in live mode (default ${defaults.DEFAULT_DB}; paper and dry-run keep a fresh session database beside it)`,
      )
      .option(
        '--symbols <list>',
        'pairs to trade, comma-separated (default BTCTRY,ETHTRY; required in live mode)',
      )
      .option('--strategy <name>', `strategy to run: ${STRATEGY_NAMES.join(', ')} (default market-maker)`)
      .option('--param <key=value>', 'a strategy parameter, e.g. spreadBps=40 (repeatable)', repeatable, [])
      .option(
        '--duration <time>',
        `stop by itself after this long, e.g. 90s, 10m, 2h (at most ${MAX_DURATION_TEXT})`,
      )
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics at http://127.0.0.1:PORT/metrics (0: any free port)',
      )
      .option('--dashboard-port <port>', 'serve the dashboard at http://127.0.0.1:PORT/ (0: any free port)')
      .option(
        '--dashboard-host <host>',
        'address the dashboard listens on (default 127.0.0.1; beyond loopback it needs a token)',
      )
      .option(
        '--dashboard-token <token>',
        'bearer token the dashboard asks for; prefer BTCBOT_DASHBOARD_TOKEN (a flag shows in ps); open the page as /#token=…',
      )
      .option('--seed <n>', 'paper mode: seed of the simulated market (default: random, shown in the banner)')
      .option('--speed <factor>', 'paper mode: market speed; 10 moves the synthetic market ten times as fast')
      .option(
        '--prefix <prefix>',
        `client order id prefix of this bot (also BTCBOT_CLIENT_ID_PREFIX; default ${defaults.DEFAULT_PREFIX})`,
      )
      .option(
        '--redis-url <url>',
        'share the rate limit with other processes on this key (also BTCBOT_REDIS_URL)',
      )
      .option(
        '--max-symbols <n>',
        'cluster mode: share the store and the --symbols list with other processes, trading at most N of the symbols (each under a lease)',
      )
      .option(
        '--lease-ms <ms>',
        "cluster mode: a symbol's lease time; a crashed process's symbols are taken over after it (default 10000)",
      )
      .option('--cancel-on-exit', 'cancel resting orders when stopping (default in paper and dry-run mode)')
      .option('--no-cancel-on-exit', 'leave resting orders in place when stopping (default in live mode)')
      .option(
        '--orders-per-minute <n>',
        'order requests (new orders and cancels) the engine may send a minute (default 120)',
      )
      .option(
        '--paper-state-file <path>',
        "paper mode: write the simulator's orders, fills and balances here as JSON on exit",
      )
      .option(
        '--dry-run-balances <list>',
        "dry-run mode: starting balances such as TRY=100000,BTC=0.5 (also BTCBOT_DRY_RUN_BALANCES; default: the account's free balances when API keys are set, read-only keys suffice, else 1000000 of each quote currency)",
      )
      .option(
        '--ws-login-nonce <n>',
        `nonce of the WebSocket login, ${defaults.MIN_WS_LOGIN_NONCE} to ${defaults.MAX_WS_LOGIN_NONCE} (default ${defaults.DEFAULT_WS_LOGIN_NONCE}, as BTCTurk documents; also BTCBOT_WS_LOGIN_NONCE)`,
      )
      .option(
        '--record <dir>',
        'also record the public WebSocket frames (books, trades, tickers) into this directory, as btcbot record does',
      )
      .action((flags: RunFlags) => run(flags)),
  );
}
