import { ConfigError } from '../domain/errors.ts';

// BTCBOT_LOG_LEVEL, checked apart from the logger so that the command line checks it at start
// without loading pino (building the command line loads nothing heavy).

/** The levels BTCBOT_LOG_LEVEL takes: the four the README names first, then pino's others. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'trace', 'fatal', 'silent'] as const;

/** The log level from BTCBOT_LOG_LEVEL (any case; unset or empty: warn), or a ConfigError naming it. */
export function logLevel(value = process.env.BTCBOT_LOG_LEVEL): string {
  const level = (value ?? '').trim().toLowerCase();
  if (level === '') return 'warn';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new ConfigError(
      'BTCBOT_LOG_LEVEL',
      `${JSON.stringify(value)} is not a log level: use debug, info, warn (the default) or error ` +
        '(also trace, fatal, silent)',
    );
  return level;
}
