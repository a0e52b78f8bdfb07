import assert from 'node:assert/strict';
import { cp, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { parseFrame } from '../../src/btcturk/websocket/messages.ts';
import type { RecordedEvent, RecordingIndex } from '../../src/record/format.ts';
import { readIndex, readRecording } from '../../src/record/reader.ts';
import { runCli } from '../helpers/cli.ts';
import { spawnBot, startSimProcess, type SimProcess } from '../run/helpers.ts';
import { collect, tempDirs } from './helpers.ts';

// `btcbot record` as a user runs it — the real binary — against `btcbot sim` in its own process,
// over loopback; the recording is then read back with src/record/reader.ts.

const tempDir = tempDirs('btcbot-record-');

/** The recording as it stands (the open segment included), or [] before it has an index. */
async function current(dir: string): Promise<RecordedEvent[]> {
  try {
    return await collect(readRecording(dir));
  } catch {
    return [];
  }
}

/** Polls the recording on disk (flushed every second) until `test` holds for its events. */
async function until(
  dir: string,
  what: string,
  test: (events: RecordedEvent[]) => boolean,
  guardMs = 30_000,
): Promise<void> {
  const deadline = performance.now() + guardMs;
  while (!test(await current(dir))) {
    if (performance.now() > deadline) throw new Error(`the recording never showed ${what}`);
    await sleep(200);
  }
}

async function setFaults(sim: SimProcess, faults: Record<string, string | number | null>): Promise<void> {
  const response = await fetch(`${sim.rest}/sim/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${sim.adminToken}` },
    body: JSON.stringify(faults),
  });
  assert.equal(response.status, 200, await response.text());
}

/** Market messages of the recorded frames, decoded with the bot's own frame parser. */
function decoded(events: readonly RecordedEvent[]) {
  const messages = [];
  for (const event of events) {
    if (event.k !== 'frame') continue;
    const parsed = parseFrame(event.d, 0);
    assert.ok(parsed.ok, `an unreadable frame was recorded: ${event.d.slice(0, 200)}`);
    messages.push(...parsed.messages);
  }
  return messages;
}

/** The pair a market message is about. */
function symbolOf(message: ReturnType<typeof decoded>[number]): string | null | undefined {
  if (message.kind === 'ticker') return message.ticker.symbol;
  if (message.kind === 'trade') return message.trade.symbol;
  return 'symbol' in message ? message.symbol : undefined;
}

