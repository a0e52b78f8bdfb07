// A bot process for the crash harness: opens the store, recovers (start-up reconciliation), then
// carries its one intent forward — submit, cancel or replace — as far as it still needs to go.
// Started with BTCBOT_CRASH_AT=<point> it dies by SIGKILL there; started again on the same
// database it must finish the job without a second order. Prints one JSON line when done.
//
//   CRASH_DB=… CRASH_SCENARIO=submit|cancel|replace CRASH_PRICE=… CRASH_SEED=… CRASH_RUN=1
//   BTCTURK_BASE_URL=… BTCTURK_API_KEY=… BTCTURK_API_SECRET=… node --import tsx crash-driver.ts
import { BtcturkExchange } from '../../src/btcturk/index.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { isClosed, isResting } from '../../src/domain/lifecycle.ts';
import { seededRandom } from '../../src/domain/random.ts';
import { Oms } from '../../src/oms/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';

const CRASH_PREFIX = 'crash';
const CRASH_SYMBOL = 'BTCTRY';
const INTENT = 'intent-1';

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`crash driver: ${name} is not set`);
  return value;
}

const scenario = env('CRASH_SCENARIO');
const price = new Dec(env('CRASH_PRICE'));
const seed = Number(env('CRASH_SEED')) * 100 + Number(env('CRASH_RUN'));

const store = await openSqliteStore({ path: env('CRASH_DB') });
const exchange = new BtcturkExchange({
  baseUrl: env('BTCTURK_BASE_URL'),
  credentials: { apiKey: env('BTCTURK_API_KEY'), apiSecret: env('BTCTURK_API_SECRET') },
  requestTimeoutMs: 1_000,
  deadlineMs: 3_000,
  random: seededRandom(seed),
  backoff: { baseMs: 20, capMs: 200 },
});
const oms = new Oms({
  store,
  exchange,
  prefix: CRASH_PREFIX,
  symbols: [CRASH_SYMBOL],
  random: seededRandom(seed),
  timings: { notFoundAfterMs: 1_000, lookupBaseMs: 40, lookupCapMs: 250, cancelConfirmMs: 2_000 },
});

try {
  let report = await oms.start();
  for (let tries = 1; !report.clean && tries < 5; tries += 1) report = await oms.reconcile();
  if (!report.clean) throw new Error(`start-up reconciliation is not clean: ${JSON.stringify(report)}`);

  // The intent goes out unless an order for it is placed or may be (the strategy's own check).
  const mine = (await store.orders()).filter((o) => o.intentId === INTENT);
  let order = mine.find((o) => o.replaceOf === null && o.state !== 'REJECTED');
  order ??= await oms.submit({
    symbol: CRASH_SYMBOL,
    side: 'buy',
    method: 'limit',
    quantity: new Dec('0.001'),
    price,
    intentId: INTENT,
    attempts: 3,
  });
  if (scenario === 'cancel' && !isClosed(order.state)) await oms.cancel({ orderId: order.id });
  if (scenario === 'replace' && isResting(order.state) && order.state !== 'PENDING_CANCEL')
    await oms.replace(order.id, { price: price.sub(5) });

  const final = await oms.reconcile();
  process.stdout.write(`${JSON.stringify({ event: 'done', clean: final.clean, stats: oms.stats() })}\n`);
} finally {
  await exchange.close();
  await store.close();
}
