// The operator-action trail: who did what to the bot, from where, and why. Append-only; read
// newest first. Narrow on purpose: a command, the dashboard or the run loop records an action and
// nothing else, and `btcbot audit` and the dashboard read them.

/** Where an action came from. `bot`: the bot itself (its configuration at start). */
export type AuditSource = 'cli' | 'dashboard' | 'bot';

export const AUDIT_SOURCES: readonly AuditSource[] = ['cli', 'dashboard', 'bot'];

/** The operator actions the trail records (DESIGN §4 and issue 11). */
export type AuditAction =
  'kill-switch-on' | 'kill-switch-off' | 'cancel' | 'cancel-all' | 'order' | 'run-start';

export const AUDIT_ACTIONS: readonly AuditAction[] = [
  'kill-switch-on',
  'kill-switch-off',
  'cancel',
  'cancel-all',
  'order',
  'run-start',
];

/** JSON-safe detail: what the action was about (an order id, the settings at start). Never a secret. */
export type AuditValue = string | number | boolean | null | readonly AuditValue[];
export type AuditDetail = Readonly<Record<string, AuditValue>>;

/**
 * Names a detail key may not have: they would name a credential. Writers record whitelisted
 * settings; the trail refuses these keys as a second line of defence.
 */
export const CREDENTIAL_NAME = /secret|token|password|passphrase|credential|api.?key|private/i;

/** What a caller records. */
export interface AuditRecord {
  readonly action: AuditAction;
  readonly source: AuditSource;
  /** Why, as the operator gave it; NO_REASON when none was given. */
  readonly reason: string;
  readonly detail?: AuditDetail | undefined;
}

/** What the reason of an action recorded without one reads as. */
export const NO_REASON = '(none given)';

export interface AuditEntry {
  /** 1, 2, 3, … in the order the entries were recorded. */
  readonly id: number;
  /** When it was recorded, ms since the epoch. */
  readonly at: number;
  readonly action: AuditAction;
  readonly source: AuditSource;
  readonly reason: string;
  readonly detail: AuditDetail;
}

export interface AuditQuery {
  /** At most this many, newest first. Default 100. */
  readonly limit?: number | undefined;
  /** Only entries at or after this time, ms. */
  readonly since?: number | undefined;
  readonly action?: AuditAction | undefined;
}

export interface AuditLog {
  /** Appends one entry, durably; returns it as stored. Detail keys that name a secret are refused. */
  record(entry: AuditRecord): Promise<AuditEntry>;
  /** Newest first. */
  entries(query?: AuditQuery): Promise<AuditEntry[]>;
}

/** A store (or the kill-switch control beside a running bot) that keeps the trail. */
export interface Audited {
  readonly audit: AuditLog;
}
