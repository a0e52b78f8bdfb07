import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Decimal } from 'decimal.js';
import { runCli } from '../helpers/cli.ts';
import { spawnBot, startSimProcess, type SimProcess } from '../run/helpers.ts';

// `btcbot orderbook SYMBOL --watch` as a user runs it — the real binary — against `btcbot sim` in
// its own process: the book the bot keeps from the WebSocket, printed after every applied change.

type Level = [string, string];

interface BookLine {
  readonly symbol: string;
  readonly changeSet: number | null;
  readonly bids: Level[];
  readonly asks: Level[];
  readonly source: 'stream' | 'rest';
}

interface ResyncLine {
  readonly event: 'resync';
  readonly symbol: string;
  readonly reason: string;
}

const DECIMAL = /^\d+(\.\d+)?$/;

function parseLines(stdout: string): (BookLine | ResyncLine)[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as BookLine | ResyncLine);
}

const isBook = (line: BookLine | ResyncLine): line is BookLine => !('event' in line);

/** A book as the bot may hold it: sorted sides, no crossing, positive exact decimals, at most `depth` levels. */
function assertWellFormed(line: BookLine, depth: number): void {
  assert.equal(line.symbol, 'BTCTRY');
  assert.deepEqual(Object.keys(line), ['symbol', 'changeSet', 'bids', 'asks', 'source']);
  assert.ok(line.bids.length <= depth && line.asks.length <= depth, `more than ${depth} levels`);
  for (const [price, amount] of [...line.bids, ...line.asks]) {
    assert.match(price, DECIMAL);
    assert.match(amount, DECIMAL);
    assert.ok(new Decimal(price).gt(0) && new Decimal(amount).gt(0), `level ${price} ${amount}`);
  }
  const prices = (side: Level[]) => side.map(([p]) => new Decimal(p));
  const bids = prices(line.bids);
  const asks = prices(line.asks);
  bids.slice(1).forEach((p, i) => {
    assert.ok(p.lt(bids[i] ?? p), 'bids not strictly descending');
  });
  asks.slice(1).forEach((p, i) => {
    assert.ok(p.gt(asks[i] ?? p), 'asks not strictly ascending');
  });
  const [bestBid] = bids;
  const [bestAsk] = asks;
  if (bestBid && bestAsk)
    assert.ok(bestBid.lt(bestAsk), `crossed: ${bestBid.toFixed()} >= ${bestAsk.toFixed()}`);
}

/** Levels by value, so "2900.00" and "2900" compare equal. */
const norm = (side: readonly (readonly [string, string])[]): string[] =>
  side.map(([p, a]) => `${new Decimal(p).toFixed()}@${new Decimal(a).toFixed()}`);

async function restBook(sim: SimProcess, limit: number): Promise<{ bids: string[]; asks: string[] }> {
  const response = await fetch(`${sim.rest}/api/v2/orderbook?pairSymbol=BTCTRY&limit=${limit}`);
  const body = (await response.json()) as { data: { bids: [string, string][]; asks: [string, string][] } };
  return {
    bids: norm(body.data.bids.slice(0, limit)),
    asks: norm(body.data.asks.slice(0, limit)),
  };
}

