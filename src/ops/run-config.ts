import { extname } from 'node:path';
import type { Decimal } from 'decimal.js';
import { validateSecret } from '../btcturk/common/credentials.ts';
import {
  kebab,
  loadConnectionSettings,
  readConfigFile,
  type ConnectionSettings,
  type FlagValues,
} from '../config/connection.ts';
import { validateClientIdPrefix } from '../domain/client-ids.ts';
import { toDec } from '../domain/decimal.ts';
import { ConfigError } from '../domain/errors.ts';
import { DEFAULT_ORDERS_PER_MINUTE, MAX_ORDERS_PER_MINUTE } from '../engine/rate-budget.ts';
import { loadEngineConfig, paramsFromFlags, type EngineConfig } from '../engine/strategy-config.ts';
import { isPostgresUrl } from '../store/postgres/open.ts';
import { parseDuration } from './duration.ts';
import {
  DEFAULT_DB,
  DEFAULT_PREFIX,
  DEFAULT_WS_LOGIN_NONCE,
  LIVE_ACK,
  MAX_WS_LOGIN_NONCE,
  MIN_WS_LOGIN_NONCE,
} from './run-defaults.ts';
import { parseDir } from '../record/options.ts';
import { dashboardSettings, type DashboardFlags } from './dashboard/settings.ts';
import { loadAlertsConfig, type AlertFlags, type AlertsConfig } from './alerts/config.ts';
import type { DashboardBind } from './dashboard/access.ts';
import { clusterSettings, type ClusterFlags, type ClusterSettings } from './leases/settings.ts';

// `btcbot run`'s settings: each from a flag, an environment variable or the config file (in that
// order), every one checked before anything starts, and every error naming the setting.

export const RUN_MODES = ['paper', 'dry-run', 'live'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const DEFAULT_SYMBOLS: readonly string[] = ['BTCTRY', 'ETHTRY'];
// The defaults help text shows live in run-defaults.ts, so building the command line loads no more.
export * from './run-defaults.ts';

/** What commander hands over; every value is still text. */
export interface RunFlags extends FlagValues, DashboardFlags, ClusterFlags, AlertFlags {
  readonly mode?: string | undefined;
  readonly live?: boolean | undefined;
  readonly db?: string | undefined;
  readonly symbols?: string | undefined;
  readonly strategy?: string | undefined;
  readonly param?: readonly string[] | undefined;
  readonly duration?: string | undefined;
  readonly metricsPort?: string | undefined;
  readonly seed?: string | undefined;
  readonly speed?: string | undefined;
  readonly prefix?: string | undefined;
  readonly redisUrl?: string | undefined;
  readonly cancelOnExit?: boolean | undefined;
  readonly ordersPerMinute?: string | undefined;
  readonly paperStateFile?: string | undefined;
  readonly wsLoginNonce?: string | undefined;
  readonly dryRunBalances?: string | undefined;
  readonly record?: string | undefined;
}

/** Where the bot keeps its state: a SQLite file or a PostgreSQL database. */
export type StoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string; readonly fresh: boolean }
  | { readonly kind: 'postgres'; readonly url: string };

