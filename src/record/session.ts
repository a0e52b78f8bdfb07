import { BtcturkMarketFeed, BtcturkWsClient } from '../btcturk/websocket/index.ts';
import type { ConnectionSettings } from '../config/connection.ts';
import { createExchange } from '../config/exchange.ts';
import { ConfigError } from '../domain/errors.ts';
import { MarketDataService } from '../market/service.ts';
import { formatDuration } from '../ops/duration.ts';
import type { Logger } from '../ops/logger.ts';
import { stopper } from '../ops/stopper.ts';
import { RECORDED_CHANNELS, startRecording } from './recorder.ts';
import { checkRecordingDir } from './writer.ts';
import { RecordingError } from './reader.ts';

// `btcbot record`: the public WebSocket of BTCTurk (or `btcbot sim`) into a recording directory.
// The client, feed and market data service are those of a bot session, so a gap in a book's change
// sets leads to the same resync a bot does (recorded as a marker, followed by the fresh snapshot);
// no login, nothing but public data.

export interface RecordMarketOptions {
  readonly settings: ConnectionSettings;
  readonly symbols: readonly string[];
  readonly dir: string;
  readonly durationMs: number | null;
  readonly rotateBytes: number;
  readonly rotateMs: number;
  readonly log: Logger;
  readonly out: (line: string) => void;
}

export interface RecordMarketOutcome {
  readonly reason: string;
  readonly events: number;
  readonly segments: number;
  readonly bytes: number;
}

export async function recordMarket(o: RecordMarketOptions): Promise<RecordMarketOutcome> {
  const { settings, symbols, log } = o;
  const exchange = createExchange({ ...settings, apiKey: undefined, apiSecret: undefined }, log);
  const stop = stopper(o.durationMs);
  try {
    // The directory first: a mistake in --out is reported before anything connects.
    await checkRecordingDir(o.dir, symbols, RECORDED_CHANNELS).catch((error: unknown) => {
      throw error instanceof RecordingError ? new ConfigError('--out', error.message) : error;
    });
    // ASSUMPTION (BTCTurk): as in `orderbook --watch`, a pair exchangeinfo lists under its name is
    // the pair the socket serves; the socket acknowledges an unknown pair and then says nothing.
    try {
      const info = await exchange.exchangeInfo();
      const listed = new Set(info.symbols.map((s) => s.symbol));
      const unknown = symbols.filter((s) => !listed.has(s));
      if (unknown.length > 0)
        throw new ConfigError(
          '--symbols',
          `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not listed by the exchange at ${settings.baseUrl}`,
        );
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      log.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'exchangeinfo could not be read; recording without checking the pairs first',
      );
    }
    const client = new BtcturkWsClient({ url: settings.wsUrl });
    const market = new MarketDataService({
      feed: new BtcturkMarketFeed(client),
      fetchBook: (symbol) => exchange.orderBook(symbol, 100),
      symbols,
      streams: { book: true, trades: true, ticker: true, periodicBook: false },
      spotCheckMs: 0,
    });
    const feedLog = log.child({ component: 'market-data' });
    market.on('problem', (message) => {
      feedLog.warn(message);
    });
    client.on('problem', (problem) => {
      feedLog.warn({ kind: problem.kind, symbol: problem.symbol }, problem.message);
    });
    let recording;
    try {
      recording = await startRecording({
        dir: o.dir,
        client,
        market,
        symbols,
        rotateBytes: o.rotateBytes,
        rotateMs: o.rotateMs,
        onError: (error) => {
          stop.fail(error);
        },
      });
    } catch (error) {
      if (error instanceof RecordingError) throw new ConfigError('--out', error.message);
      throw error;
    }
    const rotation = [
      o.rotateBytes > 0 ? `${Math.round(o.rotateBytes / 1024)} KB` : null,
      o.rotateMs > 0 ? formatDuration(o.rotateMs) : null,
    ].filter((x) => x !== null);
    const rotating = rotation.length > 0 ? `, a new segment every ${rotation.join(' or ')}` : '';
    const until = o.durationMs === null ? 'until SIGINT/SIGTERM' : `for ${formatDuration(o.durationMs)}`;
    o.out(`recording ${symbols.join(',')} from ${settings.wsUrl} into ${o.dir}${rotating}, ${until}`);
    let reason = 'stopped';
    try {
      market.start();
      client.start();
      reason = await stop.wait;
    } finally {
      await market.stop();
      await client.stop(); // its disconnect is the recording's last marker
      await recording.close();
    }
    const stats = recording.writer.stats();
    o.out(
      `recorded ${stats.events} events in ${stats.segments} new segments into ${o.dir} (${stats.bytes} bytes in all): ${reason}`,
    );
    return { reason, ...stats };
  } finally {
    stop.dispose();
    await exchange.close();
  }
}
