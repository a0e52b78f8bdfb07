import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../domain/clock.ts';
import { randomInt } from '../../domain/random.ts';
import { SimRejection } from '../engine/api.ts';
import type { Accounts, SimAccount } from './auth.ts';
import { failure } from './envelope.ts';
import { jsonText, type JsonValue } from './json.ts';
import {
  REST_LIMITS,
  retryAfterSeconds,
  type RateLimitedCount,
  simRateLimiter,
  type RateDecision,
  type RateLimit,
} from './rate-limits.ts';
import { ROUTES, type RouteContext, type RouteSpec } from './rest-routes.ts';

// The transport around each BTCTurk endpoint, in the order a request meets it: network latency,
// authentication, rate limits, then the faults that stand for what goes wrong between a client and
// the exchange, before and after the request is processed.

export interface RestOptions extends RouteContext {
  readonly accounts: Accounts;
  readonly clock: Clock; // the simulator's clock: system time plus clock-skew-ms
  /** Counts every 429 this sends (ground truth). */
  readonly rateLimited?: RateLimitedCount | undefined;
}

/** Replies held open by `timeout-after-accept`, destroyed when the simulator stops. */
export type HeldSockets = Set<Socket>;

const HTML_503 =
  '<html><head><title>503 Service Temporarily Unavailable</title></head><body><h1>503 Service Temporarily Unavailable</h1></body></html>';

function sendJson(reply: FastifyReply, status: number, body: JsonValue): void {
  void reply.code(status).type('application/json; charset=utf-8').send(jsonText(body));
}

function tooManyRequests(
  reply: FastifyReply,
  limit: RateLimit,
  decision: Extract<RateDecision, { ok: false }>,
): void {
  const { window } = decision;
  void reply.header('Retry-After', String(retryAfterSeconds(decision.retryAfterMs)));
  sendJson(
    reply,
    429,
    failure('TOO_MANY_REQUESTS', 429, {
      details: `Quota exceeded. Maximum allowed: ${window.limit} per ${window.label}.`,
      limit: String(window.limit),
      period: window.label,
      policy: limit.policy,
    }),
  );
}

/** Keeps the connection open with no reply: the client sees a timeout, never an answer. */
function hold(request: FastifyRequest, reply: FastifyReply, held: HeldSockets): void {
  void reply.hijack();
  const socket = request.raw.socket;
  held.add(socket);
  socket.once('close', () => held.delete(socket));
}

function reset(request: FastifyRequest, reply: FastifyReply): void {
  void reply.hijack();
  request.raw.socket.destroy();
}

function serverError(reply: FastifyReply, useHtml: boolean): void {
  // A load balancer's HTML page or the exchange's own JSON: a client must treat both as a 5xx.
  if (useHtml) void reply.code(503).type('text/html').send(HTML_503);
  else sendJson(reply, 500, failure('INTERNAL_SERVER_ERROR', 500));
}

export function registerRestRoutes(app: FastifyInstance, options: RestOptions, held: HeldSockets): void {
  const limiter = simRateLimiter();
  const { faults } = options;

  const serve = async (spec: RouteSpec, request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const latency = faults.value('latency-ms');
    if (latency > 0) {
      faults.hit('latency-ms');
      await sleep(latency);
    }

    let account: SimAccount | null = null;
    if (spec.authenticated) {
      const auth = options.accounts.verifyRest(
        {
          pck: headerText(request, 'x-pck'),
          stamp: headerText(request, 'x-stamp'),
          signature: headerText(request, 'x-signature'),
        },
        options.clock.now(),
      );
      if (!auth.ok) {
        // A stamp refused while the clock is skewed: the skew struck (the client must re-sync).
        if (auth.staleStamp === true && faults.value('clock-skew-ms') !== 0) faults.hit('clock-skew-ms');
        sendJson(reply, 401, failure('UNAUTHORIZED', 401, { details: auth.reason }));
        return;
      }
      account = auth.account;
    }

    const limit = REST_LIMITS[`${spec.method} ${spec.url}`];
    if (limit) {
      const subject = limit.policy === 'account' && account ? account.accountId : request.ip;
      const now = options.clock.now();
      const decision = limiter.take(limit, subject, now);
      if (!decision.ok) {
        options.rateLimited?.add(limit.group);
        tooManyRequests(reply, limit, decision);
        return;
      }
      if (faults.strikes('rate-limit-storm')) {
        // A spurious 429 that behaves like a real one: the group stays blocked until Retry-After.
        const window = limit.windows[0];
        if (!window) throw new Error(`rate limit ${limit.group} has no window`);
        const retryAfterMs = randomInt(faults.stream('rate-limit-storm'), 1, 3) * 1000;
        limiter.block(limit, subject, now + retryAfterMs, window);
        options.rateLimited?.add(limit.group);
        tooManyRequests(reply, limit, { ok: false, retryAfterMs, window });
        return;
      }
    }

    if (faults.strikes('error-5xx')) {
      serverError(reply, faults.stream('error-5xx').next() < 0.5);
      return;
    }
    if (spec.write && faults.strikes('reset-before-accept')) {
      reset(request, reply);
      return;
    }
    if (spec.method === 'POST' && spec.write && faults.strikes('reply-200-failure')) {
      const method = (request.body as Record<string, unknown> | undefined)?.orderMethod;
      const market = typeof method === 'string' && method.toLowerCase().includes('market');
      sendJson(
        reply,
        200,
        market ? failure('FAILED_MARKET_ORDER', 1118) : failure('FAILED_LIMIT_ORDER', 1120),
      );
      return;
    }

    let status = 200;
    let body: JsonValue;
    try {
      body = spec.handle(options, {
        query: request.query as Record<string, unknown>,
        params: request.params as Record<string, string>,
        body: request.body,
        account,
        now: options.clock.now(),
      });
    } catch (error) {
      if (!(error instanceof SimRejection)) throw error;
      status = error.httpStatus;
      body = failure(error.venueMessage, error.code);
    }

    if (spec.write && faults.strikes('timeout-after-accept')) {
      hold(request, reply, held);
      return;
    }
    if (spec.write && faults.strikes('error-5xx-after-accept')) {
      serverError(reply, false);
      return;
    }
    sendJson(reply, status, body);
  };

  for (const spec of ROUTES) {
    app.route({
      method: spec.method,
      url: spec.url,
      handler: (request, reply) => serve(spec, request, reply),
    });
  }
}

function headerText(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Route patterns, to tell a wrong method (405) from an unknown path (404). */
export function allowedMethods(path: string): string[] {
  return ROUTES.filter((spec) => routePattern(spec.url).test(path)).map((spec) => spec.method);
}

function routePattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
