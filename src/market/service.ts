import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../domain/clock.ts';
import { isExchangeError } from '../domain/errors.ts';
import type { BookLevel, OrderBookSnapshot, PublicTrade, Ticker } from '../domain/reports.ts';
import type { FeedStreams, MarketFeed, MarketFeedEvent, MarketFeedListener } from '../ports/market-feed.ts';
import { stampHotPath } from './hot-path.ts';
import { BookKeeper, type BookSource, type KeeperOutcome } from './book-keeper.ts';
import { marketStatus, type MarketStatus } from './freshness.ts';
import { RestPacer } from './rest-pacer.ts';

// Market data for the engine: per symbol a book kept from the WebSocket feed (the primary source),
// REST order-book polls while the feed cannot keep it (the fallback), and a status that says whether
// the data is fresh enough to trade on. Listeners are called synchronously from the frame handler,
// so a `top` listener sees a change the moment its frame is applied.
//
// The book comes from the obdiff subscription alone (snapshot on join, then change sets); the
// periodic `orderbook` channel is off by default (its CS cannot be compared with obdiff's, see
// book-keeper.ts). While a book is stream-kept, REST spot checks (paced with the fallback polls)
// look for levels the exchange no longer has. A subscription that brings no snapshot is reported:
// BTCTurk acknowledges unknown and lower-case pairs as joined and then sends nothing.

export interface MarketDataOptions {
  readonly feed: MarketFeed;
  /** A REST order book, e.g. `BtcturkExchange.orderBook`. */
  readonly fetchBook: (symbol: string) => Promise<OrderBookSnapshot>;
  readonly symbols: readonly string[];
  /** Must be the clock whose `monotonic()` the feed stamps frames with. */
  readonly clock?: Clock;
  /** Data older than this is stale: `canTrade` is false. */
  readonly freshnessMs?: number;
  /** Channels per symbol beyond the defaults: the book and trades (the ticker and periodic book are off). */
  readonly streams?: Partial<FeedStreams>;
  /** REST book requests per minute across all symbols (at most half of BTCTurk's 180). */
  readonly restBooksPerMinute?: number;
  /** How long a symbol may lack a stream-kept book before REST polling starts. */
  readonly fallbackAfterMs?: number;
  /** A resync whose snapshot has not come after this long is asked for again. */
  readonly resyncTimeoutMs?: number;
  /** How often statuses, resyncs and polls are looked at. */
  readonly tickMs?: number;
  /** A join (or resync) with no snapshot after this long, while connected: `subscription-silent`. */
  readonly snapshotTimeoutMs?: number;
  /** A stream-kept book is compared with a REST book this often (0: never); paced with the polls. */
  readonly spotCheckMs?: number;
  /** A difference a spot check found must still be there this much later to count. */
  readonly spotConfirmMs?: number;
  /** Levels a side the stream keeps (BTCTurk: 100); a side holding more has missed deletes. */
  readonly windowLevels?: number;
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
  /** After every applied snapshot, change set or REST book. */
  book: [symbol: string, changeSet: number | null, source: BookSource];
  /** Each time a fresh snapshot is asked for, with why. */
  resync: [symbol: string, reason: string];
  /** A join (or resync) brought no snapshot within `snapshotTimeoutMs` while connected. */
  'subscription-silent': [symbol: string, message: string];
}

