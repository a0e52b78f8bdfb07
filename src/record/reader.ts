import { createReadStream } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, createGunzip } from 'node:zlib';
import { z } from 'zod';
import {
  INDEX_FILE,
  SEGMENT_FILE,
  isRecordedEvent,
  type RecordedEvent,
  type RecordingIndex,
  type SegmentEntry,
} from './format.ts';

// Reads a recording back: the index, then the events of every segment in order. The segment a
// recorder was writing when it died (not listed in the index, or listed without lastT) may end
// mid-line or mid-block: what decompresses is read and the rest is dropped, without an error. A
// complete segment that does not read is an error naming the file.

export class RecordingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingError';
  }
}

const segmentSchema = z.object({
  file: z.string().regex(SEGMENT_FILE, 'a segment file is named like 000001.jsonl.gz'),
  firstT: z.number(),
  lastT: z.number().optional(),
  events: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

const indexSchema = z.object({
  version: z.literal(1),
  source: z.enum(['btcturk', 'sim']),
  url: z.string(),
  symbols: z.array(z.string()),
  channels: z.array(z.string()),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  segments: z.array(segmentSchema),
});

/** The recording's index.json, validated; a RecordingError naming the directory otherwise. */
export async function readIndex(dir: string): Promise<RecordingIndex> {
  const path = join(dir, INDEX_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RecordingError(
      code === 'ENOENT'
        ? `${dir} is not a recording: it has no ${INDEX_FILE}`
        : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RecordingError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || '(top level)';
    throw new RecordingError(`${path}: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export interface RecordingRange {
  /** Inclusive lower bound on the receive time t (epoch ms). */
  readonly from?: number | undefined;
  /** Exclusive upper bound on the receive time t (epoch ms). */
  readonly to?: number | undefined;
}

interface SegmentToRead {
  readonly file: string;
  readonly entry: SegmentEntry | undefined;
  /** Whether it may end short: the last segment, unlisted, or listed without lastT. */
  readonly mayBeTruncated: boolean;
}

/** The segments to read, in order: those listed, then any on disk the index does not list yet. */
async function segmentsOf(dir: string, index: RecordingIndex): Promise<SegmentToRead[]> {
  const listed = new Map(index.segments.map((entry) => [entry.file, entry]));
  const onDisk = (await readdir(dir)).filter((name) => SEGMENT_FILE.test(name));
  const names = [...new Set([...listed.keys(), ...onDisk])].sort();
  return names.map((file, i) => {
    const entry = listed.get(file);
    return {
      file,
      entry,
      mayBeTruncated: i === names.length - 1 || entry?.lastT === undefined,
    };
  });
}

/**
 * The recording's events in order across segments, those with `from <= t < to` when a range is
 * given. Tolerates a truncated last segment (reads what decompresses, stops cleanly).
 */
export async function* readRecording(dir: string, range: RecordingRange = {}): AsyncIterable<RecordedEvent> {
  const index = await readIndex(dir);
  const from = range.from ?? -Infinity;
  const to = range.to ?? Infinity;
  for (const segment of await segmentsOf(dir, index)) {
    const { entry } = segment;
    // Skip a segment wholly outside the range when the index says where it lies.
    if (entry !== undefined) {
      if (entry.firstT >= to) return;
      if (entry.lastT !== undefined && entry.lastT < from) continue;
    }
    for await (const event of readSegment(join(dir, segment.file), segment.mayBeTruncated)) {
      if (event.t < from) continue;
      if (event.t >= to) return; // t never decreases: nothing later is in range
      yield event;
    }
  }
}

/** One segment's events; stops at the first unreadable byte when `tolerant`, throws otherwise. */
export async function* readSegment(path: string, tolerant: boolean): AsyncIterable<RecordedEvent> {
  // Z_SYNC_FLUSH at the end: a truncated gzip stream yields what it holds instead of an error.
  // Decompressed well ahead of the reader (zlib works on the thread pool): a replay reading as it
  // goes then seldom waits for the next event.
  const ahead = { chunkSize: 64 * 1024, readableHighWaterMark: 1024 * 1024 };
  const gunzip = createGunzip(tolerant ? { ...ahead, finishFlush: zlibConstants.Z_SYNC_FLUSH } : ahead);
  const source = createReadStream(path);
  source.on('error', (error) => gunzip.destroy(error));
  source.pipe(gunzip);
  // Decoded by the stream, not chunk by chunk: a character cut between two chunks stays whole.
  gunzip.setEncoding('utf8');
  let pending = '';
  let line = 0;
  const parse = (text: string): RecordedEvent | undefined => {
    line += 1;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (isRecordedEvent(value)) return value;
    if (tolerant) return undefined;
    throw new RecordingError(`${path}:${line}: not a recorded event: ${text.slice(0, 120)}`);
  };
  try {
    for await (const chunk of gunzip as AsyncIterable<string>) {
      // The lines are cut from the chunk by position; only the unfinished last one is kept.
      const block = pending === '' ? chunk : pending + chunk;
      pending = '';
      let start = 0;
      let newline = block.indexOf('\n');
      while (newline >= 0) {
        const text = block.slice(start, newline);
        start = newline + 1;
        newline = block.indexOf('\n', start);
        if (text === '') continue;
        const event = parse(text);
        if (event === undefined) return; // tolerant: a damaged line ends the segment
        yield event;
      }
      pending = block.slice(start);
    }
  } catch (error) {
    if (error instanceof RecordingError) throw error;
    if (tolerant) return;
    throw new RecordingError(`${path}: cannot decompress: ${(error as Error).message}`);
  } finally {
    source.destroy();
    gunzip.destroy();
  }
  // A last line without its newline: a complete segment ends every line, so it was cut short.
  // Cut right after its closing brace it is still whole; cut anywhere else it does not parse.
  if (pending === '') return;
  if (!tolerant) throw new RecordingError(`${path}:${line + 1}: the segment ends mid-line`);
  const last = parse(pending);
  if (last !== undefined) yield last;
}
