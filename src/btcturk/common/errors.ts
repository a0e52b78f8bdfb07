import { ExchangeError, type RefusalReason } from '../../domain/errors.ts';
import type { EndpointSpec } from './constants.ts';
import { parseJsonLossless } from './json.ts';
import { excerpt, redact } from './redact.ts';

// Maps every way a BTCTurk call can fail onto the ExchangeError kinds of domain/errors.ts. The
// decisive question is whether the exchange could have acted on the request: only then is an
// outcome "ambiguous", and only an ambiguous write is never repeated.

export interface CallContext {
  readonly operation: string; // "POST /api/v1/order"
  readonly effect: EndpointSpec['effect'];
  readonly secrets: readonly string[]; // scrubbed from anything kept from the reply
  /** What the call is about, for messages: "pair NOPEUSDT", "order 123". */
  readonly subject?: string | undefined;
  /**
   * The reply may be a bare payload without the {success, code, data} envelope (only
   * /server/time is: btcturk-wire rest-server-time). Any other reply without a `data` member has
   * no data, and reading it as data would turn an error body into "nothing there".
   * ASSUMPTION (BTCTurk): every endpoint but /server/time answers inside the envelope (all captures
   * and docs examples do); a bare 2xx body elsewhere is unreadable (parse, or ambiguous for a write).
   */
  readonly bareBody?: boolean | undefined;
}

/** "GET /api/v2/orderbook for pair NOPEUSDT": how a message names the call. */
function callName(call: Pick<CallContext, 'operation' | 'subject'>): string {
  return call.subject === undefined ? call.operation : `${call.operation} for ${call.subject}`;
}

export interface Reply {
  readonly status: number;
  readonly retryAfter: string | undefined; // the Retry-After header
  readonly text: string;
}

export interface RetryAfterContext {
  readonly serverNow: number; // to read an HTTP-date Retry-After against the server's clock
  readonly fallbackMs: number; // when neither header nor body says
}

export type Classified =
  { readonly ok: true; readonly data: unknown } | { readonly ok: false; readonly error: ExchangeError };

interface Envelope {
  readonly success: readonly unknown[]; // every spelling of the key: "success", "Success", …
  readonly code: readonly unknown[];
  readonly message: unknown;
  readonly details: unknown;
  readonly period: unknown;
  /** The reply has a `data` member (exactly that spelling), and its value. */
  readonly hasData: boolean;
  readonly data: unknown;
  /** Any member of the envelope is there, in any case. */
  readonly isEnvelope: boolean;
  /** The data, under any spelling, names an order id: the exchange may have placed it. */
  readonly namesOrder: boolean;
}

const ENVELOPE_KEYS = new Set(['success', 'code', 'message', 'data']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Values of `key` under any spelling of its case; BTCTurk has answered with "Success", "Code". */
function anyCase(record: Record<string, unknown>, key: string): unknown[] {
  return Object.keys(record)
    .filter((k) => k.toLowerCase() === key)
    .map((k) => record[k]);
}

function namesAnOrder(record: Record<string, unknown>): boolean {
  return anyCase(record, 'data').some(
    (data) =>
      isRecord(data) && anyCase(data, 'id').some((id) => id !== null && id !== undefined && id !== ''),
  );
}

function envelopeOf(body: unknown): Envelope | null {
  if (!isRecord(body)) return null;
  const first = (key: string) => {
    const exact = body[key];
    return exact !== undefined ? exact : anyCase(body, key)[0];
  };
  return {
    success: anyCase(body, 'success'),
    code: anyCase(body, 'code'),
    message: first('message'),
    details: first('details'),
    period: body.period,
    hasData: Object.hasOwn(body, 'data'),
    data: body.data,
    isEnvelope: Object.keys(body).some((k) => ENVELOPE_KEYS.has(k.toLowerCase())),
    namesOrder: namesAnOrder(body),
  };
}

function tryParse(text: string): { ok: true; body: unknown } | { ok: false } {
  try {
    return { ok: true, body: parseJsonLossless(text) };
  } catch {
    return { ok: false };
  }
}

function venueCode(envelope: Envelope | null): number | string | undefined {
  return envelope?.code.find((c): c is number | string => typeof c === 'number' || typeof c === 'string');
}

/**
 * A non-zero `code` is a failure whatever `success` says: a stamp outside the window has come back
 * as `success:true` with code 1037 "Unauthorized - Invalid Nonce" (btcturk-wire rest-invalid-nonce).
 * A code that is neither a number nor a string cannot say "no error" either.
 */
function isFailureEnvelope(envelope: Envelope): boolean {
  const failed = envelope.success.some((s) => s === false || (typeof s === 'string' && /^false$/i.test(s)));
  const badCode = envelope.code.some((c) => {
    if (c === null || c === undefined) return false;
    if (typeof c === 'number') return c !== 0;
    if (typeof c === 'string') return c.trim() !== '0' && c.trim() !== '';
    return true;
  });
  return failed || badCode;
}

function venueMessage(
  envelope: Envelope | null,
  text: string,
  secrets: readonly string[],
): string | undefined {
  const parts = [envelope?.message, envelope?.details].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  if (parts.length > 0) return excerpt(parts.join(': '), secrets);
  if (envelope !== null) return undefined;
  return text.trim() === '' ? undefined : excerpt(text, secrets);
}

function describeVenue(code: number | string | undefined, message: string | undefined): string {
  const said = [code === undefined ? undefined : `code ${code}`, message].filter((p) => p !== undefined);
  return said.length > 0 ? ` (${said.join(' ')})` : '';
}

const PERIOD = /^(\d+)\s*(ms|s|m|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | undefined, serverNow: number): number | undefined {
  const value = header?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1_000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - serverNow);
}

