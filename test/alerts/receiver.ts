import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

// A local HTTP receiver for alert tests (127.0.0.1, any free port): records every request and
// answers as told — 200, an error status with a body, or never (a hanging receiver).

export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Answer =
  | { readonly kind: 'ok'; readonly body?: string }
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body?: string;
      readonly headers?: Record<string, string>;
    }
  | { readonly kind: 'hang' };

export interface LocalReceiver {
  readonly url: string;
  readonly received: Received[];
  answer: Answer;
  /** Resolves when `n` requests have arrived. */
  arrived(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function localReceiver(t: { after(fn: () => Promise<void>): void }): Promise<LocalReceiver> {
  const hanging: ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const state: LocalReceiver = {
    url: '',
    received: [],
    answer: { kind: 'ok' },
    arrived: (n) =>
      new Promise((resolve) => {
        if (state.received.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
    close: async () => {
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      state.received.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      for (const w of waiters.filter((w) => state.received.length >= w.n)) w.resolve();
      const answer = state.answer;
      if (answer.kind === 'hang') {
        hanging.push(response);
        return;
      }
      if (answer.kind === 'ok') {
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(answer.body ?? '{"ok":true,"result":{}}');
        return;
      }
      response
        .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
        .end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}`;
  t.after(() => state.close());
  return state;
}

/** A logger whose lines are kept, to look for secrets in them. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines };
}
