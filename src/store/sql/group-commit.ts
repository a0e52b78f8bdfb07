import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { StoreSchema } from './schema.ts';

// Group commit: the writes that arrive while a transaction is being written and synced (the other
// symbols' submits, a fill from the stream) wait and then go together, in arrival order, in one
// transaction — one disk sync for all of them instead of one each. Each write runs inside its own
// savepoint, so one that fails is rolled back alone and reported to its caller alone. No caller
// hears of its write before the transaction holding it has committed: durability is unchanged
// (WAL with synchronous=FULL on SQLite, a synchronous COMMIT on PostgreSQL), only shared.
//
// A write may be asked for as not needing the disk yet (`durable: false`): a transaction made only
// of such writes commits without waiting for the disk sync (visible at once, kept if the process
// dies, lost only if the machine loses power before the next synced commit — which, as the log is
// written in order, makes everything before it durable too). The journal's first row of an order
// (PENDING_SUBMIT) is such a write: the `sent` mark that must be durable before the request leaves
// is a synced commit after it, and an order lost with the power was never sent.

export type Work<T> = (trx: Transaction<StoreSchema>) => Promise<T>;

/**
 * How a database commits a transaction without waiting for the disk: SQLite's synchronous level
 * is set outside a transaction, PostgreSQL's `synchronous_commit` inside one.
 */
export interface UnsyncedCommit {
  /** Runs before the transaction begins, on the connection the transaction will use. */
  readonly before?: CompiledQuery;
  /** Runs first inside the transaction. */
  readonly inside?: CompiledQuery;
  /** Runs after the transaction ends, committed or not: restores synced commits. */
  readonly after?: CompiledQuery;
}

export interface WriteOptions {
  /** False: the write may commit without a disk sync (see the top of this file). Default true. */
  readonly durable?: boolean;
}

interface Job {
  readonly work: Work<unknown>;
  readonly durable: boolean;
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
  /** Of `commits`, those that waited for the disk sync. */
  readonly syncedCommits: number;
}

/** Writes per transaction at most: bounds how long one transaction holds the database. */
const MAX_GROUP = 256;

export class GroupCommit {
  readonly #db: Kysely<StoreSchema>;
  readonly #unsynced: UnsyncedCommit | undefined;
  readonly #queue: Job[] = [];
  #running = false;
  /** An unsynced transaction's restore step failed: the next transaction repeats it first. */
  #restorePending = false;
  #commits = 0;
  #syncedCommits = 0;
  #writes = 0;
  #largest = 0;
  /** Settles with the write asked for last: groups, and the writes in them, finish in order. */
  #last: Promise<void> = Promise.resolve();

  /** `unsynced`: how this database commits without a disk sync; without it every commit is synced. */
  constructor(db: Kysely<StoreSchema>, unsynced?: UnsyncedCommit) {
    this.#db = db;
    this.#unsynced = unsynced;
  }

  /** Runs `work` in a transaction shared with the writes queued beside it; resolves once committed. */
  run<T>(work: Work<T>, options: WriteOptions = {}): Promise<T> {
    const durable = options.durable ?? true;
    const done = new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, durable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#running) {
        this.#running = true;
        // The writer was idle: it starts once the code asking runs out (a microtask), so writes
        // asked for together share the commit, and a lone write (a replace's cancel on a market
        // move) does not wait out the rest of the event loop's turn. While it runs, the writes that
        // arrive meanwhile wait a turn between commits and go together (#drain).
        queueMicrotask(() => void this.#drain());
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
    return {
      commits: this.#commits,
      writes: this.#writes,
      largestGroup: this.#largest,
      syncedCommits: this.#syncedCommits,
    };
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
      outcomes = await this.#transaction(
        group.some((job) => job.durable),
        async (trx) => {
          const done: Outcome[] = [];
          for (const job of group) done.push(await inSavepoint(trx, job.work));
          phase.committing = true;
          return done;
        },
      );
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
      job.resolve(await this.#transaction(job.durable, job.work));
    } catch (error) {
      job.reject(error);
    }
  }

  async #transaction<T>(durable: boolean, work: Work<T>): Promise<T> {
    if (this.#restorePending) await this.#restoreSync();
    const unsynced = durable ? undefined : this.#unsynced;
    if (unsynced === undefined) {
      this.#syncedCommits += 1;
      return this.#db.transaction().execute(work);
    }
    const { before, inside, after } = unsynced;
    // Set first: whatever fails from here on, synced commits are restored before anything else runs.
    this.#restorePending = after !== undefined;
    try {
      if (before) await this.#db.executeQuery(before);
      return await this.#db.transaction().execute(async (trx) => {
        if (inside) await trx.executeQuery(inside);
        return work(trx);
      });
    } finally {
      if (this.#restorePending) await this.#restoreSync();
    }
  }

  /** Back to synced commits; until this succeeds, no transaction runs (none may run unsynced unasked). */
  async #restoreSync(): Promise<void> {
    const after = this.#unsynced?.after;
    if (after) await this.#db.executeQuery(after);
    this.#restorePending = false;
  }
}

// One name for every savepoint: they follow one another, never nest, and constant statements are
// built once and stay prepared.
const SAVEPOINT = CompiledQuery.raw('savepoint store_write');
const ROLLBACK_TO_SAVEPOINT = CompiledQuery.raw('rollback to savepoint store_write');
const RELEASE_SAVEPOINT = CompiledQuery.raw('release savepoint store_write');

/** Runs one write in a savepoint of the group's transaction: its failure undoes only its own writes. */
async function inSavepoint(trx: Transaction<StoreSchema>, work: Work<unknown>): Promise<Outcome> {
  await trx.executeQuery(SAVEPOINT);
  let outcome: Outcome;
  try {
    outcome = { ok: true, value: await work(trx) };
  } catch (error) {
    // A rollback that fails propagates: the transaction is no longer usable, and the caller retries
    // each write alone.
    await trx.executeQuery(ROLLBACK_TO_SAVEPOINT);
    outcome = { ok: false, error };
  }
  await trx.executeQuery(RELEASE_SAVEPOINT);
  return outcome;
}
