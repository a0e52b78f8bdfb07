import type { Decimal } from 'decimal.js';
import pino, { type Logger } from 'pino';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { randomInt, seededRandom, type Random } from '../../src/domain/random.ts';
import type { Side } from '../../src/domain/orders.ts';
import { Oms, OrderMovedOnError, OrderRefusedError, type OmsStats } from '../../src/oms/index.ts';
import type { EscalationLevel, Store, StoredOrder } from '../../src/ports/store.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { FAULT_NAMES, type FaultName } from '../../src/sim/server/faults.ts';
import { degradedPollMs } from '../../src/ops/private-stream.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { ChaosStream, STREAM_FAULTS, type ChaosStreamStats } from './chaos-stream.ts';
import { compareBothWays, type TwoWayDivergence } from './crash-check.ts';

// A chaos run: a stream of intents (submits, cancels, replaces on two symbols at once) against the
// simulator with EVERY fault on at once, the bot's private WebSocket stream connected (fills and
// order updates arrive by socket too, through drops, silences, gaps, duplicates and a lagging
// consumer), continuous reconciliation running beside it, a server clock that jumps beyond the ±5 s
// stamp window several times (the REST client must re-sync after the 401s), and the escalation
// ladder at its defaults. Then the faults go off and reconciliation runs until the store equals the
// exchange both ways (crash-check.ts compareBothWays) and a pass comes out clean — or the bound
// passes, and the run did not converge. Used by test/oms/chaos.test.ts (small) and
// bench/oms-chaos.ts (long).

/**
 * Every simulator fault (src/sim/server/faults.ts) with its value in a chaos run. Typed by the
 * simulator's own list, so a fault added there does not compile here until it is given a value.
 */
export const CHAOS_FAULTS: Readonly<Record<FaultName, number>> = {
  'timeout-after-accept': 0.05,
  'reset-before-accept': 0.05,
  'error-5xx': 0.04,
  'error-5xx-after-accept': 0.04,
  'reply-200-failure': 0.05,
  'rate-limit-storm': 0.01,
  'ws-gap': 0.2,
  // Drops and silences together stay near the client's connect budget (12 a minute), so the
  // stream is down part of the time and up the rest.
  'ws-drop-every': 4_000,
  'ws-silence-every': 7_000,
  // The first step of CLOCK_SKEW_STEPS_MS; the run moves it on.
  'clock-skew-ms': -7_000,
  'latency-ms': 25,
  'cancel-delay-ms': 300,
  // Below the OMS's notFoundAfterMs (1.2 s here): a new order is hidden from reads this long.
  'visibility-delay-ms': 400,
};

/**
 * The simulator's clock against the system clock, step by step: set before the bot starts (its
 * first sync must measure it), then moved on at even intervals of the run, each step 8 s, beyond
 * the ±5 s window, so stamps the bot signs with its last offset are refused (401) until it
 * re-syncs. Forward only: a venue's clock does not jump back, and the simulator's order times
 * follow its clock. It stays at its last value after the faults go off (the bot is synced to it).
 */
export const CLOCK_SKEW_STEPS_MS: readonly number[] = [-7_000, 1_000, 9_000, 17_000];

const SYMBOLS = ['BTCTRY', 'ETHTRY'] as const;
const QUANTITY: Readonly<Record<string, string>> = { BTCTRY: '0.001', ETHTRY: '0.05' };
const PREFIX = 'chaos';
/** How long reconciliation may take, after the faults go off, to bring the store to the exchange. */
export const CONVERGE_BOUND_MS = 75_000;
/**
 * Continuous reconciliation at the session's pace while the private stream cannot be trusted (it
 * drops every few seconds here): src/ops/private-stream.ts degradedPollMs, 5 s for two symbols.
 * A faster pace than the bot's own spends the venue's history budgets (all-orders, fills) and
 * fails passes on the local rate limiter: the ladder would then step down because of the harness.
 */
const CONTINUOUS_RECONCILE_MS = degradedPollMs(SYMBOLS.length, 15_000);

