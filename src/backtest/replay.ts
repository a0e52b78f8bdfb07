import type { Decimal } from 'decimal.js';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { Dec, ZERO } from '../domain/decimal.ts';
import { ConfigError } from '../domain/errors.ts';
import { seededRandom } from '../domain/random.ts';
import type { SymbolRules } from '../domain/symbols.ts';
import { DEFAULT_DRY_RUN_QUOTE, fillReport, userStreamOf } from '../engine/dry-run-exchange.ts';
import { Engine } from '../engine/engine.ts';
import { unrealisedPnl } from '../engine/portfolio.ts';
import { DEFAULT_ORDERS_PER_MINUTE, MAX_ORDERS_PER_MINUTE, OrderRateBudget } from '../engine/rate-budget.ts';
import { DEFAULT_STRATEGY, loadEngineConfig } from '../engine/strategy-config.ts';
import { MarketDataService } from '../market/service.ts';
import { accountFills, applyFill, quoteCosts, type PositionPnl } from '../oms/accounting.ts';
import { Oms } from '../oms/index.ts';
import type { MarketFeedEvent } from '../ports/market-feed.ts';
import type { Store } from '../ports/store.ts';
import type { RecordedEvent } from '../record/format.ts';
import { readIndex, readRecording } from '../record/reader.ts';
import { defaultMarkets } from '../sim/engine/index.ts';
import { openSqliteStore } from '../store/sqlite/open.ts';
import { openLiveStore } from '../store/live-view.ts';
import { DEFAULT_LATENCY_MS, DEFAULT_SAMPLE_EVERY_MS, type BacktestOptions } from './options.ts';
import { QueueExchange } from './queue-exchange.ts';
import { ReplayFeed } from './replay-feed.ts';
import type {
  BacktestFill,
  BacktestResult,
  EquityPoint,
  InventoryPoint,
  MidPoint,
  PnlText,
  QuotePoint,
  SymbolSummary,
} from './types.ts';
import { VirtualClock } from './virtual-clock.ts';

// One backtest: the recording replayed on a virtual clock through the same MarketDataService,
// Engine (strategy, risk gates), Oms, SQLite store and accounting `btcbot run` wires (see
// src/ops/session.ts; that wiring opens sockets and HTTP clients, so the same classes are wired
// here around the replay feed and the queue-position exchange instead). Nothing reads the wall
// clock, and the only I/O is reading the recording, whose next event is asked for once the bot has
// settled on the last one (the bot never waits on it), so the same data and options give the same
// result.

/** Client order id prefix of a backtest's orders. */
const PREFIX = 'bt';
/**
 * The bot's work caused by one event is done at the first turn of the event loop that finds no
 * store call in flight. At a turn's start every promise reaction queued so far has run, so what
 * is still pending waits on something: the store (its calls are counted until they settle, and
 * its group commit takes turns of its own), the virtual clock (whose timers fire as the replay
 * advances), or the queue exchange's replies (which come on those timers). Nothing else in the
 * replayed code takes a turn (no real timer, no I/O). A turn costs an event-loop iteration, and
 * every replayed event and fired timer that starts work takes at least one.
 */
const MAX_TURNS = 500;
/** After the data ends, requests in flight get this long (virtual) to finish. */
const DRAIN_LIMIT_MS = 10 * 60_000;

interface Prepared {
  readonly t: number;
  readonly marker: RecordedEvent | null;
  readonly events: readonly MarketFeedEvent[];
}

/** Entries ordered by key (code-unit order, as the summary lists assets). */
const byKey = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number =>
  a < b ? -1 : a > b ? 1 : 0;

function checkedNumber(setting: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < min)
    throw new ConfigError(setting, `must be a number of at least ${min}, got ${String(value)}`);
  return value;
}

function decimalOption(setting: string, value: string | undefined): Decimal | undefined {
  if (value === undefined) return undefined;
  try {
    const d = new Dec(value);
    if (!d.isFinite() || d.isNegative() || d.gte(1)) throw new Error('out of range');
    return d;
  } catch {
    throw new ConfigError(setting, `must be a rate in [0, 1), e.g. 0.0008, got "${value}"`);
  }
}

