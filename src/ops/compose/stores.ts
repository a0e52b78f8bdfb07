import type { Logger } from 'pino';
import type { Store } from '../../ports/store.ts';
import { openPostgresStore } from '../../store/postgres/open.ts';
import { openSqliteStore } from '../../store/sqlite/open.ts';
import { ConfigError } from '../../domain/errors.ts';
import type { ClusterSettings } from '../leases/settings.ts';
import type { StoreLocation } from '../run-config.ts';

// The session's store: SQLite (a file, fresh per paper or dry-run session) or PostgreSQL.

export async function openStore(
  location: StoreLocation,
  logger: Logger,
  cluster?: ClusterSettings | null,
): Promise<Store> {
  const shared = cluster ? { holder: cluster.holder } : undefined;
  if (location.kind === 'postgres') return openPostgresStore({ url: location.url, cluster: shared });
  if (shared && location.fresh)
    throw new ConfigError(
      '--max-symbols',
      "cluster mode shares one store between processes: give it with --db (a paper session's store is fresh per session)",
    );
  return openSqliteStore({
    path: location.path,
    fresh: location.fresh,
    cluster: shared,
    onTakeover: (previous) => {
      logger.warn({ previous }, 'took over the database lock of a process that ended without closing');
    },
  });
}

/** Where the state is, for the banner. */
export function stateText(location: StoreLocation, store: Store): string {
  if (location.kind === 'postgres') return store.location;
  return location.fresh ? `${store.location} (fresh for this session)` : store.location;
}
