import { Command } from 'commander';

/** Each command module adds its subcommands here; main.ts runs the result. */
export function buildProgram(): Command {
  const program = new Command('btcbot')
    .description('A trading bot for BTCTurk spot markets with an exchange-grade execution core')
    .showHelpAfterError()
    .exitOverride();
  return program;
}
