import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { btcturkRateLimiter, connectRedisLimiterStore, type BtcturkExchange } from '../../btcturk/index.ts';
import type { RateLimiter } from '../../btcturk/common/rate-limiter.ts';
import { withoutPassword, type RedisLimiterStore } from '../../btcturk/common/redis-limiter-store.ts';
import { BtcturkWsClient, WsCredentials } from '../../btcturk/websocket/index.ts';
import type { WsMessage } from '../../btcturk/websocket/messages.ts';
import { ConfigError } from '../../domain/errors.ts';
import { formatDuration, parseDuration } from '../../ops/duration.ts';
import { createLogger, type Logger } from '../../ops/logger.ts';
import { serverText } from '../../ops/private-stream.ts';
import { DEFAULT_DB, DEFAULT_WS_LOGIN_NONCE, parseWsLoginNonce } from '../../ops/run-config.ts';
import { bounded } from '../../ops/signals.ts';
import type { StoreReader } from '../../ports/store.ts';
import { probeWriterLock } from '../../store/postgres/writer-lock.ts';
import { isPostgresUrl } from '../../store/postgres/open.ts';
import { MIGRATION_TABLE } from '../../store/sql/migrate.ts';
import { MIGRATIONS } from '../../store/sql/migrations.ts';
import { probeInstanceLock } from '../../store/sqlite/instance-lock.ts';
import { readConfigFile, type ConnectionSettings, type FlagValues } from '../../config/connection.ts';
import { createExchange, resolveSettings } from '../../config/exchange.ts';
import { printJson } from '../output.ts';
import { openReader } from '../stores.ts';
import { CHECK_NAMES, DEFAULT_SYMBOL, DEFAULT_TIMEOUT } from './doctor.ts';
import { symbolArg } from './exchange.ts';

// The checks of `btcbot doctor`, in the order they run. Each answers pass or fail with one line a
// person can act on; later checks use what earlier ones set up (the REST adapter, the socket, the
// store) and say "not checked" when what they need failed. Nothing here prints a key or a secret:
// details name settings, never their values.

export { CHECK_NAMES };
export type CheckName = (typeof CHECK_NAMES)[number];

export interface CheckResult {
  readonly name: CheckName;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DoctorSettings {
  readonly connection: ConnectionSettings;
  /** The pair the login uses and which settings it came from; undefined without any key pair. */
  readonly ws: { readonly credentials: WsCredentials; readonly names: string } | undefined;
  readonly wsLoginNonce: number;
  readonly db: string;
  readonly redisUrl: string | undefined;
  readonly symbol: string;
  /** The bound of each check. */
  readonly timeoutMs: number;
}

export { withoutPassword };

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Settles with the work's value, or rejects with `what` after `ms` (the work itself goes on). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(what));
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const pass = (name: CheckName, detail: string): CheckResult => ({ name, ok: true, detail });
const fail = (name: CheckName, detail: string): CheckResult => ({ name, ok: false, detail });
const seconds = (ms: number): string => formatDuration(ms);

type StoreState =
  | { readonly kind: 'open'; readonly reader: StoreReader }
  | { readonly kind: 'not-applicable' | 'not-checked' | 'failed'; readonly why: string };

interface SocketWatch {
  readonly connected: Promise<void>;
  readonly welcome: Promise<void>;
  readonly login: Promise<{ ok: boolean; message: string }>;
}

/** What the checks share, and closes at the end. */
export class DoctorRun {
  private limiterStore: RedisLimiterStore | undefined;
  private redisProblem: string | null = null;
  private limiter: RateLimiter | undefined;
  private exchange: BtcturkExchange | undefined;
  private client: BtcturkWsClient | undefined;
  private socket: SocketWatch | undefined;
  private socketOk = false;
  private store: StoreState = { kind: 'not-checked', why: 'the database check did not run' };

  constructor(
    private readonly settings: DoctorSettings,
    private readonly log: Logger,
  ) {}

