import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { RecordedEvent } from '../../src/record/format.ts';

// Shared by the recording tests.

/** A maker of fresh temporary directories named `prefix…`, all removed when the test file ends. */
export function tempDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
}

export async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const event of iterable) out.push(event);
  return out;
}
