// Order-book throughput and latency. Throughput: obdiff change sets read from their frame text and
// applied to the book (CS check and crossed-book check included), against ccxt's order book fed
// the same frames the way ccxt's WebSocket handlers feed it (see runCcxt), in the same run. Latency: in-process, from a frame's arrival on a loopback socket (the client's arrival
// stamp) to the market-data service's `top` listener.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import ccxt from 'ccxt';
import { WebSocketServer } from 'ws';
import { BtcturkWsClient } from '../src/btcturk/websocket/client.ts';
import { BtcturkMarketFeed } from '../src/btcturk/websocket/feed.ts';
import { parseFrame } from '../src/btcturk/websocket/messages.ts';
import { systemClock } from '../src/domain/clock.ts';
import { randomInt, seededRandom, type Random } from '../src/domain/random.ts';
import { OrderBook } from '../src/market/book.ts';
import { MarketDataService } from '../src/market/service.ts';

const SYMBOL = 'BTCTRY';
const FRAMES = 20_000;
const ROUNDS = 5;
const LATENCY_FRAMES = 5_000;

interface Stream {
  readonly snapshot: string; // a 431 opening the obdiff stream at CS 0
  readonly diffs: readonly string[]; // 432s with CS 1..n
}

/**
 * A seeded random walk of a BTCTRY book about 100 levels deep a side: change sets of 1–4 rows that
 * update, add or remove levels, most of them near the top, never crossing.
 */
function makeStream(count: number, random: Random): Stream {
  const bids = new Map<number, string>();
  const asks = new Map<number, string>();
  const mid = 3_400_000;
  const amount = () => (randomInt(random, 1, 500_000_000) / 1e8).toFixed(8);
  for (let i = 1; i <= 100; i++) {
    bids.set(mid - i, amount());
    asks.set(mid + i, amount());
  }
  const levels = (side: Map<number, string>, desc: boolean) =>
    [...side.entries()].sort(([a], [b]) => (desc ? b - a : a - b)).map(([p, a]) => ({ A: a, P: String(p) }));
  const snapshot = JSON.stringify([
    431,
    {
      CS: 0,
      PS: SYMBOL,
      AO: levels(asks, false),
      BO: levels(bids, true),
      channel: 'obdiff',
      event: SYMBOL,
      type: 431,
    },
  ]);
  const diffs: string[] = [];
  for (let cs = 1; cs <= count; cs++) {
    const rows = { AO: [] as object[], BO: [] as object[] };
    const n = randomInt(random, 1, 4);
    for (let r = 0; r < n; r++) {
      const bid = random.next() < 0.5;
      const side = bid ? bids : asks;
      const best = bid ? Math.max(...bids.keys()) : Math.min(...asks.keys());
      const other = bid ? Math.min(...asks.keys()) : Math.max(...bids.keys());
      const roll = random.next();
      let price: number;
      let row: { A: string; P: string; CP: number };
      if (roll < 0.55) {
        // change an existing level near the top
        price = bid ? best - randomInt(random, 0, 5) : best + randomInt(random, 0, 5);
        const kind = side.has(price) ? 1 : 0;
        side.set(price, amount());
        row = { A: side.get(price) ?? '0', P: String(price), CP: kind };
      } else if (roll < 0.8 || side.size < 60) {
        // a new level, sometimes improving the best without crossing
        price = bid ? best - randomInt(random, -1, 30) : best + randomInt(random, -1, 30);
        if (bid ? price >= other : price <= other) price = bid ? best : best;
        const kind = side.has(price) ? 1 : 0;
        side.set(price, amount());
        row = { A: side.get(price) ?? '0', P: String(price), CP: kind };
      } else {
        const keys = [...side.keys()];
        price = keys[randomInt(random, 0, keys.length - 1)] ?? best;
        side.delete(price);
        row = { A: '0', P: String(price), CP: 2 };
      }
      (bid ? rows.BO : rows.AO).push(row);
    }
    diffs.push(
      JSON.stringify([
        432,
        { CS: cs, PS: SYMBOL, AO: rows.AO, BO: rows.BO, channel: 'obdiff', event: SYMBOL, type: 432 },
      ]),
    );
  }
  return { snapshot, diffs };
}

/** Ours: the frame reader of the adapter and the book of the market layer. */
function runOurs(stream: Stream): number {
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
  return stream.diffs.length / ((performance.now() - start) / 1000);
}

interface CcxtSide {
  readonly [index: number]: [number, number] | undefined;
}

interface CcxtBook {
  readonly bids: CcxtSide;
  readonly asks: CcxtSide;
}

/**
 * ccxt: its order book fed the way its WebSocket handlers feed one: JSON.parse, the channel and the
 * pair read to dispatch and find the book, fields read with its safe* accessors, rows applied with
 * its own `handleDeltasWithKeys` (the base-class routine for deltas keyed like BTCTurk's {P, A}),
 * and the same CS and crossed-book checks as ours. Left out, in ccxt's favour: the timestamp
 * formatting and the future resolution a ccxt handler does after each update.
 */
function runCcxt(stream: Stream): number {
  const exchange = new ccxt.Exchange();
  const open = (JSON.parse(stream.snapshot) as unknown[])[1];
  const book = exchange.orderBook({}) as unknown as CcxtBook;
  exchange.handleDeltasWithKeys(book.asks, exchange.safeList(open, 'AO', []), 'P', 'A');
  exchange.handleDeltasWithKeys(book.bids, exchange.safeList(open, 'BO', []), 'P', 'A');
  let cs = exchange.safeInteger(open, 'CS') ?? 0;
  const start = performance.now();
  for (const text of stream.diffs) {
    const body = (JSON.parse(text) as unknown[])[1];
    // handleMessage dispatches on the channel, handleOrderBook looks the book up by market id
    if (exchange.safeString(body, 'channel') !== 'obdiff' || exchange.safeString(body, 'PS') !== SYMBOL)
      throw new Error('bench: ccxt misread the frame');
    const nonce = exchange.safeInteger(body, 'CS');
    if (nonce !== cs + 1) throw new Error(`bench: ccxt saw a gap at ${nonce ?? '?'}`);
    cs = nonce;
    exchange.handleDeltasWithKeys(book.asks, exchange.safeList(body, 'AO', []), 'P', 'A');
    exchange.handleDeltasWithKeys(book.bids, exchange.safeList(body, 'BO', []), 'P', 'A');
    const bid = book.bids[0];
    const ask = book.asks[0];
    if (bid && ask && bid[0] >= ask[0]) throw new Error(`bench: ccxt book crossed at ${cs}`);
  }
  return stream.diffs.length / ((performance.now() - start) / 1000);
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

export async function run(): Promise<Record<string, number | string>> {
  const stream = makeStream(FRAMES, seededRandom(20250101));
  runOurs(stream); // warm-up of both paths
  runCcxt(stream);
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
    ours_updates_per_s: Math.round(oursRate),
    ccxt_updates_per_s: Math.round(ccxtRate),
    ours_vs_ccxt: Number((oursRate / ccxtRate).toFixed(2)),
    ccxt_version: ccxt.version,
    top_latency_samples: latency.length,
    top_latency_p50_us: Math.round(percentile(latency, 50) * 1000),
    top_latency_p99_us: Math.round(percentile(latency, 99) * 1000),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await run())}\n`);
}