export interface SymbolStats {
  readonly status: MarketStatus;
  readonly dataAgeMs: number | null;
  readonly source: BookSource | null;
  readonly gaps: number;
  readonly crossed: number;
  readonly malformed: number;
  readonly mismatches: number;
  readonly unknownChangeKinds: number;
  readonly windowOverflows: number;
  readonly orphanDiffs: number;
  readonly spotChecks: number;
  readonly spotMismatches: number;
  readonly silentSubscriptions: number;
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
  readonly spotMismatches: number;
  readonly unknownChangeKinds: number;
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
  /** Resyncs asked for since the last snapshot: each re-ask waits twice as long as the one before. */
  resyncAsks: number;
  resyncs: number;
  fallbackMs: number;
  /** Since when, connected, the symbol has waited for a snapshot; null while it has a stream-kept book. */
  awaitingSince: number | null;
  /** The wait was re-joined (a resync), not the first join of the connection. */
  awaitingResync: boolean;
  silentReported: boolean;
  silentSubscriptions: number;
  /** When the next REST spot check is due; null while the book is not stream-kept. */
  nextSpotAt: number | null;
}

// The periodic full book is off: obdiff's snapshot on join, its CS sequence, the window check and
// REST spot checks keep the book honest without a second subscription per pair. The ticker is off
// too: nothing in the bot reads it (the engine reacts to the book), and following every pair it was
// a frame per pair about as often as the change sets; `streams: { ticker: true }` subscribes it for
// whoever wants the `ticker` event (btcbot record does). Trades are on unless turned off: a bot
// session turns them off (the engine reads none; they were more than half of all frames following
// every pair) and follows them per pair where dry-run's mirror needs them (followTrades).
const DEFAULT_STREAMS: FeedStreams = { book: true, periodicBook: false, trades: true, ticker: false };

/** Re-asks for a snapshot back off to at most this interval. */
const MAX_RESYNC_INTERVAL_MS = 60_000;

export class MarketDataService extends EventEmitter<MarketDataEvents> {
  private readonly feed: MarketFeed;
  private readonly clock: Clock;
  private readonly freshnessMs: number;
  private readonly fallbackAfterMs: number;
  private readonly resyncTimeoutMs: number;
  private readonly tickMs: number;
  private readonly snapshotTimeoutMs: number;
  private readonly spotCheckMs: number;
  private readonly pacer: RestPacer;
  private readonly states = new Map<string, SymbolState>();
  private detach: (() => void) | null = null;
  private ticking: Promise<void> | null = null;
  private stopper = new AbortController();
  private polling = false;
  private pollPausedUntil = Number.NEGATIVE_INFINITY;
  private lastTickAt: number | null = null;
  private counts = { restPolls: 0, restFailures: 0, fallbackMs: 0 };
  /** Symbols whose trades are followed on demand (followTrades) while `streams.trades` is off. */
  private readonly tradesFollowed = new Set<string>();

  constructor(private readonly options: MarketDataOptions) {
    super();
    this.feed = options.feed;
    this.clock = options.clock ?? systemClock;
    this.freshnessMs = options.freshnessMs ?? 10_000;
    this.fallbackAfterMs = options.fallbackAfterMs ?? 1_000;
    this.resyncTimeoutMs = options.resyncTimeoutMs ?? 5_000;
    this.tickMs = options.tickMs ?? 200;
    this.snapshotTimeoutMs = options.snapshotTimeoutMs ?? 10_000;
    this.spotCheckMs = options.spotCheckMs ?? 60_000;
    if (!(Number.isFinite(this.snapshotTimeoutMs) && this.snapshotTimeoutMs > 0))
      throw new RangeError(
        `market data: snapshotTimeoutMs must be a number of milliseconds above 0, got ${this.snapshotTimeoutMs}`,
      );
    if (!(Number.isFinite(this.spotCheckMs) && this.spotCheckMs >= 0))
      throw new RangeError(
        `market data: spotCheckMs must be a number of milliseconds, 0 (no spot checks) or more, got ${this.spotCheckMs}`,
      );
    this.pacer = new RestPacer(options.restBooksPerMinute ?? 60);
    for (const symbol of options.symbols) {
      this.states.set(symbol, {
        keeper: new BookKeeper(symbol, {
          windowLevels: options.windowLevels,
          confirmMs: options.spotConfirmMs,
        }),
        status: 'stale',
        lostAt: null,
        resyncRequestedAt: null,
        resyncAsks: 0,
        resyncs: 0,
        fallbackMs: 0,
        awaitingSince: null,
        awaitingResync: false,
        silentReported: false,
        silentSubscriptions: 0,
        nextSpotAt: null,
      });
    }
  }