describe('btcbot record against btcbot sim', () => {
  let sim: SimProcess;
  let env: Record<string, string>;
  before(async () => {
    sim = await startSimProcess(['--seed', '23', '--symbols', 'BTCTRY,ETHTRY', '--book-interval-ms', '100']);
    env = { BTCTURK_BASE_URL: sim.rest, BTCTURK_WS_URL: sim.ws };
  });
  after(() => sim.stop());

  it('records books, trades and tickers of both pairs in rotating segments, with a reconnect and a resync as markers', async () => {
    const dir = join(await tempDir(), 'rec');
    const recorder = spawnBot(
      ['record', '--symbols', 'BTCTRY,ETHTRY', '--out', dir, '--duration', '20s', '--rotate-size', '4KB'],
      env,
    );
    try {
      await recorder.waitFor(/^recording BTCTRY,ETHTRY from ws:/, 60_000);
      const booksOfBoth = (events: RecordedEvent[]): boolean =>
        ['BTCTRY', 'ETHTRY'].every((s) => events.some((e) => e.k === 'frame' && e.d.includes(`"PS":"${s}"`)));
      await until(dir, 'book frames of both pairs', booksOfBoth);
      // The simulator drops every socket without a close frame: the recorder reconnects.
      await setFaults(sim, { 'ws-drop-every': '500ms' });
      await until(dir, 'a disconnect', (events) => events.some((e) => e.k === 'disconnect'));
      await setFaults(sim, { 'ws-drop-every': null });
      await until(
        dir,
        'a connect after the disconnect',
        (events) =>
          events.findLastIndex((e) => e.k === 'connect') > events.findIndex((e) => e.k === 'disconnect'),
      );
      // Change sets go missing: the recorder resyncs the book as a bot does.
      await setFaults(sim, { 'ws-gap': 0.5 });
      await until(dir, 'a resync', (events) => events.some((e) => e.k === 'resync'));
      await setFaults(sim, { 'ws-gap': null });
    } finally {
      await setFaults(sim, { 'ws-drop-every': null, 'ws-gap': null }).catch(() => undefined);
    }
    const { code } = await recorder.exit;
    assert.equal(code, 0, recorder.stderr());
    assert.match(recorder.lines.join('\n'), /recorded \d+ events in \d+ new segments .*duration reached/);

    const index: RecordingIndex = await readIndex(dir);
    assert.equal(index.version, 1);
    assert.equal(index.source, 'sim');
    assert.equal(index.url, sim.ws);
    assert.deepEqual(index.symbols, ['BTCTRY', 'ETHTRY']);
    assert.deepEqual(index.channels, ['obdiff', 'trade', 'ticker']);
    assert.ok(index.endedAt !== null && index.endedAt >= index.startedAt);
    // Rotation: many small segments, all listed complete, in order, matching the files on disk.
    assert.ok(index.segments.length >= 3, `${index.segments.length} segments`);
    assert.deepEqual(
      index.segments.map((s) => s.file),
      (await readdir(dir)).filter((f) => f.endsWith('.jsonl.gz')).sort(),
    );
    for (const [i, segment] of index.segments.entries()) {
      assert.ok(segment.lastT !== undefined && segment.firstT <= segment.lastT, segment.file);
      const previous = index.segments[i - 1];
      if (previous) assert.ok(segment.firstT >= (previous.lastT ?? Infinity), segment.file);
      // Closed at the first flush at or above 4 KB: the size check waits for compressed output.
      if (i < index.segments.length - 1)
        assert.ok(segment.bytes >= 4096, `${segment.file}: ${segment.bytes} B`);
    }

    const events = await collect(readRecording(dir));
    assert.equal(
      events.length,
      index.segments.reduce((sum, s) => sum + s.events, 0),
    );
    for (let i = 1; i < events.length; i += 1)
      assert.ok((events[i]?.t ?? 0) >= (events[i - 1]?.t ?? Infinity), `t decreases at event ${i}`);
    assert.equal(events[0]?.k, 'connect');
    assert.equal(events.at(-1)?.k, 'disconnect');
    const connects = events.filter((e) => e.k === 'connect').length;
    assert.ok(connects >= 2, `${connects} connects`);
    const resync = events.find((e) => e.k === 'resync');
    assert.ok(resync && 'symbol' in resync && ['BTCTRY', 'ETHTRY'].includes(resync.symbol ?? ''));

    const messages = decoded(events);
    for (const symbol of ['BTCTRY', 'ETHTRY']) {
      const of = (kind: string) => messages.filter((m) => m.kind === kind && symbolOf(m) === symbol);
      assert.ok(of('book-snapshot').length >= connects, `${symbol}: a snapshot on every connect`);
      assert.ok(of('book-diff').length > 0, `${symbol}: no book deltas`);
      assert.ok(of('trades').length + of('trade').length > 0, `${symbol}: no trades`);
      assert.ok(of('ticker').length > 0, `${symbol}: no tickers`);
    }

    // A truncated last segment (a recorder killed mid-write, the index not yet listing it) reads
    // up to where it breaks, without an error.
    const cut = await tempDir();
    await cp(dir, cut, { recursive: true });
    const last = index.segments.at(-1);
    assert.ok(last);
    await writeFile(
      join(cut, 'index.json'),
      JSON.stringify({ ...index, endedAt: null, segments: index.segments.slice(0, -1) }),
    );
    await truncate(join(cut, last.file), Math.floor(last.bytes / 2));
    const partial = await collect(readRecording(cut));
    const before = events.length - last.events;
    assert.ok(partial.length >= before && partial.length < events.length, `${partial.length} events read`);
    assert.deepEqual(partial, events.slice(0, partial.length));
  });

  it('a recorder killed by SIGKILL leaves a recording that reads, and the next run continues it', async () => {
    const dir = join(await tempDir(), 'rec');
    const recorder = spawnBot(['record', '--symbols', 'BTCTRY', '--out', dir, '--rotate-size', '2KB'], env);
    await recorder.waitFor(/^recording /, 60_000);
    await until(dir, 'a book delta', (events) =>
      events.some((e) => e.k === 'frame' && e.d.startsWith('[432,')),
    );
    recorder.child.kill('SIGKILL');
    await recorder.exit;
    const index = await readIndex(dir);
    assert.equal(index.endedAt, null);
    const killed = await collect(readRecording(dir));
    assert.ok(killed.length > 0);

    // Continued, and stopped by SIGTERM: the recording is closed (endedAt) with what came before.
    const again = spawnBot(['record', '--symbols', 'BTCTRY', '--out', dir], env);
    await again.waitFor(/^recording /, 60_000);
    await until(dir, 'the new connection', (events) =>
      events.slice(killed.length).some((e) => e.k === 'frame' && e.d.startsWith('[431,')),
    );
    again.child.kill('SIGTERM');
    assert.equal((await again.exit).code, 0, again.stderr());
    const continued = await collect(readRecording(dir));
    assert.deepEqual(continued.slice(0, killed.length), killed);
    assert.equal(continued[killed.length]?.k, 'connect');
    assert.equal(continued.at(-1)?.k, 'disconnect');
    assert.notEqual((await readIndex(dir)).endedAt, null);
    assert.ok((await readIndex(dir)).segments.every((s) => s.lastT !== undefined));

    const other = await runCli(['record', '--symbols', 'ETHTRY', '--out', dir, '--duration', '1s'], env);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /--out: .*holds a recording of BTCTRY, not ETHTRY/);
  });

  it('a pair the exchange does not list is refused before anything is written', async () => {
    const dir = join(await tempDir(), 'rec');
    const res = await runCli(['record', '--symbols', 'BTCTRY,FOOTRY', '--out', dir, '--duration', '1s'], env);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--symbols: FOOTRY is not listed by the exchange/);
    assert.deepEqual(await readdir(dir).catch(() => []), []);
  });

  it('btcbot run --record records the session it trades on', async () => {
    const dir = join(await tempDir(), 'run-rec');
    const db = join(await tempDir(), 'bot.db');
    const run = await runCli(
      ['run', '--symbols', 'BTCTRY,ETHTRY', '--db', db, '--duration', '6s', '--seed', '5', '--record', dir],
      {},
      120_000,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /recording the public WebSocket frames into/);
    const index = await readIndex(dir);
    assert.equal(index.source, 'sim');
    assert.notEqual(index.endedAt, null);
    const messages = decoded(await collect(readRecording(dir)));
    for (const symbol of ['BTCTRY', 'ETHTRY'])
      assert.ok(
        messages.some((m) => m.kind === 'book-snapshot' && m.symbol === symbol),
        `${symbol}: no snapshot recorded`,
      );
    // Only public data: the session's own orders and fills (private frames) are not in it.
    assert.ok(!messages.some((m) => m.kind === 'fill' || m.kind === 'login-result'));
  });
});

