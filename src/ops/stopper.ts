// How a command that runs until told (`btcbot record`, `btcbot orderbook --watch`) ends.

export interface Stopper {
  /** Why to stop: "duration reached", "SIGINT", "SIGTERM" or "output closed"; rejects on a failure. */
  readonly wait: Promise<string>;
  fail(error: Error): void;
  dispose(): void;
}

/**
 * Resolves with the first of: the duration, SIGINT/SIGTERM, a failure (rejects). With
 * `endOnClosedOutput`, a reader of stdout that goes away (`… --watch | head`) ends it as a signal
 * would, not with a trace.
 */
export function stopper(durationMs: number | null, options: { endOnClosedOutput?: boolean } = {}): Stopper {
  let finish: (reason: string) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const wait = new Promise<string>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // `once`: a second signal meets Node's default handler and ends the process at once.
  const onSignal = (signal: NodeJS.Signals): void => {
    finish(signal);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onOutputError = (error: NodeJS.ErrnoException): void => {
    if (error.code === 'EPIPE') finish('output closed');
    else fail(error);
  };
  if (options.endOnClosedOutput === true) process.stdout.on('error', onOutputError);
  const timer =
    durationMs === null
      ? undefined
      : setTimeout(() => {
          finish('duration reached');
        }, durationMs);
  return {
    wait,
    fail: (error) => {
      fail(error);
    },
    dispose: () => {
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.off('error', onOutputError);
    },
  };
}
