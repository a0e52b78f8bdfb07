import { createWriteStream, type WriteStream } from 'node:fs';
import { access, constants as fsConstants, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants as zlibConstants, createGzip, gzipSync, type Gzip } from 'node:zlib';
import {
  INDEX_FILE,
  RECORDING_VERSION,
  SEGMENT_FILE,
  segmentFileName,
  type RecordedEvent,
  type RecordingIndex,
  type RecordingSource,
  type SegmentEntry,
} from './format.ts';
import { readIndex, readSegment, RecordingError } from './reader.ts';
import { DEFAULT_ROTATE_EVERY, DEFAULT_ROTATE_SIZE, parseRotateEvery, parseSize } from './options.ts';

// Writes a recording (format.ts): events go, one JSON line each, into a gzip segment that is
// rotated by compressed size and/or age; the index is rewritten atomically (temp file + rename)
// when a segment is opened or closed and at the end. The open segment is flushed (Z_SYNC_FLUSH)
// every `flushEveryMs`, so a process that dies loses at most that much and leaves a segment whose
// every byte decompresses. Re-opening a directory that holds a recording of the same symbols and
// channels appends to it (a segment a dead recorder left unfinished is repaired first); one of
// other symbols is refused.

// The command's defaults, so `btcbot run --record` (which takes no rotation flags) rotates alike.
const DEFAULT_ROTATE_BYTES = parseSize('rotate size', DEFAULT_ROTATE_SIZE);
const DEFAULT_ROTATE_MS = parseRotateEvery('rotate every', DEFAULT_ROTATE_EVERY);
const DEFAULT_FLUSH_EVERY_MS = 1000;

export interface RecordingWriterOptions {
  readonly dir: string;
  readonly source: RecordingSource;
  readonly url: string;
  readonly symbols: readonly string[];
  readonly channels: readonly string[];
  /** A segment whose compressed size reached this is closed and the next one opened (0: never). */
  readonly rotateBytes?: number;
  /** A segment open this long is closed and the next one opened (0: never). */
  readonly rotateMs?: number;
  /** The open segment is flushed to disk this often. */
  readonly flushEveryMs?: number;
  /** Epoch ms now, fractional; default: Date.now() at open plus performance.now() since (monotonic). */
  readonly now?: () => number;
  /** A write to disk failed: the recording cannot go on. */
  readonly onError?: (error: Error) => void;
}

interface OpenSegment {
  readonly file: string;
  readonly gzip: Gzip;
  readonly out: WriteStream;
  readonly done: Promise<void>;
  readonly openedAt: number;
  firstT: number;
  lastT: number;
  events: number;
  bytes: number;
  /** Written to since the last flush. */
  dirty: boolean;
  /** Lines not yet handed to zlib: one write per batch, not per line (each costs a zlib call). */
  pending: string;
}

export interface RecordingWriterStats {
  readonly events: number;
  readonly segments: number;
  readonly bytes: number;
}

/** Lines are handed to zlib in batches of about this many characters (or at the periodic flush). */
const BATCH_CHARS = 64 * 1024;

function push(segment: OpenSegment): void {
  if (segment.pending === '') return;
  segment.gzip.write(segment.pending);
  segment.pending = '';
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join() === [...b].sort().join();

/** A monotonic epoch-ms clock: Date.now() once, then performance.now() deltas (µs precision). */
function monotonicEpochClock(): () => number {
  const epoch = Date.now();
  const base = performance.now();
  return () => Math.round((epoch + performance.now() - base) * 1000) / 1000;
}

async function checkWritable(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, fsConstants.W_OK);
    const info = await stat(dir);
    if (!info.isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new RecordingError(`cannot record into ${dir}: ${(error as Error).message}`);
  }
}

/**
 * Checks, before anything connects, that a recording of `symbols` can go into `dir`: it is (or
 * can be made) a writable directory, and holds no recording or one of the same symbols and
 * channels (returned: it is continued). A RecordingError saying what is wrong otherwise.
 */
export async function checkRecordingDir(
  dir: string,
  symbols: readonly string[],
  channels: readonly string[],
): Promise<RecordingIndex | null> {
  await checkWritable(dir);
  const names = await readdir(dir);
  if (!names.includes(INDEX_FILE)) {
    if (names.some((name) => SEGMENT_FILE.test(name)))
      throw new RecordingError(
        `${dir} holds recording segments but no ${INDEX_FILE}: record into another directory`,
      );
    return null;
  }
  const previous = await readIndex(dir);
  if (!sameSet(previous.symbols, symbols))
    throw new RecordingError(
      `${dir} holds a recording of ${previous.symbols.join(',')}, not ${symbols.join(',')}: record into another directory`,
    );
  if (!sameSet(previous.channels, channels))
    throw new RecordingError(
      `${dir} holds a recording of the channels ${previous.channels.join(',')}, not ${channels.join(',')}: record into another directory`,
    );
  return previous;
}

