// Order-book throughput and latency. Throughput: obdiff change sets in BTCTurk's real layout (rows
// {"CP","P","A"}, unpadded decimals, the "channel","event","type" tail; 7-16 changes a frame with
// CP 0 updates, CP 1 new levels and CP 3 deletes carrying their old amount, the 100-level window
// churning at its far edge: test/wire/frames.jsonl) read from their frame text and applied to the
// book (CS check and crossed-book check included), against ccxt's order book fed the same frames
// the way ccxt's WebSocket handlers feed one (see runCcxt), in the same run; and the share of
// frames the canonical (fast) reader took. Latency: in-process, from a frame's arrival on a loopback
// socket (the client's arrival stamp) to the market-data service's `top` listener. Many books
// (runManyBooks): 380 books read and fed in turn, in a process of its own with `npm start`'s Node
// flags, for the CPU and the garbage collection a change set costs when levels live for seconds.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import ccxt from 'ccxt';
import { WebSocketServer } from 'ws';
import { BtcturkWsClient } from '../src/btcturk/websocket/client.ts';
import { BtcturkMarketFeed } from '../src/btcturk/websocket/feed.ts';
import { bookReaderCounts, resetBookReaderCounts } from '../src/btcturk/websocket/diff-scanner.ts';
import { parseFrame } from '../src/btcturk/websocket/messages.ts';
import { systemClock } from '../src/domain/clock.ts';
import { randomInt, seededRandom, type Random } from '../src/domain/random.ts';
import { OrderBook } from '../src/market/book.ts';
import { MarketDataService } from '../src/market/service.ts';
import { startFlags } from './support/processes.ts';

const SYMBOL = 'ETHUSDT';
const FRAMES = 20_000;
const ROUNDS = 5;
const LATENCY_FRAMES = 5_000;

interface Stream {
  readonly snapshot: string; // a 431 opening the obdiff stream at CS 0
  readonly diffs: readonly string[]; // 432s with CS 1..n
}

const WINDOW = 100; // levels a side BTCTurk's obdiff keeps
const TICK = 0.1; // ETHUSDT's price step

/** Unpadded decimal text as BTCTurk writes it: "2770", "2770.7", "0.0092056". */
function unpadded(value: number, places: number): string {
  const text = value.toFixed(places);
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}

/**
 * A seeded random walk of an ETHUSDT book in BTCTurk's obdiff encoding: a 100-level window a side;
 * change sets of 7-16 rows: CP 0 replaces an amount (mostly near the touch), CP 1 adds a level,
 * CP 3 deletes one with its old, non-zero amount (the touch included); a level entering a full
 * window pushes the far-edge level out (CP 3) and a deletion pulls one in from beyond (CP 1).
 * Never crossing.
 */
function makeStream(count: number, random: Random, symbol = SYMBOL): Stream {
  // Prices as whole ticks; amounts as text.
  const bids = new Map<number, string>();
  const asks = new Map<number, string>();
  const mid = 27_700; // 2770.0 in ticks
  const amount = () => unpadded(randomInt(random, 1, 2_000_000_000) / 1e8, 8);
  const price = (ticks: number) => unpadded(ticks * TICK, 1);
  for (let i = 1; i <= WINDOW; i++) {
    bids.set(mid - i * 2, amount());
    asks.set(mid + i * 2, amount());
  }
  const sorted = (side: Map<number, string>, desc: boolean) =>
    [...side.keys()].sort((a, b) => (desc ? b - a : a - b));
  const levels = (side: Map<number, string>, desc: boolean) =>
    sorted(side, desc).map((p) => ({ A: side.get(p) ?? '0', P: price(p) }));
  const snapshot = JSON.stringify([
    431,
    {
      CS: 0,
      PS: symbol,
      AO: levels(asks, false),
      BO: levels(bids, true),
      channel: 'obdiff',
      event: symbol,
      type: 431,
    },
  ]);
  const diffs: string[] = [];
  for (let cs = 1; cs <= count; cs++) {
    const rows = { AO: [] as string[], BO: [] as string[] };
    const row = (bid: boolean, cp: number, p: number, a: string) =>
      (bid ? rows.BO : rows.AO).push(`{"CP":${cp},"P":"${price(p)}","A":"${a}"}`);
    const n = randomInt(random, 7, 16);
    while (rows.AO.length + rows.BO.length < n) {
      const bid = random.next() < 0.5;
      const side = bid ? bids : asks;
      const order = sorted(side, bid); // best first
      const best = order[0] ?? mid;
      const worst = order[order.length - 1] ?? mid;
      const other = bid ? Math.min(...asks.keys()) : Math.max(...bids.keys());
      const roll = random.next();
      if (roll < 0.45) {
        // CP 0: a new amount at an existing level, mostly near the touch
        const p = order[Math.min(order.length - 1, Math.floor(random.next() ** 3 * order.length))] ?? best;
        const a = amount();
        side.set(p, a);
        row(bid, 0, p, a);
      } else if (roll < 0.75) {
        // CP 1: a new level inside the window (sometimes improving the touch, never crossing)
        let p = bid ? best - randomInt(random, -2, 40) : best + randomInt(random, -2, 40);
        if (bid ? p >= other : p <= other) p = bid ? other - 1 : other + 1;
        if (side.has(p) || (bid ? p <= worst : p >= worst)) continue;
        const a = amount();
        side.set(p, a);
        row(bid, 1, p, a);
        if (side.size > WINDOW) {
          // the window is full: its far-edge level leaves it, deleted with its old amount
          const out = sorted(side, bid)[WINDOW] ?? worst;
          row(bid, 3, out, side.get(out) ?? '1');
          side.delete(out);
        }
      } else {
        // CP 3: a level goes (the touch one time in four), with its old, non-zero amount
        const p = random.next() < 0.25 ? best : (order[randomInt(random, 0, order.length - 1)] ?? best);
        row(bid, 3, p, side.get(p) ?? '1');
        side.delete(p);
        // a level from beyond the window enters it at the far edge
        const edge = sorted(side, bid)[side.size - 1] ?? worst;
        const incoming = bid ? edge - randomInt(random, 1, 3) : edge + randomInt(random, 1, 3);
        const a = amount();
        side.set(incoming, a);
        row(bid, 1, incoming, a);
      }
    }
    diffs.push(
      `[432,{"CS":${cs},"PS":"${symbol}","AO":[${rows.AO.join(',')}],"BO":[${rows.BO.join(',')}],` +
        `"channel":"obdiff","event":"${symbol}","type":432}]`,
    );
  }
  return { snapshot, diffs };
}

