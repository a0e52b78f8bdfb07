import type { Clock } from '../../domain/clock.ts';
import type { StampSource } from '../common/stamps.ts';

interface SyncLog {
  debug(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/**
 * Keeps the stamp offset fresh: measured before the first private request, again once the
 * interval has passed, and at once after a 401. Concurrent callers share one measurement.
 */
export class ClockSync {
  readonly #measure: (deadlineAt: number) => Promise<number>;
  readonly #stamps: StampSource;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #log: SyncLog;
  #lastAttempt: number | null = null; // monotonic ms
  #inFlight: Promise<void> | null = null;

  constructor(options: {
    measure: (deadlineAt: number) => Promise<number>; // the server's offset from the monotonic clock
    stamps: StampSource;
    clock: Clock;
    intervalMs: number;
    log: SyncLog;
  }) {
    this.#measure = options.measure;
    this.#stamps = options.stamps;
    this.#clock = options.clock;
    this.#intervalMs = options.intervalMs;
    this.#log = options.log;
  }

  /**
   * Measures when due, within the caller's deadline; a failure keeps the last offset (a 401 will
   * ask again) and is logged.
   */
  async ensureFresh(deadlineAt: number): Promise<void> {
    if (this.#lastAttempt !== null && this.#clock.monotonic() - this.#lastAttempt < this.#intervalMs) return;
    try {
      await this.syncNow(deadlineAt);
    } catch (error) {
      this.#log.warn(
        { err: error instanceof Error ? error.message : String(error), skewMs: this.#stamps.skewMs() },
        'clock sync with the exchange failed; keeping the last offset',
      );
    }
  }

  /** Measures now; callers arriving meanwhile share the measurement (and its deadline). */
  syncNow(deadlineAt: number): Promise<void> {
    this.#inFlight ??= this.#run(deadlineAt).finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #run(deadlineAt: number): Promise<void> {
    this.#lastAttempt = this.#clock.monotonic();
    const offsetMs = await this.#measure(deadlineAt);
    this.#stamps.setOffset(offsetMs);
    this.#log.debug({ skewMs: this.#stamps.skewMs() }, 'clock synced with the exchange');
  }
}