export interface RunConfig {
  readonly mode: RunMode;
  readonly store: StoreLocation;
  readonly symbols: readonly string[];
  readonly engine: EngineConfig;
  /** The strategy's parameters as given (flags over the config file), for the banner. */
  readonly strategyParams: Readonly<Record<string, unknown>>;
  readonly durationMs: number | null;
  readonly metricsPort: number | null;
  /** `--dashboard-port` (and host, token): the dashboard to serve; null or absent when not asked for. */
  readonly dashboard?: DashboardBind | null | undefined;
  /** Alert receivers, rules turned off and the heartbeat (src/ops/alerts/config.ts). */
  readonly alerts?: AlertsConfig | undefined;
  /** Paper mode: the simulator's seed and market speed. */
  readonly seed: number | null;
  readonly speed: number;
  readonly prefix: string;
  readonly redisUrl: string | undefined;
  readonly cancelOnExit: boolean;
  readonly ordersPerMinute: number;
  /** Paper mode: where the simulator's ground truth is written when the session ends. */
  readonly paperStateFile: string | undefined;
  /** The nonce of the WebSocket login (BTCTurk documents 3000 and refuses large ones). */
  readonly wsLoginNonce: number;
  /** Dry-run mode: the starting balances given; null to read the account's (with keys) or default. */
  readonly dryRunBalances: ReadonlyMap<string, Decimal> | null;
  /** Where dryRunBalances came from (flag, variable or config key), for the banner. */
  readonly dryRunBalancesSetting: string | undefined;
  /** `--record DIR`: the public WebSocket frames are recorded there as `btcbot record` does. */
  readonly recordDir?: string | undefined;
  /** `--max-symbols` (and `--lease-ms`): cluster mode on a shared store; null or absent: one process. */
  readonly cluster?: ClusterSettings | null | undefined;
  /**
   * The exchange to use; null in paper mode, whose exchange is the in-process simulator (its
   * connection settings are still checked when given, but not used).
   */
  readonly connection: ConnectionSettings | null;
}

const CONNECTION_KEYS = [
  'baseUrl',
  'wsUrl',
  'apiKey',
  'apiSecret',
  'wsPublicKey',
  'wsPrivateKey',
  'requestTimeoutMs',
];
const RUN_KEYS = [
  'mode',
  'db',
  'symbols',
  'strategy',
  'risk',
  'duration',
  'metricsPort',
  'seed',
  'speed',
  'prefix',
  'redisUrl',
  'cancelOnExit',
  'ordersPerMinute',
  'paperStateFile',
  'wsLoginNonce',
  'dryRunBalances',
];

interface Source {
  readonly name: string; // the flag, variable or config key the value came from
  readonly value: unknown;
}

class Settings {
  constructor(
    private readonly flags: RunFlags,
    private readonly env: NodeJS.ProcessEnv,
    private readonly file: Record<string, unknown>,
    private readonly path: string | undefined,
  ) {}

  /** The value of a setting from the first source that has it. */
  get(flag: keyof RunFlags | null, envName: string | null, key: string): Source | undefined {
    const fromFlag = flag === null ? undefined : this.flags[flag];
    if (fromFlag !== undefined && flag !== null) return { name: `--${kebab(flag)}`, value: fromFlag };
    const fromEnv = envName === null ? undefined : this.env[envName];
    if (fromEnv !== undefined && fromEnv !== '') return { name: envName ?? '', value: fromEnv };
    if (this.file[key] !== undefined) return { name: `${this.path ?? ''}: ${key}`, value: this.file[key] };
    return undefined;
  }

  fileValue(key: string): unknown {
    return this.file[key];
  }
}

function text(source: Source): string {
  if (typeof source.value === 'string' && source.value.trim() !== '') return source.value.trim();
  if (typeof source.value === 'number') return String(source.value);
  throw new ConfigError(source.name, `must be text, got ${JSON.stringify(source.value)}`);
}

function wholeNumber(source: Source, min: number, max: number): number {
  const raw = text(source);
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || value < min || value > max)
    throw new ConfigError(
      source.name,
      `expected a whole number from ${min} to ${max}, got ${JSON.stringify(source.value)}`,
    );
  return value;
}

/** The WebSocket login's nonce from the setting `name` (flag, variable or config key) it came from. */
export function parseWsLoginNonce(name: string, value: unknown): number {
  return wholeNumber({ name, value }, MIN_WS_LOGIN_NONCE, MAX_WS_LOGIN_NONCE);
}

function bool(source: Source): boolean {
  if (typeof source.value === 'boolean') return source.value;
  const raw = text(source).toLowerCase();
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw new ConfigError(source.name, `expected true or false, got ${JSON.stringify(source.value)}`);
}

const SYMBOL = /^[A-Z0-9]{4,20}$/;