  /** The checks after `config`, in order. */
  readonly checks: readonly (readonly [CheckName, () => Promise<CheckResult>])[] = [
    ['rest', () => this.rest()],
    ['clock', () => this.clock()],
    ['signed-read', () => this.signedRead()],
    ['websocket', () => this.websocket()],
    ['websocket-login', () => this.websocketLogin()],
    ['snapshot', () => this.snapshot()],
    ['rate-limit', () => this.rateLimit()],
    ['database', () => this.database()],
    ['redis', () => this.redis()],
    ['unknown-orders', () => this.unknownOrders()],
    ['kill-switch', () => this.killSwitch()],
  ];

  async close(): Promise<void> {
    const closing: Promise<unknown>[] = [];
    if (this.client) closing.push(this.client.stop());
    if (this.exchange) closing.push(this.exchange.close());
    if (this.limiterStore) closing.push(this.limiterStore.close());
    if (this.store.kind === 'open') closing.push(this.store.reader.close());
    await Promise.allSettled(closing);
  }

  /** The REST adapter as the bot builds it: the shared limiter in Redis when one is configured. */
  private async adapter(): Promise<BtcturkExchange> {
    if (this.exchange) return this.exchange;
    const { connection, redisUrl } = this.settings;
    if (redisUrl !== undefined) {
      try {
        this.limiterStore = await connectRedisLimiterStore({
          url: redisUrl,
          apiKey: connection.apiKey ?? 'public-market-data',
        });
      } catch (error) {
        // The bot would not start like this; the rate-limit and redis checks say so.
        this.redisProblem = message(error);
      }
    }
    this.limiter = btcturkRateLimiter({ store: this.limiterStore });
    this.exchange = createExchange(connection, this.log, {
      requestTimeoutMs: Math.min(connection.requestTimeoutMs, this.settings.timeoutMs),
      deadlineMs: this.settings.timeoutMs,
      limiter: this.limiter,
    });
    return this.exchange;
  }

  private async rest(): Promise<CheckResult> {
    const exchange = await this.adapter();
    const started = performance.now();
    try {
      await exchange.serverTime();
    } catch (error) {
      return fail('rest', `${this.settings.connection.baseUrl} did not answer: ${message(error)}`);
    }
    const ms = Math.round(performance.now() - started);
    return pass('rest', `${this.settings.connection.baseUrl} answered GET /api/v2/server/time in ${ms} ms`);
  }

  private async clock(): Promise<CheckResult> {
    const exchange = await this.adapter();
    try {
      await exchange.syncClock();
    } catch (error) {
      return fail('clock', `the server's clock could not be read: ${message(error)}`);
    }
    const offset = exchange.serverNow() - Date.now();
    const signed = `${offset >= 0 ? '+' : ''}${offset} ms`;
    // Measured and corrected for: REST stamps and the WebSocket login are taken from the
    // server-synced clock, so an offset is no failure. Beyond the 5 s stamp window it is worth a
    // warning, since other software on this machine would be refused.
    const warning =
      Math.abs(offset) >= 5_000
        ? "; warning: beyond BTCTurk's ±5 s stamp window — corrected here, but set this machine's clock (NTP)"
        : '';
    return pass(
      'clock',
      `the server's clock is ${signed} from this machine's; stamps are taken from the server-synced clock${warning}`,
    );
  }

  private async signedRead(): Promise<CheckResult> {
    const { connection } = this.settings;
    if (connection.apiKey === undefined)
      return pass(
        'signed-read',
        'not applicable: no API key set (BTCTURK_API_KEY, BTCTURK_API_SECRET); private commands and live mode need one',
      );
    const exchange = await this.adapter();
    try {
      const balances = await exchange.balances();
      return pass(
        'signed-read',
        `GET /api/v1/users/balances accepted the signature (${balances.length} assets)`,
      );
    } catch (error) {
      return fail('signed-read', `GET /api/v1/users/balances failed: ${message(error)}`);
    }
  }

