import { subscribe, unsubscribe } from 'node:diagnostics_channel';

// Named step boundaries where a process started with BTCBOT_CRASH_AT=<name> kills itself with
// SIGKILL, so the crash harness can prove that a restart resumes every step without a second
// order. Read once at load: when unset, every call is one string comparison.

export const CRASH_POINTS = [
  'submit.after-journal',
  'submit.after-sent-mark',
  'submit.after-post', // the POST is written, its reply not read
  'submit.after-reply', // the reply is read, nothing recorded from it
  'cancel.after-request', // the DELETE is written, its reply not read
  'cancel.after-reply',
  'replace.after-cancel-sent',
  'replace.after-cancel-confirmed',
  'replace.after-new-sent', // the replacement's POST is written, its reply not read
  'replace.after-new-reply',
] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

const armed = process.env.BTCBOT_CRASH_AT;

function die(name: CrashPoint): never {
  process.stderr.write(`btcbot: crash point ${name} reached: SIGKILL\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error(`crash point ${name}: SIGKILL did not end the process`);
}

export function crashPoint(name: CrashPoint): void {
  if (armed === name) die(name);
}

interface UndiciRequestMessage {
  readonly request?: { readonly method?: string; readonly path?: string };
}

const REQUEST_WRITTEN = 'undici:request:bodySent';

/**
 * Arms a crash for the moment the next `method` request to `pathPrefix` has been written to the
 * socket, before any reply is read: the exchange receives it, the process never learns the outcome.
 * Returns the disarm function (call it once the request is done).
 */
export function crashWhenWritten(name: CrashPoint, method: string, pathPrefix: string): () => void {
  if (armed !== name) return () => undefined;
  const listener = (message: unknown): void => {
    const request = (message as UndiciRequestMessage).request;
    if (request?.method === method && request.path?.startsWith(pathPrefix) === true) die(name);
  };
  subscribe(REQUEST_WRITTEN, listener);
  return () => unsubscribe(REQUEST_WRITTEN, listener);
}
