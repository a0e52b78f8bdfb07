import { BtcturkExchange, validateSecret, type BtcturkExchangeOptions } from '../btcturk/index.ts';
import type { Logger } from '../ops/logger.ts';
import { loadConnectionSettings, type ConnectionSettings, type FlagValues } from './config.ts';

/** Kept here too for existing importers; new command modules import it from options.ts. */
export { withConnectionOptions } from './options.ts';

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