  private async websocket(): Promise<CheckResult> {
    const exchange = await this.adapter();
    const { connection, ws, timeoutMs } = this.settings;
    const client = new BtcturkWsClient({
      url: connection.wsUrl,
      credentials: ws?.credentials,
      serverNow: () => exchange.serverNow(),
      loginNonce: this.settings.wsLoginNonce,
      answerTimeoutMs: timeoutMs,
      handshakeTimeoutMs: timeoutMs,
    });
    this.client = client;
    let failed: (reason: string) => void = () => undefined;
    const connectFailed = new Promise<never>((_, reject) => {
      failed = (reason) => {
        reject(new Error(reason));
      };
    });
    const socket: SocketWatch = {
      connected: new Promise((done) => client.once('connected', done)),
      welcome: new Promise((done) => {
        const onMessage = (m: WsMessage): void => {
          if (m.kind !== 'welcome') return;
          client.off('message', onMessage);
          done();
        };
        client.on('message', onMessage);
      }),
      login: new Promise((done) => {
        client.once('login', (ok, text) => {
          done({ ok, message: text });
        });
      }),
    };
    this.socket = socket;
    client.on('problem', (problem) => {
      if (problem.kind === 'connect-failed' || problem.kind === 'rate-limited') failed(problem.message);
      this.log.debug({ kind: problem.kind }, problem.message);
    });
    const started = performance.now();
    client.start();
    try {
      await within(
        Promise.race([socket.connected, connectFailed]),
        timeoutMs,
        `no connection within ${seconds(timeoutMs)}`,
      );
    } catch (error) {
      await client.stop(); // no reconnect attempts in the background
      return fail('websocket', `${connection.wsUrl}: ${message(error)}`);
    }
    this.socketOk = true;
    const openMs = Math.round(performance.now() - started);
    // ASSUMPTION (BTCTurk): the server greets every connection with a 991 frame (seen in the C1
    // capture); its absence is reported, not failed, as the feed works without it.
    const greeted = await within(socket.welcome, Math.min(3_000, timeoutMs), 'no welcome').then(
      () => 'welcome (991) received',
      () => 'no welcome frame (991) within 3 s',
    );
    return pass('websocket', `${connection.wsUrl} open in ${openMs} ms; ${greeted}`);
  }

  private async websocketLogin(): Promise<CheckResult> {
    const { ws, timeoutMs } = this.settings;
    if (ws === undefined)
      return pass(
        'websocket-login',
        'not applicable: no key pair (BTCTURK_WS_PUBLIC_KEY/BTCTURK_WS_PRIVATE_KEY, or BTCTURK_API_KEY/BTCTURK_API_SECRET)',
      );
    if (!this.socketOk || this.socket === undefined)
      return fail('websocket-login', 'not checked: the WebSocket did not connect');
    try {
      const answer = await within(
        this.socket.login,
        timeoutMs,
        `no answer to the login within ${seconds(timeoutMs)}`,
      );
      const nonce = `nonce ${this.settings.wsLoginNonce}`;
      if (answer.ok) return pass('websocket-login', `logged in with ${ws.names} (${nonce})`);
      return fail(
        'websocket-login',
        `the server refused the login: "${serverText(answer.message)}"; check ${ws.names} ` +
          `and the ${nonce} (BTCBOT_WS_LOGIN_NONCE)`,
      );
    } catch (error) {
      return fail('websocket-login', message(error));
    }
  }

  private async snapshot(): Promise<CheckResult> {
    const { symbol, timeoutMs, connection } = this.settings;
    const client = this.client;
    if (!this.socketOk || client === undefined)
      return fail('snapshot', 'not checked: the WebSocket did not connect');
    const exchange = await this.adapter();
    try {
      const info = await within(exchange.exchangeInfo(), timeoutMs, 'exchangeinfo did not answer');
      if (!info.symbols.some((s) => s.symbol === symbol))
        return fail(
          'snapshot',
          `${symbol} is not listed by ${connection.baseUrl}/api/v2/server/exchangeinfo; give --symbol a listed pair`,
        );
    } catch (error) {
      // The socket is what is checked here; a pair it does not know shows as a missing snapshot.
      this.log.warn({ err: message(error) }, 'exchangeinfo could not be read; checking the snapshot anyway');
    }
    let detach = (): void => undefined;
    const snapshot = new Promise<{ bids: number; asks: number; changeSet: number }>((done, reject) => {
      const onMessage = (m: WsMessage): void => {
        if (m.kind === 'book-snapshot' && m.symbol === symbol && !m.periodic)
          done({ bids: m.bids.length, asks: m.asks.length, changeSet: m.changeSet });
      };
      const onProblem = (problem: { kind: string; message: string }): void => {
        if (problem.kind === 'subscription-refused') reject(new Error(problem.message));
      };
      client.on('message', onMessage);
      client.on('problem', onProblem);
      detach = () => {
        client.off('message', onMessage);
        client.off('problem', onProblem);
      };
    });
    const started = performance.now();
    client.subscribe('obdiff', symbol);
    try {
      const got = await within(
        snapshot,
        timeoutMs,
        `no order book snapshot for ${symbol} within ${seconds(timeoutMs)} of subscribing: ` +
          'BTCTurk acknowledges unknown or lower-case pairs and then sends nothing',
      );
      const ms = Math.round(performance.now() - started);
      return pass(
        'snapshot',
        `obdiff ${symbol}: a snapshot of ${got.bids} bids and ${got.asks} asks (CS ${got.changeSet}) ${ms} ms after subscribing`,
      );
    } catch (error) {
      return fail('snapshot', message(error));
    } finally {
      detach();
      client.unsubscribe('obdiff', symbol);
    }
  }

