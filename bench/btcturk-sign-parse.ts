// BTCTurk adapter hot paths: request signing, and turning a raw reply body into venue-neutral
// reports (lossless JSON parse, envelope check, zod models) for the payloads polled most.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { BtcturkCredentials } from '../src/btcturk/common/credentials.ts';
import { classifyReply } from '../src/btcturk/common/errors.ts';
import {
  parseExchangeInfo,
  parseFills,
  parseOpenOrders,
  parseOrderHistory,
} from '../src/btcturk/http/models.ts';

const WARMUP_MS = 200;
const MEASURE_MS = 500;

function fixture(name: string): string {
  return readFileSync(new URL(`../test/btcturk/fixtures/${name}.json`, import.meta.url), 'utf8');
}

// Results are kept so the engine cannot drop the work as unused.
const kept: unknown[] = [];

/** Operations per second of `op`, after a warm-up, over a fixed time slice. */
function rate(op: (i: number) => unknown): number {
  for (let i = 0, end = performance.now() + WARMUP_MS; performance.now() < end; i += 1) kept[0] = op(i);
  let count = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < MEASURE_MS) {
    for (let i = 0; i < 100; i += 1) kept[0] = op(count + i);
    count += 100;
    elapsed = performance.now() - start;
  }
  return Math.round((count * 1000) / elapsed);
}

function parser(name: string, parse: (data: unknown) => unknown): () => unknown {
  const text = fixture(name);
  const call = { operation: `bench ${name}`, effect: 'read' as const, secrets: ['demo-key'] };
  const retry = { serverNow: 0, fallbackMs: 60_000 };
  return () => {
    const reply = classifyReply({ status: 200, retryAfter: undefined, text }, call, retry);
    if (!reply.ok) throw reply.error;
    return parse(reply.data);
  };
}

export async function run(): Promise<Record<string, number | string>> {
  const credentials = new BtcturkCredentials('demo-key', 'c3VwZXItc2VjcmV0LWJ5dGVz');
  const base = 1_700_000_000_000;
  return Promise.resolve({
    signaturesPerSec: rate((i) => credentials.headers(base + i)),
    openOrdersParsesPerSec: rate(parser('open-orders', parseOpenOrders)),
    allOrdersParsesPerSec: rate(parser('all-orders', parseOrderHistory)),
    fillsParsesPerSec: rate(parser('fills', parseFills)),
    exchangeInfoParsesPerSec: rate(parser('exchangeinfo', parseExchangeInfo)),
    payloads:
      'fixtures of test/btcturk: open-orders (2 rows), all-orders (5), fills (2), exchangeinfo (3 pairs)',
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await run()));
}
