// Tick to order, the running bot's latency. A book frame that moves the market is stamped on arrival,
// and the time until the first order request it causes is written (the replace's cancel) and until
// the replacement is written, at 1,000 book updates a second (a quarter of the frames that move no
// price change the quantity at the touch: BENCH_TOUCH_CHURN_EVERY) through the real frame parser,
// market data service, engine, execution core and a durable store (BENCH_LATENCY_STORE=memory: an
// in-memory one); only the exchange is a recording fake. Each move is broken down by stage (see
// breakdownOf and src/market/hot-path.ts), store calls included, beside what a bare durable commit
// costs on the same disk at the same time (back to back, and after an idle gap as long as the one
// between moves: see rawCommit). BENCH_LATENCY_SECONDS (default 60) sets how long it runs.
// The bot's memory is bench/bot-footprint.ts (the bot alone, in its own process).
// BENCH_LATENCY_LIVE_VIEW=0 reads the store as before its live view (active orders, kill switch and
// escalation from the database on every evaluation and admission), for before/after comparisons.
// Then the engine's CPU per evaluation at BENCH_LATENCY_PAIRS symbols (default 380) is measured in
// process, before and after the live view and incremental evaluation, alternated (evaluationCpu).
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Dec, ZERO } from '../src/domain/decimal.ts';
import { ExchangeError } from '../src/domain/errors.ts';
import type { OrderRequest } from '../src/domain/orders.ts';
import type { OrderAck, OrderStatusReport } from '../src/domain/reports.ts';
import type { SymbolRules } from '../src/domain/symbols.ts';
import { parseFrame } from '../src/btcturk/websocket/messages.ts';
import { Engine, type EngineMarket, type EngineOms } from '../src/engine/engine.ts';
import { OrderRateBudget } from '../src/engine/rate-budget.ts';
import { parseRiskLimits } from '../src/engine/risk.ts';
import { HOT_PATH_CHANNEL, type HotPathStamp } from '../src/market/hot-path.ts';
import { MarketDataService } from '../src/market/service.ts';
import { Oms } from '../src/oms/index.ts';
import type { Exchange } from '../src/ports/exchange.ts';
import type { MarketFeed, MarketFeedListener } from '../src/ports/market-feed.ts';
import type { Store, StoredOrder } from '../src/ports/store.ts';
import type { TopOfBook } from '../src/market/service.ts';
import type { CancelResult } from '../src/oms/execution.ts';
import type { OrderRef, ReconcileReport, SubmitIntent } from '../src/oms/oms.ts';
import type { ReplaceRequest, ReplaceResult } from '../src/oms/replace.ts';
import type { Decimal } from 'decimal.js';
import { openLiveStore } from '../src/store/live-view.ts';
import { openSqliteStore } from '../src/store/sqlite/open.ts';
import { marketMakerDefinition } from '../src/strategies/market-maker.ts';

const SYMBOL = 'BTCTRY';
const UPDATES_PER_SECOND = 1_000;
// A move replaces both quotes: four order requests. The engine's budget at BTCTurk's 300 a minute
// allows 50 per 10 s, so a move every 900 ms stays inside it (44 per 10 s) and every move is acted
// on at once; faster moves would measure the budget's deferral, not the path.
const MOVE_EVERY_MS = 900;
/**
 * One frame in this many (of those that move no price) changes the quantity at the touch: the top
 * changes, its prices do not (BENCH_TOUCH_CHURN_EVERY, default 4; 0: only depth below the touch
 * changes, as the bench measured before the stage breakdown).
 */
