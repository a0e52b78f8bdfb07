import type { Decimal } from 'decimal.js';
import { systemClock, type Clock } from '../domain/clock.ts';
import { toDec } from '../domain/decimal.ts';
import { ConfigError } from '../domain/errors.ts';
import { processRandom, seededRandom } from '../domain/random.ts';
import type { SimEngine, SimGroundTruth } from './engine/api.ts';
import { createSimEngine, DEFAULT_FEES } from './engine/index.ts';
import { checkAdminToken, generateAdminToken } from './server/admin.ts';
import { Accounts, generateKeyPair } from './server/auth.ts';
import { DEFAULT_BOOK_WINDOW } from './server/book-window.ts';
import { Faults, type FaultInput, type FaultName } from './server/faults.ts';
import {
  currenciesOf,
  DEFAULT_SIM_SYMBOLS,
  defaultBalances,
  simPairs,
  simPairsByCount,
} from './server/markets.ts';
import { startSimServer } from './server/server.ts';
import {
  DEFAULT_BOOK_INTERVAL_MS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PONG_TIMEOUT_MS,
} from './server/ws-hub.ts';

// The simulator in-process: a BTCTurk-compatible exchange on a loopback port, used by tests, paper
// trading, chaos runs and benchmarks, and by `btcbot sim`.

export interface SimulatorOptions {
  readonly port?: number; // 0 (default): any free port
  readonly seed?: number; // market and fault decisions replay from it; random when absent
  readonly symbols?: readonly string[];
  /**
   * List this many pairs instead of `symbols`: the built-in ones, then synthetic TRY pairs
   * (SYN007TRY, …), as many as an exchange lists (BTCTurk: about 380). Each pair's book change set
   * then goes out at its own phase of the book interval, not all pairs at once, and each pair's
   * market steps once per book interval, just before, in place of `marketIntervalMs`.
   */
  readonly pairs?: number;
  readonly apiKey?: string;
  readonly apiSecret?: string; // standard base64
  readonly balances?: Readonly<Record<string, string>>;
  readonly faults?: Readonly<Record<string, FaultInput>>;
  readonly marketIntervalMs?: number; // one synthetic market step per interval (default 250)
  readonly speed?: number; // divides the interval (default 1)
  readonly autoMarket?: boolean; // default true; false: the market moves only on POST /sim/step
  /**
   * Book change sets are conflated per pair over this interval (default 764 ms, BTCTurk's observed
   * cadence) and divided by `speed` like the market's steps. Tests pass a small one, or call
   * flushBooks().
   */
  readonly bookIntervalMs?: number;
  /** Levels a side the book channels and the REST book show (default 100, as on BTCTurk). */
  readonly bookWindow?: number;
  /** The server's protocol ping period (default 15 s) and how long a pong may be missing (45 s). */
  readonly pingIntervalMs?: number;
  readonly pongTimeoutMs?: number;
  /** Base clock (default the system's); the simulator's clock adds clock-skew-ms to it. */
  readonly clock?: Clock;
  /**
   * The token POSTs under /sim/ (faults, steps, accounts) must carry as `Authorization: Bearer
   * <token>`; generated when absent. GETs of the ground truth need none.
   */
  readonly adminToken?: string;
}

export interface OpenedAccount {
  readonly accountId: string;
  /** The numeric user id of the login reply and the private events. */
  readonly userId: number;
  readonly apiKey: string;
  readonly apiSecret: string;
}

export interface RunningSimulator {
  readonly restUrl: string;
  readonly wsUrl: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly accountId: string;
  readonly seed: number;
  /** What POSTs under /sim/ must carry as `Authorization: Bearer <token>`: a secret, never logged. */
  readonly adminToken: string;
  readonly engine: SimEngine;
  setFault(name: string, value: FaultInput | null): void;
  /** How often each fault took effect so far (requests struck, orders hidden, sockets cut, ...). */
  faultHits(): Record<FaultName, number>;
  openAccount(input?: {
    apiKey?: string;
    apiSecret?: string;
    balances?: Readonly<Record<string, string>>;
  }): OpenedAccount;
  groundTruth(): SimGroundTruth;
  /** Sends every pair's pending book change set now instead of at the next interval. */
  flushBooks(): void;
  stop(): Promise<void>;
}

export const DEFAULT_MARKET_INTERVAL_MS = 250;
/** With `pairs`, the book interval is cut into this many phases, each pair flushed in its own. */
const BOOK_PHASES = 16;
export { DEFAULT_BOOK_INTERVAL_MS };

function positive(setting: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(setting, `must be a number above 0, got ${value}`);
  return value;
}

