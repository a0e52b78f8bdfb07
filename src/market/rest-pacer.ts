// Paces REST order-book polls while the stream cannot keep a book. BTCTurk allows 180 orderbook
// requests a minute per IP (btcturk-api.md §7), shared with everything else that asks for books, so
// the poller spends a fixed, smaller share of it across all symbols: one request at a time, evenly
// spaced, always for the symbol whose data is oldest.

export const BTCTURK_ORDERBOOK_PER_MINUTE = 180;

export interface PollCandidate {
  readonly symbol: string;
  readonly lastDataAt: number | null; // monotonic ms; null: never had data
}

export class RestPacer {
  readonly intervalMs: number;
  private lastRequestAt = Number.NEGATIVE_INFINITY;

  constructor(readonly perMinute = 60) {
    if (!(perMinute > 0 && perMinute <= BTCTURK_ORDERBOOK_PER_MINUTE / 2))
      throw new RangeError(
        `REST book polls per minute must be above 0 and at most ${BTCTURK_ORDERBOOK_PER_MINUTE / 2} (half of BTCTurk's ${BTCTURK_ORDERBOOK_PER_MINUTE}/min), got ${perMinute}`,
      );
    this.intervalMs = Math.ceil(60_000 / perMinute);
  }

  /** The symbol to poll now, or null when none needs it or the pace does not allow one yet. */
  next(candidates: readonly PollCandidate[], now: number): string | null {
    if (candidates.length === 0 || now - this.lastRequestAt < this.intervalMs) return null;
    let best: PollCandidate | undefined;
    for (const candidate of candidates) {
      if (best === undefined || (candidate.lastDataAt ?? -Infinity) < (best.lastDataAt ?? -Infinity))
        best = candidate;
    }
    if (best === undefined) return null;
    this.lastRequestAt = now;
    return best.symbol;
  }
}