/**
 * A segment left unfinished by a recorder that died (not listed, or listed without lastT):
 * rewritten with what of it decompresses, so that it reads as a complete segment; null when
 * nothing of it reads (the file is then left as it is and not listed).
 */
async function repairSegment(dir: string, file: string): Promise<SegmentEntry | null> {
  const events: RecordedEvent[] = [];
  for await (const event of readSegment(join(dir, file), true)) events.push(event);
  const first = events[0];
  const last = events.at(-1);
  if (first === undefined || last === undefined) return null;
  const body = gzipSync(events.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const temp = join(dir, `${file}.repair`);
  await writeFile(temp, body);
  await rename(temp, join(dir, file));
  return { file, firstT: first.t, lastT: last.t, events: events.length, bytes: body.length };
}

export class RecordingWriter {
  private readonly closed: SegmentEntry[];
  private current: OpenSegment | null = null;
  private sequence: number;
  private readonly now: () => number;
  private readonly rotateBytes: number;
  private readonly rotateMs: number;
  private readonly startedAt: number;
  private lastT: number;
  private indexWrites: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private failure: Error | null = null;
  private ending: Promise<void> | null = null;
  private counts = { events: 0, segments: 0 };

  private constructor(
    private readonly options: RecordingWriterOptions,
    previous: RecordingIndex | null,
    segments: SegmentEntry[],
    nextSequence: number,
    now: () => number,
  ) {
    this.closed = segments;
    this.sequence = nextSequence;
    this.now = now;
    this.rotateBytes = options.rotateBytes ?? DEFAULT_ROTATE_BYTES;
    this.rotateMs = options.rotateMs ?? DEFAULT_ROTATE_MS;
    this.startedAt = previous?.startedAt ?? now();
    this.lastT = segments.at(-1)?.lastT ?? -Infinity;
    const flushEvery = options.flushEveryMs ?? DEFAULT_FLUSH_EVERY_MS;
    this.timer = setInterval(() => {
      this.tick();
    }, flushEvery);
    this.timer.unref();
  }

  /**
   * Opens (or continues) the recording in `options.dir`: a RecordingError when the directory is
   * not writable or holds a recording of other symbols or channels.
   */
  static async open(options: RecordingWriterOptions): Promise<RecordingWriter> {
    const { dir } = options;
    const previous = await checkRecordingDir(dir, options.symbols, options.channels);
    const names = (await readdir(dir)).filter((name) => SEGMENT_FILE.test(name)).sort();
    const segments: SegmentEntry[] = [];
    for (const entry of previous?.segments ?? []) {
      if (entry.lastT !== undefined) {
        segments.push(entry);
        continue;
      }
      const repaired = await repairSegment(dir, entry.file);
      if (repaired) segments.push(repaired);
    }
    const listed = new Set(segments.map((s) => s.file));
    for (const name of names) {
      if (listed.has(name) || previous?.segments.some((s) => s.file === name)) continue;
      const repaired = await repairSegment(dir, name);
      if (repaired) segments.push(repaired);
    }
    segments.sort((a, b) => a.file.localeCompare(b.file));
    const highest = names.map((name) => Number(name.slice(0, 6))).reduce((a, b) => Math.max(a, b), 0);
    const writer = new RecordingWriter(
      options,
      previous,
      segments,
      highest + 1,
      options.now ?? monotonicEpochClock(),
    );
    await writer.writeIndex(null);
    return writer;
  }

  /** Epoch ms now, never below the last event's t (also across a recording continued). */
  stamp(): number {
    const t = this.now();
    return t < this.lastT ? this.lastT : t;
  }

  /** A received frame, stamped now. */
  frame(text: string, at = this.stamp()): void {
    const t = at < this.lastT ? this.lastT : at; // a stamp given by the caller must not go back either
    this.append({ t, k: 'frame', d: text }, t);
  }

  marker(kind: 'connect' | 'disconnect' | 'resync', detail: { symbol?: string; reason?: string } = {}): void {
    const t = this.stamp();
    this.append({ t, k: kind, ...detail }, t);
  }

  stats(): RecordingWriterStats {
    const bytes = this.closed.reduce((sum, s) => sum + s.bytes, 0) + (this.current?.bytes ?? 0);
    return { ...this.counts, bytes };
  }

  /** Pushes what the open segment holds to its file (what the periodic flush does), then resolves. */
  flush(): Promise<void> {
    const segment = this.current;
    if (segment === null) return Promise.resolve();
    segment.dirty = false;
    push(segment);
    return new Promise((resolve) => {
      segment.gzip.flush(zlibConstants.Z_SYNC_FLUSH, () => {
        // The flushed bytes are queued on the file stream by now; an empty write completes after them.
        segment.out.write(Buffer.alloc(0), () => {
          resolve();
        });
      });
    });
  }

  /** The first write failure, if any. */
  get error(): Error | null {
    return this.failure;
  }

  private append(event: RecordedEvent, t: number): void {
    if (this.ending !== null || this.failure !== null) return;
    this.lastT = t;
    let segment = this.current;
    if (segment !== null && this.due(segment)) {
      this.rotate();
      segment = null;
    }
    segment ??= this.openSegment(t);
    segment.lastT = t;
    segment.events++;
    this.counts.events++;
    segment.dirty = true;
    segment.pending += `${JSON.stringify(event)}\n`;
    if (segment.pending.length >= BATCH_CHARS) push(segment);
  }

  private due(segment: OpenSegment): boolean {
    return (
      (this.rotateBytes > 0 && segment.bytes >= this.rotateBytes) ||
      (this.rotateMs > 0 && this.now() - segment.openedAt >= this.rotateMs)
    );
  }

  private openSegment(t: number): OpenSegment {
    const file = segmentFileName(this.sequence++);
    const gzip = createGzip();
    const out = createWriteStream(join(this.options.dir, file), { flags: 'wx' });
    const done = new Promise<void>((resolve) => {
      out.on('close', resolve);
    });
    const segment: OpenSegment = {
      file,
      gzip,
      out,
      done,
      openedAt: this.now(),
      firstT: t,
      lastT: t,
      events: 0,
      bytes: 0,
      dirty: false,
      pending: '',
    };
    gzip.on('data', (chunk: Buffer) => {
      segment.bytes += chunk.length;
    });
    const onError = (error: Error): void => {
      this.fail(new RecordingError(`cannot write ${join(this.options.dir, file)}: ${error.message}`));
    };
    gzip.on('error', onError);
    out.on('error', onError);
    gzip.pipe(out);
    this.current = segment;
    this.counts.segments++;
    void this.writeIndex(segment);
    return segment;
  }

  /** Closes the open segment; the index lists it complete once its file is closed. */
  private rotate(): void {
    const segment = this.current;
    if (segment === null) return;
    this.current = null;
    this.indexWrites = this.indexWrites.then(async () => {
      await this.finishSegment(segment);
      await this.writeIndexNow(this.current);
    });
  }

  private async finishSegment(segment: OpenSegment): Promise<void> {
    push(segment);
    segment.gzip.end();
    await segment.done;
    const bytes = (await stat(join(this.options.dir, segment.file)).catch(() => null))?.size ?? segment.bytes;
    this.closed.push({
      file: segment.file,
      firstT: segment.firstT,
      lastT: segment.lastT,
      events: segment.events,
      bytes,
    });
  }

  private tick(): void {
    const segment = this.current;
    if (segment === null || this.ending !== null) return;
    if (this.due(segment)) {
      this.rotate();
      return;
    }
    if (!segment.dirty) return;
    segment.dirty = false;
    push(segment);
    segment.gzip.flush(zlibConstants.Z_SYNC_FLUSH);
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.options.onError?.(error);
  }

  private writeIndex(open: OpenSegment | null): Promise<void> {
    this.indexWrites = this.indexWrites.then(() => this.writeIndexNow(open));
    return this.indexWrites;
  }

  private async writeIndexNow(open: OpenSegment | null, endedAt: number | null = null): Promise<void> {
    const segments: SegmentEntry[] = [...this.closed];
    // The open segment is listed without lastT: readers treat it as possibly cut short.
    if (open !== null && open === this.current)
      segments.push({ file: open.file, firstT: open.firstT, events: open.events, bytes: open.bytes });
    const index: RecordingIndex = {
      version: RECORDING_VERSION,
      source: this.options.source,
      url: this.options.url,
      symbols: [...this.options.symbols],
      channels: [...this.options.channels],
      startedAt: this.startedAt,
      endedAt,
      segments,
    };
    const path = join(this.options.dir, INDEX_FILE);
    const temp = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(temp, `${JSON.stringify(index, null, 1)}\n`);
      await rename(temp, path);
    } catch (error) {
      this.fail(new RecordingError(`cannot write ${path}: ${(error as Error).message}`));
    }
  }

  /** Flushes and closes the open segment and writes the final index (with endedAt). Idempotent. */
  close(): Promise<void> {
    this.ending ??= (async () => {
      clearInterval(this.timer);
      const segment = this.current;
      this.current = null;
      await this.indexWrites;
      if (segment !== null) await this.finishSegment(segment);
      await this.writeIndexNow(null, Math.max(this.stamp(), this.startedAt));
      if (this.failure !== null) throw this.failure;
    })();
    return this.ending;
  }
}
