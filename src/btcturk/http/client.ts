import { channel, subscribe, unsubscribe } from 'node:diagnostics_channel';
import { pino, type Logger } from 'pino';
import { Agent, buildConnector, request } from 'undici';
import type { Clock } from '../../domain/clock.ts';
import { ConfigError, ExchangeError } from '../../domain/errors.ts';
import type { Random } from '../../domain/random.ts';
import { ORDER_REQUEST_WRITTEN, type OrderRequestWritten } from '../../ports/exchange.ts';
import { ENDPOINTS, RATE_LIMIT_FALLBACK_MS, operationName, type EndpointSpec } from '../common/constants.ts';
import type { BtcturkCredentials } from '../common/credentials.ts';
import {
  authStoppedError,
  classifyReply,
  transportFailure,
  unreadableReply,
  type CallContext,
} from '../common/errors.ts';
import type { RateLimiter } from '../common/rate-limiter.ts';
import { redact } from '../common/redact.ts';
import { fullJitterDelay, isRetryable, type BackoffPolicy } from '../common/retry.ts';
import { StampSource, clockOffset } from '../common/stamps.ts';
import { ClockSync } from './clock-sync.ts';
import { parseExchangeInfo, parseServerTime } from './models.ts';

/**
 * Told what the client does, for metrics (src/ops/metrics.ts): the adapter knows no metrics library.
 * `group` is the endpoint's rate-limit group; `outcome` is 'ok' or the ExchangeError kind.
 */
export interface HttpClientObserver {
  /** One attempt, from sending to its reply read (or its failure), in seconds. */
  request?(group: string, seconds: number, outcome: string): void;
  /** Time spent waiting for the rate limiter before an attempt, in seconds. */
  limiterWait?(group: string, seconds: number): void;
  /** A 429 answered. */
  rateLimited?(group: string): void;
  /** A retry about to be made, after a failure of this kind. */
  retry?(group: string, kind: string): void;
}

export interface BtcturkHttpClientOptions {
  readonly baseUrl: string;
  readonly credentials: BtcturkCredentials | undefined;
  readonly requestTimeoutMs: number; // per attempt
  readonly deadlineMs: number; // per call, retries included
  readonly clock: Clock;
  readonly random: Random;
  readonly limiter: RateLimiter;
  readonly logger: Logger | undefined;
  readonly clockSyncIntervalMs: number;
  readonly maxConsecutiveAuthFailures: number;
  readonly backoff: BackoffPolicy;
  readonly observe?: HttpClientObserver | undefined;
}

export type QueryValue = string | number | readonly string[] | undefined;

export interface CallSpec {
  readonly endpoint: EndpointSpec;
  readonly pathParams?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, QueryValue>>;
  readonly body?: Readonly<Record<string, string>>;
  readonly deadlineMs?: number;
  /** What the call is about, named in its errors: "pair NOPEUSDT", "order 123". */
  readonly subject?: string;
  /** The reply may come without the envelope (/server/time only). */
  readonly bareBody?: boolean;
}

interface Timed<T> {
  readonly value: T;
  readonly sentAt: number; // local monotonic clock, just before sending
  readonly receivedAt: number; // local monotonic clock, when the reply's head arrived
}

