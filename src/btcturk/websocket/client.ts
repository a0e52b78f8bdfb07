import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { systemClock, type Clock } from '../../domain/clock.ts';
import { ConfigError } from '../../domain/errors.ts';
import { processRandom, type Random } from '../../domain/random.ts';
import type { WsCredentials } from './auth.ts';
import { parseFrame, WS_TYPE, type WsMessage } from './messages.ts';
import { backoffDelay, ConnectBudget, DEFAULT_BACKOFF, type BackoffOptions } from './reconnect.ts';

// One BTCTurk WebSocket connection, kept alive: connect, log in when keys are given, keep the
// subscriptions it was asked for, and hand every parsed frame to listeners synchronously. A lost,
// refused or silent connection is replaced, paced by a connect budget that stays under BTCTurk's
// 15 connects a minute; each replacement re-subscribes everything and announces `reconnected`.
//
// What the real server does (../shared/btcturk-wire/README.md): it pings every 15 s (a protocol
// ping, answered by `ws` on its own) and closes a socket that has not answered by ~45 s; it sends
// nothing for a book that does not change, so book silence says nothing about the connection. A
// connection is judged by any frame, the server's pings and the pongs to ours. A join of an
// unknown or lower-case pair is acknowledged `ok:true` and then silent (the market layer notices
// the missing snapshot); only a duplicate join is refused, with the subscription as its message.
//
// ASSUMPTION (BTCTurk): the server answers our protocol pings with pongs (RFC 6455 requires it; the
// capture shows the server's pings, not its pongs). The market layer counts a quiet book current as
// of the connection's last sign of life, so with pings every 5 s a quiet pair stays within a 10 s
// freshness limit; were pongs never to come, the server's own 15 s pings still keep the connection
// (silence limit 20 s), but quiet pairs would go stale between them.

export const DEFAULT_WS_URL = 'wss://ws-feed-pro.btcturk.com';

export interface WsClientOptions {
  readonly url?: string;
  /** The WebSocket key pair; without it only public channels are used. */
  readonly credentials?: WsCredentials | undefined;
  readonly clock?: Clock;
  /** Jitter source; by default seeded per process from the OS (src/domain/random.ts). */
  readonly random?: Random;
  /**
   * No frame, no ping from the server and no pong for this long: the connection is treated as dead.
   * The default outlasts the server's own 15 s ping with margin, should our pings go unanswered.
   */
  readonly silenceMs?: number;
  /** Ping interval, so a quiet but healthy connection proves itself with pongs. */
  readonly pingEveryMs?: number;
  /**
   * Server-synced wall-clock ms for the login `timestamp` (e.g. `BtcturkExchange.serverNow`);
   * default: the local clock.
   */
  readonly serverNow?: () => number;
  /** The login nonce (default 3000, the docs' value; see auth.ts). */
  readonly loginNonce?: number;
  /** A frame larger than this closes the socket (reported, then replaced). Default 4 MiB. */
  readonly maxPayloadBytes?: number;
  /** A subscription or login without an answer for this long: the connection is replaced. */
  readonly answerTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly backoff?: BackoffOptions;
  /** Share one budget between clients that connect from the same IP. */
  readonly budget?: ConnectBudget;
  /** A 429 on the upgrade blocks connects at least this long (BTCTurk: 60 s), longer if Retry-After says so. */
  readonly rateLimitPauseMs?: number;
  /** A connection that lived this long resets the backoff. */
  readonly stableAfterMs?: number;
}

export type WsProblemKind =
  | 'connect-failed'
  | 'rate-limited'
  | 'silence'
  | 'login-refused'
  | 'subscription-refused'
  | 'resubscribe-failed'
  | 'oversized-frame'
  | 'unanswered'
  | 'unreadable-frame'
  | 'listener-failed';

export interface WsProblem {
  readonly kind: WsProblemKind;
  readonly message: string;
  /** For an unreadable book frame: the pair, so its book can be resynced. */
  readonly symbol?: string | null | undefined;
  readonly frameType?: number | null | undefined;
}

export interface WsClientEvents {
  /** Every parsed frame, with the monotonic time it arrived. */
  message: [message: WsMessage, receivedAt: number];
  /** A socket is open and its subscriptions were requested. */
  connected: [];
  /** Like `connected`, after a lost connection: consumers resync books and reconcile orders. */
  reconnected: [];
  disconnected: [reason: string];
  problem: [problem: WsProblem];
  /** Every login answer: `message` is the server's own text ('' when it sent none). */
  login: [ok: boolean, message: string];
}

