import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// A tiny BTCTurk-shaped HTTP server for adapter and CLI tests: it checks every private request's
// signature and stamp itself (±5 s of its own, possibly skewed, clock) and lets each test script the
// replies, so the client is exercised over real HTTP without the simulator.

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: string;
  readonly at: number; // local ms when the request was fully read
  readonly stamp: string | undefined;
  readonly authenticated: boolean | undefined; // undefined for public routes
}

export type Reply = { status: number; body: unknown; headers?: Record<string, string> } | { drop: true }; // destroy the socket after the request was read, sending nothing

export interface SigningServerOptions {
  apiKey: string;
  apiSecret: string; // base64
  clockOffsetMs?: number; // the server's clock minus local time
  handle: (req: SeenRequest, index: number) => Reply | Promise<Reply>;
}

export interface SigningServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

export const ok = (data: unknown): Reply => ({
  status: 200,
  body: { success: true, message: 'SUCCESS', code: 0, data },
});

function verify(req: IncomingMessage, apiKey: string, secret: Buffer, serverNow: number): boolean {
  const key = req.headers['x-pck'];
  const stamp = req.headers['x-stamp'];
  const signature = req.headers['x-signature'];
  if (key !== apiKey || typeof stamp !== 'string' || typeof signature !== 'string') return false;
  if (!/^\d+$/.test(stamp) || Math.abs(Number(stamp) - serverNow) > 5000) return false;
  const expected = createHmac('sha256', secret)
    .update(apiKey + stamp)
    .digest();
  const given = Buffer.from(signature, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startSigningServer(options: SigningServerOptions): Promise<SigningServer> {
  const secret = Buffer.from(options.apiSecret, 'base64');
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const isPrivate = url.pathname.startsWith('/api/v1/');
        const serverNow = Date.now() + (options.clockOffsetMs ?? 0);
        const seen: SeenRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
          stamp: typeof req.headers['x-stamp'] === 'string' ? req.headers['x-stamp'] : undefined,
          authenticated: isPrivate ? verify(req, options.apiKey, secret, serverNow) : undefined,
        };
        requests.push(seen);
        if (url.pathname === '/api/v2/server/time') {
          send(res, ok({ serverTime: serverNow, serverTime2: new Date(serverNow).toISOString() }));
          return;
        }
        if (seen.authenticated === false) {
          send(res, { status: 401, body: { success: false, message: 'UNAUTHORIZED', code: 401 } });
          return;
        }
        send(res, await options.handle(seen, requests.length - 1));
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };

  function send(res: ServerResponse, reply: Reply): void {
    if ('drop' in reply) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
    res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
  }
}