function symbolsOf(source: Source): string[] {
  const list = Array.isArray(source.value)
    ? source.value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)))
    : text(source).split(',');
  const symbols = [...new Set(list.map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  if (symbols.length === 0)
    throw new ConfigError(source.name, 'list at least one symbol, e.g. BTCTRY,ETHTRY');
  for (const symbol of symbols)
    if (!SYMBOL.test(symbol))
      throw new ConfigError(source.name, `"${symbol}" is not a symbol: write pairs such as BTCTRY,ETHTRY`);
  return symbols;
}

const ASSET = /^[A-Z0-9]{2,12}$/;

/**
 * Dry-run's starting balances, `ASSET=AMOUNT,…` (e.g. TRY=100000,BTC=0.5) or, in the config file,
 * an object {"TRY": "100000"}: every asset once, every amount a non-negative decimal.
 */
export function parseDryRunBalances(name: string, value: unknown): Map<string, Decimal> {
  const example = 'e.g. TRY=100000,BTC=0.5';
  let entries: [string, unknown][];
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    entries = Object.entries(value as Record<string, unknown>);
  else if (typeof value === 'string')
    entries = value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item) => {
        const at = item.indexOf('=');
        if (at < 0) throw new ConfigError(name, `"${item}" is not ASSET=AMOUNT, ${example}`);
        return [item.slice(0, at), item.slice(at + 1)];
      });
  else throw new ConfigError(name, `expected ASSET=AMOUNT pairs, ${example}; got ${JSON.stringify(value)}`);
  if (entries.length === 0) throw new ConfigError(name, `list at least one ASSET=AMOUNT, ${example}`);
  const balances = new Map<string, Decimal>();
  for (const [rawAsset, rawAmount] of entries) {
    const asset = rawAsset.trim().toUpperCase();
    if (!ASSET.test(asset))
      throw new ConfigError(
        name,
        `"${rawAsset.trim()}" is not an asset name (letters and digits, e.g. TRY, BTC)`,
      );
    if (balances.has(asset)) throw new ConfigError(name, `${asset} is given twice`);
    const amountText =
      typeof rawAmount === 'number'
        ? String(rawAmount)
        : typeof rawAmount === 'string'
          ? rawAmount.trim()
          : '';
    let amount: Decimal | null;
    try {
      amount = toDec(amountText, asset);
    } catch {
      amount = null;
    }
    if (amount === null || !amount.isFinite() || amount.isNegative())
      throw new ConfigError(
        name,
        `${asset} amount ${JSON.stringify(rawAmount)} is not a number of 0 or more (${example})`,
      );
    balances.set(asset, amount);
  }
  return balances;
}

/** The session database of a simulated mode, beside the configured one: ./data/btcbot.paper.db. */
export function sessionDbPath(db: string, mode: Exclude<RunMode, 'live'>): string {
  return extname(db) === '.db' ? `${db.slice(0, -3)}.${mode}.db` : `${db}.${mode}.db`;
}

function storeLocation(mode: RunMode, source: Source | undefined): StoreLocation {
  const db = source ? text(source) : DEFAULT_DB;
  const postgres = isPostgresUrl(db);
  if (mode === 'live')
    return postgres ? { kind: 'postgres', url: db } : { kind: 'sqlite', path: db, fresh: false };
  if (postgres)
    throw new ConfigError(
      source?.name ?? '--db',
      `${mode} mode keeps a SQLite database of its own per session (its exchange lives in the process); ` +
        'a postgres:// database is for live mode: give --db a file path',
    );
  return { kind: 'sqlite', path: sessionDbPath(db, mode), fresh: true };
}

/**
 * The connection settings, each checked: URLs, the key pair given together, the request timeout,
 * and a secret that is not BTCTurk's base64 is refused now rather than at the first signed call.
 * The secrets' form is checked first, so a broken one is named even when its partner is missing
 * too. The error names the setting where the value came from (flag, variable or config key),
 * never the secret.
 */