/** BTCTurk's 429 body names the quota's period ("period":"1m"), the longest the block can last. */
function bodyPeriodMs(envelope: Envelope | null): number | undefined {
  const period = envelope?.period;
  const match = typeof period === 'string' ? PERIOD.exec(period.trim()) : null;
  if (!match?.[1] || !match[2]) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2]] ?? 0);
}

const REASON_BY_MESSAGE: readonly (readonly [RegExp, VenueReason])[] = [
  [/^FAILED_ORDER_WITH_OPEN_ORDERS\b/, 'insufficient-funds'],
  [/^BALANCE_NOT_ENOUGH\b/, 'insufficient-funds'],
  [/^FAILED_MIN_TOTAL_AMOUNT\b/, 'min-total'],
  [/^FAILED_INVALID_PRICE_SCALE\b/, 'price-scale'],
  [/^FAILED_INVALID_QUANTITY_SCALE\b/, 'quantity-scale'],
  [/^FAILED_INVALID_STOP_PRICE_SCALE\b/, 'stop-price-scale'],
  [/^(PRICE_MUST_BE_LESS_THAN_M(AX|IN)PRICE|ORDER_M(IN|AX)_PRICE_EXCEEDED)\b/, 'price-bounds'],
  [/^FAILED_STOP_PRICE_(GREATER_THAN_BEST_ASK|LESS_THAN_BEST_BID)\b/, 'stop-price-side'],
  // ASSUMPTION (BTCTurk): FAILED_LIMIT_ORDER (1120) is a limit order the venue refused for its
  // parameters; BTCTurk staff answered it with "a parameter is missing or wrong, or the total is
  // below the minimum" (BTCTrader/broker-api-docs #171). Read as an invalid order, not a passing fault.
  [/^FAILED_LIMIT_ORDER\b/, 'limit-order'],
  [/^FAILED_MARKET_ORDER\b/, 'market-order'],
  [/^(ORDER_METHOD_NOT_SUPPORTED|ORDER_TYPE_NOT_SUPPORTED)\b/, 'unsupported-order'],
  // GET /order/{id} of an unknown id: 1152 "Order not found" (HTTP 400 per the docs). ASSUMPTION
  // (BTCTurk): the docs' example shows no status, so a 200 with success:false reads the same.
  [/^(NO_ORDER_MATCHES_YOUR_REQUEST\b|Order not found)/i, 'order-not-found'],
  [/^ORDER_COULD_NOT_BE_CANCELED\b/, 'order-not-cancelable'],
  [/^ORDER_CANCEL_BLOCKED\b/, 'cancel-blocked'],
  // "Pair NOPEUSDT does not exists." (btcturk-wire rest-orderbook-unknown-pair); PAIR_NOT_FOUND_ERROR
  // (code 1027) answered an order POST in BTCTrader/broker-api-docs #300.
  [/^(Pair \S* ?does not exists?\b|PAIR_NOT_FOUND_ERROR\b)/i, 'unknown-pair'],
  // ASSUMPTION (BTCTurk): FAILED_ORDER_PARAMETER ("one of the parameters is not correct") may also
  // be what an order on an unlisted pair gets; it does not say which parameter, so it stays an
  // invalid request (an invalid order on a write), never "unknown symbol".
  [/^(INVALID_REQUEST_ERROR|FAILED_ORDER_PARAMETER)\b/, 'invalid-request'],
  [/^Unauthorized\b/i, 'unauthorized'],
  [/^TOO_MANY_REQUESTS\b/, 'rate-limit'],
];

