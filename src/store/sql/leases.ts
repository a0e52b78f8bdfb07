import { sql, type Kysely, type Migration, type Transaction } from 'kysely';
import {
  StaleLeaseError,
  type AcquireResult,
  type ClusterProcess,
  type Lease,
  type ProcessReport,
} from '../../ports/leases.ts';
import type { Db } from './context.ts';
import { Prepared } from './prepared.ts';
import type { LeasesTable, ProcessesTable, StoreSchema } from './schema.ts';

// Symbol leases and the process registry of a store shared by several bot processes (cluster
// mode). Times are the store clock's milliseconds: processes on several hosts assume clocks kept
// within a small part of the lease time of each other (NTP), as any lease does.
//
// Taking a lease is one statement on both dialects (an upsert whose update only fires on a free or
// expired row, raising the epoch), so two takers never both win: PostgreSQL re-checks the
// condition on the row's latest version, SQLite runs one writer at a time.
//
// The fence: a write on a symbol's orders reads the lease row inside its own transaction and goes
// on only if the row still names this process at the epoch it took it at. On PostgreSQL the read
// takes a share lock on the row, so a taker's upsert waits until the write's transaction ends:
// no write can commit under an epoch that was already superseded. On SQLite the write transaction
// holds the database's write lock from its start, which excludes the taker the same way.

