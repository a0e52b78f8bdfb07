// How fast the durable journal is: submits journaled the way the OMS does it (the PENDING_SUBMIT
// row, its event and the `sent` mark in one write, synced before the order would be POSTed, then
// `acked`), and how long start-up takes to load 10,000 orders that still need attention. WAL with
// synchronous=FULL: the journal write's commit is synced before it returns (it survives a power
// cut); the ack commits without a sync of its own (lost with the power, a restart looks the order
// up). Submits go one symbol at a time (each waits for its own writes, as the OMS's per-symbol queue
// does) from one symbol, then from several symbols at once: their writes share commits (group
// commit), so the second figure is the store's throughput and the first its latency.
// Run alone: node --import tsx bench/store-journal.ts
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { newClientOrderId } from '../src/domain/client-ids.ts';
import { Dec } from '../src/domain/decimal.ts';
import { seededRandom } from '../src/domain/random.ts';
import type { NewOrder, Store } from '../src/ports/store.ts';
import { SqlStore } from '../src/store/sql/sql-store.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';

const SUBMIT_BUDGET_MS = 3000;
const SUBMIT_MAX = 2000;
const CONCURRENT_SUBMIT_MAX = 10_000;
const SYMBOLS = 8;
const ACTIVE_ORDERS = 10_000;

type Random = ReturnType<typeof seededRandom>;

/**
 * What this process has handed to write calls so far, from Linux's /proc/self/io (`wchar`: bytes,
 * `syscw`: calls; NaN elsewhere): the log frames and checkpoints the submits cost, which unlike
 * the time taken does not depend on what else the machine is doing.
 */
function written(): { bytes: number; calls: number } {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
    return { bytes: field('wchar'), calls: field('syscw') };
  } catch {
    return { bytes: NaN, calls: NaN };
  }
}

function order(random: Random, i: number, symbol?: string): NewOrder {
  return {
    clientOrderId: newClientOrderId('bench', random),
    symbol: symbol ?? (i % 2 === 0 ? 'BTCTRY' : 'ETHTRY'),
    side: i % 3 === 0 ? 'sell' : 'buy',
    method: 'limit',
    quantity: new Dec('0.00012345'),
    price: new Dec('2150000.5'),
    intentId: `intent-${i}`,
    strategy: 'bench',
  };
}

/** One submit as the OMS writes it: journaled and marked sent in one synced write, then acked. */
async function submit(journal: Store, next: NewOrder, exchangeOrderId: string): Promise<void> {
  const stored = await journal.journalOrder(next, { sent: true });
  const acked = await journal.applyEvent(stored.id, { type: 'acked', exchangeOrderId });
  if (!acked.ok) throw new Error(`bench submit ${exchangeOrderId} was refused: ${acked.message}`);
}

interface Run {
  readonly submits: number;
  readonly seconds: number;
  /** Processor time this process spent (user + system): less swayed by a busy machine than wall time. */
  readonly cpuSeconds: number;
  readonly commits: number;
  readonly syncedCommits: number;
  readonly writes: number;
  /** Bytes handed to write calls (the log's frames, checkpoints): see written(). */
  readonly bytesWritten: number;
  readonly writeCalls: number;
}

/** Submits from `lanes` symbols at once, each lane one submit at a time, until the budget is spent. */
async function submitRun(path: string, random: Random, lanes: number, max: number): Promise<Run> {
  const journal = await openSqliteStore({ path });
  let submits = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const io = written();
  try {
    const lane = async (symbol: string) => {
      while (submits < max && performance.now() - started < SUBMIT_BUDGET_MS) {
        const n = submits++;
        await submit(journal, order(random, n, symbol), String(1e9 + n));
      }
    };
    await Promise.all(Array.from({ length: lanes }, (_, i) => lane(`S${i}TRY`)));
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const after = written();
    const stats =
      journal instanceof SqlStore ? journal.commitStats() : { commits: NaN, syncedCommits: NaN, writes: NaN };
    return {
      submits,
      seconds,
      cpuSeconds,
      commits: stats.commits,
      syncedCommits: stats.syncedCommits,
      writes: stats.writes,
      bytesWritten: after.bytes - io.bytes,
      writeCalls: after.calls - io.calls,
    };
  } finally {
    await journal.close();
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-bench-'));
  const random = seededRandom(1);
  try {
    const one = await submitRun(join(dir, 'one.db'), random, 1, SUBMIT_MAX);
    const many = await submitRun(join(dir, 'many.db'), random, SYMBOLS, CONCURRENT_SUBMIT_MAX);

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
        durability: 'WAL, synchronous=FULL for the journal and sent mark, temp file; group commit',
        journaledSubmits: one.submits,
        journaledSubmitsPerSecond: Math.round(one.submits / one.seconds),
        msPerJournaledSubmit: Number(((one.seconds * 1000) / one.submits).toFixed(3)),
        cpuMsPerJournaledSubmit: Number(((one.cpuSeconds * 1000) / one.submits).toFixed(3)),
        commitsPerJournaledSubmit: Number((one.commits / one.submits).toFixed(2)),
        syncedCommitsPerJournaledSubmit: Number((one.syncedCommits / one.submits).toFixed(2)),
        [`journaledSubmitsPerSecond${SYMBOLS}Symbols`]: Math.round(many.submits / many.seconds),
        [`cpuMsPerJournaledSubmit${SYMBOLS}Symbols`]: Number(
          ((many.cpuSeconds * 1000) / many.submits).toFixed(3),
        ),
        [`commitsPerJournaledSubmit${SYMBOLS}Symbols`]: Number((many.commits / many.submits).toFixed(2)),
        [`syncedCommitsPerJournaledSubmit${SYMBOLS}Symbols`]: Number(
          (many.syncedCommits / many.submits).toFixed(2),
        ),
        [`writesPerCommit${SYMBOLS}Symbols`]: Number((many.writes / many.commits).toFixed(1)),
        [`kBWrittenPerJournaledSubmit${SYMBOLS}Symbols`]: Number(
          (many.bytesWritten / 1024 / many.submits).toFixed(1),
        ),
        [`writeCallsPerJournaledSubmit${SYMBOLS}Symbols`]: Number(
          (many.writeCalls / many.submits).toFixed(1),
        ),
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
