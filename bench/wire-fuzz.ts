// The longer run of the WebSocket frame fuzz test (test/wire/ws-fuzz.test.ts): real BTCTurk frames
// (test/wire/frames.jsonl) mutated (byte flips, truncation, deleted and duplicated members, hostile
// numbers and decimal strings, 7,000-deep nesting, giant strings, reordered keys, whitespace,
// unknown change kinds, swapped frame types) and random change sets in BTCTurk's exact layout, each
// checked: parseFrame never throws, answers events or a typed failure, agrees with the general
// reader alone, and yields no event with a zero price or a negative amount; a frame in BTCTurk's
// layout takes the canonical path. Seeded: a failure replays.
//
// Environment: WIRE_FUZZ_INPUTS (default 200000), WIRE_FUZZ_SECONDS (default 30; the run stops at
// whichever limit comes first), WIRE_FUZZ_SEED (default 20260923).
import { pathToFileURL } from 'node:url';
import { bookDiffPath } from '../src/btcturk/websocket/diff-scanner.ts';
import { randomInt, seededRandom, type Random } from '../src/domain/random.ts';
import { WIRE } from '../test/wire/corpus.ts';
import { checkFrame, mutate, MUTATIONS } from '../test/wire/ws-mutations.ts';

function envNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name}: expected a positive number, got ${JSON.stringify(text)}`);
  return value;
}

const PAIRS = ['BTCUSDT', 'ETHUSDT', 'BTCTRY', 'DOTUSDT', 'ARPAUSDT'];

function unpadded(random: Random, min: number): string {
  const text = (randomInt(random, min, 99_999_999) / 10 ** randomInt(random, 0, 8)).toFixed(8);
  return text.replace(/\.?0+$/, '') || '0';
}

/** A random change set in BTCTurk's exact layout: rows {"CP","P","A"}, CP 0/1/3, unpadded decimals. */
function realDiff(random: Random): string {
  const pair = PAIRS[randomInt(random, 0, PAIRS.length - 1)] ?? 'BTCUSDT';
  const rows = () =>
    Array.from({ length: randomInt(random, 0, 16) }, () => {
      const cp = [0, 1, 3][randomInt(random, 0, 2)] ?? 0;
      return `{"CP":${cp},"P":"${unpadded(random, 1)}","A":"${unpadded(random, 0)}"}`;
    }).join(',');
  return (
    `[432,{"CS":${randomInt(random, 0, 2 ** 40)},"PS":"${pair}","AO":[${rows()}],"BO":[${rows()}],` +
    `"channel":"obdiff","event":"${pair}","type":432}]`
  );
}

function fuzz(): Record<string, number | string> {
  const maxInputs = envNumber('WIRE_FUZZ_INPUTS', 200_000);
  const seconds = envNumber('WIRE_FUZZ_SECONDS', 30);
  const seed = envNumber('WIRE_FUZZ_SEED', 20260923);
  const random = seededRandom(seed);
  const seeds = WIRE.filter((e) => e.kind === 'ws');
  const now = 1_758_600_000_000;
  const deadline = performance.now() + seconds * 1000;
  let inputs = 0;
  let mutated = 0;
  let generated = 0;
  let typedFailures = 0;
  let unknownKinds = 0;
  let failures = 0;
  const examples: string[] = [];
  const start = performance.now();
  while (inputs < maxInputs && (inputs % 256 !== 0 || performance.now() < deadline)) {
    inputs++;
    let text: string;
    let what: string;
    const isGenerated = random.next() < 0.2;
    if (isGenerated) {
      generated++;
      text = realDiff(random);
      what = 'generated change set';
    } else {
      mutated++;
      const from = seeds[randomInt(random, 0, seeds.length - 1)];
      if (from === undefined) throw new Error('bench: the corpus has no ws frames');
      text = from.text;
      const applied: string[] = [];
      for (let n = randomInt(random, 1, 3); n > 0; n--) {
        const kind = MUTATIONS[randomInt(random, 0, MUTATIONS.length - 1)] ?? 'flip';
        applied.push(kind);
        text = mutate(text, random, kind);
      }
      what = `${from.id} + ${applied.join(' + ')}`;
    }
    try {
      const result = checkFrame(text, now);
      if (isGenerated && (!result.ok || bookDiffPath(text) !== 'canonical'))
        throw new Error('a change set in BTCTurk layout did not take the canonical path');
      if (!result.ok) {
        typedFailures++;
        if (result.cause === 'unknown-change-kind') unknownKinds++;
      }
    } catch (error) {
      failures++;
      if (examples.length < 5)
        examples.push(`input ${inputs} (${what}): ${String(error).slice(0, 200)} :: ${text.slice(0, 200)}`);
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  for (const example of examples) process.stderr.write(`wire-fuzz failure: ${example}\n`);
  return {
    seed,
    inputs_tried: inputs,
    mutated_real_frames: mutated,
    generated_btcturk_layout_frames: generated,
    typed_failures: typedFailures,
    unknown_change_kind_failures: unknownKinds,
    failures_found: failures,
    seconds: Number(elapsed.toFixed(1)),
    inputs_per_s: Math.round(inputs / elapsed),
  };
}

export function run(): Promise<Record<string, number | string>> {
  return Promise.resolve(fuzz());
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(`${JSON.stringify(await run())}\n`);
}
