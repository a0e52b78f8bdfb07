import type { Clock } from '../../domain/clock.ts';
import { STAMP_WINDOW_MS } from './constants.ts';

/**
 * Offset of the server's clock from a local reading, measured at the midpoint of one round trip.
 * The readings are monotonic: a wall clock stepped by NTP mid-flight would skew the midpoint.
 */
export function clockOffset(serverTime: number, sentAt: number, receivedAt: number): number {
  return Math.round(serverTime - (sentAt + receivedAt) / 2);
}

/**
 * X-Stamp values: the server's time estimated as the local monotonic clock plus the measured
 * offset, so a wall clock that steps (NTP, a resumed VM) moves no stamp. Until the first
 * measurement the local wall clock stands in for the server's. Strictly increasing in this process,
 * since a re-used stamp may be refused — except after a measurement shows the last stamps were
 * more than the server's window ahead: those were all refused, and holding on to them would keep
 * every request failing until real time caught up (and trip the repeated-401 stop).
 */
export class StampSource {
  readonly #clock: Clock;
  #offsetMs: number;
  #last = Number.NEGATIVE_INFINITY;

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#offsetMs = clock.now() - clock.monotonic();
  }

  /** Takes a measurement of `clockOffset` against monotonic readings. */
  setOffset(offsetMs: number): void {
    this.#offsetMs = offsetMs;
    if (this.#last - this.serverNow() > STAMP_WINDOW_MS) this.#last = Number.NEGATIVE_INFINITY;
  }

  /** The server's time as best known here. */
  serverNow(): number {
    return Math.round(this.#clock.monotonic() + this.#offsetMs);
  }

  /** How far the server's clock is ahead of the local wall clock (for logs and diagnosis). */
  skewMs(): number {
    return this.serverNow() - this.#clock.now();
  }

  next(): number {
    const stamp = Math.max(this.serverNow(), this.#last + 1);
    this.#last = stamp;
    return stamp;
  }
}
