import assert from 'node:assert/strict';
import { cp, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import prand from 'pure-rand';
import { readIndex, readRecording, RecordingError } from '../../src/record/reader.ts';
import { RecordingWriter, type RecordingWriterOptions } from '../../src/record/writer.ts';
import { collect, tempDirs } from './helpers.ts';

const tempDir = tempDirs('btcbot-writer-');

/** A settable clock: the writer's `now`. */
function fakeClock(start = 1_800_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Book-diff-like frames with seeded random levels (compress about as badly as the real ones). */
function frames(count: number, seed: number): string[] {
  const rng = prand.xoroshiro128plus(seed);
  const next = (max: number) => prand.unsafeUniformIntDistribution(0, max, rng);
  return Array.from(
    { length: count },
    (_, i) =>
      `[432,{"CS":${1000 + i},"PS":"BTCTRY","AO":[{"CP":1,"P":"${3_500_000 + next(9999)}","A":"0.${String(next(99_999_999)).padStart(8, '0')}"}],"BO":[],"channel":"obdiff","event":"BTCTRY","type":432}]`,
  );
}

const base = (dir: string, more: Partial<RecordingWriterOptions> = {}): RecordingWriterOptions => ({
  dir,
  source: 'sim',
  url: 'ws://127.0.0.1:1/ws',
  symbols: ['BTCTRY', 'ETHTRY'],
  channels: ['obdiff', 'trade', 'ticker'],
  flushEveryMs: 60_000,
  ...more,
});

describe('RecordingWriter', () => {
  it('rotates by compressed size, lists every segment in the index and reads back exactly', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const writer = await RecordingWriter.open(base(dir, { rotateBytes: 2048, rotateMs: 0, now: clock.now }));
    writer.marker('connect');
    for (const [i, text] of frames(600, 1).entries()) {
      clock.advance(1.5);
      writer.frame(text);
      // The size is known as compressed output reaches the file: flushed every second live, here
      // every 50 frames.
      if (i % 50 === 49) await writer.flush();
    }
    writer.marker('resync', { symbol: 'BTCTRY', reason: 'gap' });
    writer.marker('disconnect', { reason: 'closed' });
    await writer.close();

    const index = await readIndex(dir);
    assert.ok(index.segments.length >= 3, `only ${index.segments.length} segments`);
    assert.notEqual(index.endedAt, null);
    assert.deepEqual(
      index.segments.map((s) => s.file),
      (await readdir(dir)).filter((f) => f.endsWith('.jsonl.gz')).sort(),
    );
    const events = await collect(readRecording(dir));
    assert.equal(events.length, 603);
    assert.equal(
      index.segments.reduce((sum, s) => sum + s.events, 0),
      603,
    );
    assert.deepEqual(events[0], { t: 1_800_000_000_000, k: 'connect' });
    assert.deepEqual(
      events.slice(1, -2).map((e) => (e.k === 'frame' ? e.d : null)),
      frames(600, 1),
    );
    assert.deepEqual(events.at(-2), {
      t: 1_800_000_000_900,
      k: 'resync',
      symbol: 'BTCTRY',
      reason: 'gap',
    });
    for (const [i, s] of index.segments.entries()) {
      assert.ok(s.lastT !== undefined && s.firstT <= s.lastT);
      const next = index.segments[i + 1];
      if (next) assert.ok(next.firstT >= (s.lastT ?? Infinity));
    }
  });

  it('rotates by age', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const writer = await RecordingWriter.open(base(dir, { rotateBytes: 0, rotateMs: 1000, now: clock.now }));
    for (const text of frames(10, 2)) {
      writer.frame(text);
      clock.advance(400); // a new segment every 3 frames: at 0, 1200, 2400, 3600
    }
    await writer.close();
    const index = await readIndex(dir);
    assert.deepEqual(
      index.segments.map((s) => s.events),
      [3, 3, 3, 1],
    );
  });

  it('a recorder that died leaves a recording that reads; opening it again repairs and continues it', async () => {
    const dir = await tempDir();
    const clock = fakeClock();
    const writer = await RecordingWriter.open(base(dir, { rotateBytes: 4096, rotateMs: 0, now: clock.now }));
    const texts = frames(300, 3);
    for (const text of texts) {
      clock.advance(1);
      writer.frame(text);
    }
    await writer.flush();
    // The files as a SIGKILL now would leave them: the open segment listed without lastT.
    const crashed = await tempDir();
    await cp(dir, crashed, { recursive: true });
    await writer.close();
    const index = await readIndex(crashed);
    assert.equal(index.endedAt, null);
    assert.equal(index.segments.at(-1)?.lastT, undefined);
    const read = await collect(readRecording(crashed));
    assert.deepEqual(
      read.map((e) => (e.k === 'frame' ? e.d : null)),
      texts,
    );

    // Continued: the unfinished segment is repaired (complete, with lastT), new ones follow it.
    const again = await RecordingWriter.open(base(crashed, { now: clock.now }));
    clock.advance(10);
    again.marker('connect');
    await again.close();
    const continued = await readIndex(crashed);
    assert.ok(continued.segments.every((s) => s.lastT !== undefined));
    assert.equal(continued.segments.length, index.segments.length + 1);
    const all = await collect(readRecording(crashed));
    assert.equal(all.length, 301);
    assert.equal(all.at(-1)?.k, 'connect');
  });

  it('refuses a directory holding a recording of other pairs, or one it cannot write', async () => {
    const dir = await tempDir();
    await (await RecordingWriter.open(base(dir))).close();
    await assert.rejects(
      RecordingWriter.open(base(dir, { symbols: ['BTCTRY'] })),
      (error: Error) =>
        error instanceof RecordingError &&
        /holds a recording of BTCTRY,ETHTRY, not BTCTRY/.test(error.message),
    );
    // Same pairs in another order: the same recording, continued.
    await (await RecordingWriter.open(base(dir, { symbols: ['ETHTRY', 'BTCTRY'] }))).close();
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'x');
    await assert.rejects(
      RecordingWriter.open(base(join(file, 'sub'))),
      (error: Error) =>
        error instanceof RecordingError && /cannot record into .*a-file\/sub/.test(error.message),
    );
  });
});
