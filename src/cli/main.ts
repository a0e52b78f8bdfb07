import { CommanderError } from 'commander';
import { ConfigError, ExchangeError } from '../domain/errors.ts';
import { logLevel } from '../ops/log-level.ts';
import { buildProgram } from './program.ts';

// Exit codes (DESIGN §4): 0 ok, 1 failure at run time, 2 bad configuration or usage.

// `btcbot status | head`: the reader went away. Nothing more can be shown, and that is no failure:
// later writes are dropped and the command ends as it would have (a running bot keeps running).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
});

try {
  logLevel(); // a bad BTCBOT_LOG_LEVEL is named before any command starts
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // commander has already printed the usage problem; help and version end with code 0
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`btcbot: configuration error: ${error.message}\n`);
    return 2;
  }
  if (error instanceof ExchangeError) {
    process.stderr.write(`btcbot: ${error.operation} failed (${error.kind}): ${error.message}\n`);
    return 1;
  }
  process.stderr.write(
    `btcbot: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 1;
}
