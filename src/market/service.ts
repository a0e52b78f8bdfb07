import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../domain/clock.ts';
import { isExchangeError } from '../domain/errors.ts';
import type { BookLevel, OrderBookSnapshot, PublicTrade, Ticker } from '../domain/reports.ts';
import type { FeedStreams, MarketFeed, MarketFeedEvent, MarketFeedListener } from '../ports/market-feed.ts';
import { BookKeeper, type BookSource, type KeeperOutcome } from './book-keeper.ts';
import { marketStatus, type MarketStatus } from './freshness.ts';
import { RestPacer } from './rest-pacer.ts';

// Market data for the engine: per symbol a book kept from the WebSocket feed (the primary source),
// REST order-book polls while the feed cannot keep it (the fallback), and a status that says whether
// the data is fresh enough to trade on. Listeners are called synchronously from the frame handler,
// so a `top` listener sees a change the moment its frame is applied.

export interface MarketDataOptions {
  readonly feed: MarketFeed;
  /** A REST order book, e.g. `BtcturkExchange.orderBook`. */
  readonly fetchBook: (symbol: string) => Promise<OrderBookSnapshot>;
  readonly symbols: readonly string[];
  /** Must be the clock whose `monotonic()` the feed stamps frames with. */
  readonly clock?: Clock;
  /** Data older than this is stale: `canTrade` is false. */
  readonly freshnessMs?: number;
  readonly streams?: Partial<FeedStreams>;
  /** REST book requests per minute across all symbols (at most half of BTCTurk's 180). */
  readonly restBooksPerMinute?: number;
  /** How long a symbol may lack a stream-kept book before REST polling starts. */
  readonly fallbackAfterMs?: number;
  /** A resync whose snapshot has not come after this long is asked for again. */
  readonly resyncTimeoutMs?: number;
  /** How often statuses, resyncs and polls are looked at. */
  readonly tickMs?: number;
}

export interface TopOfBook {
  readonly symbol: string;
  readonly bid: BookLevel | null;
  readonly ask: BookLevel | null;
  /** Age of the data, from the arrival of the frame (or departure of the REST request) that brought it. */
  readonly ageMs: number;
  readonly status: MarketStatus;
  readonly source: BookSource;
  readonly changeSet: number | null;
}

export interface MarketDataEvents {
  top: [top: TopOfBook];
  status: [symbol: string, status: MarketStatus, previous: MarketStatus];
  trade: [trade: PublicTrade];
  ticker: [ticker: Ticker];
  /** The feed is back after a loss: reconcile orders over REST for the gap. */
  reconnected: [];
  problem: [message: string];
}

export interface SymbolStats {
  readonly status: MarketStatus;
  readonly dataAgeMs: number | null;
  readonly source: BookSource | null;
  readonly gaps: number;
  readonly crossed: number;
  readonly malformed: number;
  readonly mismatches: number;
  readonly resyncs: number;
  readonly snapshots: number;
  readonly diffs: number;
  readonly restBooks: number;
  readonly fallbackMs: number;
}

export interface MarketDataStats {
  readonly connects: number;
  readonly reconnects: number;
  readonly gaps: number;
  readonly resyncs: number;
  readonly mismatches: number;
  readonly restPolls: number;
  readonly restFailures: number;
  /** Milliseconds during which at least one symbol was on fallback. */
  readonly fallbackMs: number;
  readonly symbols: Readonly<Record<string, SymbolStats>>;
}

interface SymbolState {
  readonly keeper: BookKeeper;
  status: MarketStatus;
  /** Since when the symbol has had no book kept by the stream; null while it has one. */
  lostAt: number | null;
  resyncRequestedAt: number | null;
  resyncs: number;
  fallbackMs: number;
}

const ALL_STREAMS: FeedStreams = { book: true, periodicBook: true, trades: true, ticker: true };

export class MarketDataService extends EventEmitter<MarketDataEvents> {
  private readonly feed: MarketFeed;
  private readonly clock: Clock;
  private readonly freshnessMs: number;
  private readonly fallbackAfterMs: number;
  private readonly resyncTimeoutMs: number;
  private readonly tickMs: number;
  private readonly pacer: RestPacer;
  private readonly states = new Map<string, SymbolState>();
  private detach: (() => void) | null = null;
  private ticking: Promise<void> | null = null;
  private stopper = new AbortController();
  private polling = false;
  private pollPausedUntil = Number.NEGATIVE_INFINITY;
  private lastTickAt: number | null = null;
  private counts = { restPolls: 0, restFailures: 0, fallbackMs: 0 };

