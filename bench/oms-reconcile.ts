// How long reconciliation takes with 10,000 open orders: the diff plus the store's work, against an
// in-memory exchange (no network). Three passes: the first adopts all 10,000 (a database restored
// empty), the second finds everything in agreement (the steady state), the third repairs 1,000
// orders the exchange shows canceled meanwhile. The first pass reads the stored orders the reports
// name in one set-based query and adopts all 10,000 in one store call (one transaction, one sync).
// Run alone: node --import tsx bench/oms-reconcile.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { newClientOrderId } from '../src/domain/client-ids.ts';
import { Dec } from '../src/domain/decimal.ts';
import { seededRandom } from '../src/domain/random.ts';
import type { FillReport, OrderStatusReport } from '../src/domain/reports.ts';
import { Oms } from '../src/oms/index.ts';
import type { Exchange, OrderHistoryQuery } from '../src/ports/exchange.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';

const OPEN_ORDERS = 10_000;
const CHANGED = 1_000;
const SYMBOL = 'BTCTRY';
const PREFIX = 'bench';

/** The part of an exchange reconciliation reads, held in memory. */
function memoryExchange(reports: Map<string, OrderStatusReport>): Exchange {
  const unused = (): never => {
    throw new Error('not used by reconciliation');
  };
  const open = () =>
    [...reports.values()].filter((r) => r.status === 'open' || r.status === 'partially_filled');
  return {
    openOrders: () => Promise.resolve(open()),
    orderHistory: (q: OrderHistoryQuery) => {
      const limit = q.limit ?? 100;
      const page = q.page ?? 1;
      return Promise.resolve([...reports.values()].slice((page - 1) * limit, page * limit));
    },
    order: (id: string) => {
      const report = reports.get(id);
      return report ? Promise.resolve(report) : Promise.reject(new Error(`no order ${id}`));
    },
    fills: (): Promise<FillReport[]> => Promise.resolve([]),
    exchangeInfo: unused,
    serverTime: unused,
    orderBook: unused,
    tickers: unused,
    recentTrades: unused,
    balances: unused,
    submitOrder: unused,
    cancelOrder: unused,
  };
}

/** Wall time, and the processor time this process spent (less swayed by a busy machine). */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return { ms: Math.round(performance.now() - started), cpuMs: Math.round((used.user + used.system) / 1000) };
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-bench-oms-'));
  const random = seededRandom(3);
  const reports = new Map<string, OrderStatusReport>();
  for (let i = 0; i < OPEN_ORDERS; i += 1) {
    const id = String(10_000_000 + i);
    reports.set(id, {
      exchangeOrderId: id,
      clientOrderId: newClientOrderId(PREFIX, random),
      symbol: SYMBOL,
      side: i % 2 === 0 ? 'buy' : 'sell',
      method: 'limit',
      price: new Dec(3_400_000 + (i % 500)),
      stopPrice: null,
      quantity: new Dec('0.001'),
      leftQuantity: new Dec('0.001'),
      status: 'open',
      createdAt: Date.now() - 60_000,
      updatedAt: Date.now() - 60_000,
    });
  }
  const store = await openSqliteStore({ path: join(dir, 'bot.db') });
  try {
    const oms = new Oms({
      store,
      exchange: memoryExchange(reports),
      prefix: PREFIX,
      symbols: [SYMBOL],
      random,
    });
    const adoptMs = await timed(() => oms.reconcile({ resolve: false }));
    if ((await store.activeOrders(SYMBOL)).length !== OPEN_ORDERS)
      throw new Error(`adopted ${(await store.activeOrders(SYMBOL)).length} orders, expected ${OPEN_ORDERS}`);
    const steadyMs = await timed(() => oms.reconcile({ resolve: false }));
    let changed = 0;
    for (const [id, report] of reports) {
      if (changed++ >= CHANGED) break;
      reports.set(id, { ...report, status: 'canceled' });
    }
    let repaired = 0;
    const repairMs = await timed(async () => {
      const report = await oms.reconcile({ resolve: false });
      repaired = report.actions['apply-status'] ?? 0;
    });
    if (repaired !== CHANGED) throw new Error(`repaired ${repaired} orders, expected ${CHANGED}`);
    return {
      store: 'SQLite file, WAL, synchronous=FULL',
      openOrders: OPEN_ORDERS,
      msFirstPassAdopting10k: adoptMs.ms,
      cpuMsFirstPassAdopting10k: adoptMs.cpuMs,
      msSteadyPass10kInAgreement: steadyMs.ms,
      cpuMsSteadyPass10kInAgreement: steadyMs.cpuMs,
      msPassRepairing1kOf10k: repairMs.ms,
      cpuMsPassRepairing1kOf10k: repairMs.cpuMs,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run()));
}