export interface ChaosResult {
  readonly seed: number;
  readonly intents: number;
  readonly exchangeOrders: number;
  readonly fills: number;
  /** Stored fills whose first report came by the private stream. */
  readonly streamFills: number;
  readonly refused: number;
  /** Refusals by kind: not-ready, unresolved, reduce-only, halted, self-trade, exchange:<reason>, ... */
  readonly refusals: Readonly<Record<string, number>>;
  /** How often each fault took effect (simulator counters, plus the stream consumer's own). */
  readonly faultsStruck: Readonly<Record<string, number>>;
  readonly faultsStruckTotal: number;
  readonly duplicates: number;
  readonly lost: number;
  /** Fill and state mismatches, phantom orders and fills, orders left unsettled. */
  readonly divergence: number;
  readonly check: TwoWayDivergence;
  /** The store equals the exchange both ways and a reconciliation pass came out clean, within the bound. */
  readonly converged: boolean;
  /** From faults off to converged (or to giving up), reconciliation passes included. */
  readonly convergeMs: number;
  readonly runMs: number;
  /** Where the escalation ladder ended, and every step down on the way (with its reason). */
  readonly escalation: EscalationLevel;
  readonly alerts: readonly string[];
  /** Error-level log lines of the bot (OMS, REST client) and failures applying stream events. */
  readonly errors: readonly string[];
  readonly details: readonly string[];
  readonly stats: OmsStats;
  readonly stream: ChaosStreamStats;
}

function price(sim: RunningSimulator, symbol: string, side: Side, random: Random): Decimal {
  const book = sim.engine.book(symbol, 1);
  const touch = (side === 'buy' ? book.bids[0] : book.asks[0])?.price ?? new Dec(100);
  // Up to 0.1% behind the touch: some orders fill as the market walks, most rest.
  const offset = touch
    .mul(randomInt(random, 0, 10))
    .div(10_000)
    .toDecimalPlaces(0);
  return side === 'buy' ? touch.sub(offset) : touch.add(offset);
}

/** A refusal's kind, for the figures. */
function refusalKind(error: unknown): string {
  if (error instanceof OrderRefusedError) {
    const reason = error.reason;
    if (/has not come out clean/.test(reason)) return 'not-ready';
    if (/HALTED|kill switch/.test(reason)) return 'halted';
    if (/REDUCE_ONLY/.test(reason)) return 'reduce-only';
    if (/still (UNKNOWN|SUBMITTED|PENDING)/.test(reason)) return 'unresolved';
    if (/cross|self/i.test(reason)) return 'self-trade';
    return 'other';
  }
  if (isExchangeError(error)) return `exchange:${error.reason ?? error.kind}`;
  return error instanceof OrderMovedOnError ? `moved-on:${error.state}` : 'other';
}

interface LaneContext {
  readonly oms: Oms;
  readonly store: Store;
  readonly sim: RunningSimulator;
  readonly refuse: (kind: string) => void;
  /** Called after each intent of the lane, with its index. */
  readonly progress?: (i: number) => void;
}

async function lane(ctx: LaneContext, symbol: string, count: number, random: Random): Promise<void> {
  const { oms, store, sim } = ctx;
  for (let i = 0; i < count; i += 1) {
    ctx.progress?.(i);
    if (random.next() < 0.5) sim.engine.stepMarket();
    const roll = random.next();
    try {
      const resting = (await store.activeOrders(symbol)).filter(
        (o: StoredOrder) => (o.state === 'OPEN' || o.state === 'PARTIALLY_FILLED') && o.origin === 'local',
      );
      const target = resting[randomInt(random, 0, Math.max(0, resting.length - 1))];
      if (roll < 0.55 || !target) {
        const side: Side = random.next() < 0.5 ? 'buy' : 'sell';
        await oms.submit({
          symbol,
          side,
          method: 'limit',
          quantity: new Dec(QUANTITY[symbol] ?? '0.001'),
          price: price(sim, symbol, side, random),
          intentId: `${symbol}-${i}`,
          attempts: 2,
        });
      } else if (roll < 0.8) await oms.cancel({ orderId: target.id });
      else await oms.replace(target.id, { price: price(sim, symbol, target.side, random) });
    } catch (error) {
      // Refusals are expected under faults (an order still unresolved blocks its symbol, the
      // ladder may step down), and so is a target that moved on (filled, canceled, unresolved)
      // between the lane's read and its call; anything else is a failure of the run.
      if (
        !(error instanceof OrderRefusedError) &&
        !(error instanceof OrderMovedOnError) &&
        !isExchangeError(error)
      )
        throw error;
      ctx.refuse(refusalKind(error));
    }
  }
}