  private async rateLimit(): Promise<CheckResult> {
    await this.adapter();
    if (this.redisProblem !== null)
      return fail(
        'rate-limit',
        `the shared budget in Redis could not be read (${this.redisProblem}); the bot would not start`,
      );
    const headroom = await this.limiter?.headroom();
    if (!headroom) return pass('rate-limit', 'not applicable: the limiter cannot report its use');
    const scope = this.limiterStore
      ? 'the budget shared in Redis by every process on this API key'
      : 'this process only: without --redis-url each btcbot process counts its own use, while BTCTurk counts them together';
    const per = (ms: number): string =>
      ms === 1_000 ? 'a second' : ms === 60_000 ? 'a minute' : `per ${ms} ms`;
    const windows = headroom.flatMap((g) =>
      g.windows.map((w) => ({
        group: g.group,
        left: w.limit - w.used,
        limit: w.limit,
        period: per(w.periodMs),
      })),
    );
    const blocked = headroom.filter((g) => g.blockedForMs > 0);
    const exhausted = windows.filter((w) => w.left <= 0);
    const lowest = [...windows].sort((a, b) => a.left / a.limit - b.left / b.limit).slice(0, 3);
    const summary = lowest.map((w) => `${w.group} ${w.left}/${w.limit} ${w.period}`).join(', ');
    if (blocked.length > 0 || exhausted.length > 0) {
      const problems = [
        ...blocked.map((g) => `${g.group} blocked by a 429 for another ${seconds(g.blockedForMs)}`),
        ...exhausted.map((w) => `${w.group} has no request left ${w.period}`),
      ];
      return fail('rate-limit', `${problems.join('; ')} (${scope})`);
    }
    return pass(
      'rate-limit',
      `every group has room, the least: ${summary}; no 429 block in force (${scope})`,
    );
  }

  private async database(): Promise<CheckResult> {
    const { db } = this.settings;
    try {
      return isPostgresUrl(db) ? await this.postgresDatabase(db) : await this.sqliteDatabase(db);
    } catch (error) {
      this.store = { kind: 'failed', why: 'the database could not be read' };
      return fail('database', message(error));
    }
  }

  /** Which of this build's migrations are applied: a verdict for the database line. */
  private schemaVerdict(applied: readonly string[]): { ok: boolean; current: boolean; text: string } {
    const known = Object.keys(MIGRATIONS).sort();
    const unknown = applied.filter((name) => !known.includes(name));
    if (unknown.length > 0)
      return {
        ok: false,
        current: false,
        text: `written by a newer btcbot (migrations ${unknown.join(', ')} are unknown to this build); use that version`,
      };
    const pending = known.filter((name) => !applied.includes(name));
    if (pending.length > 0)
      return {
        ok: true,
        current: false,
        text: `migrations ${applied.length} of ${known.length} applied; ${pending.join(', ')} will be applied when the bot next starts`,
      };
    return {
      ok: true,
      current: true,
      text: `migrations current (${known.length}, latest ${known.at(-1) ?? '-'})`,
    };
  }