/** Trading rules: BTCTurk's as the simulator states them (tick, scales, minimum value). */
function rulesFor(symbols: readonly string[]): Map<string, SymbolRules> {
  const known = new Map(defaultMarkets().map((m) => [m.symbol, m.rules] as const));
  const out = new Map<string, SymbolRules>();
  for (const symbol of symbols) {
    const rules = known.get(symbol);
    if (!rules)
      throw new ConfigError(
        '--symbols',
        `${symbol} has no trading rules here (known: ${[...known.keys()].join(', ')})`,
      );
    out.set(symbol, rules);
  }
  return out;
}

function balancesFor(
  given: Readonly<Record<string, string>> | undefined,
  rules: ReadonlyMap<string, SymbolRules>,
): Map<string, Decimal> {
  if (given === undefined)
    return new Map([...rules.values()].map((r) => [r.quote, DEFAULT_DRY_RUN_QUOTE] as const));
  const out = new Map<string, Decimal>();
  for (const [asset, text] of Object.entries(given).sort(byKey)) {
    let amount: Decimal;
    try {
      amount = new Dec(text);
    } catch {
      throw new ConfigError('--balances', `${asset}=${text}: not a decimal amount`);
    }
    if (!amount.isFinite() || amount.isNegative())
      throw new ConfigError('--balances', `${asset}=${text}: must be 0 or more`);
    out.set(asset, amount);
  }
  return out;
}

/** The recording's events in `[from, to]`, parsed; frames that carry no market event are left out. */
async function* stream(
  dir: string,
  from: number | undefined,
  to: number | undefined,
): AsyncGenerator<Prepared> {
  // `to` is inclusive for the user; the reader's upper bound is exclusive.
  const range = { from, to: to === undefined ? undefined : to + 1e-6 };
  for await (const event of readRecording(dir, range)) {
    if (event.k === 'frame') {
      const events = ReplayFeed.eventsOf(event);
      if (events.length > 0) yield { t: event.t, marker: null, events };
    } else yield { t: event.t, marker: event, events: [] };
  }
}

async function prepare(dir: string, from: number | undefined, to: number | undefined): Promise<Prepared[]> {
  const out: Prepared[] = [];
  for await (const event of stream(dir, from, to)) out.push(event);
  return out;
}

/**
 * The parsed events of the recording replayed last, kept for a caller that replays the same data
 * again and again (a grid worker: every point reads the same range). Keyed by the directory, the
 * range and the recording's index; the replay only reads the events it is given.
 */
export class PreparedEvents {
  #key: string | null = null;
  #events: Prepared[] = [];

  async of(
    dir: string,
    from: number | undefined,
    to: number | undefined,
    index: unknown,
  ): Promise<Prepared[]> {
    const key = JSON.stringify([resolve(dir), from ?? null, to ?? null, index]);
    if (this.#key !== key) {
      this.#key = null;
      this.#events = await prepare(dir, from, to);
      this.#key = key;
    }
    return this.#events;
  }
}

/**
 * A decimal for the result: at most 8 places. Fills, fees and balances are exact well within that;
 * average-cost PnL divides, and its 40-digit tail says nothing.
 */
const text = (d: Decimal): string => d.toDecimalPlaces(8, Dec.ROUND_HALF_EVEN).toFixed();

/**
 * The store with its calls counted: the replay moves on only once the bot's store work is over
 * (SQLite answers without I/O waits, but through promises and the group commit's turns).
 */
function watchedStore(store: Store, work: { inFlight: number; total: number }): Store {
  const done = (): void => {
    work.inFlight--;
  };
  // One counting wrapper per method, made on first use (the engine calls the store thousands of
  // times a replayed minute).
  const wrapped = new Map<PropertyKey, { readonly of: unknown; readonly call: unknown }>();
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const known = wrapped.get(property);
      if (known?.of === value) return known.call;
      const call = (...args: unknown[]): unknown => {
        work.total++;
        const result: unknown = Reflect.apply(value, target, args);
        if (result instanceof Promise) {
          work.inFlight++;
          result.then(done, done);
        }
        return result;
      };
      wrapped.set(property, { of: value, call });
      return call;
    },
  });
}

/** Two prices (or their absence) are the same. */
const samePrice = (a: Decimal | null, b: Decimal | null): boolean =>
  a === b || (a !== null && b !== null && a.eq(b));

const pnlText = (realised: Decimal, unrealised: Decimal, fees: Decimal): PnlText => ({
  realised: text(realised),
  unrealised: text(unrealised),
  fees: text(fees),
  total: text(realised.add(unrealised)),
});

class Drawdown {
  #peak: Decimal | null = null;
  max = ZERO;