/** Top levels of a book as "amount@price" text, for checking that both books end equal. */
type Tops = { bids: string[]; asks: string[] };

/** Ours: the frame reader of the adapter and the book of the market layer. */
function runOurs(stream: Stream, end?: (tops: Tops) => void): number {
  const book = new OrderBook(SYMBOL, 0);
  const opening = parseFrame(stream.snapshot, 0);
  const first = opening.ok ? opening.messages[0] : undefined;
  if (first?.kind !== 'book-snapshot') throw new Error('bench: the snapshot did not parse');
  book.reset(first);
  const start = performance.now();
  for (const text of stream.diffs) {
    const parsed = parseFrame(text, 0);
    const diff = parsed.ok ? parsed.messages[0] : undefined;
    if (diff?.kind !== 'book-diff' || book.applyDiff(diff) !== 'applied')
      throw new Error(`bench: ${text} did not apply`);
  }
  const rate = stream.diffs.length / ((performance.now() - start) / 1000);
  const levels = book.levels(10);
  end?.({
    bids: levels.bids.map((l) => `${l.quantity.toNumber()}@${l.price.toNumber()}`),
    asks: levels.asks.map((l) => `${l.quantity.toNumber()}@${l.price.toNumber()}`),
  });
  return rate;
}

interface CcxtSide {
  readonly [index: number]: [number, number] | undefined;
  storeArray(delta: unknown[]): void;
}

interface CcxtBook {
  readonly bids: CcxtSide;
  readonly asks: CcxtSide;
}

/**
 * ccxt: its order book fed the way its WebSocket handlers feed one: JSON.parse, the channel and the
 * pair read to dispatch and find the book, fields read with its safe* accessors, each row parsed with
 * its own `parseOrderBookBidAsk` (as its base-class `handleDeltasWithKeys` does for deltas keyed like
 * BTCTurk's {P, A}) and stored, a CP 3 row stored with a zero amount (ccxt's way to delete a level),
 * and the same CS and crossed-book checks as ours. Left out, in ccxt's favour: the timestamp
 * formatting and the future resolution a ccxt handler does after each update.
 */
