import { Command } from 'commander';
import { MAX_DURATION_TEXT, parseDuration } from '../../ops/duration.ts';
import {
  DEFAULT_ROTATE_EVERY,
  DEFAULT_ROTATE_SIZE,
  parseDir,
  parseRotateEvery,
  parseSize,
  parseSymbols,
} from '../../record/options.ts';

// `btcbot record`: the public WebSocket frames of some pairs, exactly as received, into a
// recording directory (src/record/format.ts) that `btcbot backtest --data DIR` replays.

interface RecordFlags {
  readonly symbols: string;
  readonly out: string;
  readonly duration?: string;
  readonly rotateSize: string;
  readonly rotateEvery: string;
  readonly config?: string;
  readonly baseUrl?: string;
  readonly wsUrl?: string;
  readonly requestTimeoutMs?: string;
}

const HELP_AFTER = `
A recording is a directory:
  index.json         version, source (btcturk or sim), url, symbols, channels, startedAt,
                     endedAt, and the segments with their first and last receive times,
                     event counts and sizes; rewritten atomically at each rotation and at the end
  000001.jsonl.gz …  gzip'd JSON lines, one event each:
                       {"t":<receive epoch ms>,"k":"frame","d":"<the frame exactly as received>"}
                       {"t":…,"k":"connect"|"disconnect"|"resync","symbol"?:…,"reason"?:…}

Recorded: obdiff (book snapshots 431 and deltas 432), trade (421, 422) and ticker (402) of each
pair. A book whose change sets skip is resynced as a bot does it (a resync marker, then the fresh
snapshot); a lost connection is a disconnect marker, the new one a connect marker. The open segment
is flushed every second, so a killed recorder loses at most that and leaves a segment that reads up
to where it stops. Recording again into the same directory with the same pairs continues it; other
pairs are refused. SIGINT/SIGTERM or the end of --duration close the recording.

Examples:
  btcbot record --symbols BTCTRY,ETHTRY --out data/rec1 --duration 1h
  BTCTURK_BASE_URL=http://127.0.0.1:PORT BTCTURK_WS_URL=ws://127.0.0.1:PORT \\
    btcbot record --symbols BTCTRY --out data/sim1 --rotate-size 1MB   (against btcbot sim)
`;

async function record(flags: RecordFlags): Promise<void> {
  // Every flag is checked before anything connects.
  const symbols = parseSymbols('--symbols', flags.symbols);
  const dir = parseDir('--out', flags.out);
  const durationMs = flags.duration === undefined ? null : parseDuration('--duration', flags.duration);
  const rotateBytes = parseSize('--rotate-size', flags.rotateSize);
  const rotateMs = parseRotateEvery('--rotate-every', flags.rotateEvery);
  const { loadConnectionSettings } = await import('../../config/connection.ts');
  const settings = loadConnectionSettings({
    config: flags.config,
    baseUrl: flags.baseUrl,
    wsUrl: flags.wsUrl,
    requestTimeoutMs: flags.requestTimeoutMs,
  });
  const [{ recordMarket }, { createLogger }] = await Promise.all([
    import('../../record/session.ts'),
    import('../../ops/logger.ts'),
  ]);
  await recordMarket({
    settings,
    symbols,
    dir,
    durationMs,
    rotateBytes,
    rotateMs,
    log: createLogger(),
    out: (line) => process.stdout.write(`${line}\n`),
  });
}

export function registerRecordCommand(program: Command): void {
  program.addCommand(
    new Command('record')
      .description(
        'record the public WebSocket frames (books, trades, tickers) of some pairs, as received, into a directory for backtests',
      )
      .requiredOption('--symbols <list>', 'pairs to record, comma-separated, e.g. BTCTRY,ETHTRY')
      .requiredOption(
        '--out <dir>',
        'recording directory (created; a recording of the same pairs is continued)',
      )
      .option(
        '--duration <time>',
        `stop after this long, e.g. 90s, 10m, 2h (at most ${MAX_DURATION_TEXT}; default: until SIGINT/SIGTERM)`,
      )
      .option(
        '--rotate-size <size>',
        'start a new segment when the open one reaches this compressed size: 512KB, 64MB, 1GB (binary units), or off',
        DEFAULT_ROTATE_SIZE,
      )
      .option(
        '--rotate-every <time>',
        'start a new segment when the open one is this old: 15m, 1h, or off',
        DEFAULT_ROTATE_EVERY,
      )
      .option('--ws-url <url>', 'WebSocket URL (also BTCTURK_WS_URL; default BTCTurk)')
      .option('--base-url <url>', 'REST base URL, to check the pairs are listed (also BTCTURK_BASE_URL)')
      .option('--config <path>', 'JSON config file (also BTCBOT_CONFIG)')
      .option('--request-timeout-ms <ms>', 'per-request deadline (also BTCBOT_REQUEST_TIMEOUT_MS)')
      .addHelpText('after', HELP_AFTER)
      .action((flags: RecordFlags) => record(flags)),
  );
}
