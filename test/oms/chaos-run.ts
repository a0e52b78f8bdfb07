import type { Decimal } from 'decimal.js';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isExchangeError } from '../../src/domain/errors.ts';
import { randomInt, seededRandom, type Random } from '../../src/domain/random.ts';
import type { Side } from '../../src/domain/orders.ts';
import { Oms, OrderRefusedError, type OmsStats } from '../../src/oms/index.ts';
import type { Store, StoredOrder } from '../../src/ports/store.ts';
import { startSimulator, type RunningSimulator } from '../../src/sim/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { compareWithTruth, type Divergence } from './crash-check.ts';

// A chaos run: a stream of intents (submits, cancels, replaces on two symbols at once) against the
// simulator with every fault on, then the faults off and reconciliation until the store equals the
// simulator's ground truth. Used by test/oms/chaos.test.ts (small) and bench/oms-chaos.ts (long).

export const CHAOS_FAULTS: Readonly<Record<string, number | string>> = {
  'timeout-after-accept': 0.05,
  'reset-before-accept': 0.05,
  'error-5xx': 0.04,
  'reply-200-failure': 0.05,
  'rate-limit-storm': 0.01,
  'cancel-delay-ms': 300,
  'clock-skew-ms': 1_500,
};

const SYMBOLS = ['BTCTRY', 'ETHTRY'] as const;
const QUANTITY: Readonly<Record<string, string>> = { BTCTRY: '0.001', ETHTRY: '0.05' };
const PREFIX = 'chaos';

export interface ChaosResult {
  readonly seed: number;
  readonly intents: number;
  readonly exchangeOrders: number;
  readonly fills: number;
  readonly refused: number;
  readonly duplicates: number;
  readonly lost: number;
  readonly divergence: number;
  readonly details: readonly string[];
  /** From faults off to the store equal to the exchange, reconciliation passes included. */
  readonly convergeMs: number;
  readonly runMs: number;
  readonly stats: OmsStats;
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

async function lane(
  oms: Oms,
  store: Store,
  sim: RunningSimulator,
  symbol: string,
  count: number,
  random: Random,
  refuse: () => void,
): Promise<void> {
  for (let i = 0; i < count; i += 1) {
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
      // Refusals are expected under faults (an order still unresolved blocks its symbol); anything
      // else is a failure of the run.
      if (
        !(error instanceof OrderRefusedError) &&
        !isExchangeError(error) &&
        !/cannot be cancelled before/.test(String(error))
      )
        throw error;
      refuse();
    }
  }
}

export async function runChaos(seed: number, intents: number, faults = CHAOS_FAULTS): Promise<ChaosResult> {
  const started = performance.now();
  const sim = await startSimulator({ seed, autoMarket: false });
  const exchange = new BtcturkExchange({
    baseUrl: sim.restUrl,
    credentials: { apiKey: sim.apiKey, apiSecret: sim.apiSecret },
    requestTimeoutMs: 300,
    deadlineMs: 2_500,
    random: seededRandom(seed),
    backoff: { baseMs: 20, capMs: 200 },
  });
  const store = await openSqliteStore({ path: ':memory:' });
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
    // The ladder would stop the stream early; this run measures correctness under faults.
    logger: process.env.CHAOS_LOG ? createLogger(process.env.CHAOS_LOG) : undefined,
    escalation: {
      failuresToReduce: 1e6,
      failuresToHalt: 1e6,
      divergenceReduceMs: 1e9,
      divergenceHaltMs: 1e9,
      unresolvedReduceMs: 4_000,
      unresolvedHaltMs: 1e9,
    },
  });
  let refused = 0;
  try {
    await oms.start();
    for (const [name, value] of Object.entries(faults)) sim.setFault(name, value);
    const per = Math.ceil(intents / SYMBOLS.length);
    await Promise.all(
      SYMBOLS.map((symbol, i) =>
        lane(oms, store, sim, symbol, per, seededRandom(seed * 31 + i), () => (refused += 1)),
      ),
    );
    for (const name of Object.keys(faults)) sim.setFault(name, null);

    const convergeStart = performance.now();
    let divergence: Divergence | undefined;
    let lastFailures: readonly string[] = [];
    // Faults may have spent the trade-history budget (120/min): allow a full minute to refill it.
    const giveUpAt = performance.now() + 75_000;
    while (performance.now() < giveUpAt) {
      const report = await oms.reconcile();
      lastFailures = [...report.failures, ...report.divergences];
      divergence = await compareWithTruth(store, sim.groundTruth(), sim.accountId, PREFIX);
      const off =
        divergence.lost + divergence.duplicates + divergence.fillMismatches + divergence.stateMismatches;
      if (report.clean && off === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const convergeMs = performance.now() - convergeStart;
    if (!divergence) throw new Error('no reconciliation pass ran');
    const truth = sim.groundTruth();
    return {
      seed,
      intents: per * SYMBOLS.length,
      exchangeOrders: truth.orders.filter((o) => o.accountId === sim.accountId).length,
      fills: truth.fills.filter((f) => f.accountId === sim.accountId).length,
      refused,
      duplicates: divergence.duplicates,
      lost: divergence.lost,
      divergence: divergence.fillMismatches + divergence.stateMismatches,
      details: [...divergence.details, ...lastFailures.map((f) => `last pass: ${f}`)],
      convergeMs: Math.round(convergeMs),
      runMs: Math.round(performance.now() - started),
      stats: oms.stats(),
    };
  } finally {
    await oms.stop();
    await exchange.close();
    await store.close();
    await sim.stop();
  }
}
