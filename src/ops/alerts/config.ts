import type { Command } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import { parseDuration } from '../duration.ts';
import { DEFAULT_THRESHOLDS, isRuleName, RULE_NAMES, type AlertThresholds, type RuleName } from './rules.ts';
import type { RateWindow } from './throttle.ts';

// Defined here, not beside the HTTP code that uses them: `run --help` reads them without loading undici.
export const DEFAULT_HEARTBEAT_EVERY_MS = 60_000;
export const TELEGRAM_API_URL = 'https://api.telegram.org';

// Alert and heartbeat settings, from flags or the environment (secrets only from the environment:
// a flag shows in `ps`). Every error names the setting and what was wrong.

export interface AlertFlags {
  readonly alertWebhookUrl?: string | undefined;
  readonly alertWebhookPerMinute?: string | undefined;
  readonly telegramChatId?: string | undefined;
  readonly telegramApiUrl?: string | undefined;
  readonly alertsOff?: string | undefined;
  readonly heartbeatUrl?: string | undefined;
  readonly heartbeatEvery?: string | undefined;
}

export interface AlertsConfig {
  readonly webhook: {
    readonly url: string;
    readonly secret: string;
    readonly limits: readonly RateWindow[];
  } | null;
  readonly telegram: { readonly token: string; readonly chatId: string; readonly apiUrl: string } | null;
  readonly enabled: ReadonlySet<RuleName>;
  readonly heartbeat: { readonly url: string; readonly everyMs: number } | null;
  readonly thresholds: AlertThresholds;
}

export const ALERT_ENV = {
  webhookUrl: 'BTCBOT_ALERT_WEBHOOK_URL',
  webhookSecret: 'BTCBOT_ALERT_WEBHOOK_SECRET',
  telegramToken: 'BTCBOT_TELEGRAM_BOT_TOKEN',
  telegramChatId: 'BTCBOT_TELEGRAM_CHAT_ID',
  telegramApiUrl: 'BTCBOT_TELEGRAM_API_URL',
  alertsOff: 'BTCBOT_ALERTS_OFF',
  heartbeatUrl: 'BTCBOT_HEARTBEAT_URL',
} as const;

function pick(
  flag: string | undefined,
  flagName: string,
  env: NodeJS.ProcessEnv,
  envName: string,
): { value: string; setting: string } | null {
  if (flag !== undefined && flag.trim() !== '') return { value: flag.trim(), setting: flagName };
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return { value: fromEnv.trim(), setting: envName };
  return null;
}

// A URL may carry a token of its own (a heartbeat check's id): messages name the setting, not it.
function httpUrl(setting: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(setting, 'is not a URL; give it as https://host/path');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError(setting, `has scheme "${url.protocol}"; give an http:// or https:// URL`);
  return url.toString();
}

function positiveInt(setting: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new ConfigError(setting, `${JSON.stringify(text)} must be a whole number of at least 1`);
  return Number(text);
}