describe('btcbot orderbook --watch against btcbot sim', () => {
  let sim: SimProcess;
  let env: Record<string, string>;
  before(async () => {
    // Change sets every 100 ms (BTCTurk's ~764 ms conflation, sped up); the market moves every 250 ms.
    sim = await startSimProcess(['--seed', '17', '--symbols', 'BTCTRY,ETHTRY', '--book-interval-ms', '100']);
    env = { BTCTURK_BASE_URL: sim.rest, BTCTURK_WS_URL: sim.ws };
  });
  after(() => sim.stop());

  it('--json --duration 3s: well-formed books whose change sets follow one another, then exit 0', async () => {
    const res = await runCli(
      ['orderbook', 'BTCTRY', '--watch', '--json', '--duration', '3s', '--depth', '5'],
      env,
    );
    assert.equal(res.code, 0, res.stderr);
    const lines = parseLines(res.stdout);
    const books = lines.filter(isBook);
    assert.ok(books.length >= 1, `no book line:\n${res.stdout}\n${res.stderr}`);
    for (const book of books) assertWellFormed(book, 5);
    // Consecutive stream lines are consecutive change sets, unless a resync line stands between.
    for (let i = 1; i < lines.length; i += 1) {
      const previous = lines[i - 1];
      const current = lines[i];
      if (!previous || !current || !isBook(previous) || !isBook(current)) continue;
      if (previous.source !== 'stream' || current.source !== 'stream') continue;
      assert.equal(current.changeSet, (previous.changeSet ?? NaN) + 1, `line ${i}: a change set was skipped`);
    }
  });

  it('prints the book the simulator holds: a REST book taken while watching equals a printed line', async () => {
    const depth = 10;
    const watch = spawnBot(['orderbook', 'BTCTRY', '--watch', '--json', '--depth', String(depth)], env);
    try {
      await watch.waitFor(/"changeSet"/, 30_000);
      // The market moves every 250 ms and the feed follows within 100 ms, so most REST books fall
      // between two moves and the watch prints that same book; a few samples find one.
      let matched = false;
      for (let attempt = 0; attempt < 40 && !matched; attempt += 1) {
        const rest = await restBook(sim, depth);
        await new Promise((resolve) => setTimeout(resolve, 300));
        matched = watch.lines
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as BookLine | ResyncLine)
          .filter(isBook)
          .some(
            (book) =>
              norm(book.bids).join() === rest.bids.join() && norm(book.asks).join() === rest.asks.join(),
          );
      }
      assert.ok(
        matched,
        `no printed book equals a REST book of the simulator\n${watch.lines.slice(-5).join('\n')}`,
      );
    } finally {
      watch.child.kill('SIGINT');
    }
    const { code } = await watch.exit;
    assert.equal(code, 0, `SIGINT must stop the watch cleanly\n${watch.stderr()}`);
  });

  it('prints a readable table per change without --json and stops cleanly on SIGINT', async () => {
    const watch = spawnBot(['orderbook', 'BTCTRY', '--watch', '--depth', '3'], env);
    try {
      await watch.waitFor(/BTCTRY change set \d+, spread \d/, 30_000);
      await watch.waitFor(/^\s*bidQty\s+bid\s+ask\s+askQty$/, 30_000);
    } finally {
      watch.child.kill('SIGINT');
    }
    const { code } = await watch.exit;
    assert.equal(code, 0, watch.stderr());
  });

  it('stops cleanly with exit 0 when its reader goes away (`--watch | head`)', async () => {
    const watch = spawnBot(['orderbook', 'BTCTRY', '--watch', '--json', '--depth', '3'], env);
    await watch.waitFor(/"changeSet":\d+/, 30_000);
    // The pipe's reading end closes: the next line meets EPIPE.
    watch.child.stdout?.destroy();
    const { code } = await watch.exit;
    assert.equal(code, 0, watch.stderr());
    assert.doesNotMatch(watch.stderr(), /EPIPE|Unhandled/, 'a closed reader is no crash');
  });

  it('exits 1 naming a pair the exchange does not list', async () => {
    const res = await runCli(['orderbook', 'NOPETRY', '--watch', '--json'], env);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /NOPETRY is not listed/);
    assert.equal(res.stdout, '');
  });

  it('exits 2 naming --depth when it is not 1..100, or is given without --watch', async () => {
    for (const depth of ['0', '101', 'ten', '2.5']) {
      const res = await runCli(['orderbook', 'BTCTRY', '--watch', '--depth', depth], env);
      assert.equal(res.code, 2, `--depth ${depth}: ${res.stderr}`);
      assert.match(res.stderr, /--depth must be a whole number from 1 to 100/);
    }
    const without = await runCli(['orderbook', 'BTCTRY', '--depth', '5'], env);
    assert.equal(without.code, 2);
    assert.match(without.stderr, /--depth: applies only with --watch/);
    const duration = await runCli(['orderbook', 'BTCTRY', '--watch', '--duration', '3 parsecs'], env);
    assert.equal(duration.code, 2);
    assert.match(duration.stderr, /--duration/);
  });
});

describe('btcbot orderbook --watch when the socket never sends a snapshot', () => {
  let listing: SimProcess;
  let silent: SimProcess;
  before(async () => {
    // REST from a simulator that lists BTCTRY, the socket of one that does not: the join is
    // acknowledged (or refused) and no snapshot comes — what BTCTurk does for a pair it does not know.
    [listing, silent] = await Promise.all([
      startSimProcess(['--seed', '5', '--symbols', 'BTCTRY']),
      startSimProcess(['--seed', '6', '--symbols', 'ETHTRY']),
    ]);
  });
  after(() => Promise.all([listing.stop(), silent.stop()]));

  it('exits 1 naming the pair after --snapshot-timeout', async () => {
    const res = await runCli(['orderbook', 'BTCTRY', '--watch', '--json', '--snapshot-timeout', '2s'], {
      BTCTURK_BASE_URL: listing.rest,
      BTCTURK_WS_URL: silent.ws,
    });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /btcbot: no order book snapshot for BTCTRY within 2 s/);
  });
});
