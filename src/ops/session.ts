import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import {
  BtcturkExchange,
  btcturkRateLimiter,
  connectRedisLimiterStore,
  type RedisLimiterStore,
} from '../btcturk/index.ts';
import {
  BtcturkMarketFeed,
  BtcturkUserStream,
  BtcturkWsClient,
  WsCredentials,
} from '../btcturk/websocket/index.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../btcturk/common/constants.ts';
import type { ConnectionSettings } from '../cli/config.ts';
import { createExchange } from '../cli/connect.ts';
import { ConfigError } from '../domain/errors.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { DryRunExchange, dryRunStartingBalances, userStreamOf } from '../engine/dry-run-exchange.ts';
import { Engine } from '../engine/engine.ts';
import type { Valuation } from '../engine/portfolio.ts';
import { OrderRateBudget } from '../engine/rate-budget.ts';
import { MarketDataService } from '../market/service.ts';
import { DEFAULT_TIMINGS, Oms, type ReconcileReport } from '../oms/index.ts';
import type { Exchange } from '../ports/exchange.ts';
import type { Store } from '../ports/store.ts';
import type { UserStream } from '../ports/user-stream.ts';
import { groundTruthJson } from '../sim/server/admin.ts';
import { DEFAULT_BOOK_INTERVAL_MS, startSimulator, type RunningSimulator } from '../sim/index.ts';
import { openPostgresStore } from '../store/postgres/open.ts';
import { openSqliteStore } from '../store/sqlite/open.ts';
import { botMetrics, serveMetrics, type MetricsServer } from './metrics.ts';
import type { RunConfig, StoreLocation } from './run-config.ts';
import { degradedPollMs, PrivateStreamPace, serverText } from './private-stream.ts';
import { bounded, stopSignal } from './signals.ts';
import {
  bannerLines,
  finalSummaryLines,
  summaryLine,
  tradingLine,
  waitingLine,
  waitingText,
  WaitedFor,
  type SummaryInput,
} from './terminal.ts';

// One bot session: the exchange of its mode, the store, the market data and private streams, the
// execution core and the engine, wired together; a banner, a summary line every few seconds, and
// an orderly stop on a signal or when the duration is up. Paper mode runs against an in-process
// simulator over real HTTP and WebSocket, so every order takes the path a live one takes.

export interface SessionIo {
  /** One line for the user (stdout). */
  readonly out: (line: string) => void;
  readonly logger: Logger;
}

const SUMMARY_EVERY_MS = 5_000;
/** Until every symbol may trade, what holds them back is checked this often (and said when it changes). */
const WAITING_EVERY_MS = 200;
/** Reconciliation while the private stream brings fills and order states as they happen. */
const RECONCILE_EVERY_MS = 15_000;
/** How long the exit waits for cancels to be confirmed, and for the final reconciliation. */
const EXIT_CANCEL_BOUND_MS = 20_000;
const EXIT_RECONCILE_BOUND_MS = 15_000;

interface Venue {
  readonly connection: ConnectionSettings;
  readonly describe: string;
  readonly notes: string[];
  readonly sim: RunningSimulator | null;
}

async function venueFor(config: RunConfig): Promise<Venue> {
  if (config.connection !== null)
    return {
      connection: config.connection,
      describe:
        config.mode === 'live'
          ? `${config.connection.baseUrl} (LIVE: real orders)`
          : `${config.connection.baseUrl} (public market data only; orders are simulated here and never sent)`,
      notes: [],
      sim: null,
    };
  // Book changes are batched per pair as BTCTurk does (~764 ms), so paper mode meets the same
  // conflated feed live mode will; the simulator runs that interval faster with the market speed.
  const bookIntervalMs = DEFAULT_BOOK_INTERVAL_MS;
  const sim = await startSimulator({
    port: 0,
    seed: config.seed ?? undefined,
    symbols: config.symbols,
    speed: config.speed,
    bookIntervalMs,
  });
  return {
    connection: {
      baseUrl: sim.restUrl,
      wsUrl: sim.wsUrl,
      apiKey: sim.apiKey,
      apiSecret: sim.apiSecret,
      wsPublicKey: undefined,
      wsPrivateKey: undefined,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    },
    describe: `in-process simulator at ${sim.restUrl} (synthetic market; nothing leaves this machine)`,
    notes: [
      `simulator seed ${sim.seed} (--seed ${sim.seed} replays its market), speed ${config.speed}; ` +
        (config.speed === 1
          ? `book changes batched every ${bookIntervalMs} ms, as BTCTurk's feed does`
          : `book changes batched every ${Math.round(Math.max(1, bookIntervalMs / config.speed))} ms (BTCTurk's ~${bookIntervalMs} ms at speed ${config.speed})`),
      'paper state is per session: the simulator lives in this process, so its database starts empty each run',
    ],
    sim,
  };
}