function runCcxt(stream: Stream, end?: (tops: Tops) => void): number {
  const exchange = new ccxt.Exchange();
  const open = (JSON.parse(stream.snapshot) as unknown[])[1];
  const book = exchange.orderBook({}) as unknown as CcxtBook;
  exchange.handleDeltasWithKeys(book.asks, exchange.safeList(open, 'AO', []), 'P', 'A');
  exchange.handleDeltasWithKeys(book.bids, exchange.safeList(open, 'BO', []), 'P', 'A');
  let cs = exchange.safeInteger(open, 'CS') ?? 0;
  const apply = (side: CcxtSide, rows: unknown[]) => {
    for (const row of rows) {
      const bidAsk = exchange.parseOrderBookBidAsk(row, 'P', 'A') as unknown[];
      if (exchange.safeInteger(row, 'CP') === 3) bidAsk[1] = 0;
      side.storeArray(bidAsk);
    }
  };
  const start = performance.now();
  for (const text of stream.diffs) {
    const body = (JSON.parse(text) as unknown[])[1];
    // handleMessage dispatches on the channel, handleOrderBook looks the book up by market id
    if (exchange.safeString(body, 'channel') !== 'obdiff' || exchange.safeString(body, 'PS') !== SYMBOL)
      throw new Error('bench: ccxt misread the frame');
    const nonce = exchange.safeInteger(body, 'CS');
    if (nonce !== cs + 1) throw new Error(`bench: ccxt saw a gap at ${nonce ?? '?'}`);
    cs = nonce;
    apply(book.asks, exchange.safeList(body, 'AO', []));
    apply(book.bids, exchange.safeList(body, 'BO', []));
    const bid = book.bids[0];
    const ask = book.asks[0];
    if (bid && ask && bid[0] >= ask[0]) throw new Error(`bench: ccxt book crossed at ${cs}`);
  }
  const rate = stream.diffs.length / ((performance.now() - start) / 1000);
  const top = (side: CcxtSide) => {
    const out: string[] = [];
    for (let i = 0; i < 10 && side[i] !== undefined; i++) out.push(`${side[i]?.[1]}@${side[i]?.[0]}`);
    return out;
  };
  end?.({ bids: top(book.bids), asks: top(book.asks) });
  return rate;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Frames sent over loopback; each `top` event is timed from its frame's arrival stamp. */
async function measureLatency(stream: Stream): Promise<number[]> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer) => {
      const [type, body] = JSON.parse(data.toString('utf8')) as [number, { channel: string; event: string }];
      if (type !== 151) return;
      ws.send(JSON.stringify([100, { type: 100, ok: true, message: `join|${body.channel}:${body.event}` }]));
      if (body.channel !== 'obdiff') return;
      ws.send(stream.snapshot);
      let next = 0;
      const burst = () => {
        for (let i = 0; i < 20 && next < stream.diffs.length; i++) ws.send(stream.diffs[next++] ?? '');
        if (next < stream.diffs.length) setImmediate(burst);
      };
      setImmediate(burst);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const clock = systemClock; // monotonic() is performance.now(): arrival stamps compare with it
  const client = new BtcturkWsClient({
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`,
    clock,
  });
  let arrival = 0;
  client.on('message', (_message, receivedAt) => {
    arrival = receivedAt;
  });
  const service = new MarketDataService({
    feed: new BtcturkMarketFeed(client),
    fetchBook: () => Promise.reject(new Error('bench: no REST')),
    symbols: [SYMBOL],
    clock,
    streams: { periodicBook: false, trades: false, ticker: false },
  });
  const samples: number[] = [];
  service.on('top', () => {
    samples.push(performance.now() - arrival);
  });
  service.start();
  client.start();
  const deadline = performance.now() + 60_000;
  while ((service.stats().symbols[SYMBOL]?.diffs ?? 0) < stream.diffs.length && performance.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  await service.stop();
  await client.stop();
  wss.close();
  await new Promise<void>((resolve) => {
    http.close(() => {
      resolve();
    });
  });
  return samples;
}

const MANY_BOOKS = 380; // BTCTurk lists about 380 pairs
const MANY_BOOKS_ROUNDS = 130; // change sets per book: about 49,000 in all

/**
 * Following every pair: MANY_BOOKS books, each opened by its snapshot, then fed one change set of
 * each in turn (as one socket following every pair brings them), read from frame bytes as the
 * socket client reads them. A level then lives many change sets of other books, as it lives
 * seconds in the bot: long enough to survive V8's young generation, which one book fed back to
 * back never shows. Reports CPU per change set and the collections (perf_hooks) during the feed.
 * Run by run() in a process of its own with npm start's Node flags (see startFlags).
 */
async function runManyBooks(): Promise<Record<string, number>> {
  const random = seededRandom(20261204);
  const symbols = Array.from({ length: MANY_BOOKS }, (_, i) => `P${String(i).padStart(3, '0')}TRY`);
  const streams = symbols.map((symbol) => makeStream(MANY_BOOKS_ROUNDS, random, symbol));
  const books = streams.map((stream, i) => {
    const book = new OrderBook(symbols[i] ?? '', 0);
    const opening = parseFrame(stream.snapshot, 0);
    const first = opening.ok ? opening.messages[0] : undefined;
    if (first?.kind !== 'book-snapshot' || book.reset(first) !== 'applied')
      throw new Error('bench: a snapshot did not apply');
    return book;
  });
  const frames: Buffer[] = [];
  for (let round = 0; round < MANY_BOOKS_ROUNDS; round++)
    for (const stream of streams) frames.push(Buffer.from(stream.diffs[round] ?? ''));
  const collections: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => {
    collections.push(...list.getEntries());
  });
  observer.observe({ entryTypes: ['gc'] });
  const began = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < frames.length; i++) {
    const parsed = parseFrame((frames[i] ?? Buffer.alloc(0)).toString('utf8'), 0);
    const diff = parsed.ok ? parsed.messages[0] : undefined;
    const book = books[i % MANY_BOOKS];
    if (diff?.kind !== 'book-diff' || book?.applyDiff(diff) !== 'applied')
      throw new Error(`bench: change set ${i} did not apply`);
    // The touch read, as the engine reads it after a change.
    if (book.bestBid()?.quantity.isZero() === true || book.bestAsk()?.price.isZero() === true)
      throw new Error('bench: a zero at the touch');
  }
  const cpu = process.cpuUsage(cpu0);
  const ended = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 50)); // the observer is told after the loop
  observer.disconnect();
  const during = collections.filter((e) => e.startTime >= began && e.startTime <= ended);
  const minor = during.filter(
    (e: PerformanceEntry & { detail?: { kind?: number } }) =>
      e.detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR,
  );
  const perThousand = 1000 / frames.length;
  return {
    manyBooks: MANY_BOOKS,
    manyBooksChangeSets: frames.length,
    manyBooksCpuUsPerChangeSet: Number(((cpu.user + cpu.system) / frames.length).toFixed(2)),
    manyBooksScavengesPerThousand: Number((minor.length * perThousand).toFixed(2)),
    manyBooksGcPauseMsPerThousand: Number(
      (during.reduce((sum, e) => sum + e.duration, 0) * perThousand).toFixed(2),
    ),
  };
}

/** runManyBooks in a process of its own, with the Node flags `npm start` gives the bot. */
async function manyBooksElsewhere(): Promise<Record<string, number | string>> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...startFlags(), '--import', 'tsx', fileURLToPath(import.meta.url), '--many-books'],
    { maxBuffer: 1024 * 1024 },
  );
  const figures = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
  return { ...figures, manyBooksNodeFlags: startFlags().join(' ') };
}

export async function run(): Promise<Record<string, number | string>> {
  const stream = makeStream(FRAMES, seededRandom(20250101));
  // Warm-up of both paths, and proof that they agree: both books end with the same top levels.
  let oursTop: Tops | undefined;
  let ccxtTop: Tops | undefined;
  resetBookReaderCounts();
  runOurs(stream, (tops) => (oursTop = tops));
  runCcxt(stream, (tops) => (ccxtTop = tops));
  if (JSON.stringify(oursTop) !== JSON.stringify(ccxtTop))
    throw new Error(
      `bench: the books differ at the end: ours ${JSON.stringify(oursTop)}, ccxt ${JSON.stringify(ccxtTop)}`,
    );
  // Of the change sets read, the share the canonical (BTCTurk layout) reader took.
  const { canonicalDiffs, scannedDiffs, general, canonicalSnapshots } = bookReaderCounts;
  const fastShare = canonicalDiffs / stream.diffs.length;
  let rows = 0;
  let deletes = 0;
  for (const text of stream.diffs) {
    rows += text.split('"CP"').length - 1;
    deletes += text.split('"CP":3').length - 1;
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    ours.push(runOurs(stream));
    theirs.push(runCcxt(stream));
  }
  const latency = await measureLatency(makeStream(LATENCY_FRAMES, seededRandom(7)));
  const oursRate = median(ours);
  const ccxtRate = median(theirs);
  return {
    frames: FRAMES,
    layout: 'BTCTurk obdiff: {"CP","P","A"} rows, unpadded decimals, channel/event/type tail',
    changes_per_frame: Number((rows / stream.diffs.length).toFixed(1)),
    cp3_share_of_changes: Number((deletes / rows).toFixed(3)),
    fast_path_share: Number(fastShare.toFixed(4)),
    fast_path_frames: canonicalDiffs,
    scanned_path_frames: scannedDiffs,
    general_path_frames: general,
    fast_path_snapshots: canonicalSnapshots,
    ours_updates_per_s: Math.round(oursRate),
    ccxt_updates_per_s: Math.round(ccxtRate),
    ours_vs_ccxt: Number((oursRate / ccxtRate).toFixed(2)),
    ccxt_version: ccxt.version,
    top_latency_samples: latency.length,
    top_latency_p50_us: Math.round(percentile(latency, 50) * 1000),
    top_latency_p99_us: Math.round(percentile(latency, 99) * 1000),
    ...(await manyBooksElsewhere()),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const figures = process.argv[2] === '--many-books' ? await runManyBooks() : await run();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