// Only for replies without a message (btcturk-api.md §6, btcturk-wire). 1037 is left out: the wire
// shows it on an unknown pair, a missing parameter and a bad nonce alike.
const REASON_BY_CODE: Readonly<Record<string, VenueReason>> = {
  '1027': 'unknown-pair',
  '1052': 'order-not-found',
  '1118': 'market-order',
  '1120': 'limit-order',
  '1122': 'insufficient-funds',
  '1123': 'min-total',
  '1124': 'stop-price-side',
  '1125': 'stop-price-side',
  '1126': 'price-scale',
  '1127': 'quantity-scale',
  '1128': 'stop-price-scale',
  '1134': 'unsupported-order',
  '1152': 'order-not-found',
  '1193': 'unsupported-order',
  '1226': 'price-bounds',
  '1227': 'price-bounds',
  '429': 'rate-limit',
};

/** What each venue reason says in a message, and what it means venue-neutrally (see refusalOf). */
const REASONS = {
  'insufficient-funds': {
    text: 'insufficient funds (the balance is too small or held by open orders)',
    refusal: 'insufficient-balance',
  },
  'min-total': { text: 'the order value is below the minimum', refusal: 'invalid-order' },
  'price-scale': { text: 'the price has more decimals than the pair allows', refusal: 'invalid-order' },
  'quantity-scale': { text: 'the quantity has more decimals than the pair allows', refusal: 'invalid-order' },
  'stop-price-scale': {
    text: 'the stop price has more decimals than the pair allows',
    refusal: 'invalid-order',
  },
  'price-bounds': { text: "the price is outside the pair's current limits", refusal: 'invalid-order' },
  'stop-price-side': { text: 'the stop price is on the wrong side of the market', refusal: 'invalid-order' },
  'limit-order': {
    text: 'the limit order was refused (a parameter is wrong or the value below the minimum)',
    refusal: 'invalid-order',
  },
  'market-order': { text: 'a market order cannot be placed on the pair now', refusal: 'market-unavailable' },
  'unsupported-order': {
    text: 'the pair does not accept this order method or type',
    refusal: 'invalid-order',
  },
  'order-not-found': { text: 'the exchange knows no such order', refusal: 'order-not-found' },
  // ASSUMPTION (BTCTurk): ORDER_COULD_NOT_BE_CANCELED means the order is closed (filled, canceled,
  // or a market order) or its cancel is already under way (btcturk-api.md §6): in every case this
  // cancel changes nothing, and a lookup tells which.
  'order-not-cancelable': {
    text: 'the order cannot be canceled (already closed, or its cancel is under way)',
    refusal: 'order-closed',
  },
  'cancel-blocked': { text: 'cancels are blocked on the pair for now', refusal: 'cancel-blocked' },
  'unknown-pair': { text: 'the exchange knows no such pair', refusal: 'unknown-symbol' },
  'invalid-request': { text: 'a parameter is missing or malformed', refusal: 'invalid-order' },
  unauthorized: { text: 'the API key, signature or stamp was not accepted', refusal: 'other' },
  'rate-limit': { text: 'the rate limit was exceeded', refusal: 'other' },
} as const satisfies Record<string, { readonly text: string; readonly refusal: RefusalReason }>;

/**
 * Why BTCTurk refused, read from its `message` first: codes are reused (FAILED_ORDER_WITH_OPEN_ORDERS
 * has come back with 1122 and with 1123, the code the docs give FAILED_MIN_TOTAL_AMOUNT), so the
 * code decides only when the reply carries no message at all. Finer than the venue-neutral
 * RefusalReason the rest of the bot sees (refusalOf maps one onto the other).
 */