function touchChurnEvery(): number {
  const value = Number(process.env.BENCH_TOUCH_CHURN_EVERY ?? 4);
  if (!(Number.isInteger(value) && value >= 0))
    throw new Error('BENCH_TOUCH_CHURN_EVERY must be a whole number, 0 or more');
  return value;
}
const RULES: SymbolRules = {
  symbol: SYMBOL,
  base: 'BTC',
  quote: 'TRY',
  status: 'TRADING',
  quantityScale: 8,
  priceScale: 0,
  tickSize: new Dec(1),
  minPrice: new Dec(1),
  maxPrice: new Dec('100000000'),
  minExchangeValue: new Dec(100),
  minQuantity: null,
  maxQuantity: null,
  orderMethods: ['limit', 'market'],
};

function seconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a number of seconds above 0`);
  return value;
}

/** An exchange that accepts everything at once and notes when each order request is written. */
class RecordingExchange implements Partial<Exchange> {
  onRequest: (kind: 'cancel' | 'submit') => void = () => undefined;
  readonly #orders = new Map<string, { request: OrderRequest; status: 'open' | 'canceled' }>();
  #next = 1;

  submitOrder(order: OrderRequest): Promise<OrderAck> {
    this.onRequest('submit');
    const id = String(this.#next++);
    this.#orders.set(id, { request: order, status: 'open' });
    return Promise.resolve({
      exchangeOrderId: id,
      clientOrderId: order.clientOrderId,
      symbol: order.symbol,
      side: order.side,
      method: order.method,
      price: order.price ?? null,
      quantity: order.quantity,
      createdAt: Date.now(),
    });
  }

  cancelOrder(id: string): Promise<void> {
    this.onRequest('cancel');
    const order = this.#orders.get(id);
    if (order) order.status = 'canceled';
    return Promise.resolve();
  }

  order(id: string): Promise<OrderStatusReport> {
    const order = this.#orders.get(id);
    if (!order)
      return Promise.reject(
        new ExchangeError('rejected', 'not found', { operation: 'GET order', reason: 'order-not-found' }),
      );
    const { request } = order;
    return Promise.resolve({
      exchangeOrderId: id,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      method: request.method,
      price: request.price ?? null,
      stopPrice: null,
      quantity: request.quantity,
      leftQuantity: request.quantity,
      status: order.status,
      createdAt: null,
      updatedAt: null,
    });
  }

  openOrders(): Promise<OrderStatusReport[]> {
    return Promise.resolve([]);
  }

  orderHistory(): Promise<OrderStatusReport[]> {
    return Promise.resolve([]);
  }

  fills(): Promise<never[]> {
    return Promise.resolve([]);
  }

  balances() {
    return Promise.resolve([
      { asset: 'TRY', total: new Dec(10_000_000), free: new Dec(10_000_000), locked: ZERO },
      { asset: 'BTC', total: ZERO, free: ZERO, locked: ZERO },
    ]);
  }
}

/** A market feed the bench drives with BTCTurk text frames, read by the real frame parser. */
class DrivenFeed implements MarketFeed {
  readonly connected = true;
  listener: MarketFeedListener | null = null;
  /** When the last frame arrived and when it was parsed (performance.now()). */
  arrivedAt = 0;
  parsedAt = 0;
  connectionCounts() {
    return { connects: 1, reconnects: 0 };
  }
  listen(listener: MarketFeedListener) {
    this.listener = listener;
    return () => {
      this.listener = null;
    };
  }
  /** One text frame, as the socket client hands it on: parsed, then each message to the listener. */
  frame(text: string): void {
    const receivedAt = performance.now();
    this.arrivedAt = receivedAt;
    const parsed = parseFrame(text, Date.now());
    this.parsedAt = performance.now();
    if (!parsed.ok) throw new Error(`bench frame unreadable: ${parsed.reason}`);
    for (const message of parsed.messages)
      if (message.kind === 'book-snapshot' || message.kind === 'book-diff')
        this.listener?.event(message, receivedAt);
  }
  watch(): void {}
  unwatch(): void {}
  resyncBook(): void {}
  lastAliveAt(): number | null {
    return null; // every frame is driven: the book's age is its last frame's
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

/** One thing that happened on the path from a market move to its orders. */
interface PathEvent {
  readonly what: string;
  readonly at: number;
  /** Store calls: when the call returned (its promise settled). */
  readonly end?: number;
}

const STORE_WRITES: ReadonlySet<string> = new Set([
  'journalOrder',
  'journalOrders',
  'applyEvent',
  'recordFill',
  'adoptOrder',
  'adoptOrders',
  'beginReplace',
  'advanceReplace',
  'advanceFillCursor',
  'setEscalation',
  'recordEquitySnapshot',
  'setKillSwitch',
  'clearKillSwitch',
]);

/** The store with every call noted (start and settle) into `sink` while it is set. */
function tracedStore(store: Store, sink: () => PathEvent[] | null): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || typeof key !== 'string') return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const events = sink();
        const result = method.apply(target, args);
        if (events === null || !(result instanceof Promise)) return result;
        const at = performance.now();
        return result.then((v: unknown) => {
          events.push({ what: `store.${key}`, at, end: performance.now() });
          return v;
        });
      };
    },
  });
}

/** Per move: the time between consecutive stages (ms), named `from→to`. */
type Breakdown = Map<string, number | string>;

/**
 * The stages of one move, from its events. First request: the replace's cancel (its DELETE
 * written); replacement: the new order's POST written. Store time is split into commits (writes:
 * the journal) and reads, each counted from call to settle.
 */
function breakdownOf(events: readonly PathEvent[]): Breakdown | null {
  const first = (what: string, after = 0) => events.find((e) => e.what === what && e.at >= after);
  const arrival = first('arrival');
  const parsed = first('parsed');
  const book = first('book');
  // The evaluation that saw the move: the first to wake after its book was applied.
  const wake = book && events.find((e) => e.what.startsWith('wake#') && e.at >= book.at);
  if (!arrival || !parsed || !book || !wake) return null;
  const evaluation = wake.what.slice('wake#'.length);
  const ofEval = (stage: string) => first(`${stage}#${evaluation}`);
  const read = ofEval('read');
  const strategy = ofEval('strategy');
  const diff = ofEval('diff');
  const gates = ofEval('gates');
  const dispatch = ofEval('dispatch');
  const cancel = first('exchange.cancel', wake.at);
  const submit = first('exchange.submit', wake.at);
  if (!read || !strategy || !diff || !gates || !dispatch || !cancel || !submit) return null;
  const out: Breakdown = new Map();
  const span = (name: string, from: PathEvent, to: PathEvent) => out.set(name, to.at - from.at);
  span('parse', arrival, parsed);
  span('book', parsed, book);
  span('wake (throttle/loop)', book, wake);
  span('read (store reads)', wake, read);
  span('strategy', read, strategy);
  span('diff', strategy, diff);
  span('gates', diff, gates);
  span('dispatch', gates, dispatch);
  span('oms → cancel written', gates, cancel);
  span('cancel → replacement written', cancel, submit);
  span('total: first request', arrival, cancel);
  span('total: replacement', arrival, submit);
  // Store time inside the two execution-core legs (calls overlapping a leg's end are cut there).
  const storeTime = (from: number, to: number, writes: boolean) => {
    let ms = 0;
    let n = 0;
    for (const e of events) {
      if (e.end === undefined || !e.what.startsWith('store.')) continue;
      if (STORE_WRITES.has(e.what.slice('store.'.length)) !== writes) continue;
      const a = Math.max(e.at, from);
      const b = Math.min(e.end, to);
      if (b > a) {
        ms += b - a;
        n += 1;
      }
    }
    return { ms, n };
  };
  // Which store calls each leg made, in order (the same for every move: kept as text).
  const calls = (from: number, to: number) =>
    events
      .filter((e) => e.end !== undefined && e.at >= from && e.at < to)
      .map(
        (e) =>
          `${STORE_WRITES.has(e.what.slice('store.'.length)) ? 'W ' : ''}${e.what.slice('store.'.length)}`,
      )
      .join(', ');
  out.set(`calls: evaluation`, calls(wake.at, dispatch.at));
  out.set(`calls: oms → cancel`, calls(dispatch.at, cancel.at));
  out.set(`calls: cancel → replacement`, calls(cancel.at, submit.at));
  for (const [leg, from, to] of [
    ['oms → cancel', dispatch.at, cancel.at],
    ['cancel → replacement', cancel.at, submit.at],
  ] as const) {
    const w = storeTime(from, to, true);
    const r = storeTime(from, to, false);
    out.set(`${leg}: journal commits (ms)`, w.ms);
    out.set(`${leg}: journal commits (n)`, w.n);
    out.set(`${leg}: store reads (ms)`, r.ms);
    out.set(`${leg}: store reads (n)`, r.n);
  }
  return out;
}

