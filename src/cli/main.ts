import { CommanderError } from 'commander';
import { ConfigError, ExchangeError } from '../domain/errors.ts';
import { buildProgram } from './program.ts';

// Exit codes (DESIGN §4): 0 ok, 1 failure at run time, 2 bad configuration or usage.
try {
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
