import type { Socket } from 'node:net';
import Fastify, { type FastifyError } from 'fastify';
import type { Clock } from '../../domain/clock.ts';
import type { SimEngine } from '../engine/api.ts';
import { registerAdminRoutes, type AdminOptions } from './admin.ts';
import type { Accounts } from './auth.ts';
import { failure } from './envelope.ts';
import type { Faults } from './faults.ts';
import { jsonText } from './json.ts';
import type { SimCurrency, SimPair } from './markets.ts';
import { RateLimitedCount } from './rate-limits.ts';
import { allowedMethods, registerRestRoutes } from './rest.ts';
import { WsHub } from './ws-hub.ts';

// One loopback port serves BTCTurk's REST API, its WebSocket feed (any upgrade path) and the
// simulator's /sim/ admin routes.

export interface SimServerOptions {
  readonly port: number;
  readonly engine: SimEngine;
  readonly accounts: Accounts;
  readonly faults: Faults;
  readonly clock: Clock; // the simulator's clock: system time plus clock-skew-ms
  readonly pairs: readonly SimPair[];
  readonly currencies: readonly SimCurrency[];
  readonly openAccount: AdminOptions['openAccount'];
  /** POSTs under /sim/ need it as `Authorization: Bearer <token>`. */
  readonly adminToken: string;
  /** Seeds the feed's CS counters. */
  readonly seed: number;
  /** Book change sets are conflated over this many ms of wall time. */
  readonly bookIntervalMs: number;
  /** Pairs are flushed in this many phases spread over the interval (1: all at once). */
  readonly bookPhases?: number;
  /** Levels a side the book channels and the REST book show (BTCTurk: 100). */
  readonly bookWindow: number;
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
}

export interface SimServer {
  readonly port: number;
  readonly hub: WsHub;
  close(): Promise<void>;
}

class BodyError extends Error {
  readonly statusCode = 400;
}

export async function startSimServer(options: SimServerOptions): Promise<SimServer> {
  const { engine, faults } = options;
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    routerOptions: { ignoreTrailingSlash: true },
  });

  // A DELETE may carry a JSON content type and no body at all: that is not an error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new BodyError('the request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) process.stderr.write(`simulator: internal error: ${error.stack ?? error.message}\n`);
    const message = status >= 500 ? 'INTERNAL_SERVER_ERROR' : 'FAILED_ORDER_PARAMETER';
    void reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send(jsonText(failure(message, status >= 500 ? 500 : 0)));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      void reply.header('Allow', allowed.join(', '));
      void reply
        .code(405)
        .type('application/json; charset=utf-8')
        .send(jsonText(failure('METHOD_NOT_ALLOWED', 405)));
      return;
    }
    void reply
      .code(404)
      .type('application/json; charset=utf-8')
      .send(jsonText(failure('NOT_FOUND', 404)));
  });

  const cancelTimers = new Map<string, NodeJS.Timeout>();
  const scheduleCancel = (orderId: string): void => {
    if (cancelTimers.has(orderId)) return;
    if (faults.isSet('cancel-delay-ms')) faults.hit('cancel-delay-ms');
    const timer = setTimeout(() => {
      cancelTimers.delete(orderId);
      engine.completeCancel(orderId);
    }, faults.value('cancel-delay-ms'));
    cancelTimers.set(orderId, timer);
  };

  const held = new Set<Socket>();
  const rateLimited = new RateLimitedCount();
  registerRestRoutes(
    app,
    {
      engine,
      faults,
      accounts: options.accounts,
      clock: options.clock,
      pairs: new Map(options.pairs.map((pair) => [pair.config.symbol, pair])),
      currencies: options.currencies,
      scheduleCancel,
      bookDepth: options.bookWindow,
      rateLimited,
    },
    held,
  );
  registerAdminRoutes(app, {
    engine,
    faults,
    openAccount: options.openAccount,
    adminToken: options.adminToken,
    rateLimited,
  });

  const hub = new WsHub({
    engine,
    accounts: options.accounts,
    faults,
    clock: options.clock,
    pairs: options.pairs,
    seed: options.seed,
    bookIntervalMs: options.bookIntervalMs,
    bookPhases: options.bookPhases,
    bookWindow: options.bookWindow,
    pingIntervalMs: options.pingIntervalMs,
    pongTimeoutMs: options.pongTimeoutMs,
    rateLimited,
  });
  app.server.on('upgrade', (request, socket, head: Buffer) => {
    hub.handleUpgrade(request, socket, head);
  });

  try {
    await app.listen({ port: options.port, host: '127.0.0.1' });
  } catch (error) {
    // Nothing may keep the process alive after a failed start (the hub's timers, fastify's own).
    for (const timer of cancelTimers.values()) clearTimeout(timer);
    hub.close();
    await app.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string')
    throw new Error('the simulator is not listening on a TCP port');

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    hub,
    close: () => {
      closing ??= (async () => {
        for (const timer of cancelTimers.values()) clearTimeout(timer);
        cancelTimers.clear();
        hub.close();
        for (const socket of held) socket.destroy();
        held.clear();
        await app.close();
      })();
      return closing;
    },
  };
}