function bookFrame(
  type: 431 | 432,
  changeSet: number,
  bids: readonly (readonly [string, string, number])[],
  asks: readonly (readonly [string, string, number])[],
): string {
  const rows = (levels: readonly (readonly [string, string, number])[]) =>
    levels
      .map(([price, amount, cp]) =>
        type === 431 ? `{"A":"${amount}","P":"${price}"}` : `{"CP":${cp},"P":"${price}","A":"${amount}"}`,
      )
      .join(',');
  return `[${type},{"CS":${changeSet},"PS":"${SYMBOL}","AO":[${rows(asks)}],"BO":[${rows(bids)}],"channel":"obdiff","event":"${SYMBOL}","type":${type}}]`;
}

/**
 * What one durable commit costs on this disk now (WAL, synchronous=FULL, a one-row transaction):
 * the floor under every journal write, measured beside the run because shared machines vary.
 * Back to back (300 commits), and after the bot's idle gap between market moves (MOVE_EVERY_MS,
 * BENCH_IDLE_COMMITS of them, default 15): the journal's commit on a move is the first after such
 * a gap, and a disk (a virtual one most of all) syncs slower when it was idle.
 */
async function rawCommit(dir: string): Promise<Record<string, number>> {
  const db = new Database(join(dir, 'raw-commit.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('create table t (id integer primary key, body text)');
    const insert = db.prepare('insert into t (body) values (?)');
    const write = db.transaction((body: string) => insert.run(body));
    const timed = () => {
      const start = performance.now();
      write('x'.repeat(300));
      return performance.now() - start;
    };
    const warm: number[] = [];
    for (let i = 0; i < 300; i += 1) warm.push(timed());
    const idle: number[] = [];
    const idleCommits = Number(process.env.BENCH_IDLE_COMMITS ?? 15);
    for (let i = 0; i < idleCommits; i += 1) {
      await sleep(MOVE_EVERY_MS);
      idle.push(timed());
    }
    warm.sort((a, b) => a - b);
    idle.sort((a, b) => a - b);
    const disk = await rawSync(join(dir, 'raw-sync.bin'), idleCommits);
    return {
      rawDurableCommitP50Ms: percentile(warm, 0.5),
      rawDurableCommitP99Ms: percentile(warm, 0.99),
      rawDurableCommitAfterIdleP50Ms: percentile(idle, 0.5),
      rawDurableCommitAfterIdleMaxMs: idle.at(-1) ?? Number.NaN,
      rawFdatasyncAfterIdleP50Ms: percentile(disk, 0.5),
      rawFdatasyncAfterIdleMaxMs: disk.at(-1) ?? Number.NaN,
    };
  } finally {
    db.close();
  }
}

/**
 * The disk alone under the commit: one 512-byte append and fdatasync to a plain file after the same
 * idle gap, no SQLite. What no journal format can go below while its write is synced before the send.
 */
async function rawSync(file: string, times: number): Promise<number[]> {
  const fd = openSync(file, 'w');
  try {
    const block = Buffer.alloc(512, 120);
    const out: number[] = [];
    for (let i = 0; i < times; i += 1) {
      await sleep(MOVE_EVERY_MS);
      const start = performance.now();
      writeSync(fd, block);
      fdatasyncSync(fd);
      out.push(performance.now() - start);
    }
    return out.sort((a, b) => a - b);
  } finally {
    closeSync(fd);
  }
}

/** Something run beside the engine on its store for the whole measurement (bench/alerts.ts); returns its stop. */
export type Beside = (store: Store) => Promise<() => Promise<void>>;

export async function tickToOrder(
  durationS: number,
  beside?: Beside,
): Promise<Record<string, number | string>> {
  // The durable journal, as `btcbot run` keeps it: a file in WAL mode with synchronous=FULL.
  // BENCH_LATENCY_STORE=memory measures with an in-memory store instead (no disk sync).
  const memory = process.env.BENCH_LATENCY_STORE === 'memory';
  const dir = mkdtempSync(join(tmpdir(), 'btcbot-latency-'));
  let path: PathEvent[] | null = null;
  const opened = await openSqliteStore({ path: memory ? ':memory:' : join(dir, 'journal.db') });
  // BENCH_LATENCY_LIVE_VIEW=0: every read goes to the database, as before src/store/live-view.ts.
  const live = process.env.BENCH_LATENCY_LIVE_VIEW !== '0';
  const viewed = live
    ? await openLiveStore(opened, {
        watch: memory ? { kind: 'none' } : { kind: 'sqlite', path: opened.location },
      })
    : opened;
  const store = tracedStore(viewed, () => path);
  const stopBeside = await beside?.(opened);
  const recording = new RecordingExchange();
  const exchange = recording as unknown as Exchange;
  const feed = new DrivenFeed();
  const market = new MarketDataService({
    feed,
    fetchBook: () => Promise.reject(new Error('no REST')),
    symbols: [SYMBOL],
  });
  // With the rules, as src/ops/compose/engine.ts builds it: a replace sizes its replacement by them.
  const oms = new Oms({
    store,
    exchange,
    prefix: 'bench',
    symbols: [SYMBOL],
    rules: new Map([[SYMBOL, RULES]]),
  });
  const engine = new Engine({
    oms,
    store,
    exchange,
    market,
    strategy: marketMakerDefinition.create({}),
    limits: parseRiskLimits({ maxOrderQuote: '1000000', maxPositionQuote: '100000000' }),
    symbols: [SYMBOL],
    rules: new Map([[SYMBOL, RULES]]),
    budget: new OrderRateBudget(300),
  });
  const onStamp = (message: unknown) => {
    const stamp = message as HotPathStamp;
    path?.push({
      what: stamp.stage === 'book' ? 'book' : `${stamp.stage}#${stamp.evaluation}`,
      at: stamp.at,
    });
  };
  subscribe(HOT_PATH_CHANNEL, onStamp);
  market.start();
  engine.start();
  await oms.start();

  let changeSet = 1;
  feed.frame(
    bookFrame(
      431,
      changeSet,
      [
        ['3500000', '1', 1],
        ['3400000', '5', 1],
      ],
      [
        ['3500100', '1', 1],
        ['3600000', '5', 1],
      ],
    ),
  );

  const toFirstRequest: number[] = [];
  const toReplacement: number[] = [];
  const breakdowns: Breakdown[] = [];
  let movedAt: number | null = null;
  let firstSeen = false;
  recording.onRequest = (kind) => {
    if (movedAt === null) return;
    const now = performance.now();
    path?.push({ what: `exchange.${kind}`, at: now });
    const latency = now - movedAt;
    if (!firstSeen) {
      toFirstRequest.push(latency);
      firstSeen = true;
    }
    if (kind === 'submit') {
      toReplacement.push(latency);
      movedAt = null;
      const moved = path;
      path = null;
      // The second replace of the move runs on: its events are not this breakdown's.
      if (moved) {
        const breakdown = breakdownOf(moved);
        if (breakdown) breakdowns.push(breakdown);
      }
    }
  };
  await sleep(500); // the first quote goes out

  const levels = [
    ['3500000', '3500100'],
    ['3517500', '3517600'], // +50 bps: beyond the maker's requote threshold
  ] as const;
  let at = 0;
  let frames = 0;
  let skipped = 0;
  const touchEvery = touchChurnEvery();
  const started = performance.now();
  let nextMove = started + MOVE_EVERY_MS;
  while (performance.now() - started < durationS * 1000) {
    const batchStart = performance.now();
    // Ten frames every 10 ms, back to back, as a socket read holding several frames hands them on.
    for (let i = 0; i < UPDATES_PER_SECOND / 100; i += 1) {
      frames += 1;
      changeSet += 1;
      if (performance.now() >= nextMove) {
        nextMove += MOVE_EVERY_MS;
        if (movedAt !== null) {
          skipped += 1; // the last move's replacement is not out yet: this one would overlap it
        } else {
          const [fromBid, fromAsk] = levels[at] ?? levels[0];
          at = 1 - at;
          const [toBid, toAsk] = levels[at] ?? levels[0];
          firstSeen = false;
          path = [];
          feed.frame(
            bookFrame(
              432,
              changeSet,
              [
                [fromBid, '0', 3],
                [toBid, '1', 1],
              ],
              [
                [fromAsk, '0', 3],
                [toAsk, '1', 1],
              ],
            ),
          );
          movedAt = feed.arrivedAt;
          path.push({ what: 'arrival', at: feed.arrivedAt }, { what: 'parsed', at: feed.parsedAt });
          path.sort((a, b) => a.at - b.at);
          // The move ends its batch: frames handed on after it in the same turn would be counted in
          // the evaluation's store reads (it resumes only once they are applied).
          break;
        }
      }
      // Churn that moves no price: one frame in BENCH_TOUCH_CHURN_EVERY changes the quantity at the
      // touch (the top changes, its prices do not), the others change depth below it.
      const [bidAt, askAt] =
        touchEvery > 0 && frames % touchEvery === 0 ? (levels[at] ?? levels[0]) : ['3400000', '3600000'];
      feed.frame(
        bookFrame(
          432,
          changeSet,
          [[bidAt, String(1 + (frames % 7)), 0]],
          [[askAt, String(1 + (frames % 5)), 0]],
        ),
      );
    }
    await sleep(Math.max(0, 10 - (performance.now() - batchStart)));
  }
  const elapsed = (performance.now() - started) / 1000;
  await engine.stop();
  await oms.stop();
  await market.stop();
  unsubscribe(HOT_PATH_CHANNEL, onStamp);
  await stopBeside?.();
  await store.close();
  const commit = await rawCommit(dir);
  rmSync(dir, { recursive: true, force: true });
  const first = [...toFirstRequest].sort((a, b) => a - b);
  const replaced = [...toReplacement].sort((a, b) => a - b);
  const result: Record<string, number | string> = {
    journal: memory ? 'in-memory (no disk sync)' : 'file, WAL, synchronous=FULL',
    liveView: live ? 'on (src/store/live-view.ts)' : 'off (every read to the database)',
    touchQuantityChangesPerSecond: touchEvery > 0 ? UPDATES_PER_SECOND / touchEvery : 0,
    bookUpdatesPerSecond: frames / elapsed,
    moves: first.length,
    movesSkippedOverlapping: skipped,
    tickToFirstRequestP50Ms: percentile(first, 0.5),
    tickToFirstRequestP99Ms: percentile(first, 0.99),
    tickToReplacementP50Ms: percentile(replaced, 0.5),
    tickToReplacementP99Ms: percentile(replaced, 0.99),
    ...commit,
  };
  const stages = breakdowns[0] ? [...breakdowns[0].keys()] : [];
  for (const stage of stages) {
    const sample = breakdowns[0]?.get(stage);
    if (typeof sample === 'string') {
      // The calls of the median move (they hardly vary).
      result[`stage ${stage}`] = breakdowns[Math.floor(breakdowns.length / 2)]?.get(stage) ?? sample;
      continue;
    }
    const values = breakdowns.map((b) => Number(b.get(stage) ?? Number.NaN)).sort((a, b) => a - b);
    const counted = stage.endsWith('(n)');
    result[`stage ${stage} p50${counted ? '' : 'Ms'}`] = percentile(values, 0.5);
    result[`stage ${stage} p99${counted ? '' : 'Ms'}`] = percentile(values, 0.99);
  }
  return result;
}

/** A market of many symbols whose tops the CPU measurement below sets directly. */
class StaticMarket implements EngineMarket {
  readonly tops = new Map<string, TopOfBook>();
  set(symbol: string, bid: number, changeSet: number): void {
    this.tops.set(symbol, {
      symbol,
      bid: { price: new Dec(bid), quantity: new Dec(1) },
      ask: { price: new Dec(bid + 100), quantity: new Dec(1) },
      ageMs: 0,
      status: 'live',
      source: 'stream',
      changeSet,
    });
  }
  top(symbol: string): TopOfBook | null {
    return this.tops.get(symbol) ?? null;
  }
  canTrade(): boolean {
    return true;
  }
  on(): unknown {
    return this;
  }
  off(): unknown {
    return this;
  }
}

/** An execution core that carries every action out at once in the store (no exchange). */
class InstantOms implements EngineOms {
  readonly ready = true;
  #n = 0;
  constructor(private readonly store: Store) {}
  async #place(
    symbol: string,
    side: 'buy' | 'sell',
    quantity: Decimal,
    price: Decimal | undefined,
    intentId: string | null,
  ): Promise<StoredOrder> {
    const n = ++this.#n;
    const order = await this.store.journalOrder(
      {
        clientOrderId: `cpu-${n}`,
        symbol,
        side,
        method: 'limit',
        quantity,
        price,
        intentId,
        strategy: 'cpu',
      },
      { sent: true },
    );
    return (await this.store.applyEvent(order.id, { type: 'acked', exchangeOrderId: String(n) })).order;
  }
  submit(intent: SubmitIntent): Promise<StoredOrder> {
    return this.#place(intent.symbol, intent.side, intent.quantity, intent.price, intent.intentId ?? null);
  }
  async cancel(ref: OrderRef): Promise<CancelResult> {
    const order = 'clientOrderId' in ref ? await this.store.orderByClientId(ref.clientOrderId) : undefined;
    if (!order) throw new Error('unknown order');
    await this.store.applyEvent(order.id, { type: 'cancel-requested' });
    return {
      order: (await this.store.applyEvent(order.id, { type: 'canceled' })).order,
      outcome: 'canceled',
    };
  }
  async replace(ref: string | StoredOrder, request: ReplaceRequest): Promise<ReplaceResult> {
    const old = typeof ref === 'string' ? await this.store.order(ref) : ref;
    if (!old?.clientOrderId) throw new Error('unknown order');
    const { order: closed } = await this.cancel({ clientOrderId: old.clientOrderId });
    const replacement = await this.#place(
      old.symbol,
      old.side,
      request.quantity ?? old.quantity,
      request.price,
      old.intentId,
    );
    return {
      txn: { outcome: 'replaced', reason: null } as unknown as ReplaceResult['txn'],
      old: closed,
      replacement,
    };
  }
  onFill(): Promise<void> {
    return Promise.resolve();
  }
  onOrderReport(): Promise<void> {
    return Promise.resolve();
  }
  reconcile(): Promise<ReconcileReport> {
    return Promise.reject(new Error('not in this measurement'));
  }
}

