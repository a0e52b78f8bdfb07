import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { listenError } from '../listen-error.ts';
import {
  allowedHostNames,
  checkBind,
  DEFAULT_DASHBOARD_HOST,
  hostAllowed,
  tokenAllowed,
  type DashboardBind,
} from './access.ts';
import type { DashboardControl } from './control.ts';
import type { DashboardSnapshot, DashboardSource } from './model.ts';
import { APP_CSS, APP_JS, INDEX_HTML } from './page.ts';

// The dashboard's HTTP server. The page shell (HTML, script, style: no data, nothing secret) is
// served to any request naming this host; everything under /api/ — the snapshot, the live stream
// and the kill switch — also needs the bearer token when one is set. The live stream is
// server-sent events read by the page with fetch(), so it carries the same Authorization header.

export interface DashboardServerOptions extends Partial<DashboardBind> {
  readonly source: DashboardSource;
  /** Null: a read-only dashboard (the kill-switch buttons are not offered). */
  readonly control: DashboardControl | null;
  readonly logger?: Logger | undefined;
  /** How often the live stream sends a snapshot (default 1 s); a kill-switch change sends one at once. */
  readonly intervalMs?: number | undefined;
}

export interface RunningDashboard {
  /** http://host:port/ as a browser on this machine reaches it. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
};

const SHELL: Readonly<Record<string, { type: string; body: string }>> = {
  '/': { type: 'text/html; charset=utf-8', body: INDEX_HTML },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: APP_JS },
  '/app.css': { type: 'text/css; charset=utf-8', body: APP_CSS },
};

const urlHost = (host: string): string =>
  host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

/** Fans one snapshot a tick out to every open stream; ticks only while a stream is open. */
class Broadcaster {
  readonly #streams = new Set<ServerResponse>();
  #timer: NodeJS.Timeout | undefined;
  #last = '';

  constructor(
    private readonly source: DashboardSource,
    private readonly intervalMs: number,
    private readonly log: Logger | undefined,
  ) {}

  add(stream: ServerResponse): void {
    this.#streams.add(stream);
    stream.on('close', () => {
      this.#streams.delete(stream);
      if (this.#streams.size === 0) this.#stop();
    });
    // The newest snapshot at once, then every tick.
    void this.#send(this.#last === '' ? null : [stream]);
    this.#timer ??= setInterval(() => void this.#send(null), this.intervalMs);
  }

  /** Sends a fresh snapshot to every stream now (after a change made here). */
  push(): void {
    if (this.#streams.size > 0) void this.#send(null);
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #send(only: ServerResponse[] | null): Promise<void> {
    let data: string;
    if (only !== null) data = this.#last;
    else {
      try {
        data = JSON.stringify(await this.source.snapshot());
      } catch (error) {
        this.log?.warn(
          { err: error instanceof Error ? error.message : String(error) },
          'dashboard snapshot failed',
        );
        return;
      }
      this.#last = data;
    }
    const frame = `event: snapshot\ndata: ${data}\n\n`;
    for (const stream of only ?? this.#streams) if (!stream.writableEnded) stream.write(frame);
  }

  close(): void {
    this.#stop();
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
  }
}

function refuse(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send({ error: message });
}

export async function startDashboard(options: DashboardServerOptions): Promise<RunningDashboard> {
  const host = options.host ?? DEFAULT_DASHBOARD_HOST;
  const port = options.port ?? 0;
  const { token, control, source } = options;
  checkBind({ host, port, token });
  const log = options.logger?.child({ component: 'dashboard' });
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: 4_096,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  const broadcaster = new Broadcaster(source, options.intervalMs ?? 1_000, log);
  const names = allowedHostNames(host);
  let listening = port;

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) void reply.header(name, value);
    if (!hostAllowed(request.headers.host, names, listening))
      return refuse(reply, 421, 'this server does not answer to that Host header');
    const path = request.url.split('?')[0] ?? '';
    if (!path.startsWith('/api/')) return;
    if (token !== undefined && !tokenAllowed(request.headers.authorization, token)) {
      void reply.header('www-authenticate', 'Bearer realm="btcbot dashboard"');
      return refuse(reply, 401, 'a valid bearer token is required (open the page as /#token=…)');
    }
    // A write must come from this page: a JSON body (another site's plain form or no-cors fetch
    // cannot send one without a preflight this server never grants) and, when a browser names
    // its origin, this server's.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const origin = request.headers.origin;
      if (origin !== undefined && !originAllowed(origin, names, listening))
        return refuse(reply, 403, 'cross-origin requests are refused');
      if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
        return refuse(reply, 415, 'send the body as application/json');
    }
  });

  app.setErrorHandler((error: { statusCode?: number; message?: string }, _request, reply) => {
    // Fastify's own validation and parsing errors carry a status; none of their text is sent.
    const status = typeof error.statusCode === 'number' && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) log?.error({ err: error.message ?? 'unknown' }, 'dashboard request failed');
    void refuse(reply, status, status === 500 ? 'internal error' : 'bad request');
  });
  app.setNotFoundHandler((_request, reply) => {
    void refuse(reply, 404, 'not found');
  });

  for (const [path, file] of Object.entries(SHELL))
    app.get(path, (_request, reply) => reply.type(file.type).send(file.body));

  // No icon: an empty answer, so the browser does not log a missing one.
  app.get('/favicon.ico', (_request, reply) => reply.code(204).send());

  app.get('/api/snapshot', async (_request, reply) => {
    const snapshot: DashboardSnapshot = await source.snapshot();
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(snapshot));
  });

  app.get('/api/events', (request, reply) => {
    void reply.hijack();
    const stream = reply.raw;
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    stream.writeHead(200, headers);
    stream.write(': btcbot dashboard\n\n');
    request.raw.on('close', () => stream.end());
    broadcaster.add(stream);
  });

  app.post('/api/kill-switch', async (request, reply) => {
    if (control === null)
      return refuse(
        reply,
        403,
        'this dashboard is read-only: start it with --allow-kill-switch to use the kill switch',
      );
    const body = (request.body ?? {}) as { on?: unknown; reason?: unknown };
    if (typeof body.on !== 'boolean')
      return refuse(reply, 400, 'body must be {"on": true|false, "reason": "…"}');
    const remote = request.ip;
    const reason = typeof body.reason === 'string' ? body.reason : '';
    const change = body.on ? await control.engage(reason, remote) : await control.release(reason, remote);
    log?.warn({ on: body.on, remote }, `kill switch turned ${body.on ? 'on' : 'off'} from the dashboard`);
    broadcaster.push();
    return reply.send(change);
  });

  try {
    await app.listen({ host, port });
  } catch (error) {
    await app.close();
    throw listenError(error, {
      host,
      port,
      portSetting: '--dashboard-port',
      hostSetting: '--dashboard-host',
    });
  }
  listening = (app.server.address() as AddressInfo).port;
  return {
    url: `http://${urlHost(host)}:${listening}/`,
    host,
    port: listening,
    async close() {
      broadcaster.close();
      await app.close();
    },
  };
}

function originAllowed(origin: string, names: ReadonlySet<string>, port: number): boolean {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && hostAllowed(url.host, names, port);
  } catch {
    return false;
  }
}
