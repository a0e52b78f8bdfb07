import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Decimal } from 'decimal.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConfigError } from '../../domain/errors.ts';
import type {
  SimBalance,
  SimEngine,
  SimFill,
  SimGroundTruth,
  SimOrder,
  SimPublicTrade,
} from '../engine/api.ts';
import { checkFault, type FaultInput, type Faults } from './faults.ts';
import { jsonText, type JsonValue } from './json.ts';
import type { RateLimitedCount } from './rate-limits.ts';

// The simulator's own control surface under /sim/: its ground truth, its faults, and a manual
// market step for deterministic tests. Not part of BTCTurk's API. Reads (GET) are open to anyone
// who can reach the loopback port; every change (POST) needs the simulator's admin token as
// `Authorization: Bearer <token>`, so another local user cannot switch faults on in a session.

export interface AdminOptions {
  readonly engine: SimEngine;
  readonly faults: Faults;
  /** The token every POST under /sim/ must carry as `Authorization: Bearer <token>`. */
  readonly adminToken: string;
  /** The 429s sent, shown in GET /sim/state as `rateLimited: {total, byGroup}`. */
  readonly rateLimited?: RateLimitedCount | undefined;
  /** Opens an account with a fresh (or the given) key pair; throws ConfigError on bad input. */
  readonly openAccount: (input: {
    apiKey?: string | undefined;
    apiSecret?: string | undefined;
    balances?: Readonly<Record<string, string>> | undefined;
  }) => { accountId: string; apiKey: string; apiSecret: string };
}

/** A fresh admin token: 32 random bytes, base64url. */
export function generateAdminToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The shortest admin token accepted from a user (--admin-token). */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** Checks a token given by the user; `setting` names where it came from. */
export function checkAdminToken(setting: string, token: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) throw new ConfigError(setting, 'must be printable ASCII without spaces');
  if (token.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new ConfigError(setting, `must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters long`);
  return token;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Whether the request carries the admin token (compared in constant time). */
function authorized(request: FastifyRequest, token: string): boolean {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (.+)$/i.exec(header.trim()) : null;
  if (!match?.[1]) return false;
  return timingSafeEqual(digest(match[1]), digest(token));
}

/** Most market steps one POST /sim/step may ask for, so a typo cannot hang the server. */
export const MAX_STEPS = 100_000;

const dec = (value: Decimal | null): string | null => (value === null ? null : value.toFixed());

function orderJson(order: SimOrder): JsonValue {
  return {
    ...order,
    price: dec(order.price),
    stopPrice: dec(order.stopPrice),
    quantity: dec(order.quantity),
    filled: dec(order.filled),
  };
}

function fillJson(fill: SimFill): JsonValue {
  return {
    ...fill,
    price: dec(fill.price),
    quantity: dec(fill.quantity),
    fee: dec(fill.fee),
    tax: dec(fill.tax),
  };
}

function tradeJson(trade: SimPublicTrade): JsonValue {
  return { ...trade, price: dec(trade.price), quantity: dec(trade.quantity) };
}

function balanceJson(balance: SimBalance): JsonValue {
  return { asset: balance.asset, free: dec(balance.free), locked: dec(balance.locked) };
}

/** Ground truth as JSON: decimals as strings, ids as strings. */
export function groundTruthJson(truth: SimGroundTruth): JsonValue {
  return {
    orders: truth.orders.map(orderJson),
    fills: truth.fills.map(fillJson),
    trades: truth.trades.map(tradeJson),
    balances: Object.fromEntries(
      Object.entries(truth.balances).map(([accountId, balances]) => [accountId, balances.map(balanceJson)]),
    ),
  };
}

function send(reply: FastifyReply, status: number, body: JsonValue): void {
  void reply.code(status).type('application/json; charset=utf-8').send(jsonText(body));
}

function asRecord(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

function badRequest(reply: FastifyReply, error: unknown): void {
  if (!(error instanceof ConfigError)) throw error;
  send(reply, 400, { error: error.message });
}

export function registerAdminRoutes(app: FastifyInstance, options: AdminOptions): void {
  const { engine, faults, adminToken } = options;

  // Every change under /sim/ needs the token; the ground truth and the faults stay readable.
  app.addHook('onRequest', (request, reply, done) => {
    const path = request.url.split('?')[0] ?? '';
    if (request.method === 'GET' || request.method === 'HEAD' || !path.startsWith('/sim/')) {
      done();
      return;
    }
    if (authorized(request, adminToken)) {
      done();
      return;
    }
    void reply
      .code(401)
      .header('WWW-Authenticate', 'Bearer realm="btcbot-sim"')
      .type('application/json; charset=utf-8')
      .send(
        jsonText({
          error:
            "changes under /sim/ need the simulator's admin token as 'Authorization: Bearer <token>' (btcbot sim prints it as adminToken, or takes --admin-token)",
        }),
      );
  });

  app.get('/sim/state', (_request, reply) => {
    const truth = groundTruthJson(engine.groundTruth()) as Record<string, JsonValue>;
    send(reply, 200, { ...truth, rateLimited: options.rateLimited?.toJson() ?? null });
  });

  app.get('/sim/faults', (_request, reply) => {
    send(reply, 200, faults.snapshot());
  });

  // {"error-5xx": 0.5, "latency-ms": "20ms", "ws-gap": null}: all changes are checked before any applies.
  app.post('/sim/faults', (request, reply) => {
    const changes = Object.entries(asRecord(request.body));
    try {
      for (const [name, value] of changes) {
        if (value !== null && typeof value !== 'string' && typeof value !== 'number')
          throw new ConfigError(
            `fault ${name}`,
            `expected a number, a string or null, got ${JSON.stringify(value)}`,
          );
      }
      for (const [name, value] of changes) checkFault(name, value as FaultInput | null);
    } catch (error) {
      badRequest(reply, error);
      return;
    }
    for (const [name, value] of changes) faults.set(name, value as FaultInput | null);
    send(reply, 200, faults.snapshot());
  });

  app.post('/sim/step', (request, reply) => {
    const requested = asRecord(request.body).steps ?? (request.query as Record<string, unknown>).steps ?? 1;
    const steps = Number(requested);
    if (!Number.isInteger(steps) || steps < 1 || steps > MAX_STEPS) {
      send(reply, 400, {
        error: `steps: expected a whole number from 1 to ${MAX_STEPS}, got ${JSON.stringify(requested)}`,
      });
      return;
    }
    for (let i = 0; i < steps; i += 1) engine.stepMarket();
    send(reply, 200, { steps });
  });

  app.post('/sim/accounts', (request, reply) => {
    const body = asRecord(request.body);
    const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
    try {
      const balances = asRecord(body.balances);
      for (const [asset, amount] of Object.entries(balances)) {
        if (typeof amount !== 'string')
          throw new ConfigError(
            `balances.${asset}`,
            `expected a decimal string, got ${JSON.stringify(amount)}`,
          );
      }
      const account = options.openAccount({
        apiKey: text(body.apiKey),
        apiSecret: text(body.apiSecret),
        balances: body.balances === undefined ? undefined : (balances as Record<string, string>),
      });
      send(reply, 200, account);
    } catch (error) {
      badRequest(reply, error);
    }
  });
}
