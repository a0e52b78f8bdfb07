import type { Command } from 'commander';

// Option sets several commands share, kept free of heavy imports: building the command line (for
// `btcbot --help`, or any command) loads this, and each command loads its real work when it runs.

/** Adds the flags every command that talks to the exchange accepts. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--config <path>', 'JSON config file (also BTCBOT_CONFIG)')
    .option('--base-url <url>', 'REST base URL (also BTCTURK_BASE_URL)')
    .option('--api-key <key>', 'API public key (prefer BTCTURK_API_KEY: flags show up in ps)')
    .option('--api-secret <secret>', 'API secret (prefer BTCTURK_API_SECRET: flags show up in ps)')
    .option('--request-timeout-ms <ms>', 'per-request deadline (also BTCBOT_REQUEST_TIMEOUT_MS)');
}