describe('btcbot record: bad options name the flag', () => {
  const cases: [string[], RegExp][] = [
    [['--out', 'x'], /--symbols/],
    [['--symbols', 'BTCTRY'], /--out/],
    [['--symbols', 'BT', '--out', 'x'], /--symbols: "BT" is not a pair symbol/],
    [['--symbols', 'BTCTRY', '--out', 'x', '--duration', 'soon'], /--duration: "soon" is not a duration/],
    [
      ['--symbols', 'BTCTRY', '--out', 'x', '--rotate-size', '10'],
      /--rotate-size: "10" is below the minimum/,
    ],
    [['--symbols', 'BTCTRY', '--out', 'x', '--rotate-size', 'big'], /--rotate-size: "big" is not a size/],
    [['--symbols', 'BTCTRY', '--out', 'x', '--rotate-every', '5'], /--rotate-every: "5" is not a duration/],
    [['--symbols', 'BTCTRY', '--out', 'x', '--ws-url', 'http://x'], /--ws-url/],
  ];
  for (const [args, message] of cases)
    it(`btcbot record ${args.join(' ')}`, async () => {
      const res = await runCli(['record', ...args]);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, message);
    });

  it('an --out that cannot be written', async () => {
    const file = join(await tempDir(), 'a-file');
    await writeFile(file, 'x');
    const res = await runCli(
      ['record', '--symbols', 'BTCTRY', '--out', join(file, 'sub'), '--base-url', 'http://127.0.0.1:9'],
      { BTCBOT_REQUEST_TIMEOUT_MS: '500' },
    );
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--out: cannot record into .*a-file\/sub/);
  });
});
