import type { Logger } from 'pino';
import { BtcturkExchange, btcturkRateLimiter } from '../../btcturk/index.ts';
import { openLimiterStore } from '../../btcturk/common/limiter-setup.ts';
import type { RateLimiter } from '../../btcturk/common/rate-limiter.ts';
import type { HttpClientObserver } from '../../btcturk/http/client.ts';
import { createExchange } from '../../config/exchange.ts';
import { ConfigError } from '../../domain/errors.ts';
import type { SymbolRules } from '../../domain/symbols.ts';
import { DryRunExchange, dryRunStartingBalances, userStreamOf } from '../../engine/dry-run-exchange.ts';
import type { MarketDataService } from '../../market/service.ts';
import type { Exchange } from '../../ports/exchange.ts';
import type { UserStream } from '../../ports/user-stream.ts';
import { BtcturkUserStream, type BtcturkWsClient } from '../../btcturk/websocket/index.ts';
import type { RunConfig } from '../run-config.ts';
import type { Closer } from './closer.ts';
import type { Venue } from './venue.ts';

// The REST side of the venue: one rate limiter for every client of this process (they share its
// IP and, with keys, the key; with --redis-url, other processes too), the BTCTurk adapter, and
// the trading rules of the configured pairs. Then, once market data runs, the exchange the engine
// trades on: the adapter itself, or in dry-run mode a local book-keeper in front of it.

export interface VenueRest {
  /** The BTCTurk adapter against the venue (real, or paper mode's simulator). */
  readonly real: BtcturkExchange;
  readonly limiter: RateLimiter;
  readonly rules: ReadonlyMap<string, SymbolRules>;
}

export interface Trading {
  /** What orders go to: `real`, or in dry-run mode the in-process DryRunExchange. */
  readonly exchange: Exchange;
  /** Fills and order states as they happen; undefined where they come by reconciliation only. */
  readonly userStream: UserStream | undefined;
}

function rulesFor(
  symbols: readonly string[],
  listed: readonly SymbolRules[],
  where: string,
): Map<string, SymbolRules> {
  const bySymbol = new Map(listed.map((r) => [r.symbol, r]));
  const out = new Map<string, SymbolRules>();
  for (const symbol of symbols) {
    const rules = bySymbol.get(symbol);
    if (!rules)
      throw new ConfigError(
        '--symbols',
        `${symbol} is not listed by the exchange at ${where}; check the pair's name`,
      );
    out.set(symbol, rules);
  }
  return out;
}

export async function openVenueRest(
  config: Pick<RunConfig, 'redisUrl' | 'mode' | 'symbols' | 'store' | 'cluster'>,
  venue: Venue,
  closer: Closer,
  logger: Logger,
  observe?: HttpClientObserver,
): Promise<VenueRest> {
  const { connection } = venue;
  // Shared with the other processes on this key: in Redis, or beside a SQLite store on this
  // machine (live and dry-run; paper mode's simulator is its own). See limiter-setup.ts.
  const budget = await openLimiterStore({
    redisUrl: config.redisUrl,
    db: config.mode !== 'paper' && config.store.kind === 'sqlite' ? config.store.path : undefined,
    apiKey: connection.apiKey ?? 'public-market-data',
    // Cluster mode (--max-symbols): other processes share this key, so a process-only budget is refused.
    cluster: config.cluster != null,
  }).catch((error: unknown) => {
    // An unreachable Redis is the setting's fault to fix (exit 2); its message hides the password.
    if (config.redisUrl === undefined) throw error;
    throw new ConfigError('--redis-url', error instanceof Error ? error.message : String(error));
  });
  closer.add(() => budget.close());
  const limiter = btcturkRateLimiter({ store: budget.store });
  const real = new BtcturkExchange({
    baseUrl: connection.baseUrl,
    credentials:
      config.mode !== 'dry-run' && connection.apiKey !== undefined && connection.apiSecret !== undefined
        ? { apiKey: connection.apiKey, apiSecret: connection.apiSecret }
        : undefined,
    requestTimeoutMs: connection.requestTimeoutMs,
    limiter,
    logger,
    observe,
  });
  closer.add(() => real.close());
  const info = await real.exchangeInfo();
  return { real, limiter, rules: rulesFor(config.symbols, info.symbols, connection.baseUrl) };
}

export async function tradingExchange(
  config: Pick<RunConfig, 'mode' | 'dryRunBalances' | 'dryRunBalancesSetting'>,
  venue: Venue,
  rest: VenueRest,
  market: MarketDataService,
  client: BtcturkWsClient,
  logger: Logger,
): Promise<Trading> {
  if (config.mode !== 'dry-run') return { exchange: rest.real, userStream: new BtcturkUserStream(client) };
  const { connection } = venue;
  const start = await dryRunStartingBalances({
    given: config.dryRunBalances,
    setting: config.dryRunBalancesSetting,
    // Read-only keys suffice: the account's balances are read once, with a client of their own;
    // every other private call stays in the process.
    account:
      connection.apiKey === undefined || connection.apiSecret === undefined
        ? null
        : async () => {
            const account = createExchange(connection, logger, { limiter: rest.limiter });
            try {
              return await account.balances();
            } finally {
              await account.close();
            }
          },
    rules: rest.rules,
  });
  logger.info({ source: start.source }, start.description);
  venue.notes.push(start.description);
  const dry = new DryRunExchange({
    exchange: rest.real,
    market,
    rules: rest.rules,
    balances: start.balances,
  });
  return { exchange: dry, userStream: userStreamOf(dry) };
}
