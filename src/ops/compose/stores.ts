import type { Logger } from 'pino';
import type { Store } from '../../ports/store.ts';
import { openLiveStore } from '../../store/live-view.ts';
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
  // Active orders, kill switch and escalation answered from memory (src/store/live-view.ts).
  const store = await openDatabase(location, logger, cluster);
  let lastWarned = Number.NEGATIVE_INFINITY;
  try {
    return await openLiveStore(store, {
      watch:
        location.kind === 'postgres'
          ? { kind: 'poll' }
          : store.location === ':memory:'
            ? { kind: 'none' }
            : { kind: 'sqlite', path: store.location },
      resyncEveryMs: cluster ? CLUSTER_RESYNC_MS : 0,
      // A poll every 100 ms that fails while the database is away: said once per 10 s, not each time.
      onError: (error) => {
        const now = Date.now();
        if (now - lastWarned < 10_000) return;
        lastWarned = now;
        logger.warn({ err: String(error) }, 'live store view: a background read failed (retried)');
      },
    });
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** Cluster mode: active orders read again this often (a previous holder's late writes). */
const CLUSTER_RESYNC_MS = 1_000;

async function openDatabase(
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