/**
 * The engine's CPU per evaluation with `pairs` symbols quoted, one symbol's best prices moving
 * before each evaluation (a replace carried out at once in an in-memory store, or nothing): as before the
 * live view and incremental evaluation (every read to the database, every symbol every time), and
 * with both. CPU time of this process (user + system), so the machine's load changes it little.
 */
export async function evaluationCpu(pairs: number, evaluations: number): Promise<Record<string, number>> {
  const symbols = Array.from({ length: pairs }, (_, i) => `P${String(i).padStart(3, '0')}TRY`);
  const rules = new Map(symbols.map((symbol, i) => [symbol, { ...RULES, symbol, base: `P${i}` }]));
  const measure = async (after: boolean, moveBy: number): Promise<number> => {
    let t = 1_700_000_000_000;
    const clock = { now: () => t, monotonic: () => t, sleep: () => Promise.resolve() };
    const opened = await openSqliteStore({ path: ':memory:', clock });
    const store: Store = after ? await openLiveStore(opened, { watch: { kind: 'none' }, clock }) : opened;
    const market = new StaticMarket();
    symbols.forEach((symbol, i) => {
      market.set(symbol, 3_500_000 + i, 1);
    });
    const engine = new Engine({
      oms: new InstantOms(store),
      store,
      exchange: {
        balances: () =>
          Promise.resolve([{ asset: 'TRY', total: new Dec(1e12), free: new Dec(1e12), locked: ZERO }]),
      },
      market,
      strategy: marketMakerDefinition.create({}),
      limits: parseRiskLimits({
        maxOrderQuote: '1000000',
        maxPositionQuote: '100000000',
        maxOpenOrders: 1000,
      }),
      symbols,
      rules,
      budget: new OrderRateBudget(300),
      clock,
      timers: {
        setTimeout: () => 0,
        clearTimeout: () => undefined,
        setInterval: () => 0,
        clearInterval: () => undefined,
      },
      incremental: after,
    });
    await engine.refreshBalances();
    // Every symbol quoted first (the budget lets 50 requests through every 10 s of the fake clock).
    for (let i = 0; i < Math.ceil(pairs / 40) + 2; i += 1) {
      t += 10_000;
      await engine.evaluate();
      await engine.settle();
    }
    const started = process.cpuUsage();
    for (let i = 0; i < evaluations; i += 1) {
      t += 1_000;
      const symbol = symbols[i % pairs] ?? '';
      market.set(symbol, 3_500_000 + (i % 2 === 0 ? moveBy : 0) + (i % pairs), i + 2);
      await engine.evaluate();
      await engine.settle();
    }
    const used = process.cpuUsage(started);
    await engine.stop();
    await store.close();
    return (used.user + used.system) / 1000 / evaluations;
  };
  const out: Record<string, number> = {};
  // Alternated, twice each: before, after, before, after. A move of 20,000 (57 bps) replaces the
  // symbol's quote (its writes are counted); one of 1 stays within the requote threshold (none).
  for (const [what, moveBy] of [
    ['quote replaced', 20_000],
    ['nothing to do', 1],
  ] as const)
    for (const round of [1, 2])
      for (const after of [false, true])
        out[
          `evaluationCpu ${pairs} pairs, ${what}, ${after ? 'after (live view, incremental)' : 'before'} #${round} (ms/evaluation)`
        ] = await measure(after, moveBy);
  return out;
}

export async function run(): Promise<Record<string, number | string>> {
  const cpu = await evaluationCpu(Number(process.env.BENCH_LATENCY_PAIRS ?? 380), 400);
  return { ...(await tickToOrder(seconds('BENCH_LATENCY_SECONDS', 60))), ...cpu };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await run();
  for (const [name, value] of Object.entries(results)) process.stdout.write(`${name}: ${String(value)}\n`);
}
