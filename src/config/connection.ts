import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.ts';

/**
 * Connection settings, each readable from a flag, an environment variable or the config file
 * (in that order of precedence). Every error names the setting the user has to fix.
 */
export interface ConnectionSettings {
  readonly baseUrl: string;
  readonly wsUrl: string;
  readonly apiKey: string | undefined;
  readonly apiSecret: string | undefined;
  readonly wsPublicKey: string | undefined;
  readonly wsPrivateKey: string | undefined;
  readonly requestTimeoutMs: number;
}

interface SettingSpec {
  readonly key: keyof ConnectionSettings;
  readonly env: string;
  readonly file: string; // key in the JSON config file
}

const SPECS: readonly SettingSpec[] = [
  { key: 'baseUrl', env: 'BTCTURK_BASE_URL', file: 'baseUrl' },
  { key: 'wsUrl', env: 'BTCTURK_WS_URL', file: 'wsUrl' },
  { key: 'apiKey', env: 'BTCTURK_API_KEY', file: 'apiKey' },
  { key: 'apiSecret', env: 'BTCTURK_API_SECRET', file: 'apiSecret' },
  { key: 'wsPublicKey', env: 'BTCTURK_WS_PUBLIC_KEY', file: 'wsPublicKey' },
  { key: 'wsPrivateKey', env: 'BTCTURK_WS_PRIVATE_KEY', file: 'wsPrivateKey' },
  { key: 'requestTimeoutMs', env: 'BTCBOT_REQUEST_TIMEOUT_MS', file: 'requestTimeoutMs' },
];

export const DEFAULT_BASE_URL = 'https://api.btcturk.com';
export const DEFAULT_WS_URL = 'wss://ws-feed-pro.btcturk.com';

/** Values given on the command line, already parsed by commander. */
export type FlagValues = Partial<Record<keyof ConnectionSettings, string | number | undefined>> & {
  readonly config?: string | undefined;
};

const fileSchema = z.record(z.string(), z.unknown());

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      '--config',
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError('--config', `${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) throw new ConfigError('--config', `${path} must hold a JSON object of settings`);
  return result.data;
}

function urlSetting(name: string, value: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(name, `"${value}" is not a URL`);
  }
  if (!protocols.includes(url.protocol))
    throw new ConfigError(
      name,
      `"${value}" must use ${protocols.map((p) => p.replace(':', '')).join(' or ')}`,
    );
  return value.replace(/\/+$/, '');
}

function textSetting(name: string, value: unknown): string {
  if (typeof value !== 'string') throw new ConfigError(name, `must be text, got ${typeof value}`);
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new ConfigError(name, 'is empty');
  return trimmed;
}

/** Resolves the connection settings from flags, environment and an optional JSON config file. */
export function loadConnectionSettings(
  flags: FlagValues,
  env: NodeJS.ProcessEnv = process.env,
  /** The config file's settings when the caller has already read it. */
  read?: Record<string, unknown>,
): ConnectionSettings {
  const configPath = flags.config ?? env.BTCBOT_CONFIG;
  const file = read ?? (configPath ? readConfigFile(configPath) : {});
  const raw = new Map<keyof ConnectionSettings, { name: string; value: unknown }>();
  for (const spec of SPECS) {
    const flag = flags[spec.key];
    if (flag !== undefined) raw.set(spec.key, { name: `--${kebab(spec.key)}`, value: flag });
    else if (env[spec.env] !== undefined && env[spec.env] !== '')
      raw.set(spec.key, { name: spec.env, value: env[spec.env] });
    else if (file[spec.file] !== undefined)
      raw.set(spec.key, { name: `${configPath ?? ''}: ${spec.file}`, value: file[spec.file] });
  }
  const text = (key: keyof ConnectionSettings): string | undefined => {
    const entry = raw.get(key);
    return entry ? textSetting(entry.name, entry.value) : undefined;
  };
  const nameOf = (key: keyof ConnectionSettings, fallback: string) => raw.get(key)?.name ?? fallback;

  const baseUrl = urlSetting(nameOf('baseUrl', 'BTCTURK_BASE_URL'), text('baseUrl') ?? DEFAULT_BASE_URL, [
    'https:',
    'http:',
  ]);
  const wsUrl = urlSetting(nameOf('wsUrl', 'BTCTURK_WS_URL'), text('wsUrl') ?? DEFAULT_WS_URL, [
    'wss:',
    'ws:',
  ]);
  const apiKey = text('apiKey');
  const apiSecret = text('apiSecret');
  if ((apiKey === undefined) !== (apiSecret === undefined)) {
    const missing = apiKey === undefined ? 'BTCTURK_API_KEY' : 'BTCTURK_API_SECRET';
    throw new ConfigError(missing, 'is missing: the API key and secret must be given together');
  }
  const timeout = raw.get('requestTimeoutMs');
  let requestTimeoutMs = 10_000;
  if (timeout) {
    const n = Number(timeout.value);
    if (!Number.isInteger(n) || n < 100 || n > 120_000)
      throw new ConfigError(
        timeout.name,
        `must be a whole number of milliseconds from 100 to 120000, got "${String(timeout.value)}"`,
      );
    requestTimeoutMs = n;
  }
  return {
    baseUrl,
    wsUrl,
    apiKey,
    apiSecret,
    wsPublicKey: text('wsPublicKey'),
    wsPrivateKey: text('wsPrivateKey'),
    requestTimeoutMs,
  };
}

/** `apiKey` → `api-key`: a setting's key as its flag spells it. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
