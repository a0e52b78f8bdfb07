import { Command } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import { parseDuration } from '../../ops/duration.ts';
import { createLogger } from '../../ops/logger.ts';
import { DEFAULT_DB, DEFAULT_WS_LOGIN_NONCE, parseWsLoginNonce } from '../../ops/run-config.ts';
import { bounded } from '../../ops/signals.ts';
import { isPostgresUrl } from '../../store/postgres/open.ts';
import { readConfigFile, type FlagValues } from '../config.ts';
import { resolveSettings, withConnectionOptions } from '../connect.ts';
import { printJson } from '../output.ts';
import {
  CHECK_NAMES,
  DoctorRun,
  withoutPassword,
  wsKeyPair,
  type CheckResult,
  type DoctorSettings,
} from './doctor-checks.ts';
import { symbolArg } from './exchange.ts';

// `btcbot doctor`: a preflight of a set-up against the configured exchange before money is at
// stake. Exit 0 when every check passes, 1 when one fails, 2 on bad configuration (after a failed
// `config` line, so the report is never empty).

interface DoctorFlags extends FlagValues {
  readonly json?: boolean | undefined;
  readonly db?: string | undefined;
  readonly redisUrl?: string | undefined;
  readonly symbol?: string | undefined;
  readonly timeout?: string | undefined;
  readonly wsLoginNonce?: string | undefined;
}

const DEFAULT_SYMBOL = 'BTCTRY';
const DEFAULT_TIMEOUT = '10s';
/** Closing what the checks opened is bounded too: doctor never hangs. */
const CLOSE_BOUND_MS = 5_000;

/** A setting from its flag, its environment variable or the config file, with the name it came from. */
function setting(
  flag: string | undefined,
  flagName: string,
  envName: string,
  file: Record<string, unknown>,
  fileKey: string,
  configPath: string | undefined,
): { name: string; value: unknown } | undefined {
  if (flag !== undefined) return { name: flagName, value: flag };
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv !== '') return { name: envName, value: fromEnv };
  if (file[fileKey] !== undefined) return { name: `${configPath ?? ''}: ${fileKey}`, value: file[fileKey] };
  return undefined;
}

function textOf(source: { name: string; value: unknown }): string {
  if (typeof source.value !== 'string' || source.value.trim() === '')
    throw new ConfigError(source.name, 'must be non-empty text');
  return source.value.trim();
}

/** Everything doctor needs, checked before the first check runs; a ConfigError names the setting. */
export function loadDoctorSettings(flags: DoctorFlags): DoctorSettings {
  const connection = resolveSettings(flags);
  const configPath = flags.config ?? process.env.BTCBOT_CONFIG;
  const file = configPath ? readConfigFile(configPath) : {};

  const dbSource = setting(flags.db, '--db', 'BTCBOT_DB', file, 'db', configPath);
  const db = dbSource ? textOf(dbSource) : DEFAULT_DB;
  if (isPostgresUrl(db)) {
    try {
      new URL(db);
    } catch {
      throw new ConfigError(
        dbSource?.name ?? '--db',
        'is not a URL; give it as postgres://user@host:5432/database',
      );
    }
  }

  const redisSource = setting(
    flags.redisUrl,
    '--redis-url',
    'BTCBOT_REDIS_URL',
    file,
    'redisUrl',
    configPath,
  );
  const redisUrl = redisSource ? textOf(redisSource) : undefined;
  if (redisSource && redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl))
    throw new ConfigError(redisSource.name, 'must be a redis:// or rediss:// URL');

  // The pair to subscribe: --symbol, else the first of the bot's configured symbols.
  let symbol = DEFAULT_SYMBOL;
  if (flags.symbol !== undefined) symbol = flags.symbol;
  else {
    const symbols = setting(undefined, '', 'BTCBOT_SYMBOLS', file, 'symbols', configPath);
    if (symbols) {
      const list: readonly unknown[] = Array.isArray(symbols.value)
        ? (symbols.value as unknown[])
        : String(symbols.value).split(',');
      const first = list[0];
      try {
        symbol = symbolArg(typeof first === 'string' ? first : '');
      } catch (error) {
        throw new ConfigError(symbols.name, (error as Error).message);
      }
    }
  }

  // The login as the bot makes it: the same nonce setting (`btcbot run --ws-login-nonce`).
  const nonceSource = setting(
    flags.wsLoginNonce,
    '--ws-login-nonce',
    'BTCBOT_WS_LOGIN_NONCE',
    file,
    'wsLoginNonce',
    configPath,
  );
  const wsLoginNonce = nonceSource
    ? parseWsLoginNonce(nonceSource.name, nonceSource.value)
    : DEFAULT_WS_LOGIN_NONCE;

  const timeoutMs = parseDuration('--timeout', flags.timeout ?? DEFAULT_TIMEOUT);
  return { connection, ws: wsKeyPair(connection), wsLoginNonce, db, redisUrl, symbol, timeoutMs };
}