function normalBaseUrl(baseUrl: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new ConfigError('BTCTURK_BASE_URL', `"${baseUrl}" is not a URL; use e.g. https://api.btcturk.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new ConfigError('BTCTURK_BASE_URL', `"${baseUrl}" must start with https:// or http://`);
  return url.href.replace(/\/+$/, '');
}

const orderWritten = channel(ORDER_REQUEST_WRITTEN);
// undici publishes here once a request's head and body are on the socket.
const UNDICI_WRITTEN = 'undici:request:bodySent';

/** The order request a call stands for, when it is one: what ORDER_REQUEST_WRITTEN announces. */
function orderRequestOf(spec: CallSpec): OrderRequestWritten | null {
  if (spec.endpoint === ENDPOINTS.submitOrder)
    return { operation: 'submit', clientOrderId: spec.body?.newOrderClientId };
  if (spec.endpoint === ENDPOINTS.cancelOrder) {
    const id = spec.query?.id;
    return { operation: 'cancel', exchangeOrderId: typeof id === 'string' ? id : undefined };
  }
  return null;
}

interface UndiciWritten {
  readonly request?: {
    readonly origin?: unknown;
    readonly method?: string;
    readonly path?: string;
    readonly body?: unknown;
  };
}

/**
 * While an order request is on its way and someone listens on ORDER_REQUEST_WRITTEN, watches
 * undici for the moment exactly this request (origin, method, path and body) has been written,
 * and announces it venue-neutrally. Returns the stop function; a no-op when nobody listens.
 */
function announceWhenWritten(
  what: OrderRequestWritten | null,
  request: { url: string; method: string; body: string | null },
): () => void {
  if (what === null || !orderWritten.hasSubscribers) return () => undefined;
  const url = new URL(request.url);
  const path = `${url.pathname}${url.search}`;
  let announced = false;
  const listener = (message: unknown): void => {
    const sent = (message as UndiciWritten).request;
    if (announced || sent?.method !== request.method || sent.path !== path) return;
    if (originOf(sent.origin) !== url.origin) return;
    if (bodyText(sent.body) !== request.body) return;
    announced = true;
    orderWritten.publish(what);
  };
  subscribe(UNDICI_WRITTEN, listener);
  return () => {
    unsubscribe(UNDICI_WRITTEN, listener);
  };
}

/** undici keeps a string body as a Buffer. */
function bodyText(body: unknown): string | null {
  if (typeof body === 'string') return body;
  return Buffer.isBuffer(body) ? body.toString('utf8') : null;
}

function originOf(origin: unknown): string | null {
  try {
    return new URL(String(origin)).origin;
  } catch {
    return null;
  }
}

function describeThrown(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The one HTTP client of the adapter. Every call goes: rate limiter → fresh stamp and signature →
 * undici with a per-attempt deadline → classification into an ExchangeError kind → retry only
 * where repeating cannot act twice.
 */
export class BtcturkHttpClient {
  readonly #baseUrl: string;
  readonly #credentials: BtcturkCredentials | undefined;
  readonly #requestTimeoutMs: number;
  readonly #deadlineMs: number;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #limiter: RateLimiter;
  readonly #log: Logger;
  readonly #maxAuthFailures: number;
  readonly #backoff: BackoffPolicy;
  readonly #observe: HttpClientObserver;
  readonly #stamps: StampSource;
  readonly #clockSync: ClockSync;
  readonly #agent: Agent;
  // Errors the connector raised: such a request never had a byte written.
  readonly #connectErrors = new WeakSet<object>();
  #authFailures = 0;
  // Re-syncs asked for after a 401 so far: a 401 for a stamp signed before the latest of them is
  // the stale offset that re-sync is already fixing, and is not counted again.
  #authResyncs = 0;

  constructor(options: BtcturkHttpClientOptions) {
    this.#baseUrl = normalBaseUrl(options.baseUrl);
    this.#credentials = options.credentials;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#deadlineMs = options.deadlineMs;
    this.#clock = options.clock;
    this.#random = options.random;
    this.#limiter = options.limiter;
    this.#log = (options.logger ?? pino({ enabled: false })).child({ component: 'btcturk-rest' });
    this.#maxAuthFailures = options.maxConsecutiveAuthFailures;
    this.#backoff = options.backoff;
    this.#observe = options.observe ?? {};
    this.#stamps = new StampSource(options.clock);
    this.#clockSync = new ClockSync({
      measure: (deadlineAt) => this.#measureOffset(deadlineAt),
      stamps: this.#stamps,
      clock: options.clock,
      intervalMs: options.clockSyncIntervalMs,
      log: this.#log,
    });
    const connect = buildConnector({ timeout: options.requestTimeoutMs });
    this.#agent = new Agent({
      connect: (connectOptions, callback) => {
        connect(connectOptions, (...args) => {
          if (args[0]) this.#connectErrors.add(args[0]);
          callback(...args);
        });
      },
    });
  }

  /** Sends one call (with the retries its kind allows) and parses its data with `parse`. */
  async call<T>(spec: CallSpec, parse: (data: unknown) => T): Promise<T> {
    return (await this.#execute(spec, parse)).value;
  }

  /**
   * The server's wall-clock time as best known here: the local monotonic clock plus the last
   * measured offset (the one REST stamps use); the local wall clock until the first measurement.
   */
  serverNow(): number {
    return this.#stamps.serverNow();
  }

  /** Measures the server's clock offset now; fails with the server-time endpoint's error. */
  syncClock(): Promise<void> {
    return this.#clockSync.syncNow(this.#clock.now() + this.#requestTimeoutMs);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  // Bounded by the deadline of the call that needs the stamp, and by one request timeout.
  async #measureOffset(deadlineAt: number): Promise<number> {
    const budget = () => Math.min(this.#requestTimeoutMs, deadlineAt - this.#clock.now());
    try {
      const t = await this.#execute(
        { endpoint: ENDPOINTS.serverTime, deadlineMs: budget(), bareBody: true },
        parseServerTime,
      );
      return clockOffset(t.value, t.sentAt, t.receivedAt);
    } catch (error) {
      // exchangeinfo carries serverTime too: a venue (or simulator) without /server/time still syncs.
      const t = await this.#execute(
        { endpoint: ENDPOINTS.exchangeInfo, deadlineMs: budget() },
        (data) => parseExchangeInfo(data).info.serverTime,
      ).catch(() => null);
      if (t === null || t.value === null) throw error;
      return clockOffset(t.value, t.sentAt, t.receivedAt);
    }
  }

  async #execute<T>(spec: CallSpec, parse: (data: unknown) => T): Promise<Timed<T>> {
    const { endpoint } = spec;
    const operation = operationName(endpoint);
    const deadlineAt = this.#clock.now() + (spec.deadlineMs ?? this.#deadlineMs);
    const isPrivate = endpoint.access === 'private';
    if (isPrivate && !this.#credentials)
      throw new ConfigError('BTCTURK_API_KEY', `required for ${operation}`);
    let attempt = 0;
    let resynced = false;
    /** The failure a retry is waiting out: what the caller hears if the deadline ends the wait. */
    let retrying: ExchangeError | null = null;
    for (;;) {
      // A backoff that overran the deadline (a busy event loop sleeps long) ends with the failure
      // that caused it, not a bare "deadline passed" that hides why the request never went through.
      if (retrying !== null && this.#clock.now() >= deadlineAt) throw retrying;
      if (isPrivate) {
        if (this.#authFailures >= this.#maxAuthFailures)
          throw authStoppedError(operation, this.#authFailures);
        await this.#clockSync.ensureFresh(deadlineAt);
      }
      const queuedAt = this.#clock.monotonic();
      try {
        await this.#limiter.acquire(endpoint.group, { deadlineAt, operation });
      } catch (error) {
        // A retry the limiter could not fit before the deadline: the caller hears why it retried.
        throw retrying ?? error;
      }
      this.#observe.limiterWait?.(endpoint.group, (this.#clock.monotonic() - queuedAt) / 1000);
      // So does a retry whose wait for the limiter (shared and prioritised) outlasted the deadline.
      if (retrying !== null && this.#clock.now() >= deadlineAt) throw retrying;
      // The stamp is signed synchronously at the start of the attempt: this is its offset's age.
      const resyncsAtSigning = this.#authResyncs;
      const attemptAt = this.#clock.monotonic();
      try {
        const result = await this.#attempt(spec, parse, deadlineAt, attempt);
        this.#observe.request?.(endpoint.group, (this.#clock.monotonic() - attemptAt) / 1000, 'ok');
        if (isPrivate) this.#authFailures = 0;
        return result;
      } catch (error) {
        if (!(error instanceof ExchangeError)) throw error;
        this.#observe.request?.(endpoint.group, (this.#clock.monotonic() - attemptAt) / 1000, error.kind);
        if (error.kind === 'rate-limited') this.#observe.rateLimited?.(endpoint.group);
        // A read retried into the last moments of its deadline and cut off by it (no reply in the
        // time left) says only that time ran out: the caller hears the failure the retry was for.
        // A write cut off this way may have been processed: its own, ambiguous error stands.
        const cutOff = error.kind === 'ambiguous' && this.#clock.now() >= deadlineAt;
        if (retrying !== null && endpoint.effect === 'read' && cutOff) throw retrying;
        if (error.kind === 'rate-limited')
          await this.#limiter.block(endpoint.group, this.#clock.now() + (error.retryAfterMs ?? 0));
        if (error.kind === 'auth' && isPrivate) {
          // Requests in flight when the server's clock jumps all come back 401 for one stale offset:
          // that is one failure, not one per request, or a burst of readers would stop private
          // requests for good before any of them could retry on the re-measured offset.
          if (resyncsAtSigning === this.#authResyncs) this.#authFailures += 1;
          if (this.#authFailures >= this.#maxAuthFailures) {
            this.#log.error(
              { operation, failures: this.#authFailures },
              'private requests stopped after repeated 401s',
            );
            throw authStoppedError(operation, this.#authFailures);
          }
          // A 401 means the request was not processed; the usual cause is a stamp outside ±5 s.
          if (!resynced) {
            resynced = true;
            this.#authResyncs += 1;
            await this.#clockSync.syncNow(deadlineAt).catch((syncError: unknown) => {
              this.#log.warn({ err: describeThrown(syncError) }, 'clock re-sync after a 401 failed');
            });
            this.#observe.retry?.(endpoint.group, error.kind);
            continue;
          }
          throw error;
        }
        if (!isRetryable(error, endpoint.effect)) throw error;
        const delayMs = fullJitterDelay(attempt, this.#backoff, this.#random);
        if (this.#clock.now() + Math.max(delayMs, error.retryAfterMs ?? 0) >= deadlineAt) throw error;
        this.#log.debug({ operation, kind: error.kind, attempt, delayMs: Math.round(delayMs) }, 'retrying');
        retrying = error;
        this.#observe.retry?.(endpoint.group, error.kind);
        await this.#clock.sleep(delayMs);
        attempt += 1;
      }
    }
  }

  async #attempt<T>(
    spec: CallSpec,
    parse: (data: unknown) => T,
    deadlineAt: number,
    attempt: number,
  ): Promise<Timed<T>> {
    const { endpoint } = spec;
    const operation = operationName(endpoint);
    const remaining = deadlineAt - this.#clock.now();
    if (remaining <= 0)
      throw new ExchangeError('not-sent', `${operation} not sent: its deadline passed before it could go`, {
        operation,
      });
    const timeoutMs = Math.min(this.#requestTimeoutMs, remaining);

    const headers: Record<string, string> = { accept: 'application/json' };
    const secrets = [...(this.#credentials?.secrets ?? [])];
    if (endpoint.access === 'private' && this.#credentials) {
      // Every attempt signs a fresh stamp: BTCTurk may refuse a stamp it has seen.
      const auth = this.#credentials.headers(this.#stamps.next());
      Object.assign(headers, auth);
      secrets.push(auth['X-Stamp'], auth['X-Signature']);
    }
    if (spec.body) headers['content-type'] = 'application/json';
    const call: CallContext = {
      operation,
      effect: endpoint.effect,
      secrets,
      subject: spec.subject,
      bareBody: spec.bareBody,
    };
    const path = this.#path(spec);
    const body = spec.body ? JSON.stringify(spec.body) : null;
    const url = `${this.#baseUrl}${path}`;
    const stopAnnouncing = announceWhenWritten(orderRequestOf(spec), { url, method: endpoint.method, body });

    const sentAt = this.#clock.monotonic();
    let status: number;
    let retryAfter: string | undefined;
    let text: string;
    let receivedAt: number;
    try {
      const response = await request(url, {
        dispatcher: this.#agent,
        method: endpoint.method,
        headers,
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      receivedAt = this.#clock.monotonic();
      status = response.statusCode;
      const header = response.headers['retry-after'];
      retryAfter = Array.isArray(header) ? header[0] : header;
      text = await response.body.text();
    } catch (error) {
      const failure = transportFailure(error, call, {
        beforeSending: typeof error === 'object' && error !== null && this.#connectErrors.has(error),
        timeoutMs,
      });
      this.#log.debug(
        { method: endpoint.method, path, attempt, kind: failure.kind, latencyMs: this.#since(sentAt) },
        'request failed',
      );
      throw failure;
    } finally {
      stopAnnouncing();
    }
    this.#log.debug(
      { method: endpoint.method, path, status, attempt, latencyMs: this.#since(sentAt) },
      'request',
    );

    const classified = classifyReply({ status, retryAfter, text }, call, {
      serverNow: this.#stamps.serverNow(),
      fallbackMs: RATE_LIMIT_FALLBACK_MS,
    });
    if (!classified.ok) throw classified.error;
    try {
      return { value: parse(classified.data), sentAt, receivedAt };
    } catch (error) {
      throw unreadableReply(call, status, redact(describeThrown(error), secrets)).error;
    }
  }

  #path(spec: CallSpec): string {
    const path = spec.endpoint.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = spec.pathParams?.[name];
      if (value === undefined) throw new Error(`path parameter "${name}" missing for ${spec.endpoint.path}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value === undefined) continue;
      if (typeof value === 'object') for (const item of value) query.append(key, item);
      else query.append(key, String(value));
    }
    const search = query.toString();
    return search === '' ? path : `${path}?${search}`;
  }

  #since(started: number): number {
    return Math.round(this.#clock.monotonic() - started);
  }
}