/** Migration 0007: the two tables, and the orders' epoch stamp. */
export const leasesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('leases')
      .addColumn('symbol', 'text', (c) => c.primaryKey())
      .addColumn('holder', 'text', (c) => c.notNull())
      .addColumn('epoch', 'bigint', (c) => c.notNull())
      .addColumn('acquired_at', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('processes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('host', 'text', (c) => c.notNull())
      .addColumn('pid', 'integer', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
      .addColumn('lease_ms', 'bigint', (c) => c.notNull())
      .addColumn('symbols', 'text', (c) => c.notNull())
      .addColumn('budget', 'text')
      .execute();
    await db.schema.alterTable('orders').addColumn('lease_epoch', 'bigint').execute();
  },
};

type Trx = Transaction<StoreSchema>;

const toLease = (row: LeasesTable): Lease => ({
  symbol: row.symbol,
  holder: row.holder,
  epoch: row.epoch,
  acquiredAt: row.acquired_at,
  heartbeatAt: row.heartbeat_at,
  expiresAt: row.expires_at,
});

/** The fence's read, built once: `forShare` on PostgreSQL (see the top of this file). */
export function fenceStatement(db: Kysely<StoreSchema>, forShare: boolean): Prepared<{ symbol: string }> {
  return new Prepared<{ symbol: string }>((slot) => {
    const query = db.selectFrom('leases').select(['holder', 'epoch']).where('symbol', '=', slot('symbol'));
    return forShare ? query.forShare() : query;
  });
}

/**
 * The leases one process holds on a store, and the fence its order writes pass. `held` is what
 * this process took (symbol → epoch): the epoch a write on the symbol is stamped with.
 */
export class LeaseBook {
  readonly holder: string;
  readonly #fence: Prepared<{ symbol: string }>;
  readonly #held = new Map<string, number>();

  constructor(holder: string, fence: Prepared<{ symbol: string }>) {
    if (holder.length === 0) throw new Error('a lease holder needs a non-empty process id');
    this.holder = holder;
    this.#fence = fence;
  }

  /** Throws StaleLeaseError unless the store's lease on `symbol` is still ours; returns its epoch. */
  async check(trx: Db, symbol: string): Promise<number> {
    const epoch = this.#held.get(symbol) ?? null;
    const row = await this.#fence.first<{ holder: string; epoch: number | string }>(trx, { symbol });
    const current = row ? { holder: row.holder, epoch: Number(row.epoch) } : null;
    if (epoch === null || current === null || current.epoch !== epoch || current.holder !== this.holder)
      throw new StaleLeaseError(symbol, epoch, current);
    return epoch;
  }

  async acquire(trx: Trx, symbol: string, now: number, ttlMs: number): Promise<AcquireResult> {
    const row: LeasesTable = {
      symbol,
      holder: this.holder,
      epoch: 1,
      acquired_at: now,
      heartbeat_at: now,
      expires_at: now + ttlMs,
    };
    const taken = await trx
      .insertInto('leases')
      .values(row)
      .onConflict((oc) =>
        oc
          .column('symbol')
          .doUpdateSet({
            holder: row.holder,
            epoch: sql<number>`leases.epoch + 1`,
            acquired_at: now,
            heartbeat_at: now,
            expires_at: row.expires_at,
          })
          .where(sql<boolean>`leases.expires_at <= ${now} OR leases.holder = ${this.holder}`),
      )
      .returningAll()
      .executeTakeFirst();
    if (taken) {
      const lease = toLease(taken);
      this.#held.set(symbol, lease.epoch);
      return { ok: true, lease };
    }
    const theirs = await trx.selectFrom('leases').selectAll().where('symbol', '=', symbol).executeTakeFirst();
    if (!theirs) throw new Error(`lease on ${symbol} was neither taken nor found`);
    return { ok: false, lease: toLease(theirs) };
  }

  async renew(trx: Trx, symbol: string, epoch: number, now: number, ttlMs: number): Promise<Lease | null> {
    const renewed = await trx
      .updateTable('leases')
      .set({ heartbeat_at: now, expires_at: now + ttlMs })
      .where('symbol', '=', symbol)
      .where('holder', '=', this.holder)
      .where('epoch', '=', epoch)
      .returningAll()
      .executeTakeFirst();
    if (!renewed) {
      this.#held.delete(symbol);
      return null;
    }
    this.#held.set(symbol, epoch);
    return toLease(renewed);
  }

  async release(trx: Trx, symbol: string, epoch: number, now: number): Promise<void> {
    // Forgotten first: from here on no write of ours passes the fence on it.
    if (this.#held.get(symbol) === epoch) this.#held.delete(symbol);
    await trx
      .updateTable('leases')
      .set({ expires_at: now })
      .where('symbol', '=', symbol)
      .where('holder', '=', this.holder)
      .where('epoch', '=', epoch)
      .execute();
  }

  /** Stops fencing writes on `symbol` as ours without touching the store (the lease was given up). */
  forget(symbol: string): void {
    this.#held.delete(symbol);
  }

  async report(trx: Trx, report: ProcessReport, now: number): Promise<void> {
    const row: ProcessesTable = {
      id: this.holder,
      host: report.host,
      pid: report.pid,
      started_at: report.startedAt,
      heartbeat_at: now,
      lease_ms: report.leaseMs,
      symbols: JSON.stringify(report.symbols),
      budget: report.budget === null ? null : JSON.stringify(report.budget),
    };
    await trx
      .insertInto('processes')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          heartbeat_at: now,
          lease_ms: row.lease_ms,
          symbols: row.symbols,
          budget: row.budget,
        }),
      )
      .execute();
  }

  async remove(trx: Trx): Promise<void> {
    await trx.deleteFrom('processes').where('id', '=', this.holder).execute();
  }
}

export async function listLeases(db: Db): Promise<Lease[]> {
  const rows = await db.selectFrom('leases').selectAll().orderBy('symbol').execute();
  return rows.map(toLease);
}

export async function listProcesses(db: Db): Promise<ClusterProcess[]> {
  const rows = await db.selectFrom('processes').selectAll().orderBy('started_at').orderBy('id').execute();
  return rows.map((row) => ({
    id: row.id,
    host: row.host,
    pid: row.pid,
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    leaseMs: row.lease_ms,
    symbols: parseJson(row.symbols, 'processes.symbols') as string[],
    budget:
      row.budget === null ? null : (parseJson(row.budget, 'processes.budget') as Record<string, number>),
  }));
}

function parseJson(text: string, column: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`stored ${column} ${JSON.stringify(text.slice(0, 80))} is not JSON`);
  }
}