export type VenueReason = keyof typeof REASONS;

/** The reason behind a venue's message and code; null when neither says one we know. */
export function reasonOf(
  venueMessage: string | undefined,
  code: number | string | undefined,
): VenueReason | null {
  const message = venueMessage?.trim() ?? '';
  if (message !== '') return REASON_BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1] ?? null;
  return code === undefined ? null : (REASON_BY_CODE[String(code)] ?? null);
}

/** Why an ExchangeError from this adapter says the exchange refused; null when it is not known. */
export function venueReason(error: ExchangeError): VenueReason | null {
  return reasonOf(error.venueMessage, error.code);
}

/**
 * The venue-neutral meaning of a BTCTurk refusal: what the execution core acts on. A malformed
 * read (INVALID_REQUEST_ERROR on a book) is no order of ours breaking a rule: 'other' there.
 */
export function refusalOf(reason: VenueReason | null, effect: EndpointSpec['effect']): RefusalReason {
  if (reason === null) return 'other';
  if (reason === 'invalid-request' && effect !== 'write') return 'other';
  return REASONS[reason].refusal;
}

/** Turns an HTTP reply into its envelope's data or the ExchangeError it stands for. */
export function classifyReply(reply: Reply, call: CallContext, retry: RetryAfterContext): Classified {
  const { status, text } = reply;
  const parsed = tryParse(text);
  const envelope = parsed.ok ? envelopeOf(parsed.body) : null;
  const code = venueCode(envelope);
  const message = venueMessage(envelope, text, call.secrets);
  const reason = envelope === null ? null : reasonOf(message, code);
  const details = { operation: call.operation, httpStatus: status, code, venueMessage: message };
  const said = `${describeVenue(code, message)}${reason === null ? '' : `: ${REASONS[reason].text}`}`;
  const fail = (
    kind: ExchangeError['kind'],
    what: string,
    extra: { retryAfterMs?: number } = {},
  ): Classified & { ok: false } => ({
    ok: false,
    error: new ExchangeError(kind, `${callName(call)}: ${what}`, {
      ...details,
      ...extra,
      // Every refusal says what it means, venue-neutral; other kinds are not refusals.
      reason: kind === 'rejected' || kind === 'exchange-failure' ? refusalOf(reason, call.effect) : undefined,
    }),
  });
  const failure = refusal();
  // A write whose refusal names an order id contradicts itself: the order may well exist. Only a
  // lookup can tell, so it is ambiguous, never "not placed".
  if (
    failure !== null &&
    call.effect === 'write' &&
    envelope?.namesOrder &&
    failure.error.kind !== 'ambiguous'
  )
    return fail(
      'ambiguous',
      `HTTP ${status}${said} says it failed but names an order id: the exchange may have acted on it; ` +
        'resolve it by lookup, do not send it again blindly',
    );
  if (failure !== null) return failure;
  // Most replies wrap their payload in {success, code, data}; /server/time may come bare. An
  // envelope without `data` has none: `undefined` reaches the parser, which refuses it unless the
  // call expects nothing (a cancel's success has no data).
  if (envelope?.isEnvelope) return { ok: true, data: envelope.hasData ? envelope.data : undefined };
  return { ok: true, data: call.bareBody ? (parsed.ok ? parsed.body : undefined) : undefined };

  function refusal(): (Classified & { ok: false }) | null {
    if (status === 429) {
      const retryAfterMs =
        parseRetryAfter(reply.retryAfter, retry.serverNow) ?? bodyPeriodMs(envelope) ?? retry.fallbackMs;
      return fail(
        'rate-limited',
        `rate limited with HTTP 429${describeVenue(code, message)}; nothing was processed and this endpoint ` +
          `is paused for the ${retryAfterMs} ms the exchange asked`,
        { retryAfterMs },
      );
    }
    if (status === 401 || (status < 500 && reason === 'unauthorized' && (status >= 400 || isFailed())))
      return fail(
        'auth',
        `refused with HTTP ${status}${describeVenue(code, message)}: ${REASONS.unauthorized.text}; check ` +
          'BTCTURK_API_KEY and BTCTURK_API_SECRET and that the machine clock is right',
      );
    if (status >= 500)
      return call.effect === 'write'
        ? fail(
            'ambiguous',
            `HTTP ${status}${said}: the exchange may or may not have acted on it; ` +
              'resolve it by lookup, do not send it again blindly',
          )
        : fail('server', `HTTP ${status}${said} from the exchange; try again later`);
    if (status >= 400)
      return fail('rejected', `rejected with HTTP ${status}${said}; the request was not processed`);
    if (status < 200 || status >= 300)
      return call.effect === 'write'
        ? fail('ambiguous', `unexpected HTTP ${status}: the outcome is unknown; resolve it by lookup`)
        : fail('server', `unexpected HTTP ${status}; check BTCTURK_BASE_URL`);
    if (!parsed.ok)
      return unreadableReply(call, status, `the body is not JSON: "${excerpt(text, call.secrets, 80)}"`);
    if (isFailed())
      return fail(
        'exchange-failure',
        `failed although HTTP ${status}${said}; the request was not carried out`,
      );
    if (!call.bareBody && !envelope?.isEnvelope)
      return unreadableReply(call, status, 'the body is not a {success, code, data} envelope');
    return null;
  }

  function isFailed(): boolean {
    return envelope !== null && isFailureEnvelope(envelope);
  }
}

