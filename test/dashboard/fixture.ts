import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Dec } from '../../src/domain/decimal.ts';
import type { EquitySnapshot, Store } from '../../src/ports/store.ts';
import { auditLogOf } from '../../src/store/sql/audit.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { fillReport, manualClock, newOrder } from '../store/helpers.ts';

// A store with something of everything the dashboard shows, and a raw HTTP client that can send
// any Host header (fetch cannot).

/** A value that must never reach a response: planted where a careless dashboard could pick it up. */
export const PLANTED_SECRET = 'PLANTED-SECRET-9f3c2a71d0b84e56';

export const T0 = 1_700_000_000_000;

export async function seededStore(dir: string): Promise<{ path: string; store: Store }> {
  const path = join(dir, 'bot.db');
  const clock = manualClock(T0);
  const store = await openSqliteStore({ path, clock });
  // Placed, acknowledged, partly filled, still resting.
  const bid = await store.journalOrder(
    newOrder({
      clientOrderId: 'bb-bid',
      intentId: 'mm:BTCTRY:bid:0',
      strategy: 'market-maker',
      quantity: new Dec('0.01'),
      price: new Dec('2000000'),
    }),
  );
  await store.applyEvent(bid.id, { type: 'sent' });
  await store.applyEvent(bid.id, { type: 'acked', exchangeOrderId: '5001' });
  clock.advance(1_000);
  await store.recordFill(
    fillReport({
      tradeId: 'tr-1',
      exchangeOrderId: '5001',
      clientOrderId: 'bb-bid',
      quantity: new Dec('0.004'),
      timestamp: T0 + 1_000,
    }),
    'stream',
  );
  // An ask, canceled with a reason.
  clock.advance(1_000);
  const ask = await store.journalOrder(
    newOrder({
      clientOrderId: 'bb-ask',
      side: 'sell',
      intentId: 'mm:BTCTRY:ask:0',
      strategy: 'market-maker',
      quantity: new Dec('0.002'),
      price: new Dec('2010000'),
    }),
  );
  await store.applyEvent(ask.id, { type: 'sent' });
  await store.applyEvent(ask.id, { type: 'acked', exchangeOrderId: '5002' });
  clock.advance(1_000);
  await store.applyEvent(ask.id, { type: 'cancel-requested' });
  await store.applyEvent(ask.id, { type: 'canceled', reason: 'quote moved' });
  // Refused by the exchange.
  clock.advance(1_000);
  const refused = await store.journalOrder(
    newOrder({ clientOrderId: 'bb-rej', symbol: 'ETHTRY', quantity: new Dec('1'), price: new Dec('100000') }),
  );
  await store.applyEvent(refused.id, { type: 'sent' });
  await store.applyEvent(refused.id, { type: 'rejected', reason: 'insufficient balance' });
  for (let i = 0; i < 5; i += 1) {
    const equity = new Dec(1_000_000 + i * 10);
    const snapshot: EquitySnapshot = {
      at: T0 + i * 10_000,
      currency: 'TRY',
      equity,
      cash: new Dec(990_000),
      realised: new Dec(i),
      unrealised: new Dec('0.5'),
      fees: new Dec('1.416'),
      peakEquity: equity,
    };
    await store.recordEquitySnapshot(snapshot);
  }
  // The secret planted in the trail's detail (as a careless start-up record might), which the
  // dashboard must not show.
  await auditLogOf(store).record({
    action: 'run-start',
    source: 'bot',
    reason: 'session started',
    detail: { settings: `apiSecret=${PLANTED_SECRET}` },
  });
  return { path, store };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with exactly these headers; `until` ends a streaming body (SSE) once it holds enough. */
export function raw(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    until?: (body: string) => boolean;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: options.method ?? 'GET',
        headers: { host: target.host, ...options.headers },
        setHost: false,
      },
      (res) => {
        let body = '';
        const done = (): void => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (options.until?.(body) === true) {
            res.destroy();
            done();
          }
        });
        res.on('end', done);
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
