import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.ts';

// One writer per database. The exclusion itself is a kernel file lock (SQLite's exclusive locking
// mode on a small side database, `<db>.lock`): the kernel drops it the instant its process dies,
// so a crashed holder never locks anyone out and no liveness guess or timeout is involved. Who holds
// it is written beside it (`<db>.lock.json`) only to name the holder in the refusal.
//
// The side database is never deleted: an opener could be locking the old file while another
// creates a new one, and both would believe they hold the lock.

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: number; // ms, when it took the lock
}

export class StoreLockedError extends Error {
  constructor(
    readonly databasePath: string,
    readonly holder: LockHolder | null,
  ) {
    const who = holder
      ? `pid ${holder.pid} on host ${holder.host}, holding it since ${new Date(holder.since).toISOString()}`
      : 'a process that has not yet written its details';
    super(
      `database ${databasePath} is already open for writing by another btcbot process (${who}). ` +
        'Stop that process, or give this one another database with --db.',
    );
    this.name = 'StoreLockedError';
  }
}

export interface InstanceLock {
  readonly holder: LockHolder;
  /** The holder recorded by a process that ended without releasing (crashed), if any. */
  readonly previous: LockHolder | null;
  release(): void;
}

function readHolder(path: string): LockHolder | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null; // absent or half-written: nothing trustworthy to report
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { pid, host, since } = parsed as Record<string, unknown>;
  return typeof pid === 'number' && typeof host === 'string' && typeof since === 'number'
    ? { pid, host, since }
    : null;
}

function isBusy(error: unknown): boolean {
  return (
    error instanceof Database.SqliteError && (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED')
  );
}

/** How long taking the lock waits out a probe's momentary read. */
const PROBE_GRACE_MS = 500;

/** Takes the writer lock of the database at `databasePath` (a canonical path), or throws StoreLockedError. */
export function acquireInstanceLock(databasePath: string, clock: Clock): InstanceLock {
  const lockPath = `${databasePath}.lock`;
  const infoPath = `${databasePath}.lock.json`;
  // A short wait, not none: `btcbot doctor` probes the lock with a read that holds the shared lock
  // for an instant, and a bot starting in that instant must not be refused as if it were held.
  const lockDb = new Database(lockPath, { timeout: PROBE_GRACE_MS });
  try {
    lockDb.pragma('locking_mode = EXCLUSIVE');
    lockDb.pragma('journal_mode = MEMORY');
    // In exclusive locking mode the first write takes the EXCLUSIVE lock and keeps it until close.
    lockDb.exec('BEGIN EXCLUSIVE');
    lockDb.exec('CREATE TABLE IF NOT EXISTS lock (taken_at INTEGER NOT NULL)');
    lockDb.prepare('INSERT INTO lock (taken_at) VALUES (?)').run(clock.now());
    lockDb.exec('DELETE FROM lock');
    lockDb.exec('COMMIT');
  } catch (error) {
    lockDb.close();
    if (isBusy(error)) throw new StoreLockedError(databasePath, readHolder(infoPath));
    throw error;
  }

  const previous = readHolder(infoPath);
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: clock.now() };
  const temp = `${infoPath}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(holder));
    renameSync(temp, infoPath);
  } catch (error) {
    lockDb.close();
    throw error;
  }

  let held = true;
  return {
    holder,
    previous,
    release() {
      if (!held) return;
      held = false;
      // Removed while still holding the lock, so it never deletes a successor's details.
      rmSync(infoPath, { force: true });
      lockDb.close();
    },
  };
}

/**
 * Whether the writer lock of the database at `databasePath` (a canonical path) is held now, and by
 * whom, without taking it or writing anything (`btcbot doctor`). A read needs the shared lock the
 * holder's exclusive one excludes, so "busy" means held. The read holds the shared lock for an
 * instant only; a writer starting in that instant waits it out (PROBE_GRACE_MS).
 */
export function probeInstanceLock(databasePath: string): { held: boolean; holder: LockHolder | null } {
  const lockPath = `${databasePath}.lock`;
  if (!existsSync(lockPath)) return { held: false, holder: null }; // never taken
  const lockDb = new Database(lockPath, { readonly: true, fileMustExist: true, timeout: 0 });
  try {
    lockDb.prepare('SELECT count(*) FROM sqlite_master').get();
    return { held: false, holder: null };
  } catch (error) {
    if (isBusy(error)) return { held: true, holder: readHolder(`${databasePath}.lock.json`) };
    throw error;
  } finally {
    lockDb.close();
  }
}
