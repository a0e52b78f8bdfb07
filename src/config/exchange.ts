import { BtcturkExchange, validateSecret, type BtcturkExchangeOptions } from '../btcturk/index.ts';
import type { Logger } from 'pino';
import { loadConnectionSettings, type ConnectionSettings, type FlagValues } from './connection.ts';

/**
 * Settings resolved and checked before anything is sent: a secret that is not valid base64 is a
 * configuration error at start-up, not at the first order.
 */
export function resolveSettings(flags: FlagValues): ConnectionSettings {
  const settings = loadConnectionSettings(flags);
  // Named as the user gave it: the flag when the flag was used, else the variable.
  if (settings.apiSecret !== undefined)
    validateSecret(settings.apiSecret, flags.apiSecret !== undefined ? '--api-secret' : 'BTCTURK_API_SECRET');
  if (settings.wsPrivateKey !== undefined) validateSecret(settings.wsPrivateKey, 'BTCTURK_WS_PRIVATE_KEY');
  return settings;
}

/** The REST adapter for `settings`; `more` overrides what a command needs otherwise (limiter, bounds). */
export function createExchange(
  settings: ConnectionSettings,
  logger?: Logger,
  more: Pick<BtcturkExchangeOptions, 'limiter' | 'deadlineMs' | 'requestTimeoutMs' | 'observe'> = {},
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
