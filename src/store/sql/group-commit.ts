import { sql, type Kysely, type Transaction } from 'kysely';
import type { StoreSchema } from './schema.ts';

// Group commit: the writes that arrive while a transaction is being written and synced (the other
// symbols' submits, a fill from the stream) wait and then go together, in arrival order, in one
// transaction — one disk sync for all of them instead of one each. Each write runs inside its own
// savepoint, so one that fails is rolled back alone and reported to its caller alone. No caller
// hears of its write before the transaction holding it has committed: durability is unchanged
// (WAL with synchronous=FULL on SQLite, a synchronous COMMIT on PostgreSQL), only shared.

export type Work<T> = (trx: Transaction<StoreSchema>) => Promise<T>;

interface Job {
  readonly work: Work<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** How the writes were grouped so far: `writes / commits` is the writes per disk sync. */
export interface CommitStats {
  /** Transactions committed (or attempted) by the writer: one disk sync each. */
  readonly commits: number;
  /** Writes (store calls) that went through them. */
  readonly writes: number;
  /** The most writes one transaction carried. */
  readonly largestGroup: number;
}

/** Writes per transaction at most: bounds how long one transaction holds the database. */
const MAX_GROUP = 256;

export class GroupCommit {
  readonly #db: Kysely<StoreSchema>;
  readonly #queue: Job[] = [];
  #running = false;
  #commits = 0;
  #writes = 0;
  #largest = 0;
  /** Settles with the write asked for last: groups, and the writes in them, finish in order. */
  #last: Promise<void> = Promise.resolve();

  constructor(db: Kysely<StoreSchema>) {
    this.#db = db;
  }

  /** Runs `work` in a transaction shared with the writes queued beside it; resolves once committed. */
  run<T>(work: Work<T>): Promise<T> {
    const done = new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        // A turn of the event loop first, so writes asked for in the same turn share the commit.
        setImmediate(() => void this.#drain());
      }
    });
    this.#last = done.then(
      () => undefined,
      () => undefined,
    );
    return done;
  }

  /**
   * Resolves once every write asked for so far has been committed or refused. A read waits here
   * first, so it sees every write asked for before it, as it did when each write took the
   * connection in turn (a read must not overtake a write still waiting for its group).
   */
  settled(): Promise<void> {
    return this.#last;
  }

  stats(): CommitStats {
    return { commits: this.#commits, writes: this.#writes, largestGroup: this.#largest };
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const group = this.#queue.splice(0, MAX_GROUP);
        await this.#commitGroup(group);
        // The callers just answered queue their next writes in the turn that follows: let them.
        if (this.#queue.length === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.#running = false;
    }
  }

  async #commitGroup(group: readonly Job[]): Promise<void> {
    this.#commits += 1;
    this.#writes += group.length;
    this.#largest = Math.max(this.#largest, group.length);
    const [only] = group;
    if (group.length === 1 && only) return this.#alone(only);
    let outcomes: Outcome[];
    const phase = { committing: false };
    try {
      outcomes = await this.#db.transaction().execute(async (trx) => {
        const done: Outcome[] = [];
        for (const job of group) done.push(await inSavepoint(trx, job.work));
        phase.committing = true;
        return done;
      });
    } catch (error) {
      if (phase.committing) {
        // The COMMIT itself failed: whether it reached the disk is unknown, so nothing is retried
        // (a retry could write twice); every caller hears the failure, as it would have alone.
        for (const job of group) job.reject(error);
        return;
      }
      // Something aborted the whole transaction while its writes ran (a savepoint could not be
      // rolled back): nothing of it was committed, so each write goes again on its own, and only
      // the one that fails alone fails.
      this.#commits += group.length - 1;
      for (const job of group) await this.#alone(job);
      return;
    }
    group.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok === true) job.resolve(outcome.value);
      else job.reject(outcome?.error);
    });
  }

  async #alone(job: Job): Promise<void> {
    try {
      job.resolve(await this.#db.transaction().execute(job.work));
    } catch (error) {
      job.reject(error);
    }
  }
}

// One name for every savepoint: they follow one another, never nest, and a constant text keeps
// the statements prepared once.
const SAVEPOINT = sql.raw('store_write');

/** Runs one write in a savepoint of the group's transaction: its failure undoes only its own writes. */
async function inSavepoint(trx: Transaction<StoreSchema>, work: Work<unknown>): Promise<Outcome> {
  await sql`savepoint ${SAVEPOINT}`.execute(trx);
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: await work(trx) };
  } catch (error) {
    // A rollback that fails propagates: the transaction is no longer usable, and the caller retries
    // each write alone.
    await sql`rollback to savepoint ${SAVEPOINT}`.execute(trx);
    outcome = { ok: false, error };
  }
  await sql`release savepoint ${SAVEPOINT}`.execute(trx);
  return outcome;
}
