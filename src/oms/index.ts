// The execution core: order lifecycle, journal, reconciliation, cancel/replace.
export {
  Oms,
  type OmsOptions,
  type OrderRef,
  type ReconcileOptions,
  type ReconcileReport,
  type SubmitIntent,
} from './oms.ts';
export {
  DEFAULT_TIMINGS,
  OrderMovedOnError,
  OrderRefusedError,
  UnknownOrderError,
  type OmsStats,
  type OmsTimings,
} from './context.ts';
export type { CancelOutcome, CancelResult } from './execution.ts';
export type { ReplaceRequest, ReplaceResult, RiskBudget } from './replace.ts';
export type { Alert } from './health.ts';
export { DEFAULT_ESCALATION_POLICY, type EscalationPolicy } from './escalation.ts';
export { accountFills, applyFill, quoteCosts, type PositionPnl } from './accounting.ts';
export { reconcileDiff, type ReconcileAction, type LocalOrder } from './reconcile-diff.ts';
export { CRASH_POINTS, type CrashPoint } from './crash-points.ts';
