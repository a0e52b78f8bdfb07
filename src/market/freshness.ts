// Whether a symbol's market data can be acted on, judged by the age of the data itself (from the
// arrival of the frame, or the departure of the REST request, that brought it), never by when
// someone last looked.

/**
 * `live`: the stream delivers and its data is fresh. `fallback`: the data is fresh but the stream is
 * not what keeps it so (the socket is down, or the book came over REST). `stale`: no usable book, or
 * its newest data is older than the freshness limit: no new orders on this symbol.
 */
export type MarketStatus = 'live' | 'fallback' | 'stale';

export interface FreshnessInput {
  readonly usable: boolean; // the book is valid
  readonly ageMs: number | null; // null: no data yet
  readonly freshnessMs: number;
  readonly fromStream: boolean; // the book is kept by the stream (not a REST copy)
  readonly streamUp: boolean;
}

export function marketStatus(input: FreshnessInput): MarketStatus {
  if (!input.usable || input.ageMs === null || input.ageMs > input.freshnessMs) return 'stale';
  return input.fromStream && input.streamUp ? 'live' : 'fallback';
}
