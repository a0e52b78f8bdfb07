import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { RecordedEvent, RecordingIndex, SegmentEntry } from '../../src/record/format.ts';
import { readIndex, readRecording, RecordingError } from '../../src/record/reader.ts';
import { collect, tempDirs } from './helpers.ts';

const tempDir = tempDirs('btcbot-reader-');

const frame = (t: number, n: number): RecordedEvent => ({
  t,
  k: 'frame',
  d: `[431,{"PS":"BTCTRY","CS":${n},"AO":[],"BO":[]}]`,
});

/** Writes segments (one gzip file each) and an index listing the first `listed` of them. */
async function writeRecording(
  dir: string,
  segments: RecordedEvent[][],
  options: { listed?: number; lastWithoutLastT?: boolean } = {},
): Promise<void> {
  const entries: SegmentEntry[] = [];
  for (const [i, events] of segments.entries()) {
    const file = `${String(i + 1).padStart(6, '0')}.jsonl.gz`;
    const body = gzipSync(events.map((e) => JSON.stringify(e) + '\n').join(''));
    await writeFile(join(dir, file), body);
    entries.push({
      file,
      firstT: events[0]?.t ?? 0,
      lastT: events.at(-1)?.t ?? 0,
      events: events.length,
      bytes: body.length,
    });
  }
  const listed = entries.slice(0, options.listed ?? entries.length);
  const last = listed.at(-1);
  if (options.lastWithoutLastT && last) listed[listed.length - 1] = { ...last, lastT: undefined };
  const index: RecordingIndex = {
    version: 1,
    source: 'sim',
    url: 'ws://127.0.0.1:1/',
    symbols: ['BTCTRY', 'ETHTRY'],
    channels: ['orderbook', 'trade', 'ticker'],
    startedAt: 1000,
    endedAt: null,
    segments: listed,
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

const seg1: RecordedEvent[] = [
  { t: 1000, k: 'connect' },
  frame(1000.5, 1),
  frame(1001, 2),
  { t: 1002, k: 'resync', symbol: 'BTCTRY', reason: 'gap' },
];
const seg2: RecordedEvent[] = [frame(2000, 3), { t: 2001, k: 'disconnect', reason: 'closed' }];
const seg3: RecordedEvent[] = Array.from({ length: 200 }, (_, i) => frame(3000 + i, 10 + i));

describe('readRecording', () => {
  it('reads the index and the events of every segment in order', async () => {
    const dir = await tempDir();
    await writeRecording(dir, [seg1, seg2, seg3]);
    const index = await readIndex(dir);
    assert.deepEqual(index.symbols, ['BTCTRY', 'ETHTRY']);
    assert.equal(index.segments.length, 3);
    assert.deepEqual(await collect(readRecording(dir)), [...seg1, ...seg2, ...seg3]);
  });

  it('keeps every non-ASCII character whole, though gzip chunks cut through them', async () => {
    const dir = await tempDir();
    // Two- and three-byte characters on every line: across 20,000 lines some fall on the edge of
    // the 16 KB chunks the decompressor hands out.
    const lines: RecordedEvent[] = Array.from({ length: 20_000 }, (_, i) => ({
      t: 5000 + i,
      k: 'frame',
      d: `[402,{"PS":"BTCTRY","note":"ĞÜŞİÖÇ ğüşıöç €${i}"}]`,
    }));
    await writeRecording(dir, [lines]);
    const read = await collect(readRecording(dir));
    assert.equal(read.length, lines.length);
    assert.deepEqual(
      read.filter((e) => e.k === 'frame' && e.d.includes('\uFFFD')).length,
      0,
      'a character split between chunks came back as U+FFFD',
    );
    assert.deepEqual(read, lines);
  });

  it('keeps from <= t < to', async () => {
    const dir = await tempDir();
    await writeRecording(dir, [seg1, seg2, seg3]);
    const got = await collect(readRecording(dir, { from: 1001, to: 3002 }));
    assert.deepEqual(got, [seg1[2], seg1[3], ...seg2, seg3[0], seg3[1]]);
    assert.deepEqual(await collect(readRecording(dir, { from: 5000 })), []);
  });

  it('reads a segment the index does not list yet, and one listed without lastT', async () => {
    const dir = await tempDir();
    await writeRecording(dir, [seg1, seg2, seg3], { listed: 1 });
    assert.deepEqual(await collect(readRecording(dir)), [...seg1, ...seg2, ...seg3]);
    const dir2 = await tempDir();
    await writeRecording(dir2, [seg1, seg2], { lastWithoutLastT: true });
    assert.deepEqual(await collect(readRecording(dir2)), [...seg1, ...seg2]);
  });

  it('reads a truncated last segment up to where it breaks, without an error', async () => {
    const dir = await tempDir();
    await writeRecording(dir, [seg1, seg3], { listed: 1 });
    const path = join(dir, '000002.jsonl.gz');
    const size = (await readFile(path)).length;
    // Every cut gives a prefix of the events and never an error.
    for (const keep of [10, Math.floor(size / 3), Math.floor(size / 2), size - 9, size - 1]) {
      await writeRecording(dir, [seg1, seg3], { listed: 1 });
      await truncate(path, keep);
      const got = await collect(readRecording(dir));
      assert.deepEqual(got.slice(0, seg1.length), seg1);
      const rest = got.slice(seg1.length);
      assert.deepEqual(rest, seg3.slice(0, rest.length), `cut at ${keep} of ${size}`);
      // A cut into the gzip trailer (CRC and length, 8 bytes) may lose nothing; earlier ones do.
      if (keep < size - 9) assert.ok(rest.length < seg3.length, `cut at ${keep} lost events`);
      if (keep >= size / 2) assert.ok(rest.length > 0, `cut at ${keep} kept the first events`);
    }
  });

  it('refuses a complete segment that is damaged, naming the file', async () => {
    const dir = await tempDir();
    await writeRecording(dir, [seg1, seg2, seg3]);
    await truncate(join(dir, '000001.jsonl.gz'), 20);
    await assert.rejects(collect(readRecording(dir)), (error: Error) => {
      assert.ok(error instanceof RecordingError);
      assert.match(error.message, /000001\.jsonl\.gz/);
      return true;
    });
  });

  it('names the problem with a missing or malformed index', async () => {
    const dir = await tempDir();
    await assert.rejects(readIndex(dir), /has no index\.json/);
    await writeFile(join(dir, 'index.json'), JSON.stringify({ version: 1, source: 'sim' }));
    await assert.rejects(readIndex(dir), /index\.json: url:/);
    await writeFile(join(dir, 'index.json'), '{');
    await assert.rejects(readIndex(dir), /not JSON/);
  });
});
