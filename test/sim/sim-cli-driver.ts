// Runs `btcbot sim` through its register function alone, as the lead's program will.
import { Command } from 'commander';
import { registerSimCommand } from '../../src/cli/commands/sim.ts';

const program = new Command('btcbot').exitOverride();
registerSimCommand(program);
await program.parseAsync(process.argv);
