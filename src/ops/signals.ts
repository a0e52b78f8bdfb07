// How a session ends: a signal or its duration, and waits that must not hang the exit.

export interface StopSignal {
  /** Why the session is to stop: "duration reached", "SIGINT" or "SIGTERM". */
  readonly wait: Promise<string>;
  dispose(): void;
}

/**
 * Settles when the duration (if any) runs out or on SIGINT/SIGTERM. A second signal while the
 * session stops means the user wants out now: the process exits at once, orders as they are.
 */
export function stopSignal(durationMs: number | null, out: (line: string) => void): StopSignal {
  let done: (reason: string) => void = () => undefined;
  const wait = new Promise<string>((resolve) => {
    done = resolve;
  });
  const detach = (listener: (signal: NodeJS.Signals) => void): void => {
    process.off('SIGINT', listener);
    process.off('SIGTERM', listener);
  };
  const forced = (signal: NodeJS.Signals): void => {
    out(
      `${signal} again: exiting at once; resting orders are left as they are (btcbot cancel-all clears them)`,
    );
    // As a shell reports a process a signal ended: 128 + its number (SIGINT 130, SIGTERM 143).
    process.exit(signal === 'SIGTERM' ? 143 : 130);
  };
  const first = (signal: NodeJS.Signals): void => {
    detach(first);
    process.on('SIGINT', forced);
    process.on('SIGTERM', forced);
    done(signal);
  };
  process.on('SIGINT', first);
  process.on('SIGTERM', first);
  const timer =
    durationMs === null
      ? undefined
      : setTimeout(() => {
          done('duration reached');
        }, durationMs);
  return {
    wait,
    dispose: () => {
      clearTimeout(timer);
      detach(first);
      detach(forced);
    },
  };
}

/** The work's result, or "timeout" when it takes longer than `ms` (the work itself goes on). */
export async function bounded<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((done) => {
    timer = setTimeout(() => {
      done('timeout');
    }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