function checkedConnection(
  settings: Settings,
  flags: RunFlags,
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
): ConnectionSettings {
  for (const [flag, envName, key] of [
    ['apiSecret', 'BTCTURK_API_SECRET', 'apiSecret'],
    [null, 'BTCTURK_WS_PRIVATE_KEY', 'wsPrivateKey'],
  ] as const) {
    const source = settings.get(flag, envName, key);
    if (source !== undefined && typeof source.value === 'string' && source.value.trim() !== '')
      validateSecret(source.value.trim(), source.name);
  }
  const connection = loadConnectionSettings(flags, env, file);
  if (connection.apiSecret !== undefined) validateSecret(connection.apiSecret, 'BTCTURK_API_SECRET');
  if (connection.wsPrivateKey !== undefined)
    validateSecret(connection.wsPrivateKey, 'BTCTURK_WS_PRIVATE_KEY');
  return connection;
}

/** Says exactly what live mode still lacks; null when it is armed. */
export function liveArmingProblem(
  connection: ConnectionSettings,
  liveFlag: boolean,
  env: NodeJS.ProcessEnv,
): string | null {
  const missing: string[] = [];
  if (connection.apiKey === undefined || connection.apiSecret === undefined)
    missing.push('API keys (set BTCTURK_API_KEY and BTCTURK_API_SECRET)');
  if (!liveFlag) missing.push('the --live flag');
  if (env.BTCBOT_LIVE_ACK !== LIVE_ACK) missing.push(`BTCBOT_LIVE_ACK=${LIVE_ACK} in the environment`);
  return missing.length === 0
    ? null
    : `live mode places real orders with real money and starts only when armed; missing: ${missing.join('; ')}`;
}

