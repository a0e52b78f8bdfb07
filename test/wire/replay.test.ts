import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFrame } from '../../src/btcturk/websocket/messages.ts';
import { Dec } from '../../src/domain/decimal.ts';
import { randomInt, seededRandom } from '../../src/domain/random.ts';
import type { BookLevel } from '../../src/domain/reports.ts';
import { MarketDataService } from '../../src/market/service.ts';
import { FakeFeed, ManualClock } from '../market/fakes.ts';
import { ObdiffSession } from './obdiff-session.ts';

// The market data service fed BTCTurk's obdiff encoding, frame TEXT by frame text, through the real
// frame reader (parseFrame): a 100-level window over a deeper book, deletes at the touch (CP 3 with
// a non-zero amount), window churn at the edge (CP 3 out, CP 1 in), CP 0 updates, unpadded decimals,
// 7-16 changes per frame. The book the service keeps must equal the exchange's window at every CS.

const FRAMES = 3_000;

function setup(symbol: string) {
  const clock = new ManualClock();
  const feed = new FakeFeed();
  const service = new MarketDataService({
    feed,
    fetchBook: () => Promise.reject(new Error('no REST in the replay')),
    symbols: [symbol],
    clock,
    windowLevels: 100,
    spotCheckMs: 0,
  });
  service.start();
  const problems: string[] = [];
  service.on('problem', (message) => problems.push(message));
  /** One frame's text through the reader into the service, as the socket client hands it on. */
  const deliver = (text: string): void => {
    const parsed = parseFrame(text, clock.now());
    if (!parsed.ok) {
      assert.ok(parsed.symbol !== null, `an unreadable frame names its pair: ${parsed.reason}`);
      feed.deliver(
        {
          kind: 'book-unreadable',
          symbol: parsed.symbol,
          reason: parsed.reason,
          cause: parsed.cause,
        },
        clock.monotonic(),
      );
      return;
    }
    for (const message of parsed.messages) {
      if (
        message.kind === 'book-snapshot' ||
        message.kind === 'book-diff' ||
        message.kind === 'book-unreadable'
      )
        feed.deliver(message, clock.monotonic());
    }
  };
  return { clock, feed, service, problems, deliver };
}

const text = (levels: readonly BookLevel[]) =>
  levels.map((l) => `${l.quantity.toFixed()}@${l.price.toFixed()}`);
const source = (levels: readonly (readonly [string, string])[]) =>
  levels.map(([price, amount]) => `${new Dec(amount).toFixed()}@${new Dec(price).toFixed()}`);

/** The first difference between the service's book and the session's window, or null. */
function difference(
  service: MarketDataService,
  session: ObdiffSession,
  problems: readonly string[] = [],
): string | null {
  const book = service.book(session.symbol);
  if (book === null) return `the service has no usable book (${problems.at(-1) ?? 'no problem reported'})`;
  const window = session.window();
  for (const [name, mine, theirs] of [
    ['bid', text(book.bids), source(window.bids)],
    ['ask', text(book.asks), source(window.asks)],
  ] as const) {
    if (mine.length !== theirs.length)
      return `${name}s: ${mine.length} levels, the exchange shows ${theirs.length}`;
    for (let i = 0; i < mine.length; i++)
      if (mine[i] !== theirs[i])
        return `${name} ${i + 1}: ${mine[i] ?? '-'}, the exchange ${theirs[i] ?? '-'}`;
  }
  return null;
}

