import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { RATE_LIMITS } from '../btcturk/common/constants.ts';
import type { GroupHeadroom } from '../btcturk/common/rate-limiter.ts';
import type { HttpClientObserver } from '../btcturk/http/client.ts';
import type { ExchangeErrorKind } from '../domain/errors.ts';
import type { EngineStats, SymbolWait } from '../engine/engine.ts';
import type { Valuation } from '../engine/portfolio.ts';
import type { BudgetUse } from '../engine/rate-budget.ts';
import type { MarketDataStats } from '../market/service.ts';
import type { OmsStats } from '../oms/context.ts';
import { HOT_PATH_CHANNEL, type HotPathStamp } from '../market/hot-path.ts';
import { ORDER_REQUEST_WRITTEN } from '../ports/exchange.ts';
import type { StoreReader } from '../ports/store.ts';

// Prometheus text at /metrics. Every value is read from its owner when scraped, so the numbers are
// those the bot acts on. Labels are symbols, states, gates and counter names: never a key, an id or
// anything a user typed. Names carry their unit (_seconds, _bytes) and counters end in _total.
//
// Two parts: `operationalMetrics(registry)` is created first, before the exchange, because the
// HTTP client reports to it as requests happen (REST latency, limiter waits, 429s, retries) and it
// times tick-to-order from the hot path's stamps; `botMetrics(source, registry)` adds what is read
// from the engine, the execution core, the market data and the store at scrape time.

export interface MetricsSource {
  readonly engine: { stats(): EngineStats; budgetUse(): BudgetUse; waiting?(): SymbolWait[] };
  readonly oms: { stats(): Readonly<OmsStats> };
  readonly market: { stats(): MarketDataStats };
  readonly store: Pick<StoreReader, 'activeOrders' | 'escalation' | 'killSwitch'>;
  /** The latest valuation of the account; null while there is none. */
  readonly valuation: () => Valuation | null;
  /** The WebSocket connection's own counters (frames it could not read, refusals, silences). */
  readonly socket?: {
    stats(): {
      readonly unreadableFrames: number;
      readonly oversizedFrames: number;
      readonly refusedSubscriptions: number;
      readonly duplicateJoins: number;
      readonly silences: number;
      readonly rateLimited: number;
    };
  };
  /** The rate limiter's remaining budget per endpoint group (absent: not shown). */
  readonly limiter?: { headroom(): Promise<readonly GroupHeadroom[] | null> };
  /** Wall-clock ms, for ages (the oldest UNKNOWN order's). Default Date.now. */
  readonly now?: () => number;
  /** The private stream's login; absent in a mode without one (dry-run). */
  readonly privateStream?: {
    /** True while logged in on an open socket. */
    loggedIn(): boolean;
    /** Logins the server refused since the start. */
    loginRefusals(): number;
  };
}

const LEVELS = { NORMAL: 0, REDUCE_ONLY: 1, HALTED: 2 } as const;
const STATUSES = ['live', 'fallback', 'stale'] as const;

/**
 * `read` at most once per scrape: a scrape calls every collector in the same tick, so the
 * collectors that need the same stats share one answer (and one moment) instead of each asking.
 */
function oncePerScrape<T>(read: () => T): () => T {
  let held: { readonly value: T } | null = null;
  return () => {
    if (held === null) {
      held = { value: read() };
      queueMicrotask(() => {
        held = null;
      });
    }
    return held.value;
  };
}

/**
 * A registry of the bot's metrics, each collected from `source` at scrape time; `registry` is the
 * one `operationalMetrics` was given, when the session has one.
 */
