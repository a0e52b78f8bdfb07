import { pino, type Logger } from 'pino';
import { logLevel } from './log-level.ts';

export type { Logger } from 'pino';
export { LOG_LEVELS, logLevel } from './log-level.ts';

// Field names that may carry credentials anywhere in a log object: pino replaces their values.
const REDACT_PATHS = [
  'apiKey',
  'apiSecret',
  'secret',
  'signature',
  'privateKey',
  'publicKey',
  '*.apiKey',
  '*.apiSecret',
  '*.secret',
  '*.signature',
  '*.privateKey',
  'headers["x-pck"]',
  'headers["x-stamp"]',
  'headers["x-signature"]',
  '*.headers["x-pck"]',
  '*.headers["x-stamp"]',
  '*.headers["x-signature"]',
];

/** Structured logs go to stderr so that stdout stays clean for command output and `--json`. */
export function createLogger(level = logLevel()): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}
