import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { z } from 'zod';
import type { Clock } from '../../domain/clock.ts';
import type { SimEngine, SimEvent } from '../engine/api.ts';
import type { Accounts, SimAccount } from './auth.ts';
import { BookSequence } from './book-sequence.ts';
import { failure } from './envelope.ts';
import type { FaultName, Faults } from './faults.ts';
import { jsonText } from './json.ts';
import type { SimPair } from './markets.ts';
import { FixedWindowLimiter, retryAfterSeconds, WS_CONNECT_LIMIT } from './rate-limits.ts';
import {
  balanceFrame,
  loginResultFrame,
  orderBookDiffFrame,
  orderBookFrame,
  orderMatchFrame,
  subscribeResultFrame,
  tickerAllFrame,
  tickerPairFrame,
  tradeFrame,
  tradeListFrame,
  userOrderFrame,
  userTradeFrame,
  welcomeFrame,
  WS,
} from './ws-frames.ts';

// The WebSocket feed of btcturk-api.md §8 on the simulator's HTTP port: public channels fan out the
// engine's events, a logged-in connection also receives its account's order, trade and balance
// events. The ws-drop, ws-silence and ws-gap faults act here.

/** Deeper than any synthetic book: obdiff snapshots are the whole book so a client's copy can equal it. */
const FULL_DEPTH = 10_000;
const RECENT_TRADES = 50;
/** A client that stops reading is cut off, as a real server would, instead of buffering without end. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const CHANNELS = ['ticker', 'trade', 'orderbook', 'obdiff'] as const;
type Channel = (typeof CHANNELS)[number];

const ClientFrame = z.tuple([z.number(), z.record(z.string(), z.unknown())]);
const SubscribeMessage = z.object({ channel: z.string(), event: z.string(), join: z.boolean() });

interface Connection {
  readonly ws: WebSocket;
  account: SimAccount | null;
  readonly subscriptions: Set<string>;
  silenced: boolean;
}

export interface WsHubOptions {
  readonly engine: SimEngine;
  readonly accounts: Accounts;
  readonly faults: Faults;
  readonly clock: Clock;
  readonly pairs: readonly SimPair[];
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly connections = new Set<Connection>();
  private readonly limiter = new FixedWindowLimiter();
  private readonly pairs: ReadonlyMap<string, SimPair>;
  private readonly sequences = new Map<string, BookSequence>();
  private readonly pending: SimEvent[] = [];
  private readonly dirty = new Set<string>();
  private drainScheduled = false;
  private readonly timers = new Map<FaultName, NodeJS.Timeout>();
  private readonly detach: (() => void)[] = [];

  constructor(private readonly options: WsHubOptions) {
    this.pairs = new Map(options.pairs.map((pair) => [pair.config.symbol, pair]));
    for (const pair of options.pairs)
      this.sequences.set(
        pair.config.symbol,
        new BookSequence(options.engine.book(pair.config.symbol, FULL_DEPTH)),
      );
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
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** An HTTP upgrade on any path: counted against 15 connects a minute, then accepted. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ip = request.socket.remoteAddress ?? 'unknown';
    const decision = this.limiter.take(WS_CONNECT_LIMIT, ip, this.options.clock.now());
    if (!decision.ok) {
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

  /** Cuts every connection at once and stops the fault timers. */
  close(): void {
    for (const stop of this.detach) stop();
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
    for (const conn of this.connections) conn.ws.terminate();
    this.connections.clear();
    this.wss.close();
  }

  private accept(ws: WebSocket): void {
    const conn: Connection = { ws, account: null, subscriptions: new Set(), silenced: false };
    this.connections.add(conn);
    ws.on('message', (data: RawData) => {
      this.onMessage(conn, data);
    });
    // Pongs are answered by hand so that a silenced connection is half-open in every way.
    ws.on('ping', (data: Buffer) => {
      if (!conn.silenced) ws.pong(data);
    });
    ws.on('close', () => this.connections.delete(conn));
    // A client's broken socket is the client's business; 'close' follows and cleans up.
    ws.on('error', () => undefined);
    this.send(conn, welcomeFrame());
  }

  private send(conn: Connection, text: string): void {
    if (conn.silenced || conn.ws.readyState !== WebSocket.OPEN) return;
    if (conn.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      conn.ws.terminate();
      return;
    }
    conn.ws.send(text);
  }

  private onMessage(conn: Connection, data: RawData): void {
    if (conn.silenced) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawText(data));
    } catch {
      return; // not JSON: ignored like any unknown client frame
    }
    const message = ClientFrame.safeParse(parsed);
    if (!message.success) return;
    const [type, body] = message.data;
    if (type === WS.subscribe) this.onSubscribe(conn, body);
    else if (type === WS.login) this.onLogin(conn, body);
  }

  private onLogin(conn: Connection, body: Record<string, unknown>): void {
    const result = this.options.accounts.verifyWsLogin(body.publicKey, body.nonce, body.signature);
    if (result.ok) {
      conn.account = result.account;
      this.send(conn, loginResultFrame(true, 'success'));
    } else {
      this.send(conn, loginResultFrame(false, result.reason));
    }
  }

  private onSubscribe(conn: Connection, body: Record<string, unknown>): void {
    const request = SubscribeMessage.safeParse(body);
    if (!request.success) {
      this.send(conn, subscribeResultFrame(false, 'a subscription needs channel, event and join'));
      return;
    }
    const { channel, event, join } = request.data;
    const key = `${channel}:${event}`;
    const pair = this.pairs.get(event);
    if (!isChannel(channel) || (pair === undefined && !(channel === 'ticker' && event === 'all'))) {
      this.send(conn, subscribeResultFrame(false, `unknown channel or pair: ${key}`));
      return;
    }
    if (!join) {
      conn.subscriptions.delete(key);
      this.send(conn, subscribeResultFrame(true, `leave|${key}`));
      return;
    }
    conn.subscriptions.add(key);
    this.send(conn, subscribeResultFrame(true, `join|${key}`));
    this.sendInitial(conn, channel, pair);
  }

  /** What a new subscriber gets at once: recent trades, a book snapshot, the current ticker. */
  private sendInitial(conn: Connection, channel: Channel, pair: SimPair | undefined): void {
    const { engine } = this.options;
    if (!pair) {
      this.send(conn, this.tickerAll());
      return;
    }
    const symbol = pair.config.symbol;
    switch (channel) {
      case 'trade':
        this.send(conn, tradeListFrame(pair, engine.recentTrades(symbol, RECENT_TRADES)));
        break;
      case 'orderbook':
      case 'obdiff':
        this.send(
          conn,
          orderBookFrame(pair, channel, this.sequence(symbol).changeSet, engine.book(symbol, FULL_DEPTH)),
        );
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

  private sequence(symbol: string): BookSequence {
    const sequence = this.sequences.get(symbol);
    if (!sequence) throw new Error(`no obdiff sequence for ${symbol}`);
    return sequence;
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

  private publishPrivate(accountId: string, frames: readonly string[]): void {
    for (const conn of this.connections) {
      if (conn.account?.accountId !== accountId) continue;
      for (const text of frames) this.send(conn, text);
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
    this.flushDirty();
  }

  private dispatch(event: SimEvent): void {
    const { engine } = this.options;
    switch (event.type) {
      case 'book': {
        const pair = this.pairs.get(event.symbol);
        if (!pair) return;
        const diff = this.sequence(event.symbol).apply(event.changes);
        this.dirty.add(event.symbol);
        const targets = this.subscribers(`obdiff:${event.symbol}`);
        // A draw only when someone would receive the change set; a struck one is lost, CS moved on.
        if (targets.length === 0 || this.options.faults.strikes('ws-gap')) return;
        this.publishTo(targets, () => orderBookDiffFrame(pair, diff.changeSet, diff));
        return;
      }
      case 'trade': {
        const pair = this.pairs.get(event.trade.symbol);
        if (!pair) return;
        this.dirty.add(event.trade.symbol);
        this.publish(`trade:${event.trade.symbol}`, () => tradeFrame(pair, event.trade));
        return;
      }
      case 'fill': {
        const pair = this.pairs.get(event.fill.symbol);
        const order = engine.order(event.fill.accountId, event.fill.orderId);
        if (!pair || !order) return;
        this.publishPrivate(event.fill.accountId, [
          userTradeFrame(pair, event.fill),
          orderMatchFrame(pair, order, event.fill),
        ]);
        return;
      }
      case 'order-inserted':
      case 'order-updated':
      case 'order-deleted': {
        const pair = this.pairs.get(event.order.symbol);
        if (!pair) return;
        const type =
          event.type === 'order-inserted'
            ? WS.orderInsert
            : event.type === 'order-updated'
              ? WS.orderUpdate
              : WS.orderDelete;
        this.publishPrivate(event.order.accountId, [userOrderFrame(type, pair, event.order)]);
        return;
      }
      case 'balance':
        this.publishPrivate(event.accountId, [balanceFrame(event.balances)]);
        return;
    }
  }

  /** Full books and tickers go out once per burst of engine events, not once per event. */
  private flushDirty(): void {
    if (this.dirty.size === 0) return;
    const { engine } = this.options;
    for (const symbol of this.dirty) {
      const pair = this.pairs.get(symbol);
      if (!pair) continue;
      this.publish(`orderbook:${symbol}`, () =>
        orderBookFrame(pair, 'orderbook', this.sequence(symbol).changeSet, engine.book(symbol, FULL_DEPTH)),
      );
      this.publish(`ticker:${symbol}`, () => tickerPairFrame(pair, engine.ticker(symbol)));
    }
    this.dirty.clear();
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
        else conn.silenced = true;
      }
    }, period);
    this.timers.set(name, timer);
  }
}

function isChannel(name: string): name is Channel {
  return (CHANNELS as readonly string[]).includes(name);
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
