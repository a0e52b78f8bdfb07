import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import { randomInt, seededRandom } from '../../domain/random.ts';
import type { SimEngine, SimEvent, SimOrder } from '../engine/api.ts';
import type { Accounts, SimAccount } from './auth.ts';
import { BookWindow } from './book-window.ts';
import { failure } from './envelope.ts';
import type { FaultName, Faults } from './faults.ts';
import { jsonText } from './json.ts';
import type { SimPair } from './markets.ts';
import { retryAfterSeconds, simRateLimiter, WS_CONNECT_LIMIT, type RateLimitedCount } from './rate-limits.ts';
import {
  balanceFrame,
  loginResultFrame,
  orderBookDiffFrame,
  orderBookFrame,
  orderMatchFrame,
  subscribeResultFrame,
  tickerAllFrame,
  tickerPairFrame,
  TRADE_LIST_MAX,
  tradeFrame,
  tradeListFrame,
  userOrderFrame,
  userTradeFrame,
  welcomeFrame,
  WS,
} from './ws-frames.ts';

// The WebSocket feed on the simulator's HTTP port, behaving as BTCTurk's does on the wire
// (../shared/btcturk-wire/README.md): book channels conflated to one change set per pair per
// interval over a 100-level window, a CS per subscription, protocol pings, unknown joins acknowledged
// and then silent, the login refusals users report, and the private events in their real shapes. The
// ws-drop, ws-silence and ws-gap faults act here.

/** A client that stops reading is cut off, as a real server would, instead of buffering without end. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/**
 * Subscriptions one connection may hold. Unknown joins are acknowledged and kept (a repeat is a
 * duplicate), so without a bound a client could grow the server's memory one name at a time.
 * ASSUMPTION (BTCTurk): past this bound a join is still acknowledged but not remembered.
 */
const MAX_SUBSCRIPTIONS = 1_000;

const CHANNELS = ['ticker', 'trade', 'orderbook', 'obdiff'] as const;
type Channel = (typeof CHANNELS)[number];

const ClientFrame = z.tuple([z.number(), z.record(z.string(), z.unknown())]);

export const DEFAULT_BOOK_INTERVAL_MS = 764;
export const DEFAULT_PING_INTERVAL_MS = 15_000;
export const DEFAULT_PONG_TIMEOUT_MS = 45_000;

interface Connection {
  readonly ws: WebSocket;
  account: SimAccount | null;
  readonly subscriptions: Set<string>;
  silenced: boolean;
  /** performance.now() of the last pong (or of the connect), and of the last ping sent. */
  lastPong: number;
  lastPing: number;
}

export interface WsHubOptions {
  readonly engine: SimEngine;
  readonly accounts: Accounts;
  readonly faults: Faults;
  readonly clock: Clock;
  readonly pairs: readonly SimPair[];
  /** Seeds where each pair's CS counters start. */
  readonly seed: number;
  /** Book change sets are conflated over this many ms (wall time) and sent once per pair. */
  readonly bookIntervalMs: number;
  /**
   * The interval is cut into this many phases and each pair flushed in its own (pair i in phase
   * i mod phases), so many pairs' change sets arrive spread over the interval as on the real feed
   * rather than in one burst. Default 1: every pair at once.
   */
  readonly bookPhases?: number | undefined;
  /** Levels a side the book channels show. */
  readonly bookWindow: number;
  readonly pingIntervalMs: number;
  /** A socket with no pong for this long is closed with code 1000. */
  readonly pongTimeoutMs: number;
  /** Counts every 429 this sends (ground truth). */
  readonly rateLimited?: RateLimitedCount | undefined;
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly connections = new Set<Connection>();
  private readonly limiter = simRateLimiter();
  private readonly pairs: ReadonlyMap<string, SimPair>;
  private readonly windows = new Map<string, BookWindow>();
  private readonly pending: SimEvent[] = [];
  /** Pairs whose book changed since the last book flush. */
  private readonly booksChanged = new Set<string>();
  /** Pairs whose ticker may have changed since the last drain. */
  private readonly tickersChanged = new Set<string>();
  private drainScheduled = false;
  private readonly timers = new Map<FaultName, NodeJS.Timeout>();
  private readonly bookTimer: NodeJS.Timeout;
  /** Each pair's flush phase, and the phase the next timer tick flushes. */
  private readonly phaseOf = new Map<string, number>();
  private nextPhase = 0;
  private readonly sessionTimer: NodeJS.Timeout;
  private readonly detach: (() => void)[] = [];

