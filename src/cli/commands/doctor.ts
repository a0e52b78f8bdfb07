import { Command } from 'commander';
import { DEFAULT_DB, DEFAULT_WS_LOGIN_NONCE } from '../../ops/run-defaults.ts';
import { withConnectionOptions } from '../options.ts';
import type { DoctorFlags } from './doctor-checks.ts';
import { symbolArg } from './exchange.ts';

// `btcbot doctor`: a preflight of a set-up against the configured exchange before money is at
// stake. Exit 0 when every check passes, 1 when one fails, 2 on bad configuration (after a failed
// `config` line, so the report is never empty). The checks (doctor-checks.ts) load when it runs.

/** The checks in the order they run; each is one line of the report. */
export const CHECK_NAMES = [
  'config',
  'rest',
  'clock',
  'signed-read',
  'websocket',
  'websocket-login',
  'snapshot',
  'rate-limit',
  'database',
  'redis',
  'unknown-orders',
  'kill-switch',
] as const;

export const DEFAULT_SYMBOL = 'BTCTRY';
export const DEFAULT_TIMEOUT = '10s';

export function registerDoctorCommand(program: Command): void {
  program.addCommand(
    withConnectionOptions(
      new Command('doctor').description(
        `preflight against the configured exchange, one line per check (${CHECK_NAMES.join(', ')}); ` +
          'exit 0 all pass, 1 a check failed, 2 bad configuration',
      ),
    )
      .option('--json', 'print {"ok","checks":[{"name","ok","detail"}]} instead of lines')
      .option(
        '--db <path>',
        `the bot database: a file, or a postgres:// URL (default ${DEFAULT_DB}; also BTCBOT_DB)`,
      )
      .option('--redis-url <url>', 'the shared rate limit to check (also BTCBOT_REDIS_URL)')
      .option(
        '--symbol <pair>',
        `the pair to subscribe (default: the first of BTCBOT_SYMBOLS, else ${DEFAULT_SYMBOL})`,
        symbolArg,
      )
      .option(
        '--ws-login-nonce <n>',
        `the WebSocket login's nonce, as btcbot run takes it (default ${DEFAULT_WS_LOGIN_NONCE}; also BTCBOT_WS_LOGIN_NONCE)`,
      )
      .option('--timeout <duration>', `the bound of each check (default ${DEFAULT_TIMEOUT})`)
      .action(async (flags: DoctorFlags) => {
        await (await import('./doctor-checks.ts')).doctor(flags);
      }),
  );
}
