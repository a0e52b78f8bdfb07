import type { Logger } from 'pino';
import type { BtcturkWsClient } from '../../btcturk/websocket/index.ts';
import { listenError } from '../listen-error.ts';
import { Registry } from 'prom-client';
import type { HttpClientObserver } from '../../btcturk/http/client.ts';
import { botMetrics, operationalMetrics, serveMetrics } from '../metrics.ts';
import { dashboardService } from '../dashboard/service.ts';
import { alertsService } from '../alerts/session-service.ts';
import type { RunConfig } from '../run-config.ts';
import type { SessionView } from './view.ts';

// Services run beside the trading loop: started once the store, exchange, market data and engine
// are built (before the banner, so it can say where they serve), stopped in the reverse order at
// exit, after the final summary and before the engine, market data, exchange and store close.
// A service reads the bot through the session's view (view.ts); it must never block trading.
// To add one: write `xxxService(config): SessionService | null` beside your feature and add it
// to the list in sessionServices() below.

export interface ServiceContext {
  readonly config: RunConfig;
  readonly view: SessionView;
  /** The WebSocket connection (public feed and private stream), for its own counters. */
  readonly socket: BtcturkWsClient;
  /** The private stream's login; undefined in a mode without one (dry-run, no keys). */
  readonly privateStream:
    { loggedIn(): boolean; loginRefusals(): number; describe(): string | null } | undefined;
  readonly out: (line: string) => void;
  readonly logger: Logger;
}

export interface StartedService {
  /** Where it serves, when it serves over HTTP (the metrics service's is the banner's metrics line). */
  readonly url?: string | undefined;
  /** A line for the banner, e.g. "dashboard: http://127.0.0.1:8080/". */
  readonly banner?: string | undefined;
  stop(): Promise<void>;
}

export interface SessionService {
  readonly name: string;
  /** Told of every REST request of the adapter (the metrics service): given to it when it is built. */
  readonly observe?: HttpClientObserver | undefined;
  start(context: ServiceContext): Promise<StartedService>;
}

/** Prometheus text at /metrics on --metrics-port (loopback). */
export function metricsService(config: Pick<RunConfig, 'metricsPort'>): SessionService | null {
  const port = config.metricsPort;
  if (port === null) return null;
  // Measured from the start (REST requests of the start-up, tick-to-order), served once started.
  const registry = new Registry();
  const measured = operationalMetrics(registry);
  return {
    name: 'metrics',
    observe: measured.rest,
    start: async ({ view, socket, privateStream }) => {
      const { engine, oms, market, store, limiter } = view.parts;
      const server = await serveMetrics(
        botMetrics(
          {
            engine,
            oms,
            market,
            store,
            limiter,
            valuation: () => view.valuation(),
            socket,
            privateStream,
          },
          registry,
        ),
        port,
      ).catch((error: unknown) => {
        measured.close();
        throw listenError(error, { host: '127.0.0.1', port, portSetting: '--metrics-port' });
      });
      return {
        url: server.url,
        stop: () => {
          measured.close();
          return server.close();
        },
      };
    },
  };
}

/** The services of a session, in start order. */
export function sessionServices(config: RunConfig): SessionService[] {
  return [metricsService(config), dashboardService(config), alertsService(config)].filter(
    (s): s is SessionService => s !== null,
  );
}