export function botMetrics(source: MetricsSource, registry: Registry = new Registry()): Registry {
  const marketStats = oncePerScrape(() => source.market.stats());
  const omsStats = oncePerScrape(() => source.oms.stats());
  const engineStats = oncePerScrape(() => source.engine.stats());
  const active = oncePerScrape(() => source.store.activeOrders());
  const now = source.now ?? Date.now;
  const registers = [registry];

  const activeOrders: Gauge<'symbol' | 'state'> = new Gauge({
    name: 'btcbot_active_orders',
    help: 'orders not yet closed, by symbol and state (the execution core’s view)',
    labelNames: ['symbol', 'state'],
    registers,
    async collect() {
      activeOrders.reset();
      for (const order of await active()) activeOrders.inc({ symbol: order.symbol, state: order.state });
    },
  });

  const unknownOrders: Gauge = new Gauge({
    name: 'btcbot_unknown_orders',
    help: 'orders whose send had an ambiguous outcome and that are not resolved yet (state UNKNOWN)',
    registers,
    async collect() {
      unknownOrders.set((await active()).filter((o) => o.state === 'UNKNOWN').length);
    },
  });

  const unknownAge: Gauge = new Gauge({
    name: 'btcbot_unknown_order_oldest_age_seconds',
    help: 'how long the oldest UNKNOWN order has been unresolved (since its last change); 0 when none',
    registers,
    async collect() {
      const since = (await active())
        .filter((o) => o.state === 'UNKNOWN')
        .reduce((oldest, o) => Math.min(oldest, o.updatedAt), Infinity);
      unknownAge.set(since === Infinity ? 0 : Math.max(0, now() - since) / 1000);
    },
  });

  // Before the first evaluation it reads the time the metrics were set up: a loop that never starts
  // (a start-up stuck in reconciliation) ages from there, as a stalled one does from its last pass.
  const setUpAt = now();
  const lastLoop: Gauge = new Gauge({
    name: 'btcbot_last_loop_timestamp_seconds',
    help:
      'wall-clock time of the engine’s last completed evaluation, unix seconds (before the first: when the ' +
      'session started): alert when time() minus it grows, from outside the process',
    registers,
    collect() {
      lastLoop.set((engineStats().lastEvaluationAt ?? setUpAt) / 1000);
    },
  });

  const reconcileCounter = (name: string, help: string, read: (s: Readonly<OmsStats>) => number) => {
    const counter: Counter = new Counter({
      name,
      help,
      registers,
      collect() {
        counter.reset();
        counter.inc(read(omsStats()));
      },
    });
  };
  reconcileCounter(
    'btcbot_reconciliation_runs_total',
    'reconciliation passes (start, continuous, reconnects)',
    (s) => s.reconcileRuns,
  );
  reconcileCounter(
    'btcbot_reconciliation_failures_total',
    'reconciliation passes that failed (an exchange or store error)',
    (s) => s.reconcileFailures,
  );
  reconcileCounter(
    'btcbot_reconciliation_divergences_total',
    'differences between the store and the exchange that reconciliation found',
    (s) => s.divergences,
  );

  const limiter = source.limiter;
  if (limiter !== undefined) {
    const headroom = oncePerScrape(() => limiter.headroom());
    const windowLabel = (periodMs: number) => `${periodMs / 1000}s`;
    const windowGauge = (
      name: string,
      help: string,
      read: (w: GroupHeadroom['windows'][number]) => number,
    ) => {
      const gauge: Gauge<'group' | 'window'> = new Gauge({
        name,
        help,
        labelNames: ['group', 'window'],
        registers,
        async collect() {
          gauge.reset();
          for (const g of (await headroom()) ?? [])
            for (const w of g.windows)
              gauge.set({ group: g.group, window: windowLabel(w.periodMs) }, read(w));
        },
      });
    };
    windowGauge(
      'btcbot_rate_limit_headroom_requests',
      'requests still allowed in each rate-limit window of each endpoint group (limit minus used)',
      (w) => Math.max(0, w.limit - w.used),
    );
    windowGauge(
      'btcbot_rate_limit_capacity_requests',
      'the limit of each rate-limit window of each endpoint group (BTCTurk’s table)',
      (w) => w.limit,
    );
    const blocked: Gauge<'group'> = new Gauge({
      name: 'btcbot_rate_limit_blocked_seconds',
      help: 'how long a 429’s Retry-After still blocks each endpoint group; 0 when not blocked',
      labelNames: ['group'],
      registers,
      async collect() {
        blocked.reset();
        for (const g of (await headroom()) ?? []) blocked.set({ group: g.group }, g.blockedForMs / 1000);
      },
    });
  }

  const oms: Counter<'event'> = new Counter({
    name: 'btcbot_oms_events_total',
    help: 'execution core counters: submits, acks, rejections, cancels, fills, reconciliations, …',
    labelNames: ['event'],
    registers,
    collect() {
      oms.reset();
      for (const [event, value] of Object.entries(omsStats())) oms.inc({ event }, value);
    },
  });

  const fills: Counter = new Counter({
    name: 'btcbot_fills_total',
    help: 'fills recorded (each trade counted once, whether the stream or polling brought it)',
    registers,
    collect() {
      fills.reset();
      fills.inc(omsStats().fillsNew);
    },
  });

  const refusals: Counter<'gate'> = new Counter({
    name: 'btcbot_order_refusals_total',
    help: 'orders the engine held back, by the gate that refused them',
    labelNames: ['gate'],
    registers,
    collect() {
      refusals.reset();
      for (const [gate, value] of Object.entries(engineStats().refusals)) refusals.inc({ gate }, value);
    },
  });

  const actions: Counter<'action'> = new Counter({
    name: 'btcbot_engine_actions_total',
    help: 'order actions the engine sent to the execution core, and those that failed',
    labelNames: ['action'],
    registers,
    collect() {
      actions.reset();
      const s = engineStats();
      actions.inc({ action: 'submit' }, s.submits);
      actions.inc({ action: 'replace' }, s.replaces);
      actions.inc({ action: 'replace-aborted' }, s.replacesAborted);
      actions.inc({ action: 'cancel' }, s.cancels);
      actions.inc({ action: 'failed' }, s.actionFailures);
    },
  });

  const reconnects: Counter = new Counter({
    name: 'btcbot_ws_reconnects_total',
    help: 'WebSocket connections opened after the first',
    registers,
    collect() {
      reconnects.reset();
      reconnects.inc(marketStats().reconnects);
    },
  });

  const connects: Counter = new Counter({
    name: 'btcbot_ws_connects_total',
    help: 'WebSocket connection attempts',
    registers,
    collect() {
      connects.reset();
      connects.inc(marketStats().connects);
    },
  });

  const stream = source.privateStream;
  if (stream !== undefined) {
    const loginRefusals: Counter = new Counter({
      name: 'btcbot_ws_login_refusals_total',
      help: 'WebSocket logins the server refused (fills and order states then come from REST polling)',
      registers,
      collect() {
        loginRefusals.reset();
        loginRefusals.inc(stream.loginRefusals());
      },
    });
    const loggedIn: Gauge = new Gauge({
      name: 'btcbot_ws_logged_in',
      help: '1 while the private WebSocket stream is logged in, 0 while refused, down or not yet answered',
      registers,
      collect() {
        loggedIn.set(stream.loggedIn() ? 1 : 0);
      },
    });
  }

  const socket = source.socket;
  if (socket !== undefined) {
    const problems: Counter<'kind'> = new Counter({
      name: 'btcbot_ws_problems_total',
      help:
        'WebSocket problems: frames that could not be read, frames over the size limit, refused and duplicate ' +
        'joins, silent connections, connects refused with 429',
      labelNames: ['kind'],
      registers,
      collect() {
        problems.reset();
        const s = socket.stats();
        problems.inc({ kind: 'unreadable-frame' }, s.unreadableFrames);
        problems.inc({ kind: 'oversized-frame' }, s.oversizedFrames);
        problems.inc({ kind: 'subscription-refused' }, s.refusedSubscriptions);
        problems.inc({ kind: 'duplicate-join' }, s.duplicateJoins);
        problems.inc({ kind: 'silence' }, s.silences);
        problems.inc({ kind: 'rate-limited' }, s.rateLimited);
      },
    });
  }

  // Book health per symbol: change-set gaps, resyncs, and time spent on the REST fallback.
  const bookEvents: Counter<'symbol' | 'event'> = new Counter({
    name: 'btcbot_market_book_events_total',
    help:
      'order book problems per symbol: gaps (a change set missed), crossed books, resyncs, unknown change kinds (CP), ' +
      'window overflows (deletes missed), change sets before a snapshot, REST spot-check mismatches, silent subscriptions',
    labelNames: ['symbol', 'event'],
    registers,
    collect() {
      bookEvents.reset();
      for (const [symbol, s] of Object.entries(marketStats().symbols)) {
        bookEvents.inc({ symbol, event: 'gap' }, s.gaps);
        bookEvents.inc({ symbol, event: 'crossed' }, s.crossed);
        bookEvents.inc({ symbol, event: 'resync' }, s.resyncs);
        bookEvents.inc({ symbol, event: 'unknown-change-kind' }, s.unknownChangeKinds);
        bookEvents.inc({ symbol, event: 'window-overflow' }, s.windowOverflows);
        bookEvents.inc({ symbol, event: 'orphan-diff' }, s.orphanDiffs);
        bookEvents.inc({ symbol, event: 'spot-mismatch' }, s.spotMismatches);
        bookEvents.inc({ symbol, event: 'silent-subscription' }, s.silentSubscriptions);
      }
    },
  });

  const fallbackSeconds: Counter<'symbol'> = new Counter({
    name: 'btcbot_market_fallback_seconds_total',
    help: 'time each symbol spent on REST order books while the socket was down',
    labelNames: ['symbol'],
    registers,
    collect() {
      fallbackSeconds.reset();
      for (const [symbol, s] of Object.entries(marketStats().symbols))
        fallbackSeconds.inc({ symbol }, s.fallbackMs / 1000);
    },
  });

  const dataAge: Gauge<'symbol'> = new Gauge({
    name: 'btcbot_market_data_age_seconds',
    help: 'age of the newest market data per symbol (absent while there is none)',
    labelNames: ['symbol'],
    registers,
    collect() {
      dataAge.reset();
      for (const [symbol, s] of Object.entries(marketStats().symbols))
        if (s.dataAgeMs !== null) dataAge.set({ symbol }, s.dataAgeMs / 1000);
    },
  });

  const marketStatus: Gauge<'symbol' | 'status'> = new Gauge({
    name: 'btcbot_market_status',
    help: '1 for the current market data status of each symbol (live, fallback, stale)',
    labelNames: ['symbol', 'status'],
    registers,
    collect() {
      marketStatus.reset();
      for (const [symbol, s] of Object.entries(marketStats().symbols))
        for (const status of STATUSES) marketStatus.set({ symbol, status }, s.status === status ? 1 : 0);
    },
  });

  const waiting = source.engine.waiting?.bind(source.engine);
  if (waiting) {
    const blocked: Gauge<'symbol' | 'blocker'> = new Gauge({
      name: 'btcbot_trading_blocked',
      help: '1 while a blocker (reconciliation, market-data, balances) keeps new orders off a symbol',
      labelNames: ['symbol', 'blocker'],
      registers,
      collect() {
        blocked.reset();
        for (const w of waiting())
          for (const kind of ['reconciliation', 'market-data', 'balances'] as const)
            blocked.set({ symbol: w.symbol, blocker: kind }, w.blockers.some((b) => b.kind === kind) ? 1 : 0);
      },
    });
  }

  const escalation: Gauge = new Gauge({
    name: 'btcbot_escalation_level',
    help: 'escalation ladder: 0 NORMAL, 1 REDUCE_ONLY, 2 HALTED',
    registers,
    async collect() {
      escalation.set(LEVELS[(await source.store.escalation()).level]);
    },
  });

  const killSwitch: Gauge = new Gauge({
    name: 'btcbot_kill_switch',
    help: '1 while the kill switch is on',
    registers,
    async collect() {
      killSwitch.set((await source.store.killSwitch()).on ? 1 : 0);
    },
  });

  const budget: Gauge<'kind'> = new Gauge({
    name: 'btcbot_rate_budget_orders',
    help: 'order requests of the engine in the last minute (used) and its budget (limit)',
    labelNames: ['kind'],
    registers,
    collect() {
      const use = source.engine.budgetUse();
      budget.set({ kind: 'used' }, use.used);
      budget.set({ kind: 'limit' }, use.limit);
    },
  });

  const money: Gauge<'kind' | 'currency'> = new Gauge({
    name: 'btcbot_account_value',
    help: 'equity, cash, realised and unrealised PnL and fees, in the valuation currency',
    labelNames: ['kind', 'currency'],
    registers,
    collect() {
      money.reset();
      const v = source.valuation();
      if (v === null) return;
      const { currency } = v;
      // A gauge is a float by nature: exact amounts are in the store and `btcbot status`.
      money.set({ kind: 'equity', currency }, v.equity.toNumber());
      money.set({ kind: 'cash', currency }, v.cash.toNumber());
      money.set({ kind: 'realised', currency }, v.realised.toNumber());
      money.set({ kind: 'unrealised', currency }, v.unrealised.toNumber());
      money.set({ kind: 'fees', currency }, v.fees.toNumber());
    },
  });

  return registry;
}