function parseBalances(balances: Readonly<Record<string, string>>): Record<string, Decimal> {
  const out: Record<string, Decimal> = {};
  for (const [asset, amount] of Object.entries(balances)) {
    let value: Decimal;
    try {
      value = toDec(amount, asset);
    } catch {
      throw new ConfigError('balances', `${asset}: expected a decimal amount, got ${JSON.stringify(amount)}`);
    }
    if (value.isNegative())
      throw new ConfigError('balances', `${asset}: must not be negative, got ${amount}`);
    out[asset.trim().toUpperCase()] = value;
  }
  return out;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<RunningSimulator> {
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('port', `expected a port from 0 to 65535, got ${port}`);
  const seed = opts.seed ?? processRandom().seed;
  if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', `expected a whole number, got ${seed}`);
  const interval = positive('marketIntervalMs', opts.marketIntervalMs, DEFAULT_MARKET_INTERVAL_MS);
  const speed = positive('speed', opts.speed, 1);
  const bookIntervalMs = positive('bookIntervalMs', opts.bookIntervalMs, DEFAULT_BOOK_INTERVAL_MS);
  const bookWindow = opts.bookWindow ?? DEFAULT_BOOK_WINDOW;
  if (!Number.isInteger(bookWindow) || bookWindow < 1)
    throw new ConfigError('bookWindow', `expected a whole number of levels from 1, got ${bookWindow}`);
  const pingIntervalMs = positive('pingIntervalMs', opts.pingIntervalMs, DEFAULT_PING_INTERVAL_MS);
  const pongTimeoutMs = positive('pongTimeoutMs', opts.pongTimeoutMs, DEFAULT_PONG_TIMEOUT_MS);
  const adminToken =
    opts.adminToken === undefined ? generateAdminToken() : checkAdminToken('adminToken', opts.adminToken);
  if (opts.pairs !== undefined && opts.symbols !== undefined)
    throw new ConfigError('pairs', 'give either symbols or a number of pairs, not both');
  const pairs =
    opts.pairs === undefined ? simPairs(opts.symbols ?? DEFAULT_SIM_SYMBOLS) : simPairsByCount(opts.pairs);
  const faults = new Faults(seed, opts.faults);
  const base = opts.clock ?? systemClock;
  const clock: Clock = { ...base, now: () => base.now() + faults.value('clock-skew-ms') };

  const engine = createSimEngine({
    clock,
    random: seededRandom(seed),
    markets: pairs.map((pair) => pair.config),
    ...DEFAULT_FEES,
  });

  const accounts = new Accounts();
  const openAccount: RunningSimulator['openAccount'] = (input = {}) => {
    const generated = generateKeyPair();
    const accountId = `account-${accounts.size + 1}`;
    const balances = input.balances ? parseBalances(input.balances) : defaultBalances(pairs);
    const account = accounts.add({
      accountId,
      apiKey: input.apiKey ?? generated.apiKey,
      apiSecret: input.apiSecret ?? generated.apiSecret,
    });
    engine.createAccount(accountId, balances);
    return account;
  };
  // One step before listening, so the first client already finds a quoted book.
  engine.stepMarket();
  const main = openAccount({ apiKey: opts.apiKey, apiSecret: opts.apiSecret, balances: opts.balances });

  const server = await startSimServer({
    port,
    engine,
    accounts,
    faults,
    clock,
    pairs,
    currencies: currenciesOf(pairs),
    openAccount,
    adminToken,
    seed,
    bookIntervalMs: Math.max(1, bookIntervalMs / speed),
    bookPhases: opts.pairs === undefined ? 1 : BOOK_PHASES,
    bookWindow,
    pingIntervalMs,
    pongTimeoutMs,
  });
  // With many pairs, each pair steps once per book interval, in the phase its change set goes out
  // in: a step of every pair every 250 ms would cost the simulator more than a core at 380 pairs.
  let phase = 0;
  const market =
    opts.autoMarket === false
      ? undefined
      : opts.pairs === undefined
        ? setInterval(
            () => {
              engine.stepMarket();
            },
            Math.max(1, interval / speed),
          )
        : setInterval(
            () => {
              engine.stepMarket({ part: phase, of: BOOK_PHASES });
              phase = (phase + 1) % BOOK_PHASES;
            },
            Math.max(1, bookIntervalMs / speed / BOOK_PHASES),
          );

  return {
    restUrl: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}/ws`,
    apiKey: main.apiKey,
    apiSecret: main.apiSecret,
    accountId: main.accountId,
    seed,
    adminToken,
    engine,
    setFault: (name, value) => {
      faults.set(name, value);
    },
    faultHits: () => faults.hits(),
    openAccount,
    groundTruth: () => engine.groundTruth(),
    flushBooks: () => {
      server.hub.flushBooks();
    },
    stop: async () => {
      clearInterval(market);
      await server.close();
    },
  };
}
