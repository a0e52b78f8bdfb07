import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerAuditCommand } from './commands/audit.ts';
import { registerBacktestCommand } from './commands/backtest.ts';
import { registerDashboardCommand } from './commands/dashboard.ts';
import { registerDoctorCommand } from './commands/doctor.ts';
import { registerExchangeCommands } from './commands/exchange.ts';
import { registerOmsCommands } from './commands/oms.ts';
import { registerOrderCommand } from './commands/order.ts';
import { registerRecordCommand } from './commands/record.ts';
import { registerRunCommand } from './commands/run.ts';
import { registerSimCommand } from './commands/sim.ts';
import { registerStatusCommand } from './commands/status.ts';

/**
 * The version in package.json, found above this module: src/cli/ when run from the sources,
 * dist/builds/<id>/cli/ when compiled.
 */
export function packageVersion(): string {
  for (let up = '../../'; up.length <= 5 * 3; up += '../') {
    try {
      const pkg = JSON.parse(readFileSync(new URL(`${up}package.json`, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'btcbot' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this level: look one higher
    }
  }
  return 'unknown';
}

/** Each command module adds its subcommands here; main.ts runs the result. */
export function buildProgram(): Command {
  const program = new Command('btcbot')
    .description('A trading bot for BTCTurk spot markets with an exchange-grade execution core')
    .version(packageVersion(), '-V, --version', 'print the version of btcbot and exit')
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
  registerAuditCommand(program);
  registerDashboardCommand(program);
  // addCommand does not pass these settings down: every subcommand must throw rather than exit, so
  // main.ts can turn a usage error into exit code 2.
  for (const sub of program.commands) sub.exitOverride().showHelpAfterError();
  return program;
}
