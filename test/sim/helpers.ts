import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import type { Clock } from '../../src/domain/clock.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../../src/sim/index.ts';

// Drives the simulator over real HTTP and WebSocket on loopback, the way any BTCTurk client would.

export const TEST_KEY = 'test-key';
export const TEST_SECRET = Buffer.from('simulator-test-secret-bytes').toString('base64');

/** A clock the test sets: fixed windows (rate limits) then cannot straddle a boundary mid-test. */
export function manualClock(
  start = Date.now(),
): Clock & { set(ms: number): void; advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    monotonic: () => now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    set: (ms) => (now = ms),
    advance: (ms) => (now += ms),
  };
}

export async function withSim(
  options: SimulatorOptions,
  body: (sim: RunningSimulator) => Promise<void>,
): Promise<void> {
  const sim = await startSimulator({
    seed: 1,
    autoMarket: false,
    apiKey: TEST_KEY,
    apiSecret: TEST_SECRET,
    // Book change sets are batched per interval (BTCTurk's ~764 ms); tests need not wait that long.
    bookIntervalMs: 20,
    ...options,
  });
  try {
    await body(sim);
  } finally {
    await sim.stop();
  }
}

export function signature(secret: string, message: string): string {
  return createHmac('sha256', Buffer.from(secret, 'base64')).update(message).digest('base64');
}

export function authHeaders(apiKey: string, apiSecret: string, stamp = Date.now()): Record<string, string> {
  return {
    'X-PCK': apiKey,
    'X-Stamp': String(stamp),
    'X-Signature': signature(apiSecret, apiKey + String(stamp)),
  };
}

export interface RawReply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): unknown;
}

export interface RawOptions {
  readonly auth?: { apiKey: string; apiSecret: string; stamp?: number };
  /** The simulator's admin token, sent as `Authorization: Bearer` (POSTs under /sim/ need it). */
  readonly adminToken?: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

/** One HTTP request with nothing between the test and the wire. */
export async function raw(
  baseUrl: string,
  method: string,
  path: string,
  options: RawOptions = {},
): Promise<RawReply> {
  const headers: Record<string, string> = {};
  if (options.auth)
    Object.assign(headers, authHeaders(options.auth.apiKey, options.auth.apiSecret, options.auth.stamp));
  if (options.adminToken !== undefined) headers.authorization = `Bearer ${options.adminToken}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(baseUrl + path, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

export function simAuth(sim: RunningSimulator): { apiKey: string; apiSecret: string } {
  return { apiKey: sim.apiKey, apiSecret: sim.apiSecret };
}

export type Frame = [number, Record<string, unknown>];

/** A WebSocket client that keeps every frame, so a test can wait for one in order. */
export class WsClient {
  readonly frames: Frame[] = [];
  /** The frames' exact text, index for index with `frames` (key order is part of the wire). */
  readonly texts: string[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      this.texts.push(text);
      this.frames.push(JSON.parse(text) as Frame);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static async connect(url: string, options: { autoPong?: boolean } = {}): Promise<WsClient> {
    const socket = new WebSocket(url, options);
    const client = new WsClient(socket);
    await once(socket, 'open');
    return client;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  send(frame: unknown): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** The next frame (after the previous match) that satisfies `match`; rejects when the guard runs out. */
  async next(match: (frame: Frame) => boolean, guardMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + guardMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const frame = this.frames[this.cursor++];
        if (frame && match(frame)) return frame;
      }
      if (this.closed) throw new Error('the socket closed before the expected frame arrived');
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no matching frame within ${guardMs} ms; got types ${this.types().join(',')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  nextOfType(type: number, guardMs?: number): Promise<Frame> {
    return this.next((frame) => frame[0] === type, guardMs);
  }

  /** The exact text a received frame came as. */
  textOf(frame: Frame): string {
    const text = this.texts[this.frames.indexOf(frame)];
    if (text === undefined) throw new Error('that frame was not received by this client');
    return text;
  }

  private barriers = 0;

  /**
   * Waits until every frame the server sent before now has arrived: a join of a fresh unknown pair is
   * acknowledged and then silent, its repeat refused, and the socket keeps order.
   */
  async barrier(): Promise<void> {
    this.barriers += 1;
    const message = `join|ticker:BARRIER${this.barriers}`;
    this.send(subscribeFrame('ticker', `BARRIER${this.barriers}`));
    this.send(subscribeFrame('ticker', `BARRIER${this.barriers}`));
    await this.next((f) => f[0] === 100 && f[1].ok === false && f[1].message === message);
  }

  types(): number[] {
    return this.frames.map((frame) => frame[0]);
  }

  async waitClosed(guardMs = 5_000): Promise<void> {
    if (this.closed) return;
    await Promise.race([
      once(this.socket, 'close'),
      new Promise((_, reject) =>
        setTimeout(() => {
          reject(new Error(`socket still open after ${guardMs} ms`));
        }, guardMs),
      ),
    ]);
  }

  close(): void {
    this.socket.terminate();
  }
}

export function subscribeFrame(channel: string, event: string, join = true): Frame {
  return [151, { type: 151, channel, event, join }];
}

export function loginFrame(apiKey: string, apiSecret: string, nonce = 3000, timestamp = Date.now()): Frame {
  return [
    114,
    {
      type: 114,
      publicKey: apiKey,
      timestamp,
      nonce,
      signature: signature(apiSecret, apiKey + String(nonce)),
    },
  ];
}

/** Lets queued engine events reach the sockets (they are fanned out after the engine call returns); book change sets wait for the next interval or flushBooks(). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
