import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

// A scripted WebSocket server on loopback for client tests: each connection is handed to the test,
// which decides what the "exchange" says. Pongs are off unless a test sends them, so a test can
// play a half-open connection.

export type Frame = [number, Record<string, unknown>];

export interface LocalConnection {
  readonly socket: WebSocket;
  readonly received: Frame[];
  send(frame: Frame | string): void;
}

export interface LocalServer {
  readonly url: string;
  readonly connections: LocalConnection[];
  /** Monotonic times (performance.now) of every upgrade request, refused ones included. */
  readonly upgrades: number[];
  close(): Promise<void>;
}

export interface LocalServerOptions {
  onConnection?: (conn: LocalConnection, index: number) => void;
  onFrame?: (conn: LocalConnection, frame: Frame) => void;
  /** Answer the n-th upgrade (0-based) with an HTTP status instead of accepting it. */
  refuseUpgrade?: (index: number) => { status: number; headers?: Record<string, string> } | null;
  autoPong?: boolean;
}

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? false });
  const connections: LocalConnection[] = [];
  const upgrades: number[] = [];
  http.on('upgrade', (request, socket, head) => {
    const index = upgrades.length;
    upgrades.push(performance.now());
    const refusal = options.refuseUpgrade?.(index) ?? null;
    if (refusal) {
      const headers = Object.entries(refusal.headers ?? {})
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 ${refusal.status} Refused\r\n${headers}Content-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const conn: LocalConnection = {
        socket: ws,
        received: [],
        send: (frame) => {
          if (ws.readyState === WebSocket.OPEN)
            ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
        },
      };
      connections.push(conn);
      ws.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString('utf8')) as Frame;
        conn.received.push(frame);
        options.onFrame?.(conn, frame);
      });
      ws.on('error', () => undefined);
      options.onConnection?.(conn, connections.length - 1);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    connections,
    upgrades,
    close: async () => {
      for (const conn of connections) conn.socket.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
      });
    },
  };
}

/** Answers subscriptions as BTCTurk does: `join|channel:event`. */
export function answerSubscriptions(conn: LocalConnection, frame: Frame): void {
  if (frame[0] !== 151) return;
  const { channel, event, join } = frame[1] as { channel: string; event: string; join: boolean };
  conn.send([100, { type: 100, ok: true, message: `${join ? 'join' : 'leave'}|${channel}:${event}` }]);
}

/** Resolves when `check` holds, polling; rejects after `guardMs` naming what was awaited. */
export async function until(what: string, check: () => boolean, guardMs = 5_000): Promise<void> {
  const deadline = performance.now() + guardMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
