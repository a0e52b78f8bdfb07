import type { Decimal } from 'decimal.js';
import { Dec } from '../../domain/decimal.ts';
import type { MarketFeedEvent } from '../../ports/market-feed.ts';

// Fast readers of the two other channel frames a bot following every pair receives about as often
// as change sets: the public trade (422) and the pair ticker (402). The general path (messages.ts:
// JSON.parse, then zod, Decimals) cost 20-50 µs a frame, ten to twenty times a change set's fast
// reader, and made up most of the market data stack's CPU at 380 pairs (bench/follow-pairs.ts).
//
// As for the book readers (diff-scanner.ts), one regular expression vouches for the whole frame in
// the exact layout BTCTurk sends (../shared/btcturk-wire/frames.jsonl: ws-trade-single-422,
// ws-ticker-pair), and anything else returns undefined so that the general path decides: these
// readers can only be faster, never more lenient. Every frame they answer, the general path answers
// the same way (test/btcturk/websocket/channel-scanner.test.ts checks it on the captured frames,
// random frames in the layout and their mutations). Each part of a pattern matches any text one way
// only, so a failed match costs time linear in the frame's length.

/** Digits with at most one dot and at least one digit, as toDec reads them ("586950.0000000000"). */
const DECIMAL = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const TEXT = String.raw`[^"\\\x00-\x1f]`;
const STRING = String.raw`"${TEXT}*"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
/**
 * Members after the known ones (`"channel":"trade","event":"BTCTRY","type":422`): string and number
 * values under keys of three characters or more (or none), which no field the general path reads
 * has: a repeated known key, which JSON.parse lets override the first, goes to the general path.
 */
const OTHER_MEMBERS = String.raw`(?:,"(?:${TEXT}{3,})?":(?:${STRING}|${NUMBER}))*`;

/**
 * 422 as BTCTurk writes it: `D` (ms) and `I` strings, `A` and `P` padded decimal strings, `PS`, `S`
 * 0 or 1. `D` of at most 15 digits (its Number is exact, as the general path's).
 */
const TRADE = new RegExp(
  String.raw`^\[422,\{"D":"(\d{1,15})","I":"(${TEXT}+)","A":"(${DECIMAL})","P":"(${DECIMAL})","PS":"(${TEXT}+)","S":([01])${OTHER_MEMBERS}\}\]$`,
);

/**
 * 402 as BTCTurk writes it (B, A, BA, AA, PS, H, L, LA, O, V, AV, D, DP, DS, NS, PId, then the
 * channel tail). The members the ticker is made of are decimal strings; the others (BA, AA, AV, D,
 * DP, DS, NS, PId) are not read, so they may be any string or number, as for the general path.
 */
const ANY = String.raw`(?:${STRING}|${NUMBER})`;
const TICKER = new RegExp(
  String.raw`^\[402,\{"B":"(${DECIMAL})","A":"(${DECIMAL})","BA":${ANY},"AA":${ANY},"PS":"(${TEXT}+)","H":"(${DECIMAL})","L":"(${DECIMAL})","LA":"(${DECIMAL})","O":"(${DECIMAL})","V":"(${DECIMAL})","AV":${ANY},"D":${ANY},"DP":${ANY},"DS":${ANY},"NS":${ANY},"PId":${ANY}${OTHER_MEMBERS}\}\]$`,
);

/** Mirrors messages.ts' MAX_EXPONENT: a decimal beyond 1e±30 is the general path's to refuse. */
const MAX_EXPONENT = 30;

/** The decimal of vouched-for text, or undefined when its exponent is out of bounds. */
function decimal(text: string): Decimal | undefined {
  const value = new Dec(text);
  return !value.isZero() && Math.abs(value.e) > MAX_EXPONENT ? undefined : value;
}

/** A 422 in BTCTurk's layout, or undefined (the general path decides). */
export function scanTrade(text: string): MarketFeedEvent | undefined {
  const m = TRADE.exec(text);
  if (m === null) return undefined;
  const quantity = decimal(m[3] as string);
  const price = decimal(m[4] as string);
  if (quantity === undefined || price === undefined) return undefined;
  return {
    kind: 'trade',
    trade: {
      tradeId: m[2] as string,
      symbol: m[5] as string,
      price,
      quantity,
      side: m[6] === '0' ? 'buy' : 'sell',
      timestamp: Number(m[1]),
    },
  };
}

/** A 402 in BTCTurk's layout, or undefined (the general path decides). `now` dates it. */
export function scanTicker(text: string, now: number): MarketFeedEvent | undefined {
  const m = TICKER.exec(text);
  if (m === null) return undefined;
  const bid = decimal(m[1] as string);
  const ask = decimal(m[2] as string);
  const high = decimal(m[4] as string);
  const low = decimal(m[5] as string);
  const last = decimal(m[6] as string);
  const open = decimal(m[7] as string);
  const volume = decimal(m[8] as string);
  if (
    bid === undefined ||
    ask === undefined ||
    high === undefined ||
    low === undefined ||
    last === undefined ||
    open === undefined ||
    volume === undefined
  )
    return undefined;
  return {
    kind: 'ticker',
    ticker: { symbol: m[3] as string, timestamp: now, last, bid, ask, high, low, open, volume },
  };
}
