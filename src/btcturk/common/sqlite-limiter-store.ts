import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.ts';
import { systemClock } from '../../domain/clock.ts';
import {
  acquireResultOf,
  clampPriority,
  decide,
  usageOf,
  type LogBackend,
  type TimedDecision,
} from './limiter-log.ts';
import type { AcquireClaim, AcquireResult, LimiterStore, RateWindow, WindowUsage } from './rate-limiter.ts';

// The shared budget of processes on one machine without Redis: the same rule as every store
// (limiter-log.ts `decide`), with its counters in a small SQLite file beside the bot's store
// (`<db>.budget`). Each decision is one short write transaction (BEGIN IMMEDIATE: one writer at a
// time), so two processes can never both take the last slot. A side file rather than a table in the
// store: the store's journal writes and the limiter's decisions then never queue behind each other.
//
// Clock: every process on one machine reads the same system clock (Date.now()), so their entries lie
// on one timeline. A wall-clock step backwards keeps entries longer (safe); a step forwards frees
// them early by the size of the step — NTP slews rather than steps, and this is documented.

const BUSY_TIMEOUT_MS = 2_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS budget_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  log TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS budget_log_by_log ON budget_log (log, at);
CREATE TABLE IF NOT EXISTS budget_block (key TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS budget_waiter (
  pool TEXT NOT NULL,
  priority INTEGER NOT NULL,
  waiter TEXT NOT NULL,
  expires INTEGER NOT NULL,
  PRIMARY KEY (pool, priority, waiter)
);
`;

/** The budget file of the store at `dbPath`. */
export function budgetPathFor(dbPath: string): string {
  return `${resolve(dbPath)}.budget`;
}

export interface SqliteLimiterStoreOptions {
  /** The budget file (see `budgetPathFor`); its folder is created. */
  readonly path: string;
  /** Prefix of every key: one account's budget (see `limiterNamespace`). */
  readonly namespace: string;
  readonly clock?: Clock | undefined;
}

export class SqliteLimiterStore implements LimiterStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #namespace: string;
  readonly #clock: Clock;
  readonly #backend: LogBackend;
  readonly #decide: (
    keys: readonly string[],
    windows: readonly RateWindow[],
    claim?: AcquireClaim,
  ) => AcquireResult & { readonly at: number };

  constructor(options: SqliteLimiterStoreOptions) {
    this.path = options.path;
    mkdirSync(dirname(resolve(options.path)), { recursive: true });
    const db = new Database(options.path, { timeout: BUSY_TIMEOUT_MS });
    this.#db = db;
    this.#namespace = options.namespace;
    this.#clock = options.clock ?? systemClock;
    try {
      db.pragma('journal_mode = WAL');
      // A lost budget entry after a power cut costs nothing: the windows are a minute long.
      db.pragma('synchronous = NORMAL');
      db.exec(SCHEMA);
    } catch (error) {
      db.close();
      throw error;
    }
    const ns = (key: string) => `${this.#namespace}${key}`;
    const q = {
      blockedUntil: db.prepare<[string], { until: number }>('SELECT until FROM budget_block WHERE key = ?'),
      extendBlock: db.prepare(
        'INSERT INTO budget_block (key, until) VALUES (?, ?) ' +
          'ON CONFLICT (key) DO UPDATE SET until = MAX(until, excluded.until)',
      ),
      trim: db.prepare('DELETE FROM budget_log WHERE log = ? AND at <= ?'),
      count: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM budget_log WHERE log = ?'),
      entryAt: db.prepare<[string, number], { at: number }>(
        'SELECT at FROM budget_log WHERE log = ? ORDER BY at, id LIMIT 1 OFFSET ?',
      ),
      add: db.prepare('INSERT INTO budget_log (log, at) VALUES (?, ?)'),
      dropExpired: db.prepare('DELETE FROM budget_waiter WHERE pool = ? AND priority = ? AND expires <= ?'),
      waiters: db.prepare<[string, number], { n: number }>(
        'SELECT COUNT(*) AS n FROM budget_waiter WHERE pool = ? AND priority = ?',
      ),
      register: db.prepare(
        'INSERT INTO budget_waiter (pool, priority, waiter, expires) VALUES (?, ?, ?, ?) ' +
          'ON CONFLICT (pool, priority, waiter) DO UPDATE SET expires = excluded.expires',
      ),
      unregister: db.prepare('DELETE FROM budget_waiter WHERE pool = ? AND priority = ? AND waiter = ?'),
    };
    this.#backend = {
      blockedUntil: (key) => q.blockedUntil.get(ns(key))?.until ?? 0,
      extendBlock: (key, untilMs) => void q.extendBlock.run(ns(key), untilMs),
      trim: (log, at) => void q.trim.run(ns(log), at),
      count: (log) => q.count.get(ns(log))?.n ?? 0,
      entryAt: (log, index) => q.entryAt.get(ns(log), index)?.at ?? 0,
      add: (log, at) => void q.add.run(ns(log), at),
      liveWaiters: (pool, priority, now) => {
        q.dropExpired.run(ns(pool), priority, now);
        return q.waiters.get(ns(pool), priority)?.n ?? 0;
      },
      register: (pool, priority, waiter, expiresAt) =>
        void q.register.run(ns(pool), priority, waiter, expiresAt),
      unregister: (pool, priority, waiter) => void q.unregister.run(ns(pool), priority, waiter),
    };
    // The clock is read inside the transaction: decisions are serialised, and so are their times.
    const decideTx = db.transaction(
      (keys: readonly string[], windows: readonly RateWindow[], claim?: AcquireClaim) => {
        const at = this.#clock.now();
        return { ...decide(this.#backend, keys, windows, at, claim), at };
      },
    );
    this.#decide = (keys, windows, claim) => decideTx.immediate(keys, windows, claim);
  }

  /** `now` is not used: the decision reads the machine's clock inside its transaction. */
  async tryAcquire(
    keys: readonly string[],
    windows: readonly RateWindow[],
    _now: number,
    claim?: AcquireClaim,
  ): Promise<AcquireResult> {
    return acquireResultOf(await this.acquireAt(keys, windows, claim));
  }

  /** As `tryAcquire`, also answering the time of the decision (tests, benchmarks). */
  acquireAt(
    keys: readonly string[],
    windows: readonly RateWindow[],
    claim?: AcquireClaim,
  ): Promise<TimedDecision> {
    try {
      const result = this.#decide(keys, windows, claim);
      return Promise.resolve({ ok: result.ok, waitMs: result.ok ? 0 : result.waitMs, at: result.at });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  withdraw(waiter: string, pools: readonly string[], priority: number): Promise<void> {
    const level = clampPriority(priority);
    this.#db.transaction(() => {
      for (const pool of pools) this.#backend.unregister(pool, level, waiter);
    })();
    return Promise.resolve();
  }

  block(key: string, untilMs: number): Promise<void> {
    this.#backend.extendBlock(key, untilMs);
    return Promise.resolve();
  }

  usage(key: string, windows: readonly RateWindow[], _now: number): Promise<WindowUsage> {
    const now = this.#clock.now();
    return Promise.resolve(this.#db.transaction(() => usageOf(this.#backend, key, windows, now)).immediate());
  }

  close(): Promise<void> {
    if (this.#db.open) this.#db.close();
    return Promise.resolve();
  }
}