export function loadAlertsConfig(flags: AlertFlags, env: NodeJS.ProcessEnv = process.env): AlertsConfig {
  const webhookUrl = pick(flags.alertWebhookUrl, '--alert-webhook-url', env, ALERT_ENV.webhookUrl);
  const secret = env[ALERT_ENV.webhookSecret];
  let webhook: AlertsConfig['webhook'] = null;
  if (webhookUrl !== null) {
    if (secret === undefined || secret.length < 16)
      throw new ConfigError(
        ALERT_ENV.webhookSecret,
        `is ${secret === undefined ? 'not set' : 'shorter than 16 characters'}; the webhook's messages are signed with it (HMAC-SHA256), set it to a long random string the receiver also knows`,
      );
    const perMinute = pick(
      flags.alertWebhookPerMinute,
      '--alert-webhook-per-minute',
      env,
      'BTCBOT_ALERT_WEBHOOK_PER_MINUTE',
    );
    webhook = {
      url: httpUrl(webhookUrl.setting, webhookUrl.value),
      secret,
      limits: [
        { limit: perMinute === null ? 60 : positiveInt(perMinute.setting, perMinute.value), perMs: 60_000 },
      ],
    };
  }

  const token = env[ALERT_ENV.telegramToken];
  const chat = pick(flags.telegramChatId, '--telegram-chat-id', env, ALERT_ENV.telegramChatId);
  let telegram: AlertsConfig['telegram'] = null;
  if ((token !== undefined && token !== '') !== (chat !== null))
    throw new ConfigError(
      chat === null ? '--telegram-chat-id' : ALERT_ENV.telegramToken,
      'is missing: Telegram alerts need both the bot token (environment) and the chat id',
    );
  if (token !== undefined && token !== '' && chat !== null) {
    // Never echo the token: only its shape is described.
    if (!/^\d+:[A-Za-z0-9_-]{20,}$/.test(token))
      throw new ConfigError(
        ALERT_ENV.telegramToken,
        'is not a Telegram bot token (digits, ":", then 20+ letters, digits, "_" or "-")',
      );
    if (!/^(-?\d+|@[A-Za-z][A-Za-z0-9_]{4,})$/.test(chat.value))
      throw new ConfigError(
        chat.setting,
        `${JSON.stringify(chat.value)} is not a chat id (a number, or @channelname)`,
      );
    const api = pick(flags.telegramApiUrl, '--telegram-api-url', env, ALERT_ENV.telegramApiUrl);
    telegram = {
      token,
      chatId: chat.value,
      apiUrl: api === null ? TELEGRAM_API_URL : httpUrl(api.setting, api.value),
    };
  }

  const off = pick(flags.alertsOff, '--alerts-off', env, ALERT_ENV.alertsOff);
  const enabled = new Set<RuleName>(RULE_NAMES);
  for (const name of off?.value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '') ?? []) {
    if (!isRuleName(name))
      throw new ConfigError(
        off?.setting ?? '--alerts-off',
        `${JSON.stringify(name)} is not a rule; rules: ${RULE_NAMES.join(', ')}`,
      );
    enabled.delete(name);
  }

  const beatUrl = pick(flags.heartbeatUrl, '--heartbeat-url', env, ALERT_ENV.heartbeatUrl);
  const heartbeat =
    beatUrl === null
      ? null
      : {
          url: httpUrl(beatUrl.setting, beatUrl.value),
          everyMs:
            flags.heartbeatEvery === undefined
              ? DEFAULT_HEARTBEAT_EVERY_MS
              : parseDuration('--heartbeat-every', flags.heartbeatEvery),
        };
  return { webhook, telegram, enabled, heartbeat, thresholds: DEFAULT_THRESHOLDS };
}

/** The secrets of these settings: redacted from everything the alerts write. */
export function alertSecrets(config: AlertsConfig): string[] {
  return [config.webhook?.secret, config.telegram?.token, config.heartbeat?.url].filter(
    (s): s is string => s !== undefined && s !== '',
  );
}

/** The options of `btcbot run` for alerts and the heartbeat. */
export function withAlertOptions(command: Command): Command {
  return command
    .option(
      '--alert-webhook-url <url>',
      `POST alerts as signed JSON here (also ${ALERT_ENV.webhookUrl}; secret in ${ALERT_ENV.webhookSecret})`,
    )
    .option('--alert-webhook-per-minute <n>', 'messages per minute the webhook accepts (default 60)')
    .option(
      '--telegram-chat-id <id>',
      `send alerts to this Telegram chat (also ${ALERT_ENV.telegramChatId}; bot token in ${ALERT_ENV.telegramToken})`,
    )
    .option('--telegram-api-url <url>', `Telegram Bot API base URL (default ${TELEGRAM_API_URL})`)
    .option('--alerts-off <rules>', `alert rules to turn off, comma-separated: ${RULE_NAMES.join(', ')}`)
    .option(
      '--heartbeat-url <url>',
      `pinged while the engine loop is healthy: a dead-man's switch (also ${ALERT_ENV.heartbeatUrl})`,
    )
    .option('--heartbeat-every <duration>', 'how often the heartbeat pings (default 60s)');
}