export interface WsClientStats {
  readonly connects: number; // connect attempts
  readonly opened: number; // connections that opened
  readonly reconnects: number; // connections opened after the first
  readonly disconnects: number;
  readonly silences: number;
  readonly rateLimited: number;
  readonly frames: number;
  readonly unreadableFrames: number;
  readonly refusedSubscriptions: number;
  /** Joins refused because the server already held the subscription: harmless, counted. */
  readonly duplicateJoins: number;
  readonly loginRefusals: number;
  readonly oversizedFrames: number;
  readonly serverPings: number;
}

export const DEFAULT_LOGIN_NONCE = 3000;
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

interface Subscription {
  readonly channel: string;
  readonly event: string;
}

interface Pending {
  readonly what: string; // "join|obdiff:BTCTRY", "login"
  readonly since: number;
}

const keyOf = (channel: string, event: string): string => `${channel}:${event}`;

function retryAfterMs(response: IncomingMessage, now: number): number | undefined {
  const header = response.headers['retry-after'];
  if (typeof header !== 'string') return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export class BtcturkWsClient extends EventEmitter<WsClientEvents> {
  readonly url: string;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly budget: ConnectBudget;
  private readonly silenceMs: number;
  private readonly pingEveryMs: number;
  private readonly answerTimeoutMs: number;
  private readonly loginNonce: number;
  private readonly maxPayloadBytes: number;
  private readonly serverNow: () => number;
  private readonly subscriptions = new Map<string, Subscription>();
  /**
   * Subscriptions left and re-joined for a fresh snapshot, until the join is acknowledged; the
   * value: whether the leave and join were already sent once more (see onDuplicateJoin).
   */
  private readonly resubscribing = new Map<string, boolean>();
  private readonly pending: Pending[] = [];
  private socket: WebSocket | null = null;
  private lastActivity = 0;
  #loggedIn: boolean | null = null;
  /**
   * Called with every text frame exactly as received, before it is parsed (`btcbot record`'s
   * tap, src/record/recorder.ts); null, the default, costs the frame handler one comparison.
   */
  frameTap: ((text: string) => void) | null = null;
  private running: Promise<void> | null = null;
  private stopper = new AbortController();
  private everOpened = false;
  private counts = {
    connects: 0,
    opened: 0,
    reconnects: 0,
    disconnects: 0,
    silences: 0,
    rateLimited: 0,
    frames: 0,
    unreadableFrames: 0,
    refusedSubscriptions: 0,
    duplicateJoins: 0,
    loginRefusals: 0,
    oversizedFrames: 0,
    serverPings: 0,
  };

  constructor(private readonly options: WsClientOptions = {}) {
    super();
    this.url = options.url ?? DEFAULT_WS_URL;
    if (!/^wss?:\/\/[^\s/]+/.test(this.url))
      throw new ConfigError(
        'BTCTURK_WS_URL',
        `expected a ws:// or wss:// URL, got ${JSON.stringify(this.url)}`,
      );
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? processRandom();
    this.budget = options.budget ?? new ConnectBudget();
    this.silenceMs = options.silenceMs ?? 20_000;
    this.pingEveryMs = options.pingEveryMs ?? Math.max(1, Math.min(5_000, Math.floor(this.silenceMs / 3)));
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    this.loginNonce = options.loginNonce ?? DEFAULT_LOGIN_NONCE;
    if (!(Number.isSafeInteger(this.loginNonce) && this.loginNonce >= 1))
      throw new RangeError(
        `WebSocket client: loginNonce must be a whole number of at least 1, got ${this.loginNonce}`,
      );
    this.maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (!(Number.isSafeInteger(this.maxPayloadBytes) && this.maxPayloadBytes >= 1024))
      throw new RangeError(
        `WebSocket client: maxPayloadBytes must be a whole number of bytes, at least 1024, got ${this.maxPayloadBytes}`,
      );
    const clock = this.clock;
    this.serverNow = options.serverNow ?? (() => clock.now());
  }

  /** True while a socket is open. */
  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /**
   * The last login answer: true accepted, false refused; null without credentials or before the
   * first answer. It stands across reconnects until the next answer (the keys have not changed).
   */
  get loggedIn(): boolean | null {
    return this.#loggedIn;
  }

  /** Monotonic ms the open connection last proved alive (a frame, a server ping, a pong); null while none is open. */
  lastAliveAt(): number | null {
    return this.connected ? this.lastActivity : null;
  }

  stats(): WsClientStats {
    return { ...this.counts };
  }

  /** Starts connecting (and reconnecting until `stop`). */
  start(): void {
    if (this.running) return;
    this.stopper = new AbortController();
    this.running = this.run().finally(() => {
      this.running = null;
    });
  }

  /** Closes the connection and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.socket?.terminate();
    await this.running;
  }

  private stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  /** Keeps `channel`/`event` subscribed, now and after every reconnect. */
  subscribe(channel: string, event: string): void {
    const key = keyOf(channel, event);
    if (this.subscriptions.has(key)) return;
    this.subscriptions.set(key, { channel, event });
    this.sendJoin(channel, event, true);
  }

  unsubscribe(channel: string, event: string): void {
    if (!this.subscriptions.delete(keyOf(channel, event))) return;
    this.sendJoin(channel, event, false);
  }

  /**
   * Leaves and re-joins a subscription: BTCTurk answers a join with a fresh snapshot. Should the
   * server refuse the join as a duplicate (the leave not taken yet), it leaves and joins once more.
   */
  resubscribe(channel: string, event: string): void {
    const key = keyOf(channel, event);
    if (!this.subscriptions.has(key)) return;
    if (!this.connected) return; // the reconnect joins afresh, which brings the snapshot
    this.resubscribing.set(key, false);
    this.sendJoin(channel, event, false);
    this.sendJoin(channel, event, true);
  }

  private sendJoin(channel: string, event: string, join: boolean): void {
    const socket = this.socket;
    if (socket?.readyState !== WebSocket.OPEN) return; // sent on (re)connect
    socket.send(JSON.stringify([WS_TYPE.subscribe, { type: WS_TYPE.subscribe, channel, event, join }]));
    // Only joins must be answered: how BTCTurk answers a leave is not documented.
    if (join) this.pending.push({ what: `join|${keyOf(channel, event)}`, since: this.clock.monotonic() });
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    let attempt = 0;
    let first = true;
    while (!signal.aborted) {
      let wait = first ? 0 : backoffDelay(attempt, this.random, this.options.backoff ?? DEFAULT_BACKOFF);
      // The budget may be shared: ask again after every wait until it says go.
      for (;;) {
        wait = Math.max(wait, this.budget.waitMs(this.clock.monotonic()));
        if (wait <= 0 || this.stopped()) break;
        try {
          await this.clock.sleep(wait, signal);
        } catch {
          return; // stopped while waiting
        }
        wait = 0;
      }
      if (this.stopped()) return;
      first = false;
      this.budget.record(this.clock.monotonic());
      this.counts.connects++;
      const livedMs = await this.connectOnce();
      attempt = livedMs >= (this.options.stableAfterMs ?? 10_000) ? 0 : attempt + 1;
    }
  }

  /** One connection from attempt to close; resolves with how long it was open (0 if never). */
  private connectOnce(): Promise<number> {
    return new Promise((resolve) => {
      // maxPayload: the library's default is 100 MiB, and a huge frame costs seconds to read; BTCTurk's
      // largest (a 100-level snapshot, the all-pairs ticker) are tens of KB.
      const socket = new WebSocket(this.url, {
        handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
        maxPayload: this.maxPayloadBytes,
      });
      this.socket = socket;
      let openedAt: number | null = null;
      // Set from callbacks; a holder object keeps the type checker from narrowing it to null.
      const outcome: { failure: string | null } = { failure: null };
      const watchdog = new AbortController();

      socket.on('unexpected-response', (_request, response) => {
        const status = response.statusCode ?? 0;
        if (status === 429) {
          const now = this.clock.monotonic();
          // BTCTurk blocks new connects for 60 s after the limit; a longer Retry-After wins.
          const pause = Math.max(
            retryAfterMs(response, this.clock.now()) ?? 0,
            this.options.rateLimitPauseMs ?? 60_000,
          );
          this.budget.block(now, pause);
          this.counts.rateLimited++;
          this.report({
            kind: 'rate-limited',
            message: `${this.url} refused the connect with 429; no connect for ${Math.round(pause / 1000)} s`,
          });
        }
        outcome.failure = `the upgrade was answered with HTTP ${status}`;
        socket.terminate();
      });
      socket.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
          // `ws` closes the socket (1009) after this; the close below replaces the connection.
          this.counts.oversizedFrames++;
          this.report({
            kind: 'oversized-frame',
            message: `a frame above ${this.maxPayloadBytes} bytes (maxPayloadBytes) arrived; the connection is closed and replaced`,
          });
          outcome.failure ??= `a frame above ${this.maxPayloadBytes} bytes arrived`;
          return;
        }
        outcome.failure ??= error.message;
      });
      socket.on('open', () => {
        openedAt = this.clock.monotonic();
        this.lastActivity = openedAt;
        this.pending.length = 0;
        this.resubscribing.clear();
        this.counts.opened++;
        const again = this.everOpened;
        this.everOpened = true;
        if (again) this.counts.reconnects++;
        this.login(socket);
        for (const { channel, event } of this.subscriptions.values()) this.sendJoin(channel, event, true);
        void this.watch(socket, watchdog.signal);
        this.emitSafely('connected');
        if (again) this.emitSafely('reconnected');
      });
      socket.on('message', (data: RawData) => {
        this.onFrame(rawText(data));
      });
      socket.on('pong', () => {
        this.lastActivity = this.clock.monotonic();
      });
      // BTCTurk pings every 15 s; `ws` answers with a pong by itself. The ping proves the server alive.
      socket.on('ping', () => {
        this.counts.serverPings++;
        this.lastActivity = this.clock.monotonic();
      });
      socket.on('close', (code, reason) => {
        watchdog.abort();
        if (this.socket === socket) this.socket = null;
        const lived = openedAt === null ? 0 : this.clock.monotonic() - openedAt;
        const why =
          outcome.failure ??
          `closed with code ${code}${reason.length > 0 ? ` (${reason.toString('utf8')})` : ''}`;
        if (openedAt === null) {
          if (!this.stopped())
            this.report({ kind: 'connect-failed', message: `connect to ${this.url} failed: ${why}` });
        } else {
          this.counts.disconnects++;
          this.emitSafely('disconnected', why);
        }
        resolve(lived);
      });
    });
  }

  private login(socket: WebSocket): void {
    const credentials = this.options.credentials;
    if (!credentials) return;
    // A small nonce and the server-synced time: BTCTurk refuses a large nonce (see auth.ts).
    socket.send(credentials.loginFrame(this.loginNonce, Math.round(this.serverNow())));
    this.pending.push({ what: 'login', since: this.clock.monotonic() });
  }

  /** Pings, and replaces a connection that is silent or leaves a request unanswered. */
  private async watch(socket: WebSocket, signal: AbortSignal): Promise<void> {
    const step = Math.max(1, Math.min(this.pingEveryMs, Math.floor(this.silenceMs / 4)));
    let sincePing = 0;
    while (!signal.aborted) {
      try {
        await this.clock.sleep(step, signal);
      } catch {
        return;
      }
      if (socket.readyState !== WebSocket.OPEN) return;
      const now = this.clock.monotonic();
      if (now - this.lastActivity > this.silenceMs) {
        this.counts.silences++;
        this.report({
          kind: 'silence',
          message: `no frame, no ping and no pong for ${now - this.lastActivity} ms; reconnecting`,
        });
        socket.terminate();
        return;
      }
      const late = this.pending.find((p) => now - p.since > this.answerTimeoutMs);
      if (late) {
        this.report({
          kind: 'unanswered',
          message: `no answer to ${late.what} within ${this.answerTimeoutMs} ms; reconnecting`,
        });
        socket.terminate();
        return;
      }
      sincePing += step;
      if (sincePing >= this.pingEveryMs) {
        sincePing = 0;
        socket.ping();
      }
    }
  }

  private onFrame(text: string): void {
    if (this.frameTap !== null) this.frameTap(text);
    const receivedAt = this.clock.monotonic();
    this.lastActivity = receivedAt;
    this.counts.frames++;
    const parsed = parseFrame(text, this.clock.now());
    if (!parsed.ok) {
      this.counts.unreadableFrames++;
      this.report({
        kind: 'unreadable-frame',
        message: `frame type ${parsed.type ?? '?'} could not be read: ${parsed.reason}`,
        symbol: parsed.symbol,
        frameType: parsed.type,
      });
      // The book this frame was about can no longer be trusted: tell its consumers, not only the log.
      if (parsed.symbol !== null)
        this.emitSafely(
          'message',
          {
            kind: 'book-unreadable',
            symbol: parsed.symbol,
            reason: parsed.reason,
            cause: parsed.cause,
          },
          receivedAt,
        );
      return;
    }
    for (const message of parsed.messages) {
      if (message.kind === 'subscription-result') this.onResult(message.ok, message.message);
      else if (message.kind === 'login-result') this.onLoginResult(message.ok, message.message);
      this.emitSafely('message', message, receivedAt);
    }
  }

  private onResult(ok: boolean, message: string): void {
    // Leaves are not tracked: BTCTurk's answer to one is not documented.
    if (message.startsWith('leave|')) return;
    // The answer names the subscription ("join|obdiff:BTCTRY"), a refusal too; one that does not
    // answers the oldest request, as the server answers in order.
    let index = this.pending.findIndex((p) => p.what === message);
    if (index < 0)
      index = this.pending.findIndex(
        (p) => p.what !== 'login' && message.includes(p.what.slice(p.what.indexOf('|') + 1)),
      );
    if (index < 0) index = this.pending.findIndex((p) => p.what !== 'login');
    const request = index >= 0 ? this.pending.splice(index, 1)[0] : undefined;
    const key = message.startsWith('join|') ? message.slice('join|'.length) : null;
    if (ok) {
      // The answer to a join sent before a resubscribe's re-join (still pending) is not the
      // re-join's: the resubscribe is still under way, and a duplicate refusal may follow.
      if (key !== null && !this.pending.some((p) => p.what === `join|${key}`)) this.resubscribing.delete(key);
      return;
    }
    if (key !== null && this.subscriptions.has(key)) {
      this.onDuplicateJoin(key);
      return;
    }
    this.counts.refusedSubscriptions++;
    this.report({
      kind: 'subscription-refused',
      message: `the server refused ${request?.what ?? 'a subscription'}: ${message || 'no reason given'}`,
    });
  }

  /**
   * BTCTurk refuses a join of a subscription it already holds (`ok:false`, message
   * "join|obdiff:BTCUSDT"): the subscription stands, so this is no failure. After a resubscribe it
   * means the leave was not taken before the join, and no fresh snapshot comes: leave and join
   * once more; if that is refused too, say so (the market layer's resync re-asks later).
   * ASSUMPTION (BTCTurk): a leave (`join:false`) is honoured and a later join brings a fresh 431;
   * how the server answers a leave is not captured, so no answer to one is awaited.
   */
  private onDuplicateJoin(key: string): void {
    this.counts.duplicateJoins++;
    const retried = this.resubscribing.get(key);
    const subscription = this.subscriptions.get(key);
    if (retried === undefined || subscription === undefined) return;
    if (!retried) {
      this.resubscribing.set(key, true);
      this.sendJoin(subscription.channel, subscription.event, false);
      this.sendJoin(subscription.channel, subscription.event, true);
      return;
    }
    this.resubscribing.delete(key);
    this.report({
      kind: 'resubscribe-failed',
      message: `the server kept ${key} through two leaves, refusing each re-join as a duplicate: no fresh snapshot yet`,
    });
  }

  private onLoginResult(ok: boolean, message: string): void {
    const index = this.pending.findIndex((p) => p.what === 'login');
    if (index >= 0) this.pending.splice(index, 1);
    this.#loggedIn = ok;
    if (!ok) {
      this.counts.loginRefusals++;
      this.report({
        kind: 'login-refused',
        message: `the WebSocket login was refused: ${message || 'no reason given'}; check BTCTURK_WS_PUBLIC_KEY and BTCTURK_WS_PRIVATE_KEY (and the clock)`,
      });
    }
    this.emitSafely('login', ok, message);
  }

  private report(problem: WsProblem): void {
    this.emitSafely('problem', problem);
  }

  /** A throwing listener must not take the connection down with it; it is reported instead. */
  private emitSafely<K extends keyof WsClientEvents>(event: K, ...args: WsClientEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: WsClientEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      if (event === 'problem') return;
      this.report({
        kind: 'listener-failed',
        message: `a "${event}" listener threw: ${error instanceof Error ? error.message : String(error)}`,
      });
    }
  }
}
