import { ConfigError } from '../../domain/errors.ts';
import type { LimiterStore } from './rate-limiter.ts';
import { connectRedisLimiterStore, limiterNamespace, withoutPassword } from './redis-limiter-store.ts';
import { budgetPathFor, SqliteLimiterStore } from './sqlite-limiter-store.ts';

// Where a process keeps its rate budget, given how it is deployed. BTCTurk counts every process on
// one key together, so processes that share a key must share the budget:
//   --redis-url            → Redis, shared by every process on the key, on any machine;
//   a SQLite store (--db)  → `<db>.budget` beside it, shared by the processes on this machine;
//   PostgreSQL, no Redis   → this process alone, and refused when it runs as one of several.

export interface LimiterStoreChoice {
  readonly store: LimiterStore | undefined;
  /** Who shares the budget, for logs and `doctor`: never a secret. */
  readonly scope: string;
  readonly kind: 'redis' | 'sqlite' | 'process';
  close(): Promise<void>;
}

export interface LimiterStoreSettings {
  readonly redisUrl?: string | undefined;
  /** The store: a SQLite path, ":memory:", or a postgres:// URL. */
  readonly db?: string | undefined;
  /** The REST API key whose budget is shared; only its hash is used. */
  readonly apiKey: string;
  /** The process runs beside others on the same store (cluster mode). */
  readonly cluster?: boolean | undefined;
}

function isPostgres(db: string): boolean {
  return /^postgres(ql)?:\/\//.test(db);
}

export async function openLimiterStore(settings: LimiterStoreSettings): Promise<LimiterStoreChoice> {
  const { redisUrl, db, apiKey } = settings;
  if (redisUrl !== undefined) {
    const store = await connectRedisLimiterStore({ url: redisUrl, apiKey });
    return {
      store,
      kind: 'redis',
      scope: `shared in Redis at ${withoutPassword(redisUrl)} by every process on this API key`,
      close: () => store.close(),
    };
  }
  if (db !== undefined && db !== ':memory:' && !isPostgres(db)) {
    const path = budgetPathFor(db);
    const store = new SqliteLimiterStore({ path, namespace: limiterNamespace(apiKey) });
    return {
      store,
      kind: 'sqlite',
      scope: `shared in ${path} by the processes on this machine using this store and API key`,
      close: () => store.close(),
    };
  }
  if (settings.cluster === true)
    throw new ConfigError(
      '--redis-url',
      'is required when several processes share a PostgreSQL store: BTCTurk counts every process on ' +
        'one API key together, so they must share one rate budget. Give --redis-url ' +
        '(BTCBOT_REDIS_URL, e.g. redis://127.0.0.1:6379), or run them on one machine with a SQLite --db',
    );
  return {
    store: undefined,
    kind: 'process',
    scope: 'this process only (no --redis-url and no shared SQLite store)',
    close: () => Promise.resolve(),
  };
}
