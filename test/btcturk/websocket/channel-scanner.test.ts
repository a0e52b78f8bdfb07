import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scanTicker, scanTrade } from '../../../src/btcturk/websocket/channel-scanner.ts';
import { parseFrame, parseFrameGeneral, type ParsedFrame } from '../../../src/btcturk/websocket/messages.ts';
import { randomInt, seededRandom, type Random } from '../../../src/domain/random.ts';
import { wireText } from '../../wire/corpus.ts';
import { checkFrame, mutate, MUTATIONS, plain } from '../../wire/ws-mutations.ts';

// The fast readers of trades (422) and pair tickers (402): they answer BTCTurk's layout exactly as
// the general reader (JSON.parse and zod) does, and leave everything else to it.

const NOW = 1_758_600_000_000;
const TRADE = wireText('ws-trade-single-422');
const TICKER = wireText('ws-ticker-pair');

/** Both readers' answers, Decimals as text. */
function both(text: string): { fast: unknown; general: unknown } {
  return { fast: plain(parseFrame(text, NOW)), general: plain(parseFrameGeneral(text, NOW)) };
}

/** The failure's reason; fails the test when the frame was read. */
function reasonOf(parsed: ParsedFrame): string {
  if (parsed.ok) assert.fail('the frame was read, not refused');
  return parsed.reason;
}

function pick<T>(random: Random, items: readonly T[]): T {
  const item = items[randomInt(random, 0, items.length - 1)];
  assert.ok(item !== undefined);
  return item;
}

const DECIMALS = [
  '0',
  '1',
  '2900',
  '0.0008777700',
  '586950.0000000000',
  '.5',
  '5.',
  '12345678901234567890.123',
];
const FAR = `0.${'0'.repeat(40)}1`; // beyond 1e-30: the general reader refuses it

describe('channel scanner: trades (422) and tickers (402)', () => {
  it('reads the captured 422 and 402 on the fast path, as the general reader does', () => {
    assert.ok(scanTrade(TRADE), 'the real 422 is in the fast layout');
    assert.ok(scanTicker(TICKER, NOW), 'the real 402 is in the fast layout');
    for (const text of [TRADE, TICKER]) {
      const { fast, general } = both(text);
      assert.deepEqual(fast, general);
      assert.equal((general as { ok: boolean }).ok, true);
    }
    const trade = scanTrade(TRADE);
    assert.ok(trade?.kind === 'trade');
    assert.equal(trade.trade.tradeId, '100163785789620825', 'the id above 2^53 kept exact');
    assert.equal(trade.trade.price.toFixed(), '586950');
    assert.equal(trade.trade.side, 'sell');
    assert.equal(trade.trade.timestamp, 1651204593830);
  });

  it('agrees with the general reader on random trades and tickers in the layout (2,000, seeded)', () => {
    const random = seededRandom(4022);
    let fastAnswered = 0;
    for (let i = 0; i < 2000; i++) {
      const d = () => pick(random, [...DECIMALS, FAR]);
      const tail = pick(random, [
        ',"channel":"trade","event":"BTCTRY","type":422',
        '',
        ',"extra":1e400',
        ',"":"x"',
        ',"PS":"ETHTRY"', // a repeated key: JSON.parse lets it win, the fast reader must not answer
        ',"S":0',
      ]);
      const trade =
        `[422,{"D":"${pick(random, ['1651204593830', '0', '00012', '1234567890123456'])}",` +
        `"I":"${pick(random, ['100163785789620825', '1', 'x-y'])}","A":"${d()}","P":"${d()}",` +
        `"PS":"${pick(random, ['BTCTRY', 'A'])}","S":${pick(random, ['0', '1', '2'])}${tail}}]`;
      const ticker =
        `[402,{"B":"${d()}","A":"${d()}","BA":"0.1","AA":${pick(random, ['"0.2"', '3', 'null'])},` +
        `"PS":"BTCUSDT","H":"${d()}","L":"${d()}","LA":"${d()}","O":"${d()}","V":"${d()}",` +
        `"AV":"86078.604090120000","D":"-1240","DP":"1.53","DS":"USDT","NS":"BTC","PId":19` +
        `${pick(random, [',"channel":"ticker","event":"BTCUSDT","type":402', ',"B":"1"', ''])}}]`;
      for (const text of [trade, ticker]) {
        const { fast, general } = both(text);
        assert.deepEqual(fast, general, text);
        const answered = text.startsWith('[422') ? scanTrade(text) : scanTicker(text, NOW);
        if (answered !== undefined) fastAnswered++;
      }
    }
    assert.ok(fastAnswered > 500 && fastAnswered < 3900, `${fastAnswered} of 4000 on the fast path`);
  });

  it('never answers differently from the general reader on mutated real frames (2,000, seeded)', () => {
    const random = seededRandom(4020);
    for (let i = 0; i < 2000; i++) {
      let text = pick(random, [TRADE, TICKER]);
      for (let n = randomInt(random, 1, 2); n > 0; n--) text = mutate(text, random, pick(random, MUTATIONS));
      checkFrame(text, NOW);
      const { fast, general } = both(text);
      assert.deepEqual(fast, general, text.slice(0, 300));
    }
  });

  it('leaves a bare trade id above 2^53 to the lossless parser, which keeps it exact', () => {
    for (const spacing of ['', ' ', '\n ']) {
      const text = `[422,{"D":1651204593830,"I":${spacing}100163785789620825,"A":"1","P":"2","PS":"BTCTRY","S":0}]`;
      assert.equal(scanTrade(text), undefined, 'not the fast layout');
      const parsed = parseFrame(text, NOW);
      assert.ok(parsed.ok);
      const [message] = parsed.messages;
      assert.ok(message?.kind === 'trade');
      assert.equal(message.trade.tradeId, '100163785789620825');
    }
    // And a bare number with an exponent is read exactly (lossless), refused as too far out.
    const far = parseFrame(
      '[402,{"B":1e-40,"A":"1","PS":"X","H":"1","L":"1","LA":"1","O":"1","V":"1"}]',
      NOW,
    );
    assert.match(reasonOf(far), /B: expected a decimal within 1e±30/);
  });

  it('refuses a malformed trade with a clear reason, as before', () => {
    const parsed = parseFrame(TRADE.replace('"S":1', '"S":7'), NOW);
    assert.match(reasonOf(parsed), /S: expected a side \(0\/1, buy\/sell\), got 7/);
    const far = parseFrame(TRADE.replace('"A":"0.0008777700"', `"A":"${FAR}"`), NOW);
    assert.match(reasonOf(far), /A: expected a decimal within 1e±30/);
  });
});