  constructor(private readonly options: MarketDataOptions) {
    super();
    this.feed = options.feed;
    this.clock = options.clock ?? systemClock;
    this.freshnessMs = options.freshnessMs ?? 10_000;
    this.fallbackAfterMs = options.fallbackAfterMs ?? 1_000;
    this.resyncTimeoutMs = options.resyncTimeoutMs ?? 5_000;
    this.tickMs = options.tickMs ?? 200;
    this.pacer = new RestPacer(options.restBooksPerMinute ?? 60);
    for (const symbol of options.symbols) {
      this.states.set(symbol, {
        keeper: new BookKeeper(symbol),
        status: 'stale',
        lostAt: null,
        resyncRequestedAt: null,
        resyncs: 0,
        fallbackMs: 0,
      });
    }
  }

  /** Subscribes the symbols and starts the status, resync and fallback loop. */
  start(): void {
    if (this.detach) return;
    const now = this.clock.monotonic();
    for (const state of this.states.values()) state.lostAt = now;
    const listener: MarketFeedListener = {
      event: (event, receivedAt) => {
        this.onEvent(event, receivedAt);
      },
      disconnected: () => {
        this.onDisconnected();
      },
      reconnected: () => {
        this.emit('reconnected');
      },
    };
    this.detach = this.feed.listen(listener);
    const streams = { ...ALL_STREAMS, ...this.options.streams };
    for (const symbol of this.states.keys()) this.feed.watch(symbol, streams);
    this.stopper = new AbortController();
    this.ticking = this.loop(this.stopper.signal);
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.detach?.();
    this.detach = null;
    for (const symbol of this.states.keys()) this.feed.unwatch(symbol);
    await this.ticking;
    this.ticking = null;
  }

  status(symbol: string): MarketStatus {
    return this.evaluate(this.state(symbol), this.clock.monotonic());
  }

  /** False when the symbol's data is stale (or there is no usable book): no new orders on it. */
  canTrade(symbol: string): boolean {
    return this.status(symbol) !== 'stale';
  }

  /** Best bid and ask with the data's age; null while there is no usable book. */
  top(symbol: string): TopOfBook | null {
    const state = this.state(symbol);
    return this.topOf(state, this.clock.monotonic());
  }

  /** The book, best first, up to `depth` levels a side; null while there is no usable book. */
  book(symbol: string, depth?: number): OrderBookSnapshot | null {
    const { keeper } = this.state(symbol);
    if (!keeper.usable || keeper.lastDataAt === null) return null;
    const { bids, asks } = keeper.book.levels(depth);
    const age = this.clock.monotonic() - keeper.lastDataAt;
    return { symbol, timestamp: this.clock.now() - age, bids, asks };
  }

  stats(): MarketDataStats {
    const now = this.clock.monotonic();
    const symbols: Record<string, SymbolStats> = {};
    let gaps = 0;
    let resyncs = 0;
    let mismatches = 0;
    for (const [symbol, state] of this.states) {
      const { keeper } = state;
      const c = keeper.counts;
      gaps += c.gaps;
      resyncs += state.resyncs;
      mismatches += c.mismatches;
      symbols[symbol] = {
        status: this.evaluate(state, now),
        dataAgeMs: keeper.lastDataAt === null ? null : now - keeper.lastDataAt,
        source: keeper.source,
        gaps: c.gaps,
        crossed: c.crossed,
        malformed: c.malformed,
        mismatches: c.mismatches,
        resyncs: state.resyncs,
        snapshots: c.snapshots,
        diffs: c.diffs,
        restBooks: c.restBooks,
        fallbackMs: state.fallbackMs,
      };
    }
    const { connects, reconnects } = this.feed.connectionCounts();
    return { connects, reconnects, gaps, resyncs, mismatches, ...this.counts, symbols };
  }

  private state(symbol: string): SymbolState {
    const state = this.states.get(symbol);
    if (!state)
      throw new RangeError(
        `market data: ${symbol} is not watched; watched: ${[...this.states.keys()].join(', ')}`,
      );
    return state;
  }

  private evaluate(state: SymbolState, now: number): MarketStatus {
    const { keeper } = state;
    return marketStatus({
      usable: keeper.usable,
      ageMs: keeper.lastDataAt === null ? null : now - keeper.lastDataAt,
      freshnessMs: this.freshnessMs,
      fromStream: keeper.source === 'stream' && state.lostAt === null,
      streamUp: this.feed.connected,
    });
  }

