import type { BtcturkWsClient } from '../btcturk/websocket/client.ts';
import type { MarketDataService } from '../market/service.ts';
import type { RecordingSource } from './format.ts';
import { RecordingWriter, type RecordingWriterOptions } from './writer.ts';

// The tap between a live WebSocket client and a recording: every frame the client receives, as
// received and stamped on arrival (the client's `frameTap`), a `connect` marker when a socket
// opens, `disconnect` when it closes, and `resync` when the market data service asks for a fresh
// book. Used by `btcbot record` and by `btcbot run --record DIR`.
//
// Private frames (a logged-in `btcbot run`) are left out: only public market data is recorded.

/** BTCTurk's channels a recording subscribes: book snapshots and deltas, trades, tickers. */
export const RECORDED_CHANNELS: readonly string[] = ['obdiff', 'trade', 'ticker'];

/** Frame types that carry the account's own data (login answer, balances, orders, fills). */
const PRIVATE_TYPES: ReadonlySet<number> = new Set([114, 201, 423, 441, 451, 452, 453]);
const FRAME_TYPE = /^\s*\[\s*(\d+)/;

function isPrivateFrame(text: string): boolean {
  const match = FRAME_TYPE.exec(text);
  return match !== null && PRIVATE_TYPES.has(Number(match[1]));
}

/**
 * Where the recording comes from: BTCTurk when the URL is one of btcturk.com's hosts, otherwise
 * the simulator (or something that speaks like it).
 */
function recordingSource(url: string): RecordingSource {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return 'sim';
  }
  return host === 'btcturk.com' || host.endsWith('.btcturk.com') ? 'btcturk' : 'sim';
}

export interface Recording {
  readonly writer: RecordingWriter;
  /** Detaches from the client and the market and closes the recording (index with endedAt). */
  close(): Promise<void>;
}

export interface StartRecordingOptions extends Omit<RecordingWriterOptions, 'source' | 'url' | 'channels'> {
  readonly client: BtcturkWsClient;
  /** The service whose resyncs are recorded as markers. */
  readonly market?: Pick<MarketDataService, 'on' | 'off'>;
  readonly source?: RecordingSource;
}

export async function startRecording(options: StartRecordingOptions): Promise<Recording> {
  const { client, market } = options;
  const writer = await RecordingWriter.open({
    ...options,
    source: options.source ?? recordingSource(client.url),
    url: client.url,
    channels: RECORDED_CHANNELS,
  });
  client.frameTap = (text) => {
    if (!isPrivateFrame(text)) writer.frame(text);
  };
  const onConnected = (): void => {
    writer.marker('connect');
  };
  const onDisconnected = (reason: string): void => {
    writer.marker('disconnect', { reason });
  };
  const onResync = (symbol: string, reason: string): void => {
    writer.marker('resync', { symbol, reason });
  };
  client.on('connected', onConnected);
  client.on('disconnected', onDisconnected);
  market?.on('resync', onResync);
  // Started on a client already open: the recording still begins with its connection.
  if (client.connected) writer.marker('connect', { reason: 'already connected' });
  let closing: Promise<void> | null = null;
  return {
    writer,
    close: () => {
      closing ??= (async () => {
        client.frameTap = null;
        client.off('connected', onConnected);
        client.off('disconnected', onDisconnected);
        market?.off('resync', onResync);
        await writer.close();
      })();
      return closing;
    },
  };
}