/** A 2xx reply we cannot read: for a write its effect is unknown, for a read it is a parse failure. */
export function unreadableReply(
  call: CallContext,
  status: number,
  problem: string,
): Classified & { ok: false } {
  const detail = redact(problem, call.secrets);
  const error =
    call.effect === 'write'
      ? new ExchangeError(
          'ambiguous',
          `${callName(call)}: HTTP ${status} but the reply is unreadable (${detail}); the exchange probably ` +
            'acted on it: resolve it by lookup, do not send it again blindly',
          { operation: call.operation, httpStatus: status },
        )
      : new ExchangeError(
          'parse',
          `${callName(call)}: the reply does not have the expected shape: ${detail}`,
          {
            operation: call.operation,
            httpStatus: status,
          },
        );
  return { ok: false, error };
}

/** Errors raised before a request could leave the machine (DNS, refused, connect timeout). */
const CONNECT_PHASE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function errorField(error: unknown, field: 'code' | 'name' | 'message'): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A transport failure. `beforeSending` is true when the connector failed (DNS, refused, TLS
 * handshake): no byte of the request was written. Anything later — a timeout, a reset after the
 * request was written, a body cut short — leaves the outcome unknown.
 */
export function transportFailure(
  error: unknown,
  call: CallContext,
  attempt: { readonly beforeSending: boolean; readonly timeoutMs: number },
): ExchangeError {
  const code = errorField(error, 'code');
  const name = errorField(error, 'name');
  const said = redact(errorField(error, 'message') ?? String(error), call.secrets);
  if (attempt.beforeSending || (code !== undefined && CONNECT_PHASE_CODES.has(code)))
    return new ExchangeError(
      'not-sent',
      `${callName(call)} not sent: could not connect (${code ?? name ?? 'error'}: ${said}); check BTCTURK_BASE_URL ` +
        'and the network',
      { operation: call.operation, cause: error },
    );
  const timedOut = name === 'TimeoutError' || name === 'AbortError' || code === 'UND_ERR_ABORTED';
  const what = timedOut
    ? `no complete reply within ${attempt.timeoutMs} ms`
    : `the connection failed after the request was sent (${code ?? name ?? 'error'}: ${said})`;
  const next =
    call.effect === 'write'
      ? 'the exchange may or may not have acted on it; resolve it by lookup, do not send it again blindly'
      : 'nothing was changed by this read';
  return new ExchangeError('ambiguous', `${callName(call)}: ${what}; ${next}`, {
    operation: call.operation,
    cause: error,
  });
}

/** Private calls stop for good after repeated 401s: BTCTurk bans IPs that keep sending them. */
export function authStoppedError(operation: string, failures: number): ExchangeError {
  return new ExchangeError(
    'auth',
    `${operation} not sent: private requests are stopped after ${failures} consecutive HTTP 401 replies, to ` +
      'keep BTCTurk from banning this IP; check that BTCTURK_API_KEY and BTCTURK_API_SECRET are a matching, ' +
      'active pair with the needed permissions (and any IP allow-list), and that the machine clock is right, ' +
      'then restart',
    { operation },
  );
}
