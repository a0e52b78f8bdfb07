import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';

// One writer per store (a schema of a database). The exclusion is a PostgreSQL session advisory
// lock held on a connection of its own: the server drops it the moment that session ends — a clean
// close, a crash or a SIGKILL of the holder alike — so no liveness guess or timeout is involved.
// The holder names itself in the session's application_name, which is how a refusal can say who
// holds the store.

// The lock's first key marks it as btcbot's ("btcb"); the second is derived from the schema.
const LOCK_CLASS = 0x62746362;
const HOLDER_NAME = /^btcbot writer pid=(\d+) host=(.*)$/;

export interface PostgresLockHolder {
  /** The holder's process id, when its session says it (it is a btcbot process). */
  readonly pid: number | null;
  readonly host: string | null;
  /** The holder's PostgreSQL session. */
  readonly backendPid: number;
  readonly since: number | null; // ms, when its session began
}

export class PostgresStoreLockedError extends Error {
  constructor(
    readonly location: string,
    readonly holder: PostgresLockHolder | null,
  ) {
    super(
      `store ${location} is already open for writing by another btcbot process (${describeHolder(holder)}). ` +
        'Stop that process, or give this one another schema or database.',
    );
    this.name = 'PostgresStoreLockedError';
  }
}

function describeHolder(holder: PostgresLockHolder | null): string {
  if (!holder) return 'a session that ended or could not be read while this one was refused';
  const who =
    holder.pid === null
      ? `PostgreSQL session ${holder.backendPid}`
      : `pid ${holder.pid} on host ${holder.host ?? 'unknown'}, PostgreSQL session ${holder.backendPid}`;
  return holder.since === null ? who : `${who}, connected since ${new Date(holder.since).toISOString()}`;
}

/** Lock keys are two non-negative int4s, so that they read back unchanged from pg_locks (oids). */
function lockKey(schema: string): number {
  return createHash('sha256').update(`btcbot store ${schema}`).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * Whether the writer lock of `schema` is held now, and by whom, without taking it (`btcbot doctor`):
 * one short session that only reads pg_locks.
 */
export async function probeWriterLock(
  config: pg.ClientConfig,
  schema: string,
): Promise<{ held: boolean; holder: PostgresLockHolder | null }> {
  const client = new pg.Client({ ...config, application_name: `btcbot doctor pid=${process.pid}` });
  await client.connect();
  try {
    const holder = await findHolder(client, lockKey(schema));
    return { held: holder !== null, holder };
  } finally {
    await client.end();
  }
}

export interface WriterLock {
  /** Throws once the lock's session has ended: another process may be writing by now. */
  assertHeld(): void;
  release(): Promise<void>;
}

async function findHolder(client: pg.Client, key: number): Promise<PostgresLockHolder | null> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string | null;
    backend_start: Date | null;
  }>(
    `SELECT a.pid, a.application_name, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [LOCK_CLASS, key],
  );
  const row = rows[0];
  if (!row) return null;
  const named = HOLDER_NAME.exec(row.application_name ?? '');
  return {
    pid: named ? Number(named[1]) : null,
    host: named?.[2] ?? null,
    backendPid: row.pid,
    since: row.backend_start?.getTime() ?? null,
  };
}

/**
 * Takes the writer lock of `schema` on a dedicated connection made from `config`, or throws
 * PostgresStoreLockedError naming `location` and the holder.
 */
export async function acquireWriterLock(
  config: pg.ClientConfig,
  schema: string,
  location: string,
): Promise<WriterLock> {
  const client = new pg.Client({
    ...config,
    application_name: `btcbot writer pid=${process.pid} host=${hostname()}`.slice(0, 63),
    // A silently dead peer must end the session on both sides, or nobody could take over.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  let lost: string | null = null;
  client.on('error', (error) => {
    lost = error.message;
  });
  client.on('end', () => {
    lost ??= 'the connection was closed';
  });
  await client.connect();
  const key = lockKey(schema);
  try {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock($1, $2) AS locked',
      [LOCK_CLASS, key],
    );
    if (rows[0]?.locked !== true) throw new PostgresStoreLockedError(location, await findHolder(client, key));
  } catch (error) {
    await client.end();
    throw error;
  }

  let released = false;
  return {
    assertHeld() {
      if (released) throw new Error(`store ${location} is closed; open it again to write`);
      if (lost !== null)
        throw new Error(
          `store ${location} lost its writer lock (${lost}); another process may be writing to it now. ` +
            'Restart this process to take the lock again.',
        );
    },
    async release() {
      if (released) return;
      released = true;
      if (lost !== null) return;
      // Unlocked before the session ends, so that a successor never sees it held after close returns.
      try {
        await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, key]);
      } finally {
        await client.end();
      }
    },
  };
}
