import type { Command } from 'commander';
import { BtcturkExchange, validateSecret, type BtcturkExchangeOptions } from '../btcturk/index.ts';
import type { Logger } from '../ops/logger.ts';
import { loadConnectionSettings, type ConnectionSettings, type FlagValues } from './config.ts';

/** Adds the flags every command that talks to the exchange accepts. */
export function withConnectionOptions(command: Command): Command {
  return command
    .option('--config <path>', 'JSON config file (also BTCBOT_CONFIG)')
    .option('--base-url <url>', 'REST base URL (also BTCTURK_BASE_URL)')
    .option('--api-key <key>', 'API public key (prefer BTCTURK_API_KEY: flags show up in ps)')
    .option('--api-secret <secret>', 'API secret (prefer BTCTURK_API_SECRET: flags show up in ps)')
    .option('--request-timeout-ms <ms>', 'per-request deadline (also BTCBOT_REQUEST_TIMEOUT_MS)');
}

/**
 * Settings resolved and checked before anything is sent: a secret that is not valid base64 is a
 * configuration error at start-up, not at the first order.
 */
export function resolveSettings(flags: FlagValues): ConnectionSettings {
  const settings = loadConnectionSettings(flags);
  if (settings.apiSecret !== undefined) validateSecret(settings.apiSecret, 'BTCTURK_API_SECRET');
  if (settings.wsPrivateKey !== undefined) validateSecret(settings.wsPrivateKey, 'BTCTURK_WS_PRIVATE_KEY');
  return settings;
}

/** The REST adapter for `settings`; `more` overrides what a command needs otherwise (limiter, bounds). */
export function createExchange(
  settings: ConnectionSettings,
  logger?: Logger,
  more: Pick<BtcturkExchangeOptions, 'limiter' | 'deadlineMs' | 'requestTimeoutMs'> = {},
): BtcturkExchange {
  return new BtcturkExchange({
    baseUrl: settings.baseUrl,
    credentials:
      settings.apiKey !== undefined && settings.apiSecret !== undefined
        ? { apiKey: settings.apiKey, apiSecret: settings.apiSecret }
        : undefined,
    requestTimeoutMs: settings.requestTimeoutMs,
    logger,
    ...more,
  });
}