export function loadRunConfig(flags: RunFlags, env: NodeJS.ProcessEnv = process.env): RunConfig {
  const configPath = flags.config ?? env.BTCBOT_CONFIG;
  const file = configPath ? readConfigFile(configPath) : {};
  const unknown = Object.keys(file).filter((k) => !CONNECTION_KEYS.includes(k) && !RUN_KEYS.includes(k));
  if (unknown.length > 0)
    throw new ConfigError(
      configPath ?? '--config',
      `unknown setting ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${[...CONNECTION_KEYS, ...RUN_KEYS].join(', ')})`,
    );
  const settings = new Settings(flags, env, file, configPath);

  const modeSource = settings.get('mode', 'BTCBOT_MODE', 'mode');
  const modeText = modeSource ? text(modeSource) : 'paper';
  if (!(RUN_MODES as readonly string[]).includes(modeText))
    throw new ConfigError(
      modeSource?.name ?? '--mode',
      `"${modeText}" is not a mode; modes: ${RUN_MODES.join(', ')}`,
    );
  const mode = modeText as RunMode;
  // Every mode checks the connection settings it was given (URLs, the secrets' base64, the
  // request timeout), so a mistake shows before the settings are first used; paper mode's exchange
  // is its own simulator, so it then leaves them unused.
  const connection = checkedConnection(settings, flags, env, file);
  if (flags.live === true && mode !== 'live')
    throw new ConfigError('--live', `arms live mode only; it was given with --mode ${mode}`);
  if (mode === 'live') {
    const problem = liveArmingProblem(connection, flags.live === true, env);
    if (problem !== null) throw new ConfigError('live mode', problem);
  }

  const symbolSource = settings.get('symbols', 'BTCBOT_SYMBOLS', 'symbols');
  if (mode === 'live' && !symbolSource)
    throw new ConfigError(
      '--symbols',
      'live mode trades only the pairs you name: give --symbols, e.g. BTCTRY',
    );
  const symbols = symbolSource ? symbolsOf(symbolSource) : [...DEFAULT_SYMBOLS];

  const strategySection = settings.fileValue('strategy');
  if (strategySection !== undefined && (typeof strategySection !== 'object' || strategySection === null))
    throw new ConfigError(
      `${configPath ?? ''}: strategy`,
      'must be an object such as {"name":"market-maker","params":{}}',
    );
  const section = (strategySection ?? {}) as Record<string, unknown>;
  const nameSource: Source | undefined =
    flags.strategy !== undefined
      ? { name: '--strategy', value: flags.strategy }
      : section.name === undefined
        ? undefined
        : { name: `${configPath ?? ''}: strategy.name`, value: section.name };
  const engine = loadEngineConfig({
    name: nameSource ? text(nameSource) : undefined,
    params: section.params,
    paramFlags: flags.param,
    risk: settings.fileValue('risk'),
  });

  const duration = settings.get('duration', 'BTCBOT_DURATION', 'duration');
  const metricsPort = settings.get('metricsPort', 'BTCBOT_METRICS_PORT', 'metricsPort');
  const seed = settings.get('seed', 'BTCBOT_SEED', 'seed');
  const speedSource = settings.get('speed', 'BTCBOT_SPEED', 'speed');
  let speed = 1;
  if (speedSource) {
    speed = Number(text(speedSource));
    if (!Number.isFinite(speed) || speed <= 0 || speed > 1000)
      throw new ConfigError(
        speedSource.name,
        `expected a number above 0 and at most 1000, got ${JSON.stringify(speedSource.value)}`,
      );
  }
  const stateFile = settings.get('paperStateFile', null, 'paperStateFile');
  for (const [source, what] of [
    [seed, 'a seed'],
    [speedSource, 'a market speed'],
    [stateFile, 'a state file'],
  ] as const)
    if (source && mode !== 'paper')
      throw new ConfigError(source.name, `${what} is for paper mode's simulator; this is ${mode} mode`);
  const prefix = settings.get('prefix', 'BTCBOT_CLIENT_ID_PREFIX', 'prefix');
  const redis = settings.get('redisUrl', 'BTCBOT_REDIS_URL', 'redisUrl');
  if (redis && !/^rediss?:\/\//.test(text(redis)))
    throw new ConfigError(redis.name, 'must be a redis:// or rediss:// URL');
  const cancelOnExit = settings.get('cancelOnExit', 'BTCBOT_CANCEL_ON_EXIT', 'cancelOnExit');
  const rate = settings.get('ordersPerMinute', 'BTCBOT_ORDERS_PER_MINUTE', 'ordersPerMinute');
  const nonce = settings.get('wsLoginNonce', 'BTCBOT_WS_LOGIN_NONCE', 'wsLoginNonce');
  const dryBalances = settings.get('dryRunBalances', 'BTCBOT_DRY_RUN_BALANCES', 'dryRunBalances');
  if (dryBalances && mode !== 'dry-run')
    throw new ConfigError(
      dryBalances.name,
      `starting balances are for dry-run mode (paper mode's simulator funds its own account); this is ${mode} mode`,
    );

  return {
    mode,
    store: storeLocation(mode, settings.get('db', 'BTCBOT_DB', 'db')),
    symbols,
    engine,
    strategyParams: {
      ...(typeof section.params === 'object' && section.params !== null ? section.params : {}),
      ...paramsFromFlags(flags.param ?? []),
    },
    durationMs: duration ? parseDuration(duration.name, text(duration)) : null,
    metricsPort: metricsPort ? wholeNumber(metricsPort, 0, 65535) : null,
    dashboard: dashboardSettings(flags, env),
    alerts: loadAlertsConfig(flags, env),
    seed: seed ? wholeNumber(seed, -(2 ** 31), 2 ** 31 - 1) : null,
    speed,
    prefix: validateClientIdPrefix(prefix ? text(prefix) : DEFAULT_PREFIX),
    redisUrl: redis ? text(redis) : undefined,
    cancelOnExit: cancelOnExit ? bool(cancelOnExit) : mode !== 'live',
    ordersPerMinute: rate ? wholeNumber(rate, 1, MAX_ORDERS_PER_MINUTE) : DEFAULT_ORDERS_PER_MINUTE,
    paperStateFile: stateFile ? text(stateFile) : undefined,
    wsLoginNonce: nonce ? parseWsLoginNonce(nonce.name, nonce.value) : DEFAULT_WS_LOGIN_NONCE,
    dryRunBalances: dryBalances ? parseDryRunBalances(dryBalances.name, dryBalances.value) : null,
    dryRunBalancesSetting: dryBalances?.name,
    recordDir: flags.record === undefined ? undefined : parseDir('--record', flags.record),
    cluster: clusterSettings(flags),
    connection: mode === 'paper' ? null : connection,
  };
}
