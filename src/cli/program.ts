import { Command } from 'commander';
import { registerBacktestCommand } from './commands/backtest.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerExchangeCommands } from './commands/exchange.ts';
import { registerOmsCommands } from './commands/oms.ts';
import { registerOrderCommand } from './commands/order.ts';
import { registerRecordCommand } from './commands/record.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerSimCommand } from './commands/sim.ts';
import { registerStatusCommand } from './commands/status.ts';

/** Each command module adds its subcommands here; main.ts runs the result. */
export function buildProgram(): Command {
  const program = new Command('btcbot')
    .description('A trading bot for BTCTurk spot markets with an exchange-grade execution core')
    .showHelpAfterError()
    .exitOverride();
  registerExchangeCommands(program);
  registerOmsCommands(program);
  registerOrderCommand(program);
  registerRunCommand(program);
  registerStatusCommand(program);
  registerSimCommand(program);
  registerDoctorCommand(program);
  registerRecordCommand(program);
  registerBacktestCommand(program);
  // addCommand does not pass these settings down: every subcommand must throw rather than exit, so
  // main.ts can turn a usage error into exit code 2.
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError();
  return program;
}
