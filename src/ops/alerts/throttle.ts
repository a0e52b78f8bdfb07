// A receiver's sending limits as sliding windows (Telegram: one message a second per chat, twenty a
// minute per group). The outbox worker sends a message only when every window has room.

export interface RateWindow {
  readonly limit: number;
  readonly perMs: number;
}

export class Throttle {
  readonly #windows: readonly RateWindow[];
  /** Send times, oldest first, as many as the largest limit needs. */
  readonly #sent: number[] = [];
  readonly #keep: number;

  constructor(windows: readonly RateWindow[]) {
    this.#windows = windows;
    this.#keep = Math.max(0, ...windows.map((w) => w.limit));
  }

  /** The earliest time a send is allowed (≤ now: at once). */
  nextAt(now: number): number {
    let at = now;
    for (const { limit, perMs } of this.#windows) {
      if (this.#sent.length < limit) continue;
      // The limit-th most recent send must have left the window.
      const oldest = this.#sent[this.#sent.length - limit] ?? 0;
      at = Math.max(at, oldest + perMs);
    }
    return at;
  }

  take(now: number): void {
    this.#sent.push(now);
    if (this.#sent.length > this.#keep) this.#sent.splice(0, this.#sent.length - this.#keep);
  }
}
