import { readFileSync } from 'node:fs';
import { z } from 'zod';

// BTCTurk's real frames and replies (../shared/btcturk-wire/frames.jsonl, copied here byte for byte:
// key order and number formatting are part of what the readers must accept). They outrank the
// simulator: where the two disagree, the simulator is changed, never these.

const Entry = z.object({
  id: z.string().min(1),
  kind: z.enum(['ws', 'ws-sent', 'rest']),
  status: z.number().int().optional(),
  source: z.string(),
  text: z.string(),
});
export type WireEntry = z.infer<typeof Entry>;

const lines = readFileSync(new URL('./frames.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim().length > 0);

/** Every entry of the corpus, in file order. */
export const WIRE: readonly WireEntry[] = lines.map((line, index) => {
  const parsed = Entry.safeParse(JSON.parse(line));
  if (!parsed.success) throw new Error(`test/wire/frames.jsonl line ${index + 1}: ${parsed.error.message}`);
  return parsed.data;
});

/** One entry's exact text, by id. */
export function wireText(id: string): string {
  const entry = WIRE.find((e) => e.id === id);
  if (!entry) throw new Error(`no frame ${id} in test/wire/frames.jsonl`);
  return entry.text;
}
