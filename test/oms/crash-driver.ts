// A bot process for the crash harness. Run 1 (CRASH_RUN=1) opens the store, recovers, then carries
// its one intent forward — submit, cancel or replace — and, started with BTCBOT_CRASH_AT=<point>,
// dies by SIGKILL there. Run 2 (CRASH_RUN=2) is the restart on the same database: it asks for
// nothing new, it only reconciles until the work is finished (no order unresolved or waiting on a
// cancel, no replace open) and the pass is clean. Prints one JSON line when done.
//
//   CRASH_DB=… CRASH_SCENARIO=<scenario> CRASH_PRICE=… CRASH_SEED=… CRASH_RUN=1|2
//   BTCTURK_BASE_URL=… BTCTURK_API_KEY=… BTCTURK_API_SECRET=… node --import tsx crash-driver.ts
//
// Scenarios (the path each forces):
//   submit        a resting limit buy
//   retry         the first POST is reset before the exchange processes it (simulator fault
//                 reset-before-accept, set over /sim/faults for that one request): the order is
//                 ambiguous, resolved never placed, and the intent goes again under a new client id
//   unknown       a crossing limit buy whose POST is processed but never answered (timeout-after-accept
//                 for that one request): UNKNOWN, resolved by lookup, found filled
//   cancel        a resting limit buy, then its cancel
//   replace-safe  a resting limit buy, then a safe-mode replace (cancel first, then the new order)
//   replace-fast  the same with a fast-mode replace (new order first, the risk budget allows both)
import type { Decimal } from 'decimal.js';
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isUnresolved } from '../../src/domain/lifecycle.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import type { OrderAck } from '../../src/domain/reports.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms, type ReconcileReport } from '../../src/oms/index.ts';
import type { StoredOrder } from '../../src/ports/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import {
  CRASH_INTENT,
  CRASH_PREFIX,
  CRASH_QUANTITY,
  CRASH_SCENARIOS,
  CRASH_SYMBOL,
  isCrashScenario,
  REPLACE_STEP,
  type CrashScenario,
} from './crash-scenarios.ts';

/** The line the driver prints when it finishes. */
export interface DriverDone {
  readonly event: 'done';
  readonly run: number;
  readonly clean: boolean;
  readonly settled: boolean;
  readonly passes: number;
  readonly waitingOn: readonly string[];
  readonly report: ReconcileReport;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`crash driver: ${name} is not set`);
  return value;
}

/**
 * The adapter, with one simulator fault switched on over /sim/faults for the first order POST only
 * (then off again), so a scenario can force the path it is about: no other request meets it.
 */
class FirstSubmitFault extends BtcturkExchange {
  #pending: string | null;
  readonly #adminUrl: string;

  constructor(options: ConstructorParameters<typeof BtcturkExchange>[0], fault: string | null) {
    super(options);
    this.#pending = fault;
    this.#adminUrl = `${options.baseUrl}/sim/faults`;
  }

  override async submitOrder(order: OrderRequest): Promise<OrderAck> {
    const fault = this.#pending;
    if (fault === null) return super.submitOrder(order);
    this.#pending = null;
    await this.#setFault({ [fault]: 1 });
    try {
      return await super.submitOrder(order);
    } finally {
      await this.#setFault({ [fault]: null });
    }
  }

  async #setFault(change: Record<string, number | null>): Promise<void> {
    const response = await fetch(this.#adminUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${env('SIM_ADMIN_TOKEN')}` },
      body: JSON.stringify(change),
    });
    if (!response.ok) throw new Error(`crash driver: /sim/faults answered ${response.status}`);
  }
}

const FIRST_SUBMIT_FAULT: Readonly<Record<CrashScenario, string | null>> = {
  submit: null,
  retry: 'reset-before-accept',
  unknown: 'timeout-after-accept',
  cancel: null,
  'replace-safe': null,
  'replace-fast': null,
};

/** What still keeps the work from being finished: orders in flight or cancelling, open replaces. */
function waitingOn(active: readonly StoredOrder[], openReplaces: number): string[] {
  const waiting = active
    .filter((o) => isUnresolved(o.state) || o.state === 'PENDING_SUBMIT' || o.state === 'PENDING_CANCEL')
    .map((o) => `${o.clientOrderId ?? o.id} ${o.state}`);
  if (openReplaces > 0) waiting.push(`${openReplaces} open replace(s)`);
  return waiting;
}

async function main(): Promise<void> {
  const scenario = env('CRASH_SCENARIO');
  if (!isCrashScenario(scenario))
    throw new Error(
      `crash driver: CRASH_SCENARIO must be one of ${CRASH_SCENARIOS.join(', ')}, got ${scenario}`,
    );
  const price: Decimal = new Dec(env('CRASH_PRICE'));
  const run = Number(env('CRASH_RUN'));
  const seed = Number(env('CRASH_SEED')) * 100 + run;

  const store = await openSqliteStore({ path: env('CRASH_DB') });
  const exchange = new FirstSubmitFault(
    {
      baseUrl: env('BTCTURK_BASE_URL'),
      credentials: { apiKey: env('BTCTURK_API_KEY'), apiSecret: env('BTCTURK_API_SECRET') },
      requestTimeoutMs: 1_000,
      deadlineMs: 3_000,
      random: seededRandom(seed),
      backoff: { baseMs: 20, capMs: 200 },
    },
    run === 1 ? FIRST_SUBMIT_FAULT[scenario] : null,
  );
  const oms = new Oms({
    store,
    exchange,
    prefix: CRASH_PREFIX,
    symbols: [CRASH_SYMBOL],
    random: seededRandom(seed),
    // Fast mode only where asked: the budget lets the old and the new order rest at once.
    riskBudget: scenario === 'replace-fast' ? () => true : undefined,
    timings: {
      notFoundAfterMs: 1_000,
      lookupBaseMs: 40,
      lookupCapMs: 250,
      cancelConfirmMs: 2_000,
      cancelRetryAfterMs: 300,
    },
  });

  try {
    let report = await oms.start();
    for (let tries = 1; !report.clean && tries < 5; tries += 1) report = await oms.reconcile();
    if (run === 1) {
      if (!report.clean) throw new Error(`start-up reconciliation is not clean: ${JSON.stringify(report)}`);
      const order = await oms.submit({
        symbol: CRASH_SYMBOL,
        side: 'buy',
        method: 'limit',
        quantity: new Dec(CRASH_QUANTITY),
        price,
        intentId: CRASH_INTENT,
        attempts: scenario === 'retry' ? 2 : 1,
      });
      if (scenario === 'cancel') await oms.cancel({ orderId: order.id });
      if (scenario === 'replace-safe' || scenario === 'replace-fast')
        await oms.replace(order.id, {
          price: price.sub(REPLACE_STEP),
          mode: scenario === 'replace-fast' ? 'fast' : 'safe',
        });
    }
    // Reconciliation alone finishes the work: nothing new is asked for here.
    const deadline = Date.now() + 30_000;
    let passes = 0;
    let waiting: string[];
    for (;;) {
      report = await oms.reconcile();
      passes += 1;
      waiting = waitingOn(await store.activeOrders(), (await store.openReplaces()).length);
      if ((report.clean && waiting.length === 0) || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    const done: DriverDone = {
      event: 'done',
      run,
      clean: report.clean,
      settled: waiting.length === 0,
      passes,
      waitingOn: waiting,
      report,
    };
    process.stdout.write(`${JSON.stringify(done)}\n`);
  } finally {
    await exchange.close();
    await store.close();
  }
}

if (process.env.CRASH_RUN !== undefined) await main();
