// How fast the durable journal is: submits journaled the way the OMS does it (PENDING_SUBMIT row and
// event, then `sent`, then `acked`: three transactions, each synced to disk by WAL with
// synchronous=FULL), and how long start-up takes to load 10,000 orders that still need attention.
// Run alone: node --import tsx bench/store-journal.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { newClientOrderId } from '../src/domain/client-ids.ts';
import { Dec } from '../src/domain/decimal.ts';
import { seededRandom } from '../src/domain/random.ts';
import type { NewOrder } from '../src/ports/store.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';

const SUBMIT_BUDGET_MS = 3000;
const SUBMIT_MAX = 2000;
const ACTIVE_ORDERS = 10_000;

function order(random: ReturnType<typeof seededRandom>, i: number): NewOrder {
  return {
    clientOrderId: newClientOrderId('bench', random),
    symbol: i % 2 === 0 ? 'BTCTRY' : 'ETHTRY',
    side: i % 3 === 0 ? 'sell' : 'buy',
    method: 'limit',
    quantity: new Dec('0.00012345'),
    price: new Dec('2150000.5'),
    intentId: `intent-${i}`,
    strategy: 'bench',
  };
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-bench-'));
  const random = seededRandom(1);
  try {
    const journal = await openSqliteStore({ path: join(dir, 'journal.db') });
    let submits = 0;
    const started = performance.now();
    try {
      while (submits < SUBMIT_MAX && performance.now() - started < SUBMIT_BUDGET_MS) {
        const stored = await journal.journalOrder(order(random, submits));
        await journal.applyEvent(stored.id, { type: 'sent' }, stored.version);
        const acked = await journal.applyEvent(stored.id, {
          type: 'acked',
          exchangeOrderId: String(1e9 + submits),
        });
        if (!acked.ok) throw new Error(`bench submit ${submits} was refused: ${acked.message}`);
        submits += 1;
      }
    } finally {
      await journal.close();
    }
    const submitSeconds = (performance.now() - started) / 1000;

    const load = await openSqliteStore({ path: join(dir, 'load.db') });
    try {
      const orders = Array.from({ length: ACTIVE_ORDERS }, (_, i) => order(random, i));
      const batchStarted = performance.now();
      await load.journalOrders(orders);
      const batchMs = performance.now() - batchStarted;
      const loadStarted = performance.now();
      const active = await load.activeOrders();
      const loadMs = performance.now() - loadStarted;
      if (active.length !== ACTIVE_ORDERS)
        throw new Error(`loaded ${active.length} orders, expected ${ACTIVE_ORDERS}`);
      return {
        durability: 'WAL, synchronous=FULL, temp file',
        journaledSubmits: submits,
        journaledSubmitsPerSecond: Math.round(submits / submitSeconds),
        msPerJournaledSubmit: Number(((submitSeconds * 1000) / submits).toFixed(3)),
        msToJournal10kOrdersInOneTransaction: Math.round(batchMs),
        msToLoad10kActiveOrders: Math.round(loadMs),
      };
    } finally {
      await load.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run()));
}
