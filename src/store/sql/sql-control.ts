import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../../ports/audit.ts';
import type { EscalationState, KillSwitchControl, KillSwitchState } from '../../ports/store.ts';
import type { StoreContext } from './context.ts';
import type { UnsyncedCommit } from './group-commit.ts';
import { journalStatements, type DirectExecutor } from './prepared.ts';
import * as control from './control.ts';
import { SqlAuditLog } from './audit.ts';
import type { StoreSchema } from './schema.ts';

export interface SqlStoreOptions extends Omit<StoreContext, 'statements'> {
  /** Runs before every prepared statement and throws to stop it (PostgreSQL's writer lock). */
  readonly guard?: (() => void) | undefined;
  /** SQLite: runs a prepared statement inside a transaction at once (see `PreparedOptions.direct`). */
  readonly direct?: DirectExecutor | undefined;
  /** Runs after the database is closed (releases the instance lock); awaited, as a networked lock is. */
  readonly onClose?: (() => void | Promise<void>) | undefined;
  /** How this database commits without a disk sync (writes that do not need one yet); else all sync. */
  readonly unsyncedCommit?: UnsyncedCommit | undefined;
  /**
   * SQLite: `PRAGMA data_version` on this store's own connection, which changes only when another
   * connection (another process: the operator's kill switch) commits, never for this store's writes.
   */
  readonly dataVersion?: (() => unknown) | undefined;
}

/**
 * The kill switch on any SQL database Kysely speaks to. On its own it is what an operator command
 * opens beside a running bot (no writer lock, nothing else writable); the full store extends it.
 */
export class SqlKillSwitchControl implements KillSwitchControl {
  readonly location: string;
  /** The operator-action trail (src/store/sql/audit.ts), written and read on this store's connection. */
  readonly audit: AuditLog;
  protected readonly db: Kysely<StoreSchema>;
  protected readonly ctx: StoreContext;
  readonly #onClose: (() => void | Promise<void>) | undefined;
  #closed = false;

  constructor(db: Kysely<StoreSchema>, options: SqlStoreOptions) {
    this.db = db;
    this.location = options.location;
    this.ctx = {
      clock: options.clock,
      location: options.location,
      statements: journalStatements(db, { guard: options.guard, direct: options.direct }),
    };
    this.#onClose = options.onClose;
    this.audit = new SqlAuditLog(() => this.conn(), options.clock);
  }

  protected tx<T>(work: (trx: Transaction<StoreSchema>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  /** The connection for a read or a one-statement write, once the writes asked for before it are done. */
  protected async conn(): Promise<Kysely<StoreSchema>> {
    return Promise.resolve(this.db);
  }

  async killSwitch(): Promise<KillSwitchState> {
    return control.killSwitch(await this.conn());
  }

  async escalation(): Promise<EscalationState> {
    return control.escalation(await this.conn());
  }

  async setKillSwitch(on: boolean, reason: string): Promise<KillSwitchState> {
    return control.setKillSwitch(await this.conn(), this.ctx, on, reason);
  }

  async clearKillSwitch(
    reason: string,
  ): Promise<{ killSwitch: KillSwitchState; escalation: EscalationState }> {
    return this.tx((trx) => control.clearKillSwitch(trx, this.ctx, reason));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.db.destroy();
    } finally {
      await this.#onClose?.();
    }
  }
}