  note(value: Decimal): void {
    if (this.#peak === null || value.gt(this.#peak)) this.#peak = value;
    const fall = this.#peak.sub(value);
    if (fall.gt(this.max)) this.max = fall;
  }
}

/** One backtest; `prepared` keeps the parsed recording for the next call (see PreparedEvents). */
export async function replay(options: BacktestOptions, prepared?: PreparedEvents): Promise<BacktestResult> {
  if (options.data.trim() === '') throw new ConfigError('--data', 'give the recording directory');
  const latencyMs = checkedNumber('--latency-ms', options.latencyMs, DEFAULT_LATENCY_MS, 0);
  const sampleEveryMs = checkedNumber('--sample-ms', options.sampleEveryMs, DEFAULT_SAMPLE_EVERY_MS, 1);
  const ordersPerMinute = checkedNumber(
    '--orders-per-minute',
    options.ordersPerMinute,
    DEFAULT_ORDERS_PER_MINUTE,
    1,
  );
  if (ordersPerMinute > MAX_ORDERS_PER_MINUTE)
    throw new ConfigError('--orders-per-minute', `must be at most ${MAX_ORDERS_PER_MINUTE}`);
  if (options.from !== undefined && options.to !== undefined && options.to < options.from)
    throw new ConfigError('--to', `must not be before --from`);
  const strategyName = options.strategy ?? DEFAULT_STRATEGY;
  const params = options.params ?? {};
  const engineConfig = loadEngineConfig({ name: strategyName, params, risk: options.risk });
  const fees = {
    makerFeeRate: decimalOption('--maker-fee', options.makerFeeRate),
    takerFeeRate: decimalOption('--taker-fee', options.takerFeeRate),
    taxRate: decimalOption('--tax-rate', options.taxRate),
  };

  let index;
  try {
    index = await readIndex(options.data);
  } catch (error) {
    throw new ConfigError('--data', (error as Error).message);
  }
  const symbols = options.symbols ?? index.symbols;
  if (symbols.length === 0) throw new ConfigError('--symbols', 'the recording lists no symbols; give them');
  for (const symbol of symbols)
    if (!index.symbols.includes(symbol))
      throw new ConfigError(
        '--symbols',
        `${symbol} is not in the recording (it has ${index.symbols.join(', ')})`,
      );
  const rules = rulesFor(symbols);
  const startBalances = balancesFor(options.balances, rules);

  // One replay reads the recording as it goes: parsed events live only until they are replayed
  // (held all at once they would make every young-generation collection copy them). A grid worker
  // replays the same range again and again, so it keeps them (PreparedEvents).
  const source: AsyncIterator<Prepared> | Iterator<Prepared> =
    prepared === undefined
      ? stream(options.data, options.from, options.to)
      : (await prepared.of(options.data, options.from, options.to, index))[Symbol.iterator]();
  let next = await source.next();
  const first: Prepared | undefined = next.done === true ? undefined : next.value;
  if (first === undefined)
    throw new ConfigError(
      options.from !== undefined || options.to !== undefined ? '--from/--to' : '--data',
      'no recorded events to replay in that range',
    );

  const clock = new VirtualClock(first.t);
  const logger = pino({ enabled: false });
  const exchange = new QueueExchange({ clock, rules, balances: startBalances, latencyMs, ...fees });
  const feed = new ReplayFeed(clock);
  const storeWork = { inFlight: 0, total: 0 };
  // Active orders, kill switch and escalation answered from memory (src/store/live-view.ts).
  const live = await openSqliteStore({ path: ':memory:', clock })
    .then((sqlite) => openLiveStore(sqlite, { watch: { kind: 'none' }, clock }))
    .catch(async (error: unknown) => {
      await source.return?.(); // the recording's file is open
      throw error;
    });
  const store = watchedStore(live, storeWork);
  try {
    const market = new MarketDataService({
      feed,
      fetchBook: (symbol) => exchange.orderBook(symbol, 100),
      symbols,
      clock,
    });
    const oms = new Oms({
      store,
      exchange,
      prefix: PREFIX,
      symbols,
      rules,
      clock,
      random: seededRandom(1),
      logger,
    });
    const engine = new Engine({
      oms,
      store,
      exchange,
      market,
      userStream: userStreamOf(exchange),
      strategy: engineConfig.strategy,
      limits: engineConfig.risk,
      symbols,
      rules,
      budget: new OrderRateBudget(ordersPerMinute),
      clock,
      timers: clock,
      logger,
    });

    const settle = async (): Promise<void> => {
      for (let turn = 0; turn < MAX_TURNS; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
        if (storeWork.inFlight === 0) return;
      }
    };
    /** Runs virtual time on (timers only, no market events) until `work` ends. */
    const drive = async <T>(work: Promise<T>, what: string): Promise<T> => {
      const state = { done: false };
      const tracked = work.finally(() => {
        state.done = true;
      });
      tracked.catch(() => undefined);
      const finished = (): boolean => state.done;
      await settle();
      const limit = clock.peekNow() + DRAIN_LIMIT_MS;
      while (!state.done) {
        const next = clock.nextDue();
        if (next === null) {
          // Work that waits for no timer: give it turns until it ends or stops moving.
          const before = storeWork.total;
          await settle();
          if (finished() || storeWork.total !== before) continue;
        }
        if (next === null || next > limit)
          throw new Error(
            `backtest: ${what} did not finish within ${DRAIN_LIMIT_MS / 1000} s of replay time`,
          );
        await clock.advanceTo(next, settle);
      }
      return tracked;
    };

    // ---- series ------------------------------------------------------------------------------------
    const positions = new Map<string, PositionPnl>();
    const lastMid = new Map<string, Decimal>();
    const equity: EquityPoint[] = [];
    const inventory: InventoryPoint[] = [];
    const mid: MidPoint[] = [];
    const quotes: QuotePoint[] = [];
    const lastQuotes = new Map<string, string>();
    const equityDrawdown = new Drawdown();
    const symbolDrawdown = new Map(symbols.map((s) => [s, new Drawdown()] as const));
    let fillSeen = false;
    exchange.onFill((fill) => {
      const r = rules.get(fill.symbol);
      if (!r) return;
      const report = fillReport(fill, r);
      const held = positions.get(fill.symbol);
      const next = held ? applyFill(held, report) : accountFills([report]).get(fill.symbol);
      if (next) positions.set(fill.symbol, next);
      inventory.push({ t: fill.timestamp, symbol: fill.symbol, position: text(next?.quantity ?? ZERO) });
      fillSeen = true;
    });

    // Which asset is a quote currency, and the first pair of each base asset (in the rules' order).
    const quoteAssets = new Set([...rules.values()].map((r) => r.quote));
    const pairOfBase = new Map<string, string>();
    for (const r of rules.values()) if (!pairOfBase.has(r.base)) pairOfBase.set(r.base, r.symbol);
    const valueHoldings = (): Decimal | null => {
      let total = ZERO;
      for (const [asset, amount] of exchange.holdings()) {
        if (amount.isZero()) continue;
        if (quoteAssets.has(asset)) {
          total = total.add(amount);
          continue;
        }
        const pair = pairOfBase.get(asset);
        const m = pair === undefined ? undefined : lastMid.get(pair);
        if (m === undefined) return null;
        total = total.add(amount.mul(m));
      }
      return total;
    };
    const symbolPnl = (symbol: string): Decimal => {
      const p = positions.get(symbol);
      if (!p) return ZERO;
      return p.realised.add(unrealisedPnl(p, lastMid.get(symbol) ?? null));
    };

    let nextSampleAt = first.t;
    /**
     * Per symbol: the touch last seen (and its mid), the touch last put in the series, and whether
     * they differ. Read after every replayed event, so the work is done only when the touch moved.
     */
    interface TouchNote {
      bid: Decimal | null;
      ask: Decimal | null;
      mid: Decimal | null;
      /** The series has a point of this symbol (its last at `at`). */
      noted: boolean;
      notedBid: Decimal | null;
      notedAsk: Decimal | null;
      at: number;
      /** The touch seen is not the one last put in the series. */
      pending: boolean;
    }
    const touchNotes = new Map<string, TouchNote>(
      symbols.map((s) => [
        s,
        {
          bid: null,
          ask: null,
          mid: null,
          noted: false,
          notedBid: null,
          notedAsk: null,
          at: 0,
          pending: false,
        },
      ]),
    );
    /** The recorded touch when it changed (per symbol at most once per sampling interval, unless forced). */
    const noteTouch = (symbol: string, t: number, force: boolean): void => {
      const note = touchNotes.get(symbol);
      if (note === undefined) return;
      const bid = exchange.bestPrice(symbol, 'buy');
      const ask = exchange.bestPrice(symbol, 'sell');
      if (!samePrice(bid, note.bid) || !samePrice(ask, note.ask)) {
        note.bid = bid;
        note.ask = ask;
        note.mid = bid !== null && ask !== null ? bid.add(ask).div(2) : null;
        note.pending = note.noted
          ? !samePrice(bid, note.notedBid) || !samePrice(ask, note.notedAsk)
          : bid !== null || ask !== null;
      }
      if (note.mid !== null) lastMid.set(symbol, note.mid);
      if (!note.pending) return;
      if (!force && note.noted && t - note.at < sampleEveryMs) return;
      note.noted = true;
      note.notedBid = bid;
      note.notedAsk = ask;
      note.at = t;
      note.pending = false;
      mid.push({
        t,
        symbol,
        bid: bid === null ? null : text(bid),
        ask: ask === null ? null : text(ask),
        mid: note.mid === null ? null : text(note.mid),
      });
    };
    /** Our best bid and ask when they change. */
    const noteQuotes = (symbol: string): void => {
      const ours = exchange.ourQuotes(symbol);
      const key = `${ours.bid?.toFixed() ?? ''}/${ours.ask?.toFixed() ?? ''}`;
      const previous = lastQuotes.get(symbol);
      if (previous === key || (previous === undefined && key === '/')) return;
      lastQuotes.set(symbol, key);
      quotes.push({
        t: clock.peekNow(),
        symbol,
        bid: ours.bid === null ? null : text(ours.bid),
        ask: ours.ask === null ? null : text(ours.ask),
      });
    };
    // Our resting orders change inside the core's pass; they are read once it is over.
    exchange.onUserEvent((event) => {
      if (event.kind === 'order') {
        const { symbol } = event;
        queueMicrotask(() => {
          noteQuotes(symbol);
        });
      }
    });
    /** Equity and PnL now and then, and after fills. */
    const sample = (force: boolean): void => {
      const t = clock.peekNow();
      for (const symbol of symbols) noteTouch(symbol, t, force);
      if (!(force || fillSeen || t >= nextSampleAt)) return;
      fillSeen = false;
      if (t >= nextSampleAt) nextSampleAt = t + sampleEveryMs;
      let pnl = ZERO;
      for (const symbol of symbols) {
        const value = symbolPnl(symbol);
        symbolDrawdown.get(symbol)?.note(value);
        pnl = pnl.add(value);
      }
      const value = valueHoldings();
      if (value === null) return;
      equityDrawdown.note(value);
      const point = { t, equity: text(value), pnl: text(pnl) };
      if (equity.at(-1)?.t === t) equity[equity.length - 1] = point;
      else equity.push(point);
    };

    // ---- the run -----------------------------------------------------------------------------------
    engine.start();
    market.start();
    const startup = oms.start();
    engine.startupReconciliation(startup);
    await settle();
    for (const symbol of symbols) inventory.push({ t: first.t, symbol, position: '0' });

    let replayed = 0;
    let last = first;
    for (; next.done !== true; next = await source.next()) {
      const event = next.value;
      last = event;
      await clock.advanceTo(event.t, settle);
      // An event neither the venue nor the bot takes (a ticker the service does not watch) starts
      // no work: the bot is as settled as it was after the timers above, and needs no turn.
      let taken = true;
      if (event.marker !== null) feed.marker(event.marker);
      else {
        taken = false;
        for (const e of event.events) if (exchange.onMarket(e)) taken = true;
        if (feed.deliver(event.events) > 0) taken = true;
      }
      if (taken) await settle();
      sample(false);
      replayed++;
      if (options.onProgress && replayed % 1000 === 0) options.onProgress(event.t - first.t, replayed);
    }
    const startEquityText = equity[0]?.equity ?? null;

    // The data ends: nothing new is decided, requests in flight complete against the last book.
    await drive(engine.stop(), 'stopping the engine');
    await drive(market.stop(), 'stopping the market data');
    await drive(oms.stop(), 'stopping the execution core');
    await drive(startup, 'the start-up reconciliation');
    // Fills the private stream brought are in the store; a last reconciliation checks it as `run` does.
    await drive(oms.reconcile({ lookbackMs: last.t - first.t + 60_000 }), 'the final reconciliation');
    sample(true);

    // ---- the summary (from the store's fills, through the accounting `run` uses) --------------------
    const stored = (await drive(store.fills(), 'reading the fills')).filter((f) => rules.has(f.symbol));
    const ledger = accountFills(stored);
    const stats = exchange.stats();
    const perSymbol: Record<string, SymbolSummary> = {};
    let realised = ZERO;
    let unrealised = ZERO;
    let feesPaid = ZERO;
    let makerQty = ZERO;
    let allQty = ZERO;
    const ordered = [...stored].sort((a, b) => a.timestamp - b.timestamp || (a.tradeId < b.tradeId ? -1 : 1));
    const fills: BacktestFill[] = ordered.map((f) => ({
      t: f.timestamp,
      symbol: f.symbol,
      side: f.side,
      price: text(f.price),
      quantity: text(f.quantity),
      liquidity: exchange.isMaker(f) === false ? 'taker' : 'maker',
      fee: text(quoteCosts(f)),
      orderId: f.exchangeOrderId,
      clientOrderId: null,
    }));
    const ordersBySymbol = new Map<string, number>();
    for (const symbol of symbols) {
      const history = await drive(exchange.orderHistory({ symbol }), 'reading the order history');
      ordersBySymbol.set(symbol, history.length);
    }
    for (const symbol of symbols) {
      const r = rules.get(symbol) as SymbolRules;
      const position = ledger.get(symbol);
      const mark = lastMid.get(symbol) ?? null;
      const own = stored.filter((f) => f.symbol === symbol);
      let bought = ZERO;
      let sold = ZERO;
      let volume = ZERO;
      let maker = ZERO;
      for (const f of own) {
        if (f.side === 'buy') bought = bought.add(f.quantity);
        else sold = sold.add(f.quantity);
        volume = volume.add(f.price.mul(f.quantity));
        if (exchange.isMaker(f) !== false) maker = maker.add(f.quantity);
      }
      const traded = bought.add(sold);
      const sRealised = position?.realised ?? ZERO;
      const sUnrealised = position ? unrealisedPnl(position, mark) : ZERO;
      const sFees = position?.costs ?? ZERO;
      realised = realised.add(sRealised);
      unrealised = unrealised.add(sUnrealised);
      feesPaid = feesPaid.add(sFees);
      makerQty = makerQty.add(maker);
      allQty = allQty.add(traded);
      perSymbol[symbol] = {
        symbol,
        base: r.base,
        quote: r.quote,
        fills: own.length,
        orders: ordersBySymbol.get(symbol) ?? 0,
        pnl: pnlText(sRealised, sUnrealised, sFees),
        makerShare: text(traded.isZero() ? ZERO : maker.div(traded)),
        maxDrawdown: text(symbolDrawdown.get(symbol)?.max ?? ZERO),
        boughtQuantity: text(bought),
        soldQuantity: text(sold),
        volume: text(volume),
        endPosition: text(position?.quantity ?? ZERO),
        lastMid: mark === null ? null : text(mark),
      };
    }
    const endValue = valueHoldings();
    const balancesEnd: Record<string, string> = {};
    for (const [asset, amount] of [...exchange.holdings()].sort(byKey)) balancesEnd[asset] = text(amount);
    const sortedParams: Record<string, string> = {};
    for (const key of Object.keys(params).sort())
      sortedParams[key] = typeof params[key] === 'string' ? params[key] : JSON.stringify(params[key]);
    return {
      version: 1,
      strategy: strategyName,
      params: sortedParams,
      symbols: [...symbols],
      currency: [...rules.values()][0]?.quote ?? 'TRY',
      from: first.t,
      to: last.t,
      marketMs: last.t - first.t,
      events: replayed,
      latencyMs,
      fillModel: 'queue-position',
      fills: stored.length,
      orders: stats.orders,
      rejected: stats.rejected,
      cancels: stats.cancels,
      pnl: pnlText(realised, unrealised, feesPaid),
      makerShare: text(allQty.isZero() ? ZERO : makerQty.div(allQty)),
      maxDrawdown: text(equityDrawdown.max),
      startEquity: startEquityText ?? (endValue === null ? '0' : text(endValue)),
      endEquity: endValue === null ? '0' : text(endValue),
      balancesStart: Object.fromEntries([...startBalances].sort(byKey).map(([a, v]) => [a, text(v)])),
      balancesEnd,
      perSymbol,
      series: { equity, inventory, mid, quotes, fills },
    };
  } finally {
    await source.return?.();
    await store.close();
  }
}