describe('obdiff replay in the real encoding', () => {
  it('keeps the book equal to the exchange’s 100-level window at every change set', async () => {
    const session = new ObdiffSession({ seed: 20_260_923, symbol: 'ETHUSDT' });
    const { service, problems, deliver } = setup(session.symbol);
    deliver(session.snapshot());
    assert.equal(difference(service, session), null);
    for (let i = 0; i < FRAMES; i++) {
      const frame = session.next();
      deliver(frame);
      const diff = difference(service, session, problems);
      if (diff !== null)
        assert.fail(`at CS ${session.changeSet} (frame ${i + 1}): ${diff}\n${frame.slice(0, 600)}`);
    }
    const stats = service.stats().symbols[session.symbol];
    assert.ok(stats);
    assert.equal(stats.diffs, FRAMES);
    assert.equal(stats.gaps, 0);
    assert.equal(stats.windowOverflows, 0);
    assert.equal(stats.resyncs, 0);
    assert.deepEqual(problems, []);
    assert.equal(service.top(session.symbol)?.changeSet, session.changeSet);
    // The session exercised what it claims to.
    const c = session.counts;
    assert.ok(c.minRows >= 7 && c.maxRows <= 16, `rows per frame ${c.minRows}..${c.maxRows}`);
    assert.ok(c.minSourceDepth > 100, 'the exchange always held more than the window');
    assert.ok(c.touchDeletes > FRAMES / 2, `${c.touchDeletes} deletes at the touch`);
    assert.ok(c.edgeOut > FRAMES / 4 && c.edgeIn > FRAMES / 4, `edge churn ${c.edgeOut} out, ${c.edgeIn} in`);
    assert.ok(c.cp0 > FRAMES && c.cp1 > FRAMES && c.cp3 > FRAMES, JSON.stringify(c));
    await service.stop();
  });

  it('the frames are in BTCTurk’s layout: {"CP","P","A"} rows, deletes with a non-zero amount, unpadded decimals', () => {
    const session = new ObdiffSession({ seed: 5 });
    assert.match(session.snapshot(), /^\[431,\{"CS":\d+,"PS":"ETHUSDT","AO":\[\{"A":"[\d.]+","P":"[\d.]+"\}/);
    let deletes = 0;
    let unpadded = 0;
    for (let i = 0; i < 200; i++) {
      const frame = session.next();
      assert.match(frame, /^\[432,\{"CS":\d+,"PS":"ETHUSDT","AO":\[/);
      assert.match(frame, /"channel":"obdiff","event":"ETHUSDT","type":432\}\]$/);
      for (const row of frame.matchAll(/\{"CP":(\d),"P":"([\d.]+)","A":"([\d.]+)"\}/g)) {
        assert.ok(['0', '1', '3'].includes(row[1] ?? ''), `CP ${row[1]}`);
        if (row[1] === '3') {
          deletes++;
          assert.ok(!/^[0.]+$/.test(row[3] ?? ''), 'a CP 3 row carries a non-zero amount');
        }
        if (/^\d+(\.\d*[1-9])?$/.test(row[2] ?? '')) unpadded++;
      }
    }
    assert.ok(deletes > 100);
    assert.ok(unpadded > 1_000);
  });

  it('a dropped change set is a gap: one resync each, and the fresh snapshot is equal again', async () => {
    const session = new ObdiffSession({ seed: 77, symbol: 'BTCUSDT', midPrice: 86_700, priceDecimals: 0 });
    const { feed, service, deliver } = setup(session.symbol);
    const random = seededRandom(3);
    deliver(session.snapshot());
    let drops = 0;
    for (let i = 0; i < 600; i++) {
      const frame = session.next();
      if (random.next() < 0.03) {
        drops++;
        // The next frame reveals the hole; frames already on the wire follow the resync request.
        deliver(session.next());
        assert.equal(service.book(session.symbol), null, 'a book with a hole is not served');
        assert.equal(feed.resyncs.length, drops, 'one resync per hole');
        for (let late = randomInt(random, 0, 3); late > 0; late--) deliver(session.next());
        assert.equal(feed.resyncs.length, drops, 'in-flight change sets do not ask again');
        deliver(session.snapshot());
        assert.equal(difference(service, session), null);
        continue;
      }
      deliver(frame);
      const diff = difference(service, session);
      if (diff !== null) assert.fail(`at CS ${session.changeSet}: ${diff}`);
    }
    assert.ok(drops >= 5, `${drops} drops`);
    const stats = service.stats().symbols[session.symbol];
    assert.ok(stats);
    assert.equal(stats.gaps, drops);
    assert.equal(stats.resyncs, drops);
    await service.stop();
  });

  it('a row with a change kind BTCTurk does not send (CP 2) is counted and resynced', async () => {
    const session = new ObdiffSession({ seed: 9 });
    const { feed, service, deliver } = setup(session.symbol);
    deliver(session.snapshot());
    for (let i = 0; i < 20; i++) deliver(session.next());
    const frame = session.next().replace('{"CP":0,', '{"CP":2,').replace('{"CP":1,', '{"CP":2,');
    assert.match(frame, /"CP":2/);
    deliver(frame);
    assert.equal(service.stats().symbols[session.symbol]?.unknownChangeKinds, 1);
    assert.deepEqual(feed.resyncs, [session.symbol]);
    assert.equal(service.book(session.symbol), null);
    deliver(session.snapshot());
    assert.equal(difference(service, session), null);
    await service.stop();
  });
});