  private async finishDatabase(
    where: string,
    applied: readonly string[],
    lock: string,
    open: () => Promise<StoreReader>,
  ): Promise<CheckResult> {
    const verdict = this.schemaVerdict(applied);
    if (!verdict.ok) {
      this.store = { kind: 'failed', why: 'the database was written by a newer btcbot' };
      return fail('database', `${where}: ${verdict.text}; ${lock}`);
    }
    if (verdict.current) this.store = { kind: 'open', reader: await open() };
    else
      this.store = {
        kind: 'not-checked',
        why: 'the database schema is older than this build (the bot migrates it at start)',
      };
    return pass('database', `${where} opened read-only; ${verdict.text}; ${lock}`);
  }

  private async sqliteDatabase(db: string): Promise<CheckResult> {
    const path = resolve(db);
    if (!existsSync(path)) {
      this.store = { kind: 'not-applicable', why: 'no database yet' };
      return pass('database', `no database at ${path} yet: the bot creates it when it first starts`);
    }
    const sqlite = new Database(path, { readonly: true, fileMustExist: true, timeout: 2_000 });
    let applied: string[];
    try {
      const table = sqlite
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(MIGRATION_TABLE);
      if (table === undefined) {
        this.store = { kind: 'failed', why: 'the file holds no btcbot store' };
        return fail('database', `${path} holds no btcbot store (no ${MIGRATION_TABLE} table): check --db`);
      }
      applied = (
        sqlite.prepare(`SELECT name FROM ${MIGRATION_TABLE} ORDER BY name`).all() as { name: string }[]
      ).map((r) => r.name);
    } finally {
      sqlite.close();
    }
    // The lock lives beside the canonical path the bot opens (symlinked folders resolved).
    const canonical = join(realpathSync(dirname(path)), basename(path));
    const { held, holder } = probeInstanceLock(canonical);
    const lock = !held
      ? 'writer lock free'
      : holder === null
        ? 'writer lock held by a process that has not written its details yet'
        : `writer lock held by pid ${holder.pid} on host ${holder.host} since ${new Date(holder.since).toISOString()}`;
    return this.finishDatabase(path, applied, lock, () => openReader(db));
  }

  private async postgresDatabase(url: string): Promise<CheckResult> {
    const where = withoutPassword(url);
    const config: pg.ClientConfig = {
      connectionString: url,
      connectionTimeoutMillis: this.settings.timeoutMs,
      options: '-c default_transaction_read_only=on',
    };
    const client = new pg.Client({ ...config, application_name: `btcbot doctor pid=${process.pid}` });
    client.on('error', () => undefined);
    let applied: string[];
    try {
      await client.connect();
      // The store lives in schema "public" (what --db opens) with its migration table there.
      const { rows } = await client.query<{ name: string }>(
        `SELECT name FROM public.${MIGRATION_TABLE} ORDER BY name`,
      );
      applied = rows.map((r) => r.name);
    } catch (error) {
      if ((error as { code?: string }).code === '42P01') {
        this.store = { kind: 'not-applicable', why: 'no store in that database yet' };
        return pass('database', `no btcbot store in ${where} yet: the bot creates it when it first starts`);
      }
      throw new Error(`${where}: ${message(error)}`, { cause: error });
    } finally {
      await client.end().catch(() => undefined);
    }
    const { held, holder } = await probeWriterLock(config, 'public');
    const lock = !held
      ? 'writer lock free'
      : holder?.pid == null
        ? `writer lock held by PostgreSQL session ${holder?.backendPid ?? '?'}`
        : `writer lock held by pid ${holder.pid} on host ${holder.host ?? '?'} (session ${holder.backendPid})`;
    return this.finishDatabase(where, applied, lock, () => openReader(url));
  }

