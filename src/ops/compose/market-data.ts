import type { Logger } from 'pino';
import { BtcturkMarketFeed, BtcturkWsClient, WsCredentials } from '../../btcturk/websocket/index.ts';
import { ConfigError } from '../../domain/errors.ts';
import { MarketDataService } from '../../market/service.ts';
import type { RunConfig } from '../run-config.ts';
import type { Closer } from './closer.ts';
import type { VenueRest } from './exchange.ts';
import type { Venue } from './venue.ts';

// The WebSocket connection (public feed, and the private stream when logged in) and the market
// data service that keeps the books from it, REST books standing in while the feed cannot.
// Built here, started by the session once everything is wired.

export interface MarketData {
  readonly client: BtcturkWsClient;
  readonly market: MarketDataService;
  /** The WebSocket login's key pair; undefined where there is no private stream (dry-run, no keys). */
  readonly wsCredentials: WsCredentials | undefined;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export async function openMarketData(
  config: Pick<RunConfig, 'mode' | 'symbols' | 'wsLoginNonce' | 'recordDir'>,
  venue: Venue,
  rest: VenueRest,
  closer: Closer,
  io: { readonly out: (line: string) => void; readonly logger: Logger },
): Promise<MarketData> {
  const { connection } = venue;
  const { real } = rest;
  const wsKey = connection.wsPublicKey ?? connection.apiKey;
  const wsSecret = connection.wsPrivateKey ?? connection.apiSecret;
  const wsCredentials =
    config.mode !== 'dry-run' && wsKey !== undefined && wsSecret !== undefined
      ? new WsCredentials(wsKey, wsSecret)
      : undefined;
  if (wsCredentials !== undefined) {
    // The login's timestamp comes from the server-synced clock: measured now, so the first login
    // is stamped with it too. Without a measurement the local clock stands in (and is re-measured
    // on its own later); a refused login is then reported and polled around, not fatal.
    await real.syncClock().catch((error: unknown) => {
      io.logger.warn(
        { err: message(error) },
        'could not measure the server clock; the WebSocket login is stamped with the local clock',
      );
    });
  }
  const client = new BtcturkWsClient({
    url: connection.wsUrl,
    credentials: wsCredentials,
    serverNow: () => real.serverNow(),
    loginNonce: config.wsLoginNonce,
  });
  closer.add(() => client.stop());
  const market = new MarketDataService({
    feed: new BtcturkMarketFeed(client),
    fetchBook: (symbol) => real.orderBook(symbol, 100),
    symbols: config.symbols,
    // The ticker is subscribed only to be recorded (RECORDED_CHANNELS): nothing else reads it.
    // Trades too, but for dry-run's mirror, which follows them where our orders are open.
    streams: config.recordDir !== undefined ? { ticker: true } : { trades: false },
  });
  closer.add(() => market.stop());
  if (config.recordDir !== undefined) {
    // `--record DIR` (src/record/): loaded only when asked for; closed before the client stops.
    const { startRecording } = await import('../../record/recorder.ts');
    const recording = await startRecording({
      dir: config.recordDir,
      client,
      market,
      symbols: config.symbols,
    }).catch((error: unknown) => {
      throw error instanceof Error && error.name === 'RecordingError'
        ? new ConfigError('--record', error.message)
        : error;
    });
    closer.add(() => recording.close());
    io.out(`recording the public WebSocket frames into ${config.recordDir}`);
  }
  logFeed(client, market, io.logger);
  return { client, market, wsCredentials };
}

/** Gaps, resyncs, silences and reconnects are logged as they happen; the metrics count them. */
function logFeed(client: BtcturkWsClient, market: MarketDataService, logger: Logger): void {
  const feedLog = logger.child({ component: 'market-data' });
  market.on('problem', (problem) => {
    feedLog.warn(problem);
  });
  market.on('status', (symbol, status, previous) => {
    feedLog.info({ symbol, status, previous }, `${symbol} market data ${previous} -> ${status}`);
  });
  client.on('problem', (problem) => {
    // A refused login is logged by the private stream's wiring, with what the bot does about it.
    if (problem.kind === 'login-refused') return;
    feedLog.warn({ kind: problem.kind, symbol: problem.symbol }, problem.message);
  });
  client.on('reconnected', () => {
    feedLog.info(
      { reconnects: market.stats().reconnects },
      'WebSocket reconnected; reconciling the gap over REST',
    );
  });
}