async function openStore(location: StoreLocation, logger: Logger): Promise<Store> {
  if (location.kind === 'postgres') return openPostgresStore({ url: location.url });
  return openSqliteStore({
    path: location.path,
    fresh: location.fresh,
    onTakeover: (previous) => {
      logger.warn({ previous }, 'took over the database lock of a process that ended without closing');
    },
  });
}

function stateText(location: StoreLocation, store: Store): string {
  if (location.kind === 'postgres') return store.location;
  return location.fresh ? `${store.location} (fresh for this session)` : store.location;
}

function rulesFor(
  symbols: readonly string[],
  listed: readonly SymbolRules[],
  where: string,
): Map<string, SymbolRules> {
  const bySymbol = new Map(listed.map((r) => [r.symbol, r]));
  const out = new Map<string, SymbolRules>();
  for (const symbol of symbols) {
    const rules = bySymbol.get(symbol);
    if (!rules)
      throw new ConfigError(
        '--symbols',
        `${symbol} is not listed by the exchange at ${where}; check the pair's name`,
      );
    out.set(symbol, rules);
  }
  return out;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

function reconcileText(report: ReconcileReport | 'timeout' | Error): string {
  if (report === 'timeout') return 'did not finish in time';
  if (report instanceof Error) return `failed: ${report.message}`;
  if (report.clean) return 'clean';
  return `NOT clean: ${[...report.failures, ...report.divergences].join('; ') || `${report.unresolved} unresolved, ${report.openReplaces} replaces open`}`;
}

/** Runs the bot until a signal or the duration; resolves when everything is closed. */
export interface SessionOutcome {
  /** Our orders still resting (or unresolved) when the session closed. */
  readonly ordersLeft: number;
  readonly reconcileClean: boolean;
}

export async function runSession(config: RunConfig, io: SessionIo): Promise<SessionOutcome> {
  const { out, logger } = io;
  const cleanup: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of cleanup.reverse())
      await close().catch((e: unknown) => {
        logger.error({ err: String(e) }, 'close failed');
      });
  };
  try {
    const venue = await venueFor(config);
    if (venue.sim) {
      const sim = venue.sim;
      cleanup.push(async () => {
        if (config.paperStateFile !== undefined)
          writeFileSync(
            resolve(config.paperStateFile),
            `${JSON.stringify(groundTruthJson(sim.groundTruth()))}\n`,
          );
        await sim.stop();
      });
    }
    const { connection } = venue;
    const store = await openStore(config.store, logger);
    cleanup.push(() => store.close());

    let limiterStore: RedisLimiterStore | undefined;
    if (config.redisUrl !== undefined) {
      limiterStore = await connectRedisLimiterStore({
        url: config.redisUrl,
        apiKey: connection.apiKey ?? 'public-market-data',
      });
      const connected = limiterStore;
      cleanup.push(() => connected.close());
    }
    // One limiter for every client of this process: they share its IP (and, with keys, the key).
    const limiter = btcturkRateLimiter({ store: limiterStore });
    const real = new BtcturkExchange({
      baseUrl: connection.baseUrl,
      credentials:
        config.mode !== 'dry-run' && connection.apiKey !== undefined && connection.apiSecret !== undefined
          ? { apiKey: connection.apiKey, apiSecret: connection.apiSecret }
          : undefined,
      requestTimeoutMs: connection.requestTimeoutMs,
      limiter,
      logger,
    });
    cleanup.push(() => real.close());
    const info = await real.exchangeInfo();
    const rules = rulesFor(config.symbols, info.symbols, connection.baseUrl);

    const wsKey = connection.wsPublicKey ?? connection.apiKey;
    const wsSecret = connection.wsPrivateKey ?? connection.apiSecret;
    const wsCredentials =
      config.mode !== 'dry-run' && wsKey !== undefined && wsSecret !== undefined
        ? new WsCredentials(wsKey, wsSecret)
        : undefined;
    if (wsCredentials !== undefined) {
      // The login's timestamp comes from the server-synced clock: measured now, so the first login
      // is stamped with it too. Without a measurement the local clock stands in (and is re-measured
      // on its own later); a refused login is then reported and polled around, not fatal.
      await real.syncClock().catch((error: unknown) => {
        logger.warn(
          { err: asError(error).message },
          'could not measure the server clock; the WebSocket login is stamped with the local clock',
        );
      });
    }
    const client = new BtcturkWsClient({
      url: connection.wsUrl,
      credentials: wsCredentials,
      serverNow: () => real.serverNow(),
      loginNonce: config.wsLoginNonce,
    });
    cleanup.push(() => client.stop());
    const market = new MarketDataService({
      feed: new BtcturkMarketFeed(client),
      fetchBook: (symbol) => real.orderBook(symbol, 100),
      symbols: config.symbols,
    });
    cleanup.push(() => market.stop());
    if (config.recordDir !== undefined) {
      // `--record DIR` (src/record/): loaded only when asked for; closed before the client stops.
      const { startRecording } = await import('../record/recorder.ts');
      const recording = await startRecording({
        dir: config.recordDir,
        client,
        market,
        symbols: config.symbols,
      }).catch((error: unknown) => {
        throw error instanceof Error && error.name === 'RecordingError'
          ? new ConfigError('--record', error.message)
          : error;
      });
      cleanup.push(() => recording.close());
      out(`recording the public WebSocket frames into ${config.recordDir}`);
    }
    // Gaps, resyncs, silences and reconnects are logged as they happen; the metrics count them.
    const feedLog = logger.child({ component: 'market-data' });
    market.on('problem', (message) => {
      feedLog.warn(message);
    });
    market.on('status', (symbol, status, previous) => {
      feedLog.info({ symbol, status, previous }, `${symbol} market data ${previous} -> ${status}`);
    });
    client.on('problem', (problem) => {
      // A refused login is logged below, with what the bot does about it.
      if (problem.kind === 'login-refused') return;
      feedLog.warn({ kind: problem.kind, symbol: problem.symbol }, problem.message);
    });
    client.on('reconnected', () => {
      feedLog.info(
        { reconnects: market.stats().reconnects },
        'WebSocket reconnected; reconciling the gap over REST',
      );
    });

    let exchange: Exchange = real;
    let userStream: UserStream | undefined =
      config.mode === 'dry-run' ? undefined : new BtcturkUserStream(client);
    if (config.mode === 'dry-run') {
      const start = await dryRunStartingBalances({
        given: config.dryRunBalances,
        setting: config.dryRunBalancesSetting,
        // Read-only keys suffice: the account's balances are read once, with a client of their own;
        // every other private call stays in the process.
        account:
          connection.apiKey === undefined || connection.apiSecret === undefined
            ? null
            : async () => {
                const account = createExchange(connection, logger, { limiter });
                try {
                  return await account.balances();
                } finally {
                  await account.close();
                }
              },
        rules,
      });
      logger.info({ source: start.source }, start.description);
      venue.notes.push(start.description);
      const dry = new DryRunExchange({ exchange: real, market, rules, balances: start.balances });
      exchange = dry;
      userStream = userStreamOf(dry);
    }

    const oms = new Oms({
      store,
      exchange,
      prefix: config.prefix,
      symbols: config.symbols,
      rules,
      logger,
      onAlert: (alert) => {
        out(`ALERT: trading stepped down to ${alert.level}: ${alert.reason}`);
      },
    });
    cleanup.push(() => oms.stop());

    // Without the private stream (login refused, socket down) fills and order states come only
    // from reconciliation, so it runs faster until a login succeeds again (private-stream.ts).
    // Held in an object: set from callbacks and read after awaits.
    const life = { stopping: false, continuous: false };
    const stopping = (): boolean => life.stopping;
    let paceChange = Promise.resolve();
    const restartContinuous = (): void => {
      paceChange = paceChange.then(async () => {
        if (stopping() || !life.continuous) return;
        await oms.stop();
        // stop() waited for a pass to end: the session may have begun stopping meanwhile.
        if (!stopping()) oms.startContinuous(pace.intervalMs);
      });
    };
    const pace = new PrivateStreamPace({
      normalMs: RECONCILE_EVERY_MS,
      degradedMs: degradedPollMs(config.symbols.length, RECONCILE_EVERY_MS),
      onChange: (intervalMs, line) => {
        if (life.stopping) return;
        out(line);
        logger.info({ reconcileEveryMs: intervalMs }, line);
        restartContinuous();
      },
    });
    const privateLog = logger.child({ component: 'private-stream' });
    if (wsCredentials !== undefined) {
      client.on('login', (ok, message) => {
        if (life.stopping) return;
        if (ok) privateLog.info('WebSocket login accepted: fills and order states come by socket');
        else
          // The server's own words (never ours: the request carried the key and signature).
          privateLog.warn(
            { refusals: pace.refusals + 1 },
            `WebSocket login refused by the server: ${serverText(message)}; fills and order states come from REST polling until a login succeeds (check BTCTURK_WS_PUBLIC_KEY, BTCTURK_WS_PRIVATE_KEY and BTCBOT_WS_LOGIN_NONCE)`,
          );
        pace.login(ok, message);
      });
      client.on('disconnected', (reason) => {
        if (!life.stopping) pace.disconnected(reason);
      });
      // A socket that never opens is no private stream either (no 'disconnected' then).
      client.on('problem', (problem) => {
        if (problem.kind === 'connect-failed' && !life.stopping) pace.disconnected(problem.message);
      });
    }

    const engine = new Engine({
      oms,
      store,
      exchange,
      market,
      userStream,
      strategy: config.engine.strategy,
      limits: config.engine.risk,
      symbols: config.symbols,
      rules,
      budget: new OrderRateBudget(config.ordersPerMinute),
      logger,
    });
    cleanup.push(() => engine.stop());
    let valuation: Valuation | null = null;
    const value = async () => {
      valuation = (await engine.valuation()) ?? valuation;
    };

    let metrics: MetricsServer | null = null;
    if (config.metricsPort !== null) {
      metrics = await serveMetrics(
        botMetrics({
          engine,
          oms,
          market,
          store,
          valuation: () => valuation,
          socket: client,
          privateStream:
            wsCredentials === undefined
              ? undefined
              : {
                  loggedIn: () => pace.state === 'logged-in' && client.loggedIn === true,
                  loginRefusals: () => client.stats().loginRefusals,
                },
        }),
        config.metricsPort,
      );
      const server = metrics;
      cleanup.push(() => server.close());
    }

    for (const line of bannerLines({
      mode: config.mode,
      symbols: config.symbols,
      strategy: config.engine.strategy.name,
      params: config.strategyParams,
      exchange: venue.describe,
      state: stateText(config.store, store),
      metrics: metrics?.url ?? null,
      durationMs: config.durationMs,
      cancelOnExit: config.cancelOnExit,
      prefix: config.prefix,
      ordersPerMinute: config.ordersPerMinute,
      notes: venue.notes,
    }))
      out(line);

    const startedAt = performance.now();
    const stop = stopSignal(config.durationMs, out);
    cleanup.push(() => {
      stop.dispose();
      return Promise.resolve();
    });
    const elapsed = (): number => performance.now() - startedAt;
    const summary = async (): Promise<SummaryInput> => {
      await value();
      const [active, escalation, killSwitch] = await Promise.all([
        store.activeOrders(),
        store.escalation(),
        store.killSwitch(),
      ]);
      return {
        elapsedMs: performance.now() - startedAt,
        valuation,
        openOrders: active.filter((o) => o.origin !== 'foreign').length,
        fills: oms.stats().fillsNew,
        statuses: config.symbols.map((s) => [s, market.status(s)] as const),
        budget: engine.budgetUse(),
        level: escalation.level,
        killSwitch: killSwitch.on,
        engine: engine.stats(),
        privateStream: pace.describe(),
        waiting: waitingText(engine.waiting(), Date.now()),
      };
    };
    const printSummary = (): void => {
      summary().then(
        (s) => {
          if (!life.stopping) out(summaryLine(s));
        },
        (error: unknown) => {
          logger.error({ err: String(error) }, 'summary failed');
        },
      );
    };
    // The summary runs from the start, not from the end of the start-up reconciliation: while
    // symbols wait (for the reconciliation, a book, the balances) it says what they wait for.
    const ticker = setInterval(printSummary, SUMMARY_EVERY_MS);
    cleanup.push(() => {
      clearInterval(ticker);
      return Promise.resolve();
    });

    // Until every symbol may trade: a line whenever what holds them back changes, and one per
    // symbol when it may trade, naming what it waited for.
    const ready = new Set<string>();
    const waitedFor = new Map<string, WaitedFor>();
    let lastWaiting: string | null = null;
    const waitLog = logger.child({ component: 'start-up' });
    const watchWaiting = (): void => {
      if (life.stopping) return;
      const pending = engine.waiting().filter((w) => !ready.has(w.symbol));
      for (const w of pending) {
        const seen = waitedFor.get(w.symbol) ?? new WaitedFor();
        seen.note(w.blockers);
        waitedFor.set(w.symbol, seen);
        if (w.blockers.length > 0) continue;
        ready.add(w.symbol);
        const line = tradingLine(w.symbol, elapsed(), seen.text());
        out(line);
        waitLog.info({ symbol: w.symbol, afterMs: Math.round(elapsed()) }, line);
        engine.poke();
      }
      const still = pending.filter((w) => !ready.has(w.symbol));
      // Compared without the ages, so the line repeats only when a blocker changes.
      const text = waitingText(still, null);
      if (text !== null && text !== lastWaiting) {
        const line = waitingLine(elapsed(), waitingText(still, Date.now()) ?? text);
        out(line);
        waitLog.info({ waiting: text }, line);
      }
      lastWaiting = text;
      if (ready.size === config.symbols.length) clearInterval(watcher);
    };
    const watcher = setInterval(watchWaiting, WAITING_EVERY_MS);
    cleanup.push(() => {
      clearInterval(watcher);
      return Promise.resolve();
    });

    engine.start();
    market.start();
    client.start();
    const startupPass = oms.start();
    engine.startupReconciliation(startupPass);
    watchWaiting();
    printSummary();
    const startup = await startupPass;
    out(
      `start-up reconciliation: ${reconcileText(startup)}${startup.clean ? '' : ' (no new orders until a pass comes out clean)'}`,
    );
    watchWaiting();
    life.continuous = true;
    oms.startContinuous(pace.intervalMs);

    const reason = await stop.wait;
    life.stopping = true;
    clearInterval(ticker);
    clearInterval(watcher);
    out(`stopping: ${reason}`);
    await engine.stop();
    await paceChange;
    await oms.stop();
    await value();
    await engine.recordEquity();

    let canceled = 'resting orders left in place';
    if (config.cancelOnExit) {
      const results = await bounded(oms.cancelAll(), EXIT_CANCEL_BOUND_MS).catch(asError);
      if (results === 'timeout')
        canceled = `cancels not all confirmed within ${EXIT_CANCEL_BOUND_MS / 1000}s`;
      else if (results instanceof Error) canceled = `cancel-all failed: ${results.message}`;
      else {
        const pending = results.filter((r) => r.outcome === 'pending' || r.outcome === 'refused').length;
        canceled = `${results.length - pending} resting orders canceled${pending > 0 ? `, ${pending} NOT confirmed` : ''}`;
      }
    }
    const final = await bounded(
      oms.reconcile({ lookbackMs: DEFAULT_TIMINGS.continuousLookbackMs }),
      EXIT_RECONCILE_BOUND_MS,
    ).catch(asError);
    const last = await summary();
    for (const line of finalSummaryLines({
      ...last,
      privateStream: pace.history(),
      reason,
      canceled,
      reconcile: reconcileText(final),
    }))
      out(line);
    return {
      ordersLeft: last.openOrders,
      reconcileClean: !(final instanceof Error) && final !== 'timeout' && final.clean,
    };
  } finally {
    await closeAll();
  }
}