/** A logger that keeps error-level lines (and, with CHAOS_LOG=level, writes everything to stderr). */
function captureLogger(errors: string[]): Logger {
  const capture = {
    write: (line: string) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        const { msg, component, level: _level, time: _time, pid: _pid, hostname: _host, ...rest } = entry;
        const fields = JSON.stringify(rest);
        errors.push(
          `${typeof component === 'string' ? component : '-'}: ${String(msg)}${fields === '{}' ? '' : ` ${fields.slice(0, 600)}`}`,
        );
      } catch {
        errors.push(line.trim());
      }
    },
  };
  const level = process.env.CHAOS_LOG;
  const streams: pino.StreamEntry[] = [{ level: 'error', stream: capture }];
  if (level) streams.push({ level: level as pino.Level, stream: pino.destination(2) });
  // The simulator's keys are throwaway, but nothing secret-shaped goes into a report either way.
  const redact = [
    'apiKey',
    'apiSecret',
    'secret',
    'headers',
    '*.apiKey',
    '*.apiSecret',
    '*.secret',
    '*.headers',
  ];
  return pino(
    { level: level ?? 'error', redact: { paths: redact, censor: '[redacted]' } },
    pino.multistream(streams),
  );
}

export async function runChaos(
  seed: number,
  intents: number,
  faults: Readonly<Record<string, number>> = CHAOS_FAULTS,
): Promise<ChaosResult> {
  const started = performance.now();
  const skewSteps = faults === CHAOS_FAULTS ? CLOCK_SKEW_STEPS_MS : [];
  const sim = await startSimulator({
    seed,
    autoMarket: false,
    faults: { 'clock-skew-ms': skewSteps[0] ?? faults['clock-skew-ms'] ?? 0 },
  });
  const errors: string[] = [];
  const logger = captureLogger(errors);
  const exchange = new BtcturkExchange({
    baseUrl: sim.restUrl,
    credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    requestTimeoutMs: 300,
    deadlineMs: 2_500,
    random: seededRandom(seed),
    backoff: { baseMs: 20, capMs: 200 },
    logger,
  });
  const store = await openSqliteStore({ path: ':memory:' });
  const alerts: string[] = [];
  // The escalation ladder at its defaults (DEFAULT_ESCALATION_POLICY): a step down is reported.
  const oms = new Oms({
    store,
    exchange,
    prefix: PREFIX,
    symbols: [...SYMBOLS],
    random: seededRandom(seed),
    timings: {
      notFoundAfterMs: 1_200,
      lookupBaseMs: 40,
      lookupCapMs: 250,
      cancelConfirmMs: 1_200,
      cancelRetryAfterMs: 1_500,
    },
    logger,
    onAlert: (alert) => alerts.push(`${alert.level}: ${alert.reason}`),
  });
  const stream = new ChaosStream({
    sim,
    exchange,
    oms,
    symbols: SYMBOLS,
    random: seededRandom(seed ^ 0x57_53),
    errors,
  });
  let refused = 0;
  const refusals: Record<string, number> = {};
  try {
    // As a session does: the server clock is measured before the socket's login is stamped with it.
    // A measurement that times out (a loaded machine: nothing is faulted yet) is tried again; after
    // five the run goes on with the local clock, as a session does (src/ops/compose/market-data.ts).
    for (let attempt = 1; ; attempt += 1) {
      try {
        await exchange.syncClock();
        break;
      } catch (error) {
        if (attempt >= 5) {
          errors.push(`the server clock could not be measured: ${String(error)}`);
          break;
        }
      }
    }
    stream.start();
    const startup = await oms.start();
    if (!startup.clean)
      throw new Error(
        `start-up reconciliation was not clean: ${[...startup.failures, ...startup.divergences].join('; ')}`,
      );
    for (const [name, value] of Object.entries(faults))
      if (name !== 'clock-skew-ms') sim.setFault(name, value);
    stream.faultsOn = true;
    oms.startContinuous(CONTINUOUS_RECONCILE_MS);
    const per = Math.ceil(intents / SYMBOLS.length);
    const skewAt = new Map(
      skewSteps.slice(1).map((ms, k) => [Math.floor(((k + 1) * per) / skewSteps.length), ms]),
    );
    await Promise.all(
      SYMBOLS.map((symbol, i) =>
        lane(
          {
            oms,
            store,
            sim,
            refuse: (kind) => {
              refused += 1;
              refusals[kind] = (refusals[kind] ?? 0) + 1;
            },
            progress:
              i === 0
                ? (n) => {
                    const skew = skewAt.get(n);
                    if (skew !== undefined) sim.setFault('clock-skew-ms', skew);
                  }
                : undefined,
          },
          symbol,
          per,
          seededRandom(seed * 31 + i),
        ),
      ),
    );
    // Faults off; the clock skew stays where it is (see CLOCK_SKEW_STEPS_MS).
    for (const name of Object.keys(faults)) if (name !== 'clock-skew-ms') sim.setFault(name, null);
    stream.faultsOn = false;
    await oms.stop();

    const convergeStart = performance.now();
    let check: TwoWayDivergence | undefined;
    let lastFailures: readonly string[] = [];
    let converged = false;
    // Faults may have spent the trade-history budget (120/min): the bound allows it to refill.
    const giveUpAt = performance.now() + CONVERGE_BOUND_MS;
    while (performance.now() < giveUpAt) {
      const report = await oms.reconcile();
      lastFailures = [
        ...report.failures,
        ...report.divergences,
        ...(report.unresolved > 0 ? [`${report.unresolved} unresolved`] : []),
        ...(report.openReplaces > 0 ? [`${report.openReplaces} replaces open`] : []),
      ];
      check = await compareBothWays(store, sim.groundTruth(), sim.accountId, PREFIX);
      if (report.clean && check.total === 0) {
        converged = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const convergeMs = performance.now() - convergeStart;
    if (!check) throw new Error('no reconciliation pass ran');
    const truth = sim.groundTruth();
    const struck: Record<string, number> = {};
    const hits = sim.faultHits();
    for (const name of FAULT_NAMES) struck[name] = hits[name];
    const streamStats = stream.stats();
    struck['stream-duplicate'] = streamStats.duplicated;
    struck['stream-lag-ms'] = streamStats.lagged;
    const storeFills = await store.fills();
    const escalation = await store.escalation();
    return {
      seed,
      intents: per * SYMBOLS.length,
      exchangeOrders: truth.orders.filter((o) => o.accountId === sim.accountId).length,
      fills: truth.fills.filter((f) => f.accountId === sim.accountId).length,
      streamFills: storeFills.filter((f) => f.source === 'stream').length,
      refused,
      refusals,
      faultsStruck: struck,
      faultsStruckTotal: Object.values(struck).reduce((a, b) => a + b, 0),
      duplicates: check.duplicates,
      lost: check.lost,
      divergence: check.fillMismatches + check.stateMismatches + check.phantom + check.unsettled,
      check,
      converged,
      convergeMs: Math.round(convergeMs),
      runMs: Math.round(performance.now() - started),
      escalation: escalation.level,
      alerts,
      errors,
      details: [...check.details, ...(converged ? [] : lastFailures.map((f) => `last pass: ${f}`))],
      stats: oms.stats(),
      stream: streamStats,
    };
  } finally {
    await oms.stop();
    await stream.stop();
    await exchange.close();
    await store.close();
    await sim.stop();
  }
}

/** The faults a chaos run turns on: the simulator's and the stream consumer's. */
export const ALL_CHAOS_FAULTS: readonly string[] = [...FAULT_NAMES, ...Object.keys(STREAM_FAULTS)];
