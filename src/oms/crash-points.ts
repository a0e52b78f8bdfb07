import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { ORDER_REQUEST_WRITTEN, type OrderRequestWritten } from '../ports/exchange.ts';

// Named step boundaries where a process started with BTCBOT_CRASH_AT=<name> kills itself with
// SIGKILL, so the crash harness can prove that a restart resumes every step without a second
// order. Read once at load: when unset, every call is one string comparison.

/**
 * The step boundaries of a replace; each exists once per mode (`replace.` safe, `replace-fast.` fast).
 * Each request of a replace follows one write at most, so some pairs name one boundary reached at
 * two places (as the submit's pair does): safe mode's `after-begin` and `before-cancel-request`
 * both fall between the write that begins it (with the old order's cancel request) and the DELETE;
 * `after-new-journal` and `after-new-sent-mark` both fall between the write that journals the
 * replacement marked sent and its POST, in both modes.
 */
export const REPLACE_STEP_POINTS = [
  'after-begin', // the transaction is stored (safe: at `cancel-sent`, the old order PENDING_CANCEL, in one write; fast: at `started`), nothing sent
  'before-cancel-request', // the old order is PENDING_CANCEL here, its DELETE not yet written
  'after-cancel-sent', // the old order's DELETE is written, its reply not read
  'after-cancel-reply', // the DELETE's reply is read, the old order not yet confirmed gone
  'after-cancel-confirmed', // safe: the exchange shows the old order gone, not yet recorded (it goes with the replacement's journal); fast: recorded closed (step `old-closed`), `done` not written
  'after-new-journal', // the replacement is journaled marked sent with the step `new-journaled` (safe: and the old order's close) in one write, its POST not yet written
  'after-new-sent-mark', // the same boundary, reached in the send
  'after-new-sent', // the replacement's POST is written, its reply not read
  'after-new-reply', // the replacement's reply is read, nothing recorded from it
  'after-new-acked', // the replacement's ack is recorded, the step not advanced (safe: not `done`)
] as const;
export type ReplaceStepPoint = (typeof REPLACE_STEP_POINTS)[number];

export const CRASH_POINTS = [
  // A submit is journaled and marked sent in one write: these two points both fall between that
  // write and the POST (one in the OMS, one in the send), and both leave a SUBMITTED order never sent.
  'submit.after-journal',
  'submit.after-sent-mark',
  'submit.after-post', // the POST is written, its reply not read
  'submit.after-reply', // the reply is read, nothing recorded from it
  'submit.retry-after-journal', // a second attempt (new client id) after a first proven never placed: journaled and marked sent, not sent
  'submit.retry-after-post', // that second attempt's POST is written, its reply not read
  'resolve.after-status', // an UNKNOWN order found: its venue status recorded, its fills not yet
  'cancel.before-request', // PENDING_CANCEL recorded, the DELETE not yet written
  'cancel.after-request', // the DELETE is written, its reply not read
  'cancel.after-reply',
  ...REPLACE_STEP_POINTS.map((step) => `replace.${step}` as const),
  ...REPLACE_STEP_POINTS.map((step) => `replace-fast.${step}` as const),
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** The crash point of a replace step in the transaction's mode. */
export function replacePoint(mode: 'safe' | 'fast', step: ReplaceStepPoint): CrashPoint {
  return mode === 'fast' ? `replace-fast.${step}` : `replace.${step}`;
}

const armed = process.env.BTCBOT_CRASH_AT;

function die(name: CrashPoint): never {
  process.stderr.write(`btcbot: crash point ${name} reached: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error(`crash point ${name}: SIGKILL did not end the process`);
}

export function crashPoint(name: CrashPoint): void {
  if (armed === name) die(name);
}

/**
 * Arms a crash for the moment the exchange adapter reports that the next `operation` request has
 * been written, before any reply is read: the exchange receives it, the process never learns the
 * outcome. Venue-neutral: the adapter publishes on ORDER_REQUEST_WRITTEN (src/ports/exchange.ts).
 * Returns the disarm function (call it once the request is done).
 */
export function crashWhenWritten(name: CrashPoint, operation: OrderRequestWritten['operation']): () => void {
  if (armed !== name) return () => undefined;
  const listener = (message: unknown): void => {
    if ((message as Partial<OrderRequestWritten>).operation === operation) die(name);
  };
  subscribe(ORDER_REQUEST_WRITTEN, listener);
  return () => unsubscribe(ORDER_REQUEST_WRITTEN, listener);
}
