import { NO_REASON, type AuditLog } from '../../ports/audit.ts';
import type { EscalationState, KillSwitchControl, KillSwitchState } from '../../ports/store.ts';
import { auditLogOf } from '../../store/sql/audit.ts';

// The one thing the dashboard changes: the kill switch, through the store's KillSwitchControl (the
// write an operator may make beside a running bot), each change recorded in the audit trail with
// source "dashboard" and the reason the operator typed.

export interface KillSwitchChange {
  readonly killSwitch: KillSwitchState;
  readonly escalation: EscalationState;
}

export interface DashboardControl {
  engage(reason: string, remote: string): Promise<KillSwitchChange>;
  /** Turns the switch off and takes the escalation ladder back to NORMAL (clearKillSwitch). */
  release(reason: string, remote: string): Promise<KillSwitchChange>;
}

/** Reasons are kept short and on one line: they are shown back on the page and in `btcbot audit`. */
export const MAX_REASON_LENGTH = 200;

export function cleanReason(reason: unknown): string {
  const text = typeof reason === 'string' ? reason.replace(/\s+/g, ' ').trim() : '';
  return text === '' ? NO_REASON : text.slice(0, MAX_REASON_LENGTH);
}

export function dashboardControl(
  control: Pick<KillSwitchControl, 'setKillSwitch' | 'clearKillSwitch' | 'escalation'>,
  audit: Pick<AuditLog, 'record'>,
): DashboardControl {
  return {
    async engage(reason, remote) {
      const why = cleanReason(reason);
      const killSwitch = await control.setKillSwitch(true, `dashboard: ${why}`);
      await audit.record({ action: 'kill-switch-on', source: 'dashboard', reason: why, detail: { remote } });
      return { killSwitch, escalation: await control.escalation() };
    },
    async release(reason, remote) {
      const why = cleanReason(reason);
      const changed = await control.clearKillSwitch(`dashboard: ${why}`);
      await audit.record({ action: 'kill-switch-off', source: 'dashboard', reason: why, detail: { remote } });
      return changed;
    },
  };
}

/** The control of an opened SQL store (a writer, or a KillSwitchControl beside a running bot). */
export function storeControl(control: KillSwitchControl): DashboardControl {
  return dashboardControl(control, auditLogOf(control));
}
