// What the alerting needs of the store, and no more: the rules' persisted state (so a window, a
// pending condition and a firing alert outlive a restart) and the outbox the delivery worker
// drains. A narrow port beside `Store`: the engine never sees it.

/** One persisted state of an alert rule: `key` '' is the rule's own (its windows), else an instance. */
export interface AlertStateRow {
  readonly rule: string;
  readonly key: string;
  /** JSON, owned by the evaluator. */
  readonly state: string;
  readonly updatedAt: number;
}

export interface AlertStateKey {
  readonly rule: string;
  readonly key: string;
}

export type OutboxStatus = 'pending' | 'delivered' | 'dead';

export interface NewOutboxMessage {
  /** Unique per message and receiver; the payload's own id repeats on every retry of it. */
  readonly id: string;
  readonly receiver: string;
  /** JSON of the neutral message; each receiver renders it in its own format when sending. */
  readonly payload: string;
  readonly createdAt: number;
}

export interface OutboxMessage extends NewOutboxMessage {
  readonly status: OutboxStatus;
  /** Sends begun (a claim counts as one: a crash mid-send is retried, at least once delivery). */
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly deliveredAt: number | null;
  readonly lastError: string | null;
}

/** What one evaluation changes, written together: a state never says "fired" without its message. */
export interface AlertChange {
  readonly put: readonly AlertStateRow[];
  readonly remove: readonly AlertStateKey[];
  readonly enqueue: readonly NewOutboxMessage[];
}

export interface OutboxQuery {
  readonly receiver?: string | undefined;
  readonly status?: OutboxStatus | undefined;
}

export interface AlertStore {
  alertStates(): Promise<AlertStateRow[]>;
  /**
   * Applies one evaluation's change in one transaction. Needs no disk sync of its own (a commit
   * lost with the power is evaluated again), so it never waits for the disk.
   */
  commitAlerts(change: AlertChange): Promise<void>;
  /**
   * The receiver's oldest due pending messages (nextAttemptAt ≤ now), at most `limit`, each taken
   * for `leaseMs` (its next attempt moved past the lease, its attempts counted) in one write: a
   * process that dies mid-send leaves them due again once the lease runs out.
   */
  claimOutbox(receiver: string, now: number, leaseMs: number, limit: number): Promise<OutboxMessage[]>;
  markDelivered(id: string, at: number): Promise<void>;
  /** `retryAt` null: given up (status dead); else pending again from then. */
  markFailed(id: string, error: string, retryAt: number | null): Promise<void>;
  /** When the receiver's next pending message is due; null when none is pending. */
  nextOutboxDue(receiver: string): Promise<number | null>;
  /** Oldest first. */
  outbox(query?: OutboxQuery): Promise<OutboxMessage[]>;
  /** Deletes delivered and dead messages created before `before`; returns how many. */
  pruneOutbox(before: number): Promise<number>;
}