  constructor(private readonly options: WsHubOptions) {
    this.pairs = new Map(options.pairs.map((pair) => [pair.config.symbol, pair]));
    // CS values on the real feed are large and unrelated between pairs and between the two book
    // channels of one pair; a seeded draw gives the same property and replays.
    const random = seededRandom(options.seed ^ 0x43530000);
    for (const pair of options.pairs) {
      const symbol = pair.config.symbol;
      this.windows.set(
        symbol,
        new BookWindow(options.bookWindow, options.engine.book(symbol, options.bookWindow), {
          obdiff: randomInt(random, 1_000, 4_000_000),
          orderbookOffset: randomInt(random, 1_000, 100_000),
        }),
      );
    }
    // Engine events are queued and handled after the engine call returns, never inside it.
    this.detach.push(
      options.engine.subscribe((event) => {
        this.enqueue(event);
      }),
    );
    this.detach.push(
      options.faults.onChange((name) => {
        if (name === 'ws-drop-every' || name === 'ws-silence-every') this.schedule(name);
      }),
    );
    this.schedule('ws-drop-every');
    this.schedule('ws-silence-every');
    const phases = Math.max(1, Math.floor(options.bookPhases ?? 1));
    options.pairs.forEach((pair, index) => this.phaseOf.set(pair.config.symbol, index % phases));
    this.bookTimer = setInterval(
      () => {
        if (phases === 1) this.flushBooks();
        else {
          this.flushBooksOf(this.nextPhase);
          this.nextPhase = (this.nextPhase + 1) % phases;
        }
      },
      Math.max(1, options.bookIntervalMs / phases),
    );
    // Checked three times per ping interval so a silent socket is closed close to its deadline.
    this.sessionTimer = setInterval(
      () => {
        this.keepAlive();
      },
      Math.max(1, Math.min(options.pingIntervalMs, options.pongTimeoutMs) / 3),
    );
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** An HTTP upgrade on any path: counted against 15 connects a minute, then accepted. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ip = request.socket.remoteAddress ?? 'unknown';
    const decision = this.limiter.take(WS_CONNECT_LIMIT, ip, this.options.clock.now());
    if (!decision.ok) {
      this.options.rateLimited?.add(WS_CONNECT_LIMIT.group);
      const body = jsonText(
        failure('TOO_MANY_REQUESTS', 429, {
          details: `Quota exceeded. Maximum allowed: ${decision.window.limit} per ${decision.window.label}.`,
          limit: String(decision.window.limit),
          period: decision.window.label,
          policy: WS_CONNECT_LIMIT.policy,
        }),
      );
      socket.end(
        `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${retryAfterSeconds(decision.retryAfterMs)}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.accept(ws);
    });
  }

  /** Cuts every connection at once and stops the timers. */
  close(): void {
    for (const stop of this.detach) stop();
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
    clearInterval(this.bookTimer);
    clearInterval(this.sessionTimer);
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    this.wss.close();
  }

  /**
   * Publishes every pair's book change since the last flush now, as the interval timer does: one
   * 432 per changed pair on obdiff (the net change), one 431 on orderbook. Nothing for an unchanged
   * book. Tests call it to skip the wait.
   */
  flushBooks(): void {
    this.flushBooksOf(null);
  }

  /** Publishes the pending change sets of the pairs in `phase` (null: of every pair). */
  private flushBooksOf(phase: number | null): void {
    this.drain();
    const { engine, faults } = this.options;
    for (const symbol of this.booksChanged) {
      if (phase !== null && this.phaseOf.get(symbol) !== phase) continue;
      this.booksChanged.delete(symbol);
      const pair = this.pairs.get(symbol);
      const window = this.windows.get(symbol);
      if (!pair || !window) continue;
      const change = window.publish(engine.book(symbol, window.size));
      if (change === null) continue;
      const targets = this.subscribers(`obdiff:${symbol}`);
      // A draw only when someone would receive the change set; a struck one is lost, CS moved on.
      if (targets.length > 0 && !faults.strikes('ws-gap'))
        this.publishTo(targets, () => orderBookDiffFrame(pair, change.changeSet, change));
      this.publish(`orderbook:${symbol}`, () => bookSnapshot(pair, 'orderbook', window));
    }
  }

  private accept(ws: WebSocket): void {
    const now = performance.now();
    const conn: Connection = {
      ws,
      account: null,
      subscriptions: new Set(),
      silenced: false,
      lastPong: now,
      lastPing: now,
    };
    this.connections.add(conn);
    ws.on('message', (data: RawData) => {
      this.onMessage(conn, data);
    });
    // Pongs are answered by hand so that a silenced connection is half-open in every way.
    ws.on('ping', (data: Buffer) => {
      if (!conn.silenced) ws.pong(data);
    });
    ws.on('pong', () => {
      conn.lastPong = performance.now();
    });
    ws.on('close', () => this.connections.delete(conn));
    // A client's broken socket is the client's business; 'close' follows and cleans up.
    ws.on('error', () => undefined);
    this.send(conn, welcomeFrame());
  }

  /**
   * The server's side of the session: a protocol ping every pingIntervalMs, and a close (code 1000)
   * for a socket that has not answered one for pongTimeoutMs. There is no application-level ping.
   * A silenced socket (ws-silence-every) stands for a dead path: the server neither pings nor closes
   * it, so the client has to find out on its own.
   */
  private keepAlive(): void {
    const now = performance.now();
    const { pingIntervalMs, pongTimeoutMs } = this.options;
    for (const conn of this.connections) {
      if (conn.silenced || conn.ws.readyState !== WebSocket.OPEN) continue;
      if (now - conn.lastPong >= pongTimeoutMs) {
        conn.ws.close(1000);
        continue;
      }
      if (now - conn.lastPing >= pingIntervalMs) {
        conn.lastPing = now;
        conn.ws.ping();
      }
    }
  }

  private send(conn: Connection, text: string): void {
    if (conn.silenced || conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      conn.ws.terminate();
      return;
    }
    conn.ws.send(text);
  }

  /** Anything but `[type, {...}]` of a type the server knows gets no reply; the socket stays open. */
  private onMessage(conn: Connection, data: RawData): void {
    if (conn.silenced) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch {
      return;
    }
    const message = ClientFrame.safeParse(parsed);
    if (!message.success) return;
    const [type, body] = message.data;
    if (type === WS.subscribe) this.onSubscribe(conn, body);
    else if (type === WS.login) this.onLogin(conn, body);
  }

  private onLogin(conn: Connection, body: Record<string, unknown>): void {
    const result = this.options.accounts.verifyWsLogin(body, this.options.clock.now());
    if (!result.ok && result.staleStamp === true && this.options.faults.value('clock-skew-ms') !== 0)
      this.options.faults.hit('clock-skew-ms');
    // ASSUMPTION (BTCTurk): a refused login also ends an earlier login on the same socket.
    conn.account = result.ok ? result.account : null;
    this.send(
      conn,
      loginResultFrame(
        result.ok ? { ok: true, userId: result.account.userId } : { ok: false, message: result.reason },
      ),
    );
  }

  /**
   * Joins and leaves. A join of an unknown channel, an unknown pair or a lower-case one (the socket is
   * case sensitive) is acknowledged `ok:true` and then nothing comes; only a duplicate join on the same
   * connection is refused. A subscribe without its members gets no reply.
   */
  private onSubscribe(conn: Connection, body: Record<string, unknown>): void {
    const { channel, event, join } = body;
    if (typeof join !== 'boolean' || channel === undefined || event === undefined) return;
    if (typeof channel !== 'string' || typeof event !== 'string') {
      // As in frames.jsonl ws-join-refused-malformed: "join|true:all" answered a channel that was no name.
      // ASSUMPTION (BTCTurk): any non-text channel or event is refused naming what was sent.
      if (isPrimitive(channel) && isPrimitive(event))
        this.send(conn, subscribeResultFrame(false, `join|${String(channel)}:${String(event)}`));
      return;
    }
    const key = `${channel}:${event}`;
    if (!join) {
      conn.subscriptions.delete(key);
      this.send(conn, subscribeResultFrame(true, `leave|${key}`));
      return;
    }
    if (conn.subscriptions.has(key)) {
      this.send(conn, subscribeResultFrame(false, `join|${key}`));
      return;
    }
    if (conn.subscriptions.size < MAX_SUBSCRIPTIONS) conn.subscriptions.add(key);
    this.send(conn, subscribeResultFrame(true, `join|${key}`));
    if (!isChannel(channel)) return;
    const pair = this.pairs.get(event);
    if (pair) this.sendInitial(conn, channel, pair);
    else if (channel === 'ticker' && event === 'all') this.send(conn, this.tickerAll());
  }

  /** What a new subscriber gets at once: recent trades, the book as of its CS, the current ticker. */
  private sendInitial(conn: Connection, channel: Channel, pair: SimPair): void {
    const { engine } = this.options;
    const symbol = pair.config.symbol;
    switch (channel) {
      case 'trade':
        this.send(conn, tradeListFrame(pair, engine.recentTrades(symbol, TRADE_LIST_MAX)));
        break;
      case 'obdiff':
      case 'orderbook':
        // The published window, not the engine's book: the next 432 continues from exactly this.
        // ASSUMPTION (BTCTurk): the orderbook channel also answers a join with the current book
        // rather than waiting for the next change.
        this.send(conn, bookSnapshot(pair, channel, this.window(symbol)));
        break;
      case 'ticker':
        this.send(conn, tickerPairFrame(pair, engine.ticker(symbol)));
        break;
    }
  }

  private tickerAll(): string {
    return tickerAllFrame(
      [...this.pairs.values()].map((pair) => ({
        pair,
        ticker: this.options.engine.ticker(pair.config.symbol),
      })),
    );
  }

  private window(symbol: string): BookWindow {
    const window = this.windows.get(symbol);
    if (!window) throw new Error(`no book window for ${symbol}`);
    return window;
  }

  private subscribers(key: string): Connection[] {
    return [...this.connections].filter((conn) => conn.subscriptions.has(key));
  }

  private publish(key: string, text: () => string): void {
    this.publishTo(this.subscribers(key), text);
  }

  /** Builds the frame only when someone listens, and once for all of them. */
  private publishTo(targets: readonly Connection[], text: () => string): void {
    if (targets.length === 0) return;
    const frame = text();
    for (const conn of targets) this.send(conn, frame);
  }

  /** Private events need no subscription: every socket logged in as the account gets them. */
  private publishPrivate(accountId: string, frames: (account: SimAccount) => readonly string[]): void {
    let built: readonly string[] | undefined;
    for (const conn of this.connections) {
      if (conn.account?.accountId !== accountId) continue;
      built ??= frames(conn.account);
      for (const text of built) this.send(conn, text);
    }
  }

  private enqueue(event: SimEvent): void {
    this.pending.push(event);
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drain();
    });
  }

  private drain(): void {
    this.drainScheduled = false;
    for (let event = this.pending.shift(); event; event = this.pending.shift()) this.dispatch(event);
    this.flushTickers();
  }

  private dispatch(event: SimEvent): void {
    const { engine } = this.options;
    switch (event.type) {
      case 'book':
        if (!this.pairs.has(event.symbol)) return;
        this.booksChanged.add(event.symbol);
        this.tickersChanged.add(event.symbol);
        return;
      case 'trade': {
        const pair = this.pairs.get(event.trade.symbol);
        if (!pair) return;
        this.tickersChanged.add(event.trade.symbol);
        this.publish(`trade:${event.trade.symbol}`, () => tradeFrame(pair, event.trade));
        return;
      }
      case 'fill': {
        const { fill } = event;
        const pair = this.pairs.get(fill.symbol);
        const order = engine.order(fill.accountId, fill.orderId);
        if (!pair || !order) return;
        this.publishPrivate(fill.accountId, (account) => [
          userTradeFrame(pair, fill),
          orderMatchFrame(pair, account.userId, order, fill),
        ]);
        return;
      }
      case 'order-inserted':
      case 'order-updated':
      case 'order-deleted': {
        const { order } = event;
        const pair = this.pairs.get(order.symbol);
        if (!pair) return;
        const types = orderFrameTypes(event.type, order);
        this.publishPrivate(order.accountId, (account) =>
          types.map((type) => userOrderFrame(type, pair, account.userId, order)),
        );
        return;
      }
      case 'balance':
        this.publishPrivate(event.accountId, () => [balanceFrame(event.balances)]);
        return;
    }
  }

  /** Tickers go out once per burst of engine events, not once per event. */
  private flushTickers(): void {
    if (this.tickersChanged.size === 0) return;
    const { engine } = this.options;
    for (const symbol of this.tickersChanged) {
      const pair = this.pairs.get(symbol);
      if (pair) this.publish(`ticker:${symbol}`, () => tickerPairFrame(pair, engine.ticker(symbol)));
    }
    this.tickersChanged.clear();
    this.publish('ticker:all', () => this.tickerAll());
  }

  private schedule(name: 'ws-drop-every' | 'ws-silence-every'): void {
    const previous = this.timers.get(name);
    if (previous) clearInterval(previous);
    this.timers.delete(name);
    const period = this.options.faults.value(name);
    if (period <= 0) return;
    const timer = setInterval(() => {
      for (const conn of this.connections) {
        if (name === 'ws-drop-every') conn.ws.terminate();
        else if (conn.silenced) continue;
        else conn.silenced = true;
        this.options.faults.hit(name);
      }
    }, period);
    this.timers.set(name, timer);
  }
}

/**
 * The user order frames for an engine order event. BTCTurk sends no 453: an update runs as a delete
 * and an insert, so a client sees 452 then 451; an order that left the book (canceled, filled) gets
 * its 452 alone — a cancel's final result is a 452.
 * ASSUMPTION (BTCTurk): a fill that completes the order is announced by a 452 with numLeft 0 and no
 * 451, and the 452 of an update carries the order as it stands after the update.
 */
function orderFrameTypes(
  change: 'order-inserted' | 'order-updated' | 'order-deleted',
  order: SimOrder,
): (typeof WS.orderInsert | typeof WS.orderDelete)[] {
  if (change === 'order-inserted') return [WS.orderInsert];
  if (change === 'order-deleted') return [WS.orderDelete];
  const resting = order.status === 'open' || order.status === 'partially_filled';
  return resting ? [WS.orderDelete, WS.orderInsert] : [WS.orderDelete];
}

/** A 431 of the published window, with the CS of the channel it goes out on. */
function bookSnapshot(pair: SimPair, channel: 'orderbook' | 'obdiff', window: BookWindow): string {
  const changeSet = channel === 'obdiff' ? window.changeSet : window.orderbookChangeSet;
  return orderBookFrame(pair, channel, changeSet, window.levels());
}

function isChannel(name: string): name is Channel {
  return (CHANNELS as readonly string[]).includes(name);
}

function isPrimitive(value: unknown): value is string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