  private topOf(state: SymbolState, now: number): TopOfBook | null {
    const { keeper } = state;
    if (!keeper.usable || keeper.lastDataAt === null || keeper.source === null) return null;
    return {
      symbol: keeper.symbol,
      bid: keeper.book.bestBid(),
      ask: keeper.book.bestAsk(),
      ageMs: now - keeper.lastDataAt,
      status: this.evaluate(state, now),
      source: keeper.source,
      changeSet: keeper.book.changeSet,
    };
  }

  private onEvent(event: MarketFeedEvent, at: number): void {
    switch (event.kind) {
      case 'book-snapshot': {
        const state = this.states.get(event.symbol);
        if (!state) return;
        const outcome = state.keeper.onSnapshot(event, at);
        if (!outcome.resync) {
          state.lostAt = null;
          state.resyncRequestedAt = null;
        }
        this.after(state, outcome, at);
        return;
      }
      case 'book-diff': {
        const state = this.states.get(event.symbol);
        if (state) this.after(state, state.keeper.onDiff(event, at), at);
        return;
      }
      case 'book-unreadable': {
        const state = this.states.get(event.symbol);
        if (state) this.after(state, state.keeper.onUnreadable(event.reason, at), at);
        return;
      }
      case 'trade':
        if (this.states.has(event.trade.symbol)) this.emit('trade', event.trade);
        return;
      case 'ticker':
        if (this.states.has(event.ticker.symbol)) this.emit('ticker', event.ticker);
        return;
      case 'trades':
        return; // history on subscribe: nothing to act on
    }
  }

  private after(state: SymbolState, outcome: KeeperOutcome, at: number): void {
    if (outcome.resync) {
      state.lostAt ??= at;
      this.emit(
        'problem',
        `${state.keeper.lastProblem ?? `${state.keeper.symbol}: book invalid`}; resyncing`,
      );
      this.requestResync(state, at);
    }
    if (outcome.topChanged) {
      const top = this.topOf(state, this.clock.monotonic());
      if (top) this.emit('top', top);
    }
  }

  private requestResync(state: SymbolState, now: number): void {
    state.resyncRequestedAt = now;
    state.resyncs++;
    if (this.feed.connected) this.feed.resyncBook(state.keeper.symbol);
  }

  private onDisconnected(): void {
    const now = this.clock.monotonic();
    for (const state of this.states.values()) {
      state.keeper.onStreamLost();
      state.lostAt ??= now;
      state.resyncRequestedAt = null; // the reconnect re-subscribes, which brings a fresh snapshot
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      this.tick(this.clock.monotonic());
      try {
        await this.clock.sleep(this.tickMs, signal);
      } catch {
        return;
      }
    }
  }

  private tick(now: number): void {
    const elapsed = this.lastTickAt === null ? 0 : now - this.lastTickAt;
    this.lastTickAt = now;
    let anyFallback = false;
    const needRest: { symbol: string; lastDataAt: number | null }[] = [];
    for (const state of this.states.values()) {
      const status = this.evaluate(state, now);
      if (state.status === 'fallback') {
        state.fallbackMs += elapsed;
        anyFallback = true;
      }
      if (status !== state.status) {
        const previous = state.status;
        state.status = status;
        this.emit('status', state.keeper.symbol, status, previous);
      }
      // Until the stream keeps the book again (a REST copy may stand in meanwhile).
      if (
        state.resyncRequestedAt !== null &&
        state.lostAt !== null &&
        now - state.resyncRequestedAt >= this.resyncTimeoutMs
      )
        this.requestResync(state, now);
      if (state.lostAt !== null && now - state.lostAt >= this.fallbackAfterMs)
        needRest.push({ symbol: state.keeper.symbol, lastDataAt: state.keeper.lastDataAt });
    }
    if (anyFallback) this.counts.fallbackMs += elapsed;
    if (this.polling || now < this.pollPausedUntil) return;
    const symbol = this.pacer.next(needRest, now);
    if (symbol !== null) void this.poll(symbol, now);
  }

  private async poll(symbol: string, requestedAt: number): Promise<void> {
    this.polling = true;
    this.counts.restPolls++;
    try {
      const snapshot = await this.options.fetchBook(symbol);
      const state = this.states.get(symbol);
      if (state && !this.stopper.signal.aborted)
        this.after(state, state.keeper.onRestBook(snapshot, requestedAt), requestedAt);
    } catch (error) {
      this.counts.restFailures++;
      if (isExchangeError(error) && error.retryAfterMs !== undefined)
        this.pollPausedUntil = this.clock.monotonic() + error.retryAfterMs;
      this.emit(
        'problem',
        `REST order book for ${symbol} failed: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.polling = false;
    }
  }
}
