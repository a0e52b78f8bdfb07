// The recording format shared by `btcbot record` (the writer) and `btcbot backtest` (the reader).
//
// A recording is a directory holding `index.json` and gzip'd JSON-lines segments
// (`000001.jsonl.gz`, `000002.jsonl.gz`, …), one event per line:
//   {"t": receiveEpochMs, "k": "frame", "d": "<the WebSocket text frame exactly as received>"}
//   {"t": …, "k": "connect" | "disconnect" | "resync", "symbol"?: "BTCTRY", "reason"?: "…"}
// `t` is the receive time in epoch milliseconds (fractional allowed), non-decreasing across the
// whole recording. The index is rewritten atomically (temp file + rename) at each rotation and at
// the end; the segment being written when the process died is not listed, or listed without lastT.

export const RECORDING_VERSION = 1;
export const INDEX_FILE = 'index.json';
/** A segment's file name: six digits, counting from 000001. */
export const SEGMENT_FILE = /^\d{6}\.jsonl\.gz$/;

export function segmentFileName(sequence: number): string {
  return `${String(sequence).padStart(6, '0')}.jsonl.gz`;
}

export type RecordingSource = 'btcturk' | 'sim';

export interface SegmentEntry {
  readonly file: string;
  /** Receive time of the segment's first event. */
  readonly firstT: number;
  /** Receive time of its last event; absent while the segment is still being written. */
  readonly lastT?: number | undefined;
  readonly events: number;
  /** Compressed size on disk. */
  readonly bytes: number;
}

export interface RecordingIndex {
  readonly version: 1;
  readonly source: RecordingSource;
  /** The WebSocket URL recorded from. */
  readonly url: string;
  readonly symbols: readonly string[];
  /** Channel names subscribed, e.g. ["orderbook", "trade", "ticker"]. */
  readonly channels: readonly string[];
  readonly startedAt: number;
  /** Null while recording (or when the recorder died before closing the recording). */
  readonly endedAt: number | null;
  readonly segments: readonly SegmentEntry[];
}

/** A WebSocket text frame as received from the exchange (or the simulator). */
export interface RecordedFrame {
  readonly t: number;
  readonly k: 'frame';
  readonly d: string;
}

export type MarkerKind = 'connect' | 'disconnect' | 'resync';
const MARKER_KINDS: readonly MarkerKind[] = ['connect', 'disconnect', 'resync'];

/** Something that happened to the connection or a book rather than a frame. */
export interface RecordedMarker {
  readonly t: number;
  readonly k: MarkerKind;
  readonly symbol?: string | undefined;
  readonly reason?: string | undefined;
}

export type RecordedEvent = RecordedFrame | RecordedMarker;

/** Whether `value` (a parsed JSON line) is a well-formed event. */
export function isRecordedEvent(value: unknown): value is RecordedEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Record<string, unknown>;
  if (typeof event.t !== 'number' || !Number.isFinite(event.t)) return false;
  if (event.k === 'frame') return typeof event.d === 'string';
  if (!MARKER_KINDS.includes(event.k as MarkerKind)) return false;
  if (event.symbol !== undefined && typeof event.symbol !== 'string') return false;
  return event.reason === undefined || typeof event.reason === 'string';
}