  /** Subscribes the symbols and starts the status, resync and fallback loop. */
  start(): void {
    if (this.detach) return;
    const now = this.clock.monotonic();
    for (const state of this.states.values()) {
      state.lostAt = now;
      // The joins go out on connect (or now, when connected): the snapshot wait starts here.
      state.awaitingSince = this.feed.connected ? now : null;
    }
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
    for (const symbol of this.states.keys()) this.feed.watch(symbol, this.streamsOf(symbol));
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

  /**
   * With `streams.trades` off, follows the symbol's public trades (`trade` events) while `on`: for
   * a consumer that needs a pair's prints only some of the time (dry-run's mirror, while one of our
   * orders is open there), so that following hundreds of pairs does not take every pair's trade
   * frames. The book subscription is left as it is. With trades on for every symbol, nothing changes.
   */
  followTrades(symbol: string, on: boolean): void {
    this.state(symbol); // a symbol not watched is a mistake of the caller's
    if (on === this.tradesFollowed.has(symbol)) return;
    if (on) this.tradesFollowed.add(symbol);
    else this.tradesFollowed.delete(symbol);
    if (this.detach !== null) this.feed.watch(symbol, this.streamsOf(symbol));
  }

  private streamsOf(symbol: string): FeedStreams {
    const streams = { ...DEFAULT_STREAMS, ...this.options.streams };
    return streams.trades || !this.tradesFollowed.has(symbol) ? streams : { ...streams, trades: true };
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
    const state = this.state(symbol);
    const age = this.ageOf(state, this.clock.monotonic());
    if (!state.keeper.usable || age === null) return null;
    const { bids, asks } = state.keeper.book.levels(depth);
    return { symbol, timestamp: this.clock.now() - age, bids, asks };
  }

  stats(): MarketDataStats {
    const now = this.clock.monotonic();
    const symbols: Record<string, SymbolStats> = {};
    let gaps = 0;
    let resyncs = 0;
    let mismatches = 0;
    let spotMismatches = 0;
    let unknownChangeKinds = 0;
    for (const [symbol, state] of this.states) {
      const { keeper } = state;
      const c = keeper.counts;
      gaps += c.gaps;
      resyncs += state.resyncs;
      mismatches += c.mismatches;
      spotMismatches += c.spotMismatches;
      unknownChangeKinds += c.unknownChangeKinds;
      symbols[symbol] = {
        status: this.evaluate(state, now),
        dataAgeMs: this.ageOf(state, now),
        source: keeper.source,
        gaps: c.gaps,
        crossed: c.crossed,
        malformed: c.malformed,
        mismatches: c.mismatches,
        unknownChangeKinds: c.unknownChangeKinds,
        windowOverflows: c.windowOverflows,
        orphanDiffs: c.orphanDiffs,
        spotChecks: c.spotChecks,
        spotMismatches: c.spotMismatches,
        silentSubscriptions: state.silentSubscriptions,
        resyncs: state.resyncs,
        snapshots: c.snapshots,
        diffs: c.diffs,
        restBooks: c.restBooks,
        fallbackMs: state.fallbackMs,
      };
    }
    const { connects, reconnects } = this.feed.connectionCounts();
    return {
      connects,
      reconnects,
      gaps,
      resyncs,
      mismatches,
      spotMismatches,
      unknownChangeKinds,
      ...this.counts,
      symbols,
    };
  }

  private state(symbol: string): SymbolState {
    const state = this.states.get(symbol);
    if (!state)
      throw new RangeError(
        `market data: ${symbol} is not watched; watched: ${[...this.states.keys()].join(', ')}`,
      );
    return state;
  }

  /**
   * Age of the symbol's data. A book kept by an intact subscription on a live connection is current
   * as of the last moment the connection proved alive (any frame, a ping from the server, a pong):
   * BTCTurk sends nothing while a book does not change (a quiet pair went 30 s without a frame),
   * so its last book frame would age a healthy book into staleness. Both book channels are
   * conflated (one frame per pair about every 764 ms), so such a book may lag the exchange by
   * ~0.8 s at any moment; the freshness limit (seconds) absorbs that.
   * ASSUMPTION (BTCTurk): an obdiff subscription is never dropped by the server while its connection
   * stays open (nothing captured says otherwise); the REST spot checks would catch one that was.
   */
  private ageOf(state: SymbolState, now: number): number | null {
    const { keeper } = state;
    if (keeper.lastDataAt === null) return null;
    let newest = keeper.lastDataAt;
    if (keeper.streamKept && state.lostAt === null && this.feed.connected) {
      const alive = this.feed.lastAliveAt();
      if (alive !== null && alive > newest) newest = Math.min(alive, now);
    }
    return now - newest;
  }

  private evaluate(state: SymbolState, now: number): MarketStatus {
    const { keeper } = state;
    return marketStatus({
      usable: keeper.usable,
      ageMs: this.ageOf(state, now),
      freshnessMs: this.freshnessMs,
      fromStream: keeper.source === 'stream' && state.lostAt === null,
      streamUp: this.feed.connected,
    });
  }

  private topOf(state: SymbolState, now: number): TopOfBook | null {
    const { keeper } = state;
    const age = this.ageOf(state, now);
    if (!keeper.usable || age === null || keeper.source === null) return null;
    return {
      symbol: keeper.symbol,
      bid: keeper.book.bestBid(),
      ask: keeper.book.bestAsk(),
      ageMs: age,
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
        if (outcome.applied) {
          state.lostAt = null;
          state.resyncRequestedAt = null;
          state.resyncAsks = 0;
          state.awaitingSince = null;
          state.silentReported = false;
          state.nextSpotAt = at + this.spotCheckMs;
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
        if (state) this.after(state, state.keeper.onUnreadable(event.reason, at, event.cause), at);
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
    const { keeper } = state;
    if (outcome.resync) {
      state.lostAt ??= at;
      this.requestResync(state, at, keeper.lastProblem ?? `${keeper.symbol}: book invalid`);
    }
    if (outcome.applied) this.emit('book', keeper.symbol, keeper.book.changeSet, keeper.source ?? 'stream');
    if (outcome.topChanged) {
      stampHotPath('book');
      const top = this.topOf(state, this.clock.monotonic());
      if (top) this.emit('top', top);
    }
  }

  /** Asks for a fresh snapshot, unless one was asked for recently enough to still be on its way. */
  private requestResync(state: SymbolState, now: number, reason: string, again = false): void {
    if (
      !again &&
      state.resyncRequestedAt !== null &&
      now - state.resyncRequestedAt < this.resyncInterval(state)
    )
      return; // in-flight change sets of a book awaiting its snapshot: already asked
    state.resyncRequestedAt = now;
    state.resyncAsks++;
    state.resyncs++;
    if (this.feed.connected && state.awaitingSince === null) {
      state.awaitingSince = now;
      state.awaitingResync = true;
    }
    this.emit('problem', `${reason}; resyncing`);
    this.emit('resync', state.keeper.symbol, reason);
    if (this.feed.connected) this.feed.resyncBook(state.keeper.symbol);
  }

  private resyncInterval(state: SymbolState): number {
    return Math.min(
      this.resyncTimeoutMs * 2 ** Math.max(0, state.resyncAsks - 1),
      Math.max(this.resyncTimeoutMs, MAX_RESYNC_INTERVAL_MS),
    );
  }

  private onDisconnected(): void {
    const now = this.clock.monotonic();
    for (const state of this.states.values()) {
      state.keeper.onStreamLost();
      state.lostAt ??= now;
      state.resyncRequestedAt = null; // the reconnect re-subscribes, which brings a fresh snapshot
      state.resyncAsks = 0;
      state.awaitingSince = null;
      state.silentReported = false;
      state.nextSpotAt = null;
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
    const spotDue: { symbol: string; lastDataAt: number | null }[] = [];
    const connected = this.feed.connected;
    for (const state of this.states.values()) {
      this.watchSnapshot(state, now, connected);
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
        now - state.resyncRequestedAt >= this.resyncInterval(state)
      )
        this.requestResync(
          state,
          now,
          `${state.keeper.symbol}: no snapshot ${now - state.resyncRequestedAt} ms after asking for one`,
          true,
        );
      if (state.lostAt !== null && now - state.lostAt >= this.fallbackAfterMs)
        needRest.push({ symbol: state.keeper.symbol, lastDataAt: state.keeper.lastDataAt });
      else if (
        this.spotCheckMs > 0 &&
        connected &&
        state.lostAt === null &&
        state.keeper.streamKept &&
        state.nextSpotAt !== null &&
        now >= state.nextSpotAt
      )
        spotDue.push({ symbol: state.keeper.symbol, lastDataAt: state.nextSpotAt });
    }
    if (anyFallback) this.counts.fallbackMs += elapsed;
    if (this.polling || now < this.pollPausedUntil) return;
    // Both share the pacer's budget; symbols without a stream-kept book come first.
    const symbol = this.pacer.next(needRest.length > 0 ? needRest : spotDue, now);
    if (symbol !== null) void this.poll(symbol, now);
  }

  /**
   * BTCTurk acknowledges a join of an unknown or lower-case pair as success and then sends nothing,
   * so a subscription that brings no snapshot is noticed here, by time, while connected.
   */
  private watchSnapshot(state: SymbolState, now: number, connected: boolean): void {
    if (!connected) {
      state.awaitingSince = null;
      return;
    }
    if (state.keeper.streamKept && state.lostAt === null) {
      state.awaitingSince = null;
      state.silentReported = false;
      return;
    }
    if (state.awaitingSince === null) {
      state.awaitingSince = now; // connected since the last tick: the joins went out on connect
      state.awaitingResync = false;
    }
    if (state.silentReported || now - state.awaitingSince < this.snapshotTimeoutMs) return;
    state.silentReported = true;
    state.silentSubscriptions++;
    const symbol = state.keeper.symbol;
    // The bound, not the wait measured at this tick (which a busy loop stretches past it).
    const seconds = this.snapshotTimeoutMs / 1000;
    const message = state.awaitingResync
      ? `no order book snapshot for ${symbol} within ${seconds} s of re-subscribing to resync its book`
      : `no order book snapshot for ${symbol} within ${seconds} s of subscribing: BTCTurk acknowledges unknown or lower-case pairs and then sends nothing`;
    this.emit('subscription-silent', symbol, message);
    this.emit('problem', message);
    // Join again once now (a lost snapshot is healed by it); re-asks then back off.
    if (state.resyncRequestedAt === null) this.requestResync(state, now, message);
  }

  private async poll(symbol: string, requestedAt: number): Promise<void> {
    this.polling = true;
    this.counts.restPolls++;
    try {
      const snapshot = await this.options.fetchBook(symbol);
      const state = this.states.get(symbol);
      if (state && !this.stopper.signal.aborted) {
        const at = this.clock.monotonic();
        const outcome = state.keeper.onRestBook(snapshot, requestedAt, at);
        // A spot check that saw a difference looks again once it could have been confirmed.
        if (state.keeper.streamKept)
          state.nextSpotAt = at + (outcome.suspect ? state.keeper.confirmMs : this.spotCheckMs);
        this.after(state, outcome, at);
      }
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