const GROUPS: ReadonlySet<string> = new Set(Object.keys(RATE_LIMITS));
const KINDS = {
  'not-sent': true,
  ambiguous: true,
  'rate-limited': true,
  server: true,
  auth: true,
  rejected: true,
  'exchange-failure': true,
  parse: true,
} as const satisfies Record<ExchangeErrorKind, true>;
const OUTCOMES: ReadonlySet<string> = new Set(['ok', ...Object.keys(KINDS)]);

/** A label value from a known set, else "other": a label never grows without bound. */
const bounded = (known: ReadonlySet<string>, value: string): string => (known.has(value) ? value : 'other');

const REST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const TICK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface OperationalMetrics {
  /** What the BTCTurk HTTP client is given as `observe` (createExchange's `more.observe`). */
  readonly rest: HttpClientObserver;
  /** Stops timing tick-to-order (unsubscribes from the hot path). */
  close(): void;
}

/**
 * The metrics measured as things happen, on `registry`: REST latency per endpoint group, limiter
 * waits, 429s and retries (through the HTTP client's observer), tick-to-order latency (from the
 * hot path's stamps: a book change to the first order request its evaluation writes), and Node's
 * process metrics (event-loop lag, memory, CPU, handles; unprefixed, as Prometheus knows them).
 */