function configDetail(s: DoctorSettings): string {
  const { connection } = s;
  return [
    `REST ${connection.baseUrl}`,
    `WebSocket ${connection.wsUrl}`,
    connection.apiKey === undefined ? 'no API key (public checks only)' : 'API key and secret set',
    s.ws === undefined ? 'no WebSocket login' : `WebSocket login with ${s.ws.names}`,
    `database ${isPostgresUrl(s.db) ? withoutPassword(s.db) : s.db}`,
    s.redisUrl === undefined ? 'no Redis' : `Redis ${withoutPassword(s.redisUrl)}`,
    `snapshot pair ${s.symbol}`,
  ].join(', ');
}

/** Prints each check as it ends (a line), or the whole report at the end (`--json`). */
class Report {
  readonly checks: CheckResult[] = [];
  constructor(private readonly json: boolean) {}

  add(result: CheckResult): void {
    this.checks.push(result);
    if (!this.json) process.stdout.write(`${result.ok ? 'PASS' : 'FAIL'} ${result.name}: ${result.detail}\n`);
  }

  get ok(): boolean {
    return this.checks.every((c) => c.ok);
  }

  finish(): void {
    if (this.json) {
      printJson({ ok: this.ok, checks: this.checks });
      return;
    }
    const failed = this.checks.filter((c) => !c.ok).map((c) => c.name);
    process.stdout.write(
      failed.length === 0
        ? `doctor: all ${this.checks.length} checks passed\n`
        : `doctor: ${failed.length} of ${this.checks.length} checks failed: ${failed.join(', ')}\n`,
    );
  }
}

async function doctor(flags: DoctorFlags): Promise<void> {
  const report = new Report(flags.json === true);
  let settings: DoctorSettings;
  try {
    settings = loadDoctorSettings(flags);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report.add({ name: 'config', ok: false, detail: error.message });
    report.finish();
    throw error; // main.ts prints it and exits with code 2
  }
  report.add({ name: 'config', ok: true, detail: configDetail(settings) });
  const run = new DoctorRun(settings, createLogger());
  try {
    for (const [name, check] of run.checks) {
      // The check bounds its own waits; this bound is the backstop for anything that does not.
      const result = await bounded(
        check().catch((error: unknown): CheckResult => ({
          name,
          ok: false,
          detail: error instanceof Error ? error.message : String(error),
        })),
        settings.timeoutMs + 2_000,
      );
      report.add(
        result === 'timeout'
          ? { name, ok: false, detail: `did not finish within ${settings.timeoutMs + 2_000} ms` }
          : result,
      );
    }
  } finally {
    await bounded(run.close(), CLOSE_BOUND_MS);
  }
  report.finish();
  process.exitCode = report.ok ? 0 : 1;
  // A check abandoned at its bound may still hold a socket open: do not wait for it to give up.
  setTimeout(() => process.exit(), CLOSE_BOUND_MS).unref();
}

export function registerDoctorCommand(program: Command): void {
  program.addCommand(
    withConnectionOptions(
      new Command('doctor').description(
        `preflight against the configured exchange, one line per check (${CHECK_NAMES.join(', ')}); ` +
          'exit 0 all pass, 1 a check failed, 2 bad configuration',
      ),
    )
      .option('--json', 'print {"ok","checks":[{"name","ok","detail"}]} instead of lines')
      .option(
        '--db <path>',
        `the bot database: a file, or a postgres:// URL (default ${DEFAULT_DB}; also BTCBOT_DB)`,
      )
      .option('--redis-url <url>', 'the shared rate limit to check (also BTCBOT_REDIS_URL)')
      .option(
        '--symbol <pair>',
        `the pair to subscribe (default: the first of BTCBOT_SYMBOLS, else ${DEFAULT_SYMBOL})`,
        symbolArg,
      )
      .option(
        '--ws-login-nonce <n>',
        `the WebSocket login's nonce, as btcbot run takes it (default ${DEFAULT_WS_LOGIN_NONCE}; also BTCBOT_WS_LOGIN_NONCE)`,
      )
      .option('--timeout <duration>', `the bound of each check (default ${DEFAULT_TIMEOUT})`)
      .action(doctor),
  );
}