  private async redis(): Promise<CheckResult> {
    const { redisUrl, timeoutMs } = this.settings;
    if (redisUrl === undefined)
      return pass(
        'redis',
        'not configured (--redis-url, BTCBOT_REDIS_URL): the rate limit is counted per process',
      );
    const where = withoutPassword(redisUrl);
    const redis = new Redis(redisUrl, {
      lazyConnect: true,
      connectTimeout: Math.min(5_000, timeoutMs),
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const started = performance.now();
      const answer = await redis.ping();
      const ms = Math.round(performance.now() - started);
      return pass('redis', `${where} answered PING with ${answer} in ${ms} ms`);
    } catch (error) {
      return fail('redis', `${where} did not answer: ${message(error)}`);
    } finally {
      redis.disconnect();
    }
  }

  /** The open store, or the answer of a store check when there is none to read. */
  private storeOr(name: CheckName): { reader: StoreReader } | { result: CheckResult } {
    const store = this.store;
    if (store.kind === 'open') return { reader: store.reader };
    if (store.kind === 'not-applicable') return { result: pass(name, `not applicable: ${store.why}`) };
    if (store.kind === 'not-checked') return { result: pass(name, `not checked: ${store.why}`) };
    return { result: fail(name, `not checked: ${store.why}`) };
  }

  private async unknownOrders(): Promise<CheckResult> {
    const store = this.storeOr('unknown-orders');
    if ('result' in store) return store.result;
    const unknown = (await store.reader.activeOrders()).filter((o) => o.state === 'UNKNOWN');
    if (unknown.length === 0) return pass('unknown-orders', 'no order in UNKNOWN');
    const ids = unknown.map((o) => o.clientOrderId ?? o.exchangeOrderId ?? `local ${o.id}`);
    return fail(
      'unknown-orders',
      `${unknown.length} order${unknown.length === 1 ? '' : 's'} whose send is unresolved (UNKNOWN): ${ids.join(', ')}; ` +
        'the bot resolves them by lookup at start-up (btcbot reconcile does it now)',
    );
  }

  private async killSwitch(): Promise<CheckResult> {
    const store = this.storeOr('kill-switch');
    if ('result' in store) return store.result;
    const [kill, escalation] = await Promise.all([store.reader.killSwitch(), store.reader.escalation()]);
    const since = (at: number | null): string => (at === null ? '' : ` since ${new Date(at).toISOString()}`);
    const because = (reason: string | null): string => (reason ? ` (${reason})` : '');
    const level = `escalation ${escalation.level}${because(escalation.reason)}${since(escalation.at)}`;
    if (kill.on)
      return fail(
        'kill-switch',
        `kill switch ON${because(kill.reason)}${since(kill.at)}, ${level}: no new order will be placed; btcbot kill-switch off clears it`,
      );
    if (escalation.level === 'HALTED')
      return fail(
        'kill-switch',
        `kill switch off but ${level}: btcbot kill-switch off takes it back to NORMAL`,
      );
    // REDUCE_ONLY is a working state (the bot trades, only towards smaller positions): a warning.
    if (escalation.level === 'REDUCE_ONLY')
      return pass(
        'kill-switch',
        `kill switch off; warning: ${level}: only orders that reduce a position are placed until btcbot kill-switch off`,
      );
    return pass('kill-switch', `kill switch off, ${level}`);
  }
}

/** The WebSocket key pair as the bot picks it: its own pair, else the REST pair. */
export function wsKeyPair(connection: ConnectionSettings): DoctorSettings['ws'] {
  const publicKey = connection.wsPublicKey ?? connection.apiKey;
  const privateKey = connection.wsPrivateKey ?? connection.apiSecret;
  if (publicKey === undefined || privateKey === undefined) return undefined;
  const names = [
    connection.wsPublicKey === undefined ? 'BTCTURK_API_KEY' : 'BTCTURK_WS_PUBLIC_KEY',
    connection.wsPrivateKey === undefined ? 'BTCTURK_API_SECRET' : 'BTCTURK_WS_PRIVATE_KEY',
  ];
  try {
    return {
      credentials: new WsCredentials(publicKey, privateKey),
      names: `the key pair ${names.join('/')}`,
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(names.join('/'), message(error));
  }
}

export interface DoctorFlags extends FlagValues {
  readonly json?: boolean | undefined;
  readonly db?: string | undefined;
  readonly redisUrl?: string | undefined;
  readonly symbol?: string | undefined;
  readonly timeout?: string | undefined;
  readonly wsLoginNonce?: string | undefined;
}

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

/** `btcbot doctor`'s action. */
export async function doctor(flags: DoctorFlags): Promise<void> {
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
