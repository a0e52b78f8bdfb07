import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { BtcturkExchange, type BtcturkExchangeOptions } from '../../src/btcturk/index.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { Dec } from '../../src/domain/decimal.ts';
import type { OrderRequest } from '../../src/domain/orders.ts';
import { seededRandom } from '../../src/domain/random.ts';

/** A fixture's raw text: parsing it with JSON.parse would already lose the ids above 2^53. */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8');
}

export const TEST_KEY = 'demo-key';
export const TEST_SECRET = 'c3VwZXItc2VjcmV0LWJ5dGVz';

/** Lets pending promise chains and I/O callbacks run. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Waits (in real time) until `condition` holds; fails the test after `timeoutMs`. */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

interface Timer {
  readonly at: number; // monotonic
  readonly resolve: () => void;
}

/**
 * A clock that moves only when told, for limiter windows and Retry-After blocks. `advance` moves
 * wall and monotonic time together; `setWall` steps the wall clock alone, as NTP does.
 */
export class FakeClock implements Clock {
  #wall: number;
  #mono = 0;
  #timers: Timer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.#wall = start;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setWall(ms: number): void {
    this.#wall = ms;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = { at: this.#mono + ms, resolve };
      this.#timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(signal.reason as Error);
      });
    });
  }

  /** Moves time forward, waking each sleeper at its due time in order. */
  async advance(ms: number): Promise<void> {
    const target = this.#mono + ms;
    for (;;) {
      await settle();
      const due = this.#timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#step(due.at);
      due.resolve();
    }
    this.#step(target);
    await settle();
  }

  #step(mono: number): void {
    if (mono <= this.#mono) return;
    this.#wall += mono - this.#mono;
    this.#mono = mono;
  }
}

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export type Answer =
  | { readonly status: number; readonly body: string; readonly headers?: Record<string, string> }
  | 'drop' // destroy the connection after reading the request
  | 'hang'; // never answer

/** A loopback HTTP server standing in for BTCTurk; every request it read is kept in `seen`. */
export interface FakeVenue {
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

export async function fakeVenue(
  answer: (request: SeenRequest) => Answer | Promise<Answer>,
): Promise<FakeVenue> {
  const seen: SeenRequest[] = [];
  const hanging = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const request: SeenRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(request);
      void Promise.resolve(answer(request)).then((reply) => {
        if (reply === 'drop') req.socket.destroy();
        else if (reply === 'hang') hanging.add(res);
        else {
          res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
          res.end(reply.body);
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}

export function ok(data: unknown): Answer {
  return { status: 200, body: JSON.stringify({ success: true, message: null, code: 0, data }) };
}

export function raw(name: string, status = 200, headers?: Record<string, string>): Answer {
  return headers ? { status, body: fixture(name), headers } : { status, body: fixture(name) };
}

/** The server side of BTCTurk's auth: right key, right signature, stamp within ±5 s of `serverNow`. */
export function authProblem(request: SeenRequest, serverNow: number): string | null {
  const key = request.headers['x-pck'];
  const stamp = Number(request.headers['x-stamp']);
  const signature = request.headers['x-signature'];
  if (key !== TEST_KEY) return 'wrong key';
  const expected = createHmac('sha256', Buffer.from(TEST_SECRET, 'base64'))
    .update(`${key}${stamp}`)
    .digest('base64');
  if (signature !== expected) return 'wrong signature';
  if (Math.abs(stamp - serverNow) > 5_000) return 'stamp outside ±5 s';
  return null;
}

export const UNAUTHORIZED: Answer = {
  status: 401,
  body: JSON.stringify({ success: false, message: 'Unauthorized', code: 401 }),
};

/** Answers /server/time from `serverNow()`, then defers to `answer`. */
export function withServerTime(
  serverNow: () => number,
  answer: (request: SeenRequest) => Answer | Promise<Answer>,
): (request: SeenRequest) => Answer | Promise<Answer> {
  return (request) =>
    request.path === '/api/v2/server/time'
      ? {
          status: 200,
          body: JSON.stringify({ serverTime: serverNow(), serverTime2: new Date(serverNow()).toISOString() }),
        }
      : answer(request);
}

export function exchangeFor(url: string, options: Partial<BtcturkExchangeOptions> = {}): BtcturkExchange {
  return new BtcturkExchange({
    baseUrl: url,
    credentials: { apiKey: TEST_KEY, apiSecret: TEST_SECRET },
    random: seededRandom(7),
    backoff: { baseMs: 5, capMs: 20 },
    ...options,
  });
}

export const LIMIT_BUY: OrderRequest = {
  symbol: 'BTCTRY',
  side: 'buy',
  method: 'limit',
  quantity: new Dec('0.0015'),
  price: new Dec('3440000'),
  clientOrderId: 'bb-7f3a9c01',
};

export function privateRequests(venue: FakeVenue): SeenRequest[] {
  return venue.seen.filter((r) => r.path.startsWith('/api/v1/'));
}