export function operationalMetrics(registry: Registry): OperationalMetrics {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const duration = new Histogram<'group' | 'outcome'>({
    name: 'btcbot_rest_request_duration_seconds',
    help: 'REST attempts by endpoint group, from sending to the reply read; outcome ok or the error kind',
    labelNames: ['group', 'outcome'],
    buckets: REST_BUCKETS,
    registers,
  });
  const rateLimited = new Counter<'group'>({
    name: 'btcbot_rest_rate_limited_total',
    help: '429 replies by endpoint group (each blocks the group for its Retry-After)',
    labelNames: ['group'],
    registers,
  });
  const retries = new Counter<'group' | 'kind'>({
    name: 'btcbot_rest_retries_total',
    help: 'REST retries by endpoint group and the kind of failure retried (reads and unprocessed writes only)',
    labelNames: ['group', 'kind'],
    registers,
  });
  const wait = new Histogram<'group'>({
    name: 'btcbot_rate_limit_wait_seconds',
    help: 'time each REST attempt waited for the rate limiter, by endpoint group',
    labelNames: ['group'],
    buckets: WAIT_BUCKETS,
    registers,
  });
  const waits = new Counter<'group'>({
    name: 'btcbot_rate_limit_waits_total',
    help: 'REST attempts that had to wait for the rate limiter (1 ms or more), by endpoint group',
    labelNames: ['group'],
    registers,
  });
  const tickToOrder = new Histogram({
    name: 'btcbot_tick_to_order_seconds',
    help: 'from a book change to the first order request written by the evaluation it woke',
    buckets: TICK_BUCKETS,
    registers,
  });

  const rest: HttpClientObserver = {
    request(group, seconds, outcome) {
      duration.observe({ group: bounded(GROUPS, group), outcome: bounded(OUTCOMES, outcome) }, seconds);
    },
    limiterWait(group, seconds) {
      const g = bounded(GROUPS, group);
      wait.observe({ group: g }, seconds);
      if (seconds >= 0.001) waits.inc({ group: g });
    },
    rateLimited(group) {
      rateLimited.inc({ group: bounded(GROUPS, group) });
    },
    retry(group, kind) {
      retries.inc({ group: bounded(GROUPS, group), kind: bounded(OUTCOMES, kind) });
    },
  };

  // A book change is the tick of the first evaluation that wakes after it; that evaluation's
  // dispatch arms the timer, and the next order request written stops it. An evaluation that
  // sends nothing is overtaken by the next dispatch, so no order is timed from a stale tick.
  let pendingTick: number | null = null;
  let waking: { evaluation: number; tick: number } | null = null;
  let armed: number | null = null;
  const onStamp = (message: unknown): void => {
    const stamp = message as HotPathStamp;
    if (stamp.stage === 'book') pendingTick ??= stamp.at;
    else if (stamp.stage === 'wake') {
      waking = pendingTick === null ? null : { evaluation: stamp.evaluation, tick: pendingTick };
      pendingTick = null;
    } else if (stamp.stage === 'dispatch') {
      armed = waking?.evaluation === stamp.evaluation ? waking.tick : null;
      waking = null;
    }
  };
  const onWritten = (): void => {
    if (armed === null) return;
    tickToOrder.observe((performance.now() - armed) / 1000);
    armed = null;
  };
  subscribe(HOT_PATH_CHANNEL, onStamp);
  subscribe(ORDER_REQUEST_WRITTEN, onWritten);
  let closed = false;
  return {
    rest,
    close() {
      if (closed) return;
      closed = true;
      unsubscribe(HOT_PATH_CHANNEL, onStamp);
      unsubscribe(ORDER_REQUEST_WRITTEN, onWritten);
    },
  };
}

export interface MetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves the registry at http://127.0.0.1:PORT/metrics (port 0: any free one). */
export async function serveMetrics(registry: Registry, port: number): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType }).end(text);
      },
      (error: unknown) => {
        response
          .writeHead(500, { 'content-type': 'text/plain' })
          .end(`metrics failed: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
