import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../btcturk/common/constants.ts';
import type { ConnectionSettings } from '../../config/connection.ts';
import { groundTruthJson } from '../../sim/server/admin.ts';
import { DEFAULT_BOOK_INTERVAL_MS, startSimulator, type RunningSimulator } from '../../sim/index.ts';
import type { RunConfig } from '../run-config.ts';
import type { Closer } from './closer.ts';

// Where the session trades: the configured exchange (live, dry-run), or in paper mode an
// in-process simulator on loopback, driven over real HTTP and WebSocket like a live exchange.

export interface Venue {
  readonly connection: ConnectionSettings;
  /** The exchange, for the banner. */
  readonly describe: string;
  /** Banner lines about the venue; later builders add theirs (dry-run balances). */
  readonly notes: string[];
  /** Paper mode's simulator (its admin token is the session's own, never logged); null otherwise. */
  readonly sim: RunningSimulator | null;
}

export async function openVenue(
  config: Pick<RunConfig, 'connection' | 'mode' | 'seed' | 'symbols' | 'speed' | 'paperStateFile'>,
  closer: Closer,
): Promise<Venue> {
  if (config.connection !== null)
    return {
      connection: config.connection,
      describe:
        config.mode === 'live'
          ? `${config.connection.baseUrl} (LIVE: real orders)`
          : `${config.connection.baseUrl} (public market data only; orders are simulated here and never sent)`,
      notes: [],
      sim: null,
    };
  // Book changes are batched per pair as BTCTurk does (~764 ms), so paper mode meets the same
  // conflated feed live mode will; the simulator runs that interval faster with the market speed.
  const bookIntervalMs = DEFAULT_BOOK_INTERVAL_MS;
  const sim = await startSimulator({
    port: 0,
    seed: config.seed ?? undefined,
    symbols: config.symbols,
    speed: config.speed,
    bookIntervalMs,
  });
  closer.add(async () => {
    if (config.paperStateFile !== undefined)
      writeFileSync(
        resolve(config.paperStateFile),
        `${JSON.stringify(groundTruthJson(sim.groundTruth()))}\n`,
      );
    await sim.stop();
  });
  return {
    connection: {
      baseUrl: sim.restUrl,
      wsUrl: sim.wsUrl,
      apiKey: sim.apiKey,
      apiSecret: sim.apiSecret,
      wsPublicKey: undefined,
      wsPrivateKey: undefined,
      requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
    },
    describe: `in-process simulator at ${sim.restUrl} (synthetic market; nothing leaves this machine)`,
    notes: [
      `simulator seed ${sim.seed} (--seed ${sim.seed} replays its market), speed ${config.speed}; ` +
        (config.speed === 1
          ? `book changes batched every ${bookIntervalMs} ms, as BTCTurk's feed does`
          : `book changes batched every ${Math.round(Math.max(1, bookIntervalMs / config.speed))} ms (BTCTurk's ~${bookIntervalMs} ms at speed ${config.speed})`),
      'paper state is per session: the simulator lives in this process, so its database starts empty each run',
    ],
    sim,
  };
}
