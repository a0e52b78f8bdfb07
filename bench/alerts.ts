// Tick to order with the alerts running beside the engine, against a receiver that hangs or
// answers 500, compared with no alerts at all: the outbox must keep a failing receiver off the
// trading path. Each variant runs bench/engine-latency.ts's measurement (real parser, market data,
// engine, execution core, durable SQLite journal; a recording fake exchange) for
// BENCH_ALERTS_SECONDS (default 15) while the alerts service evaluates every
// BENCH_ALERTS_EVALUATE_MS (default 50) with a rule that fires or resolves on every evaluation (one
// outbox message each), and its worker retries with a backoff from BENCH_ALERTS_BACKOFF_MS
// (default 10, capped at 10×): far more alert traffic than a real session makes (the service's
// defaults are 5 s and 1 s–5 min).
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { systemClock } from '../src/domain/clock.ts';
import { seededRandom } from '../src/domain/random.ts';
import { DEFAULT_THRESHOLDS, RULE_NAMES } from '../src/ops/alerts/rules.ts';
import { AlertsService } from '../src/ops/alerts/service.ts';
import { alertStoreOf } from '../src/store/sql/alerts.ts';
import { tickToOrder, type Beside } from './engine-latency.ts';

type Variant = 'none' | 'hang' | '500';

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(value > 0)) throw new Error(`${name} must be a positive number`);
  return value;
}

function seconds(): number {
  const value = Number(process.env.BENCH_ALERTS_SECONDS ?? 15);
  if (!(value > 0)) throw new Error('BENCH_ALERTS_SECONDS must be a positive number');
  return value;
}

function alertsBeside(
  variant: Exclude<Variant, 'none'>,
  counts: { requests: number; enqueued: number },
): Beside {
  return async (store) => {
    const hanging: ServerResponse[] = [];
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        counts.requests += 1;
        if (variant === 'hang') hanging.push(response);
        else response.writeHead(500).end('receiver down');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let tick = 0;
    const startedAt = Date.now();
    const service = new AlertsService({
      store: alertStoreOf(store),
      config: {
        webhook: {
          url: `http://127.0.0.1:${port}/hook`,
          secret: 'bench-secret-0123456789',
          limits: [{ limit: 1_000, perMs: 1_000 }],
        },
        telegram: null,
        enabled: new Set(RULE_NAMES),
        heartbeat: null,
        thresholds: DEFAULT_THRESHOLDS,
      },
      bot: 'bench',
      figures: () => {
        tick += 1;
        return Promise.resolve({
          startedAt,
          escalation: tick % 2 === 0 ? { level: 'HALTED', reason: 'bench' } : { level: 'NORMAL', reason: '' },
          unknownOrders: [],
          rateLimited: 0,
          marketData: [],
          reconcile: { runs: 0, failures: 0, divergences: 0 },
          equity: null,
          privateStream: null,
          lastLoopAt: Date.now(),
          fills: [],
        });
      },
      clock: systemClock,
      random: seededRandom(1),
      logger: pino({ level: 'silent' }),
      secrets: [],
      evaluateEveryMs: positive('BENCH_ALERTS_EVALUATE_MS', 50),
      backoff: {
        baseMs: positive('BENCH_ALERTS_BACKOFF_MS', 10),
        capMs: 10 * positive('BENCH_ALERTS_BACKOFF_MS', 10),
      },
    });
    service.start();
    return async () => {
      counts.enqueued = (await alertStoreOf(store).outbox()).length;
      await service.stop();
      for (const response of hanging) response.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    };
  };
}

const KEEP = [
  'moves',
  'tickToFirstRequestP50Ms',
  'tickToFirstRequestP99Ms',
  'tickToReplacementP50Ms',
  'tickToReplacementP99Ms',
] as const;

export async function run(): Promise<Record<string, number | string>> {
  const duration = seconds();
  const out: Record<string, number | string> = { secondsPerVariant: duration };
  for (const variant of ['none', 'hang', '500'] as const) {
    const counts = { requests: 0, enqueued: 0 };
    const figures = await tickToOrder(
      duration,
      variant === 'none' ? undefined : alertsBeside(variant, counts),
    );
    for (const key of KEEP) out[`${variant}: ${key}`] = figures[key] ?? Number.NaN;
    if (variant !== 'none') {
      out[`${variant}: alert messages enqueued`] = counts.enqueued;
      out[`${variant}: receiver requests`] = counts.requests;
    }
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const results = await run();
  for (const [name, value] of Object.entries(results)) process.stdout.write(`${name}: ${String(value)}\n`);
  process.exit(0);
}
