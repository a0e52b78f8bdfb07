import { ExchangeError } from '../../domain/errors.ts';
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
  readonly success?: unknown;
  readonly code?: unknown;
  readonly message?: unknown;
  readonly details?: unknown;
  readonly period?: unknown;
  readonly data?: unknown;
}

function envelopeOf(body: unknown): Envelope | null {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? body : null;
}

function tryParse(text: string): { ok: true; body: unknown } | { ok: false } {
  try {
    return { ok: true, body: parseJsonLossless(text) };
  } catch {
    return { ok: false };
  }
}

function venueCode(envelope: Envelope | null): number | string | undefined {
  const code = envelope?.code;
  return typeof code === 'number' || typeof code === 'string' ? code : undefined;
}

function isFailureEnvelope(envelope: Envelope): boolean {
  const code = venueCode(envelope);
  return envelope.success === false || (code !== undefined && String(code) !== '0');
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

/** Turns an HTTP reply into its envelope's data or the ExchangeError it stands for. */
export function classifyReply(reply: Reply, call: CallContext, retry: RetryAfterContext): Classified {
  const { status, text } = reply;
  const parsed = tryParse(text);
  const envelope = parsed.ok ? envelopeOf(parsed.body) : null;
  const code = venueCode(envelope);
  const message = venueMessage(envelope, text, call.secrets);
  const details = { operation: call.operation, httpStatus: status, code, venueMessage: message };
  const fail = (
    kind: ExchangeError['kind'],
    what: string,
    extra: { retryAfterMs?: number } = {},
  ): Classified => ({
    ok: false,
    error: new ExchangeError(kind, `${call.operation}: ${what}`, { ...details, ...extra }),
  });

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
  if (status === 401)
    return fail(
      'auth',
      `refused with HTTP 401${describeVenue(code, message)}: the API key, signature or stamp was not accepted; ` +
        'check BTCTURK_API_KEY and BTCTURK_API_SECRET and that the machine clock is right',
    );
  if (status >= 500)
    return call.effect === 'write'
      ? fail(
          'ambiguous',
          `HTTP ${status}${describeVenue(code, message)}: the exchange may or may not have acted on it; ` +
            'resolve it by looking it up, do not send it again blindly',
        )
      : fail('server', `HTTP ${status}${describeVenue(code, message)} from the exchange; try again later`);
  if (status >= 400)
    return fail(
      'rejected',
      `rejected with HTTP ${status}${describeVenue(code, message)}; the request was not processed`,
    );
  if (status < 200 || status >= 300)
    return call.effect === 'write'
      ? fail('ambiguous', `unexpected HTTP ${status}: the outcome is unknown; resolve it by lookup`)
      : fail('server', `unexpected HTTP ${status}; check BTCTURK_BASE_URL`);

  if (!parsed.ok)
    return unreadableReply(call, status, `the body is not JSON: "${excerpt(text, call.secrets, 80)}"`);
  if (envelope !== null && isFailureEnvelope(envelope))
    return fail(
      'exchange-failure',
      `failed although HTTP ${status}${describeVenue(code, message)}; the request was not carried out`,
    );
  // Most replies wrap their payload in {success, code, data}; /server/time may come bare.
  const data = envelope !== null && 'data' in envelope ? envelope.data : parsed.body;
  return { ok: true, data };
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
          `${call.operation}: HTTP ${status} but the reply is unreadable (${detail}); the exchange probably ` +
            'acted on it: resolve it by lookup, do not send it again blindly',
          { operation: call.operation, httpStatus: status },
        )
      : new ExchangeError(
          'parse',
          `${call.operation}: the reply does not have the expected shape: ${detail}`,
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
      `${call.operation} not sent: could not connect (${code ?? name ?? 'error'}: ${said}); check BTCTURK_BASE_URL ` +
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
  return new ExchangeError('ambiguous', `${call.operation}: ${what}; ${next}`, {
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
