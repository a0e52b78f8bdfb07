import type {
  BookLevelChange,
  BookLevelText,
  FeedBookDiff,
  FeedBookSnapshot,
} from '../../ports/market-feed.ts';

// The hot path of the feed: readers of obdiff frames straight from the frame text. JSON.parse builds
// a generic object tree first and costs most of the time of a change set (bench/book-apply.ts
// measures it); these readers build only the rows. Whatever they do not recognise with certainty
// (an escape in a string, a missing field, a row value that is not a quoted plain decimal, a price
// of zero, a change kind BTCTurk does not send, a CS that is not a whole number) makes them give up
// and return undefined, and the frame takes the general path in messages.ts (JSON.parse and the
// field checks), which reads it or states the problem (with its cause). So they can only be faster, never more lenient: every frame
// they answer, the general path answers the same way (test/wire/ws-fuzz.test.ts checks it on
// random frames in BTCTurk's layout and on mutated real frames).
//
// Three readers:
// - one regular expression for a change set (432) in the exact layout BTCTurk sends (nearly every
//   frame): rows `{"CP":n,"P":"…","A":"…"}` in that key order, then `"channel","event","type"`;
// - one for the snapshot (431) that opens an obdiff subscription, rows `{"A":"…","P":"…"}`;
// - a character reader for a change set in any other layout JSON allows (whitespace, member
//   order, extra members: the simulator's old `{A,P,CP}` rows, say).
// None of them recurses or backtracks more than linearly: a hostile frame costs time in
// proportion to its length (issue 9 item 8: the old recursive skip() crashed the process on a
// member nested 7,000 arrays deep). The client's maxPayload bounds the length.

/**
 * Change kinds (`CP`) of an obdiff (432) row, as BTCTurk sends them (btcturk-wire README, capture
 * C1): 0 = the level's amount is replaced by `A`, 1 = a new level, 3 = the level is deleted (`A`
 * still carries its old, non-zero amount: delete because CP is 3, never because of `A`). CP 2 was
 * never seen; it and any other value are a protocol problem (the frame fails with cause
 * `unknown-change-kind` and the book is resynced).
 */
export const CHANGE_KIND = { updated: 0, added: 1, deleted: 3 } as const;

/** True for the change kinds BTCTurk sends (0, 1, 3). */
export function isKnownChangeKind(cp: number): boolean {
  return cp === CHANGE_KIND.updated || cp === CHANGE_KIND.added || cp === CHANGE_KIND.deleted;
}

/**
 * How the book frames went, for the benchmark and diagnostics: plain increments on a module
 * object, which cost nothing next to the reading itself. `canonical…`: the layout BTCTurk sends;
 * `scannedDiffs`: a change set in another layout, read by the character reader; `general`: a book
 * frame left to the general path (messages.ts counts it).
 */
export const bookReaderCounts = {
  canonicalDiffs: 0,
  canonicalSnapshots: 0,
  scannedDiffs: 0,
  general: 0,
};

export function resetBookReaderCounts(): void {
  bookReaderCounts.canonicalDiffs = 0;
  bookReaderCounts.canonicalSnapshots = 0;
  bookReaderCounts.scannedDiffs = 0;
  bookReaderCounts.general = 0;
}

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const ONE = 49;
const NINE = 57;
const COLON = 58;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const SPACE = 32;

/** A literal or number of JSON, read in place (sticky) by skip(). */
const SCALAR = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

// ---- the layouts BTCTurk sends -------------------------------------------------------------------
// One regular expression vouches for the whole frame; the values are then cut out by position, with
// no check left to make but the price's sign. Regular expressions run as native code over the
// characters, several times faster than a JS loop of charCodeAt (which is what the reader of any
// other layout, below, has to be), and test() allocates nothing.
//
// Every part is written so that there is only one way to match any text: a failed match then
// backtracks in linear time, whatever a hostile frame holds.

/** Digits with at most one dot and at least one digit, unpadded or padded: "2900", "0.0092056". */
const DECIMAL = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
/** JSON's whole number, at most 15 digits so that its double is exact. */
const WHOLE = String.raw`(?:0|[1-9]\d{0,14})`;
/** A JSON string without escapes or raw control characters (which JSON.parse refuses). */
const STRING = String.raw`"[^"\\\x00-\x1f]*"`;
const SYMBOL = String.raw`"[^"\\\x00-\x1f]+"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
/** A change-set row as BTCTurk sends it: only the change kinds it sends, no minus anywhere. */
const DIFF_ROW = String.raw`\{"CP":[013],"P":"${DECIMAL}","A":"${DECIMAL}"\}`;
/** A snapshot row as BTCTurk sends it. */
const SNAPSHOT_ROW = String.raw`\{"A":"${DECIMAL}","P":"${DECIMAL}"\}`;
const rowsOf = (row: string): string => String.raw`\[(?:${row}(?:,${row})*)?\]`;
/**
 * The members after a change set's book (`"channel":"obdiff","event":"ETHUSDT","type":432`):
 * string and number values under keys of any length but two. A two-letter key could be a second
 * CS, PS, AO or BO, which JSON.parse would let override the first: the general path decides those.
 */
const OTHER_MEMBER = String.raw`,"(?:[^"\\\x00-\x1f]?|[^"\\\x00-\x1f]{3,})":(?:${STRING}|${NUMBER})`;
const CANONICAL_DIFF = new RegExp(
  String.raw`^\[432,\{"CS":${WHOLE},"PS":${SYMBOL},"AO":${rowsOf(DIFF_ROW)},"BO":${rowsOf(DIFF_ROW)}(?:${OTHER_MEMBER})*\}\]$`,
);
/**
 * A snapshot with exactly BTCTurk's tail: `channel` decides whether the book is periodic, so no
 * other member (a second `channel`, which JSON.parse would let win) may follow.
 */
const CANONICAL_SNAPSHOT = new RegExp(
  String.raw`^\[431,\{"CS":${WHOLE},"PS":${SYMBOL},"AO":${rowsOf(SNAPSHOT_ROW)},"BO":${rowsOf(SNAPSHOT_ROW)},"channel":"(?:obdiff|orderbook)","event":${STRING},"type":431\}\]$`,
);

const FRAME_HEAD_LENGTH = '[432,{"CS":'.length; // the same for 431
const SYMBOL_HEAD = ',"PS":"';
const ASKS_HEAD = '","AO":[';
const BIDS_HEAD = ',"BO":[';
const CHANNEL_HEAD = ',"channel":"';
const DIFF_ROW_KIND = '{"CP":'.length;
const DIFF_ROW_PRICE = '{"CP":0,"P":"'.length;
const DIFF_ROW_AMOUNT = '","A":"'.length;
const SNAPSHOT_ROW_AMOUNT = '{"A":"'.length;
const SNAPSHOT_ROW_PRICE = '","P":"'.length;
const DIGIT_THREE = 51;
const LETTER_R = 114; // the second letter of "orderbook" ("obdiff" has a b there)

/** True when the plain decimal text text[start, end) has a non-zero digit (is not "0", "0.00", …). */
function positive(text: string, start: number, end: number): boolean {
  let c = text.charCodeAt(start);
  if (c >= ONE && c <= NINE) return true; // the usual case, decided by the first character
  for (let i = start + 1; i < end; i++) {
    c = text.charCodeAt(i);
    if (c >= ONE && c <= NINE) return true;
  }
  return false;
}

/**
 * The rows of one change-set side, from its `[`, onto `out`; the position after its `]`, or -1
 * for a price of zero (the general path names it). Only for text CANONICAL_DIFF has matched.
 */
function vouchedDiffRows(text: string, at: number, out: BookLevelChange[]): number {
  if (text.charCodeAt(at + 1) === CLOSE_BRACKET) return at + 2;
  at++;
  for (;;) {
    const remove = text.charCodeAt(at + DIFF_ROW_KIND) === DIGIT_THREE; // CP is exactly 0, 1 or 3
    const priceStart = at + DIFF_ROW_PRICE;
    const priceEnd = text.indexOf('"', priceStart);
    if (!positive(text, priceStart, priceEnd)) return -1;
    const quantityStart = priceEnd + DIFF_ROW_AMOUNT;
    const quantityEnd = text.indexOf('"', quantityStart);
    out.push({
      price: text.slice(priceStart, priceEnd),
      quantity: text.slice(quantityStart, quantityEnd),
      remove,
    });
    at = quantityEnd + 3; // past `"}` and the `,` or `]` after it
    if (text.charCodeAt(at - 1) === CLOSE_BRACKET) return at;
  }
}

/** As vouchedDiffRows, for snapshot rows. */
function vouchedSnapshotRows(text: string, at: number, out: BookLevelText[]): number {
  if (text.charCodeAt(at + 1) === CLOSE_BRACKET) return at + 2;
  at++;
  for (;;) {
    const quantityStart = at + SNAPSHOT_ROW_AMOUNT;
    const quantityEnd = text.indexOf('"', quantityStart);
    const priceStart = quantityEnd + SNAPSHOT_ROW_PRICE;
    const priceEnd = text.indexOf('"', priceStart);
    if (!positive(text, priceStart, priceEnd)) return -1;
    out.push({ price: text.slice(priceStart, priceEnd), quantity: text.slice(quantityStart, quantityEnd) });
    at = priceEnd + 3;
    if (text.charCodeAt(at - 1) === CLOSE_BRACKET) return at;
  }
}

/** The CS (at most 15 digits, vouched for) and the position of the comma after it. */
function changeSetOf(text: string): [number, number] {
  let changeSet = 0;
  let at = FRAME_HEAD_LENGTH;
  for (let c = text.charCodeAt(at); c !== COMMA; c = text.charCodeAt(++at))
    changeSet = changeSet * 10 + (c - ZERO);
  return [changeSet, at];
}

/** A change set in the layout BTCTurk sends, or undefined for any other layout or a zero price. */
function canonicalDiff(text: string): FeedBookDiff | undefined {
  if (!CANONICAL_DIFF.test(text)) return undefined;
  const [changeSet, at] = changeSetOf(text);
  const symbolStart = at + SYMBOL_HEAD.length;
  const symbolEnd = text.indexOf('"', symbolStart);
  const asks: BookLevelChange[] = [];
  const afterAsks = vouchedDiffRows(text, symbolEnd + ASKS_HEAD.length - 1, asks);
  if (afterAsks < 0) return undefined;
  const bids: BookLevelChange[] = [];
  if (vouchedDiffRows(text, afterAsks + BIDS_HEAD.length - 1, bids) < 0) return undefined;
  return { kind: 'book-diff', symbol: text.slice(symbolStart, symbolEnd), changeSet, bids, asks };
}

/** An obdiff/orderbook snapshot (431) in the layout BTCTurk sends, or undefined (general path). */
export function scanBookSnapshot(text: string): FeedBookSnapshot | undefined {
  if (!CANONICAL_SNAPSHOT.test(text)) return undefined;
  const [changeSet, at] = changeSetOf(text);
  const symbolStart = at + SYMBOL_HEAD.length;
  const symbolEnd = text.indexOf('"', symbolStart);
  const asks: BookLevelText[] = [];
  const afterAsks = vouchedSnapshotRows(text, symbolEnd + ASKS_HEAD.length - 1, asks);
  if (afterAsks < 0) return undefined;
  const bids: BookLevelText[] = [];
  const afterBids = vouchedSnapshotRows(text, afterAsks + BIDS_HEAD.length - 1, bids);
  if (afterBids < 0) return undefined;
  // "obdiff" or "orderbook", vouched for by the pattern: the second letter tells them apart.
  const channelLetter = text.charCodeAt(afterBids + CHANNEL_HEAD.length + 1);
  bookReaderCounts.canonicalSnapshots++;
  return {
    kind: 'book-snapshot',
    symbol: text.slice(symbolStart, symbolEnd),
    changeSet,
    periodic: channelLetter === LETTER_R,
    bids,
    asks,
  };
}

// ---- the character reader: any layout --------------------------------------------------------

class GiveUp extends Error {}
const giveUp = new GiveUp();

const KEY_OTHER = 0;
const KEY_CS = 1;
const KEY_PS = 2;
const KEY_AO = 3;
const KEY_BO = 4;
const KEY_A = 5;
const KEY_P = 6;
const KEY_CP = 7;
const LETTER_A = 65;
const LETTER_B = 66;
const LETTER_C = 67;
const LETTER_CAPITAL_O = 79;
const LETTER_P = 80;
const LETTER_S = 83;

/**
 * A cursor over one frame. Hot loops copy the text and position into locals: property and
 * module-variable reads in a per-character loop cost several times a local's (bench/book-apply.ts).
 */
class Reader {
  constructor(
    readonly text: string,
    public at = 0,
  ) {}

  /** Skips whitespace; returns the next character code (NaN at the end). */
  space(): number {
    const text = this.text;
    let at = this.at;
    let c = text.charCodeAt(at);
    if (c > SPACE) return c;
    while (c === SPACE || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++at);
    this.at = at;
    return c;
  }

  expect(code: number): void {
    // Frames rarely carry whitespace: look at the next character before skipping any.
    if (this.text.charCodeAt(this.at) !== code && this.space() !== code) throw giveUp;
    this.at++;
  }

  /**
   * The position of the quote closing a string whose text starts at `start`. No escapes reach here
   * (scanBookDiff refuses any backslash up front); a raw control character, which JSON.parse
   * refuses, makes the reader give up so as not to answer a frame the general path would not.
   */
  private stringEnd(start: number): number {
    const text = this.text;
    const end = text.indexOf('"', start);
    if (end < 0) throw giveUp;
    for (let i = start; i < end; i++) if (text.charCodeAt(i) < SPACE) throw giveUp;
    return end;
  }

  /** Reads a member key and the colon after it; names the keys this reader cares about. */
  key(): number {
    this.expect(QUOTE);
    const text = this.text;
    const start = this.at;
    const end = this.stringEnd(start);
    this.at = end + 1;
    this.expect(COLON);
    const length = end - start;
    const a = text.charCodeAt(start);
    if (length === 1) return a === LETTER_A ? KEY_A : a === LETTER_P ? KEY_P : KEY_OTHER;
    if (length !== 2) return KEY_OTHER;
    const b = text.charCodeAt(start + 1);
    if (b === LETTER_S) return a === LETTER_C ? KEY_CS : a === LETTER_P ? KEY_PS : KEY_OTHER;
    if (b === LETTER_CAPITAL_O) return a === LETTER_A ? KEY_AO : a === LETTER_B ? KEY_BO : KEY_OTHER;
    return a === LETTER_C && b === LETTER_P ? KEY_CP : KEY_OTHER;
  }

  /** A non-empty string (without escapes, see stringEnd). */
  plainString(): string {
    this.expect(QUOTE);
    const start = this.at;
    const end = this.stringEnd(start);
    if (end === start) throw giveUp;
    this.at = end + 1;
    return this.text.slice(start, end);
  }

  /** A whole number written as digits (with a minus when allowed), nothing else. */
  integer(allowMinus: boolean): number {
    const text = this.text;
    let c = this.space();
    let at = this.at;
    let sign = 1;
    if (c === MINUS && allowMinus) {
      sign = -1;
      c = text.charCodeAt(++at);
    }
    const start = at;
    let value = 0;
    while (c >= ZERO && c <= NINE) {
      value = value * 10 + (c - ZERO);
      c = text.charCodeAt(++at);
    }
    if (at === start || c === DOT || c === 101 || c === 69 || value > Number.MAX_SAFE_INTEGER) throw giveUp;
    if (text.charCodeAt(start) === ZERO && at - start > 1) throw giveUp; // JSON has no leading zeros
    this.at = at;
    return sign * value;
  }

  /**
   * A quoted plain decimal: digits with at most one dot, no sign. BTCTurk quotes every decimal; a
   * bare number (which JSON.parse may round) or a minus sign (a problem the general path names)
   * makes the reader give up.
   */
  decimal(): string {
    const text = this.text;
    if (this.space() !== QUOTE) throw giveUp;
    let at = this.at + 1;
    const start = at;
    let c = text.charCodeAt(at);
    let digits = 0;
    let dots = 0;
    for (;;) {
      if (c >= ZERO && c <= NINE) digits++;
      else if (c === DOT) dots++;
      else break;
      c = text.charCodeAt(++at);
    }
    if (digits === 0 || dots > 1 || c !== QUOTE) throw giveUp;
    this.at = at + 1;
    return text.slice(start, at);
  }

  /**
   * Skips any JSON value, without recursion: the containers still open are a stack of their
   * closing characters, so a value nested any depth costs memory in proportion, never the call
   * stack (a recursive skip threw RangeError at a few thousand levels and took the process down).
   */
  skip(): void {
    const text = this.text;
    const open: number[] = [];
    for (;;) {
      // One value starts here.
      const c = this.space();
      if (c === QUOTE) {
        this.at = this.stringEnd(this.at + 1) + 1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
        this.at++;
        if (this.space() === close) {
          this.at++;
        } else {
          open.push(close);
          if (close === CLOSE_BRACE) this.key();
          continue; // its first member's value
        }
      } else {
        SCALAR.lastIndex = this.at;
        if (!SCALAR.test(text)) throw giveUp;
        this.at = SCALAR.lastIndex;
      }
      // The value ended: close what ends here; a comma starts the next value of the innermost.
      for (;;) {
        const close = open[open.length - 1];
        if (close === undefined) return;
        const next = this.space();
        this.at++;
        if (next === close) {
          open.pop();
          continue;
        }
        if (next !== COMMA) throw giveUp;
        if (close === CLOSE_BRACE) this.key();
        break;
      }
    }
  }

  /** `[{"CP":…,"P":…,"A":…}, …]` */
  rows(): BookLevelChange[] {
    const out: BookLevelChange[] = [];
    this.expect(OPEN_BRACKET);
    if (this.space() === CLOSE_BRACKET) {
      this.at++;
      return out;
    }
    for (;;) {
      out.push(this.row());
      const next = this.space();
      this.at++;
      if (next === CLOSE_BRACKET) return out;
      if (next !== COMMA) throw giveUp;
    }
  }

  /** One row with its members in any order, among others. */
  private row(): BookLevelChange {
    let price: string | undefined;
    let quantity: string | undefined;
    let kind: number | undefined;
    this.expect(OPEN_BRACE);
    if (this.space() === CLOSE_BRACE) {
      this.at++;
    } else {
      for (;;) {
        const k = this.key();
        if (k === KEY_P) price = this.decimal();
        else if (k === KEY_A) quantity = this.decimal();
        else if (k === KEY_CP) kind = this.integer(false);
        else this.skip();
        const next = this.space();
        this.at++;
        if (next === CLOSE_BRACE) break;
        if (next !== COMMA) throw giveUp;
      }
    }
    // Checked once the row is complete: JSON.parse lets a repeated key override an earlier one.
    if (price === undefined || quantity === undefined || kind === undefined || !isKnownChangeKind(kind))
      throw giveUp;
    if (!positive(price, 0, price.length)) throw giveUp;
    return { price, quantity, remove: kind === CHANGE_KIND.deleted };
  }
}

/** Digits with at most one dot (and a leading minus when allowed): the only decimal text books accept. */
export function isPlainDecimal(text: string, allowMinus: boolean): boolean {
  let i = allowMinus && text.charCodeAt(0) === MINUS ? 1 : 0;
  let digits = 0;
  let dots = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= ZERO && c <= NINE) digits++;
    else if (c === DOT && dots === 0) dots++;
    else return false;
  }
  return digits > 0;
}

/** True for plain decimal text with a non-zero digit (a usable price); false for "0", "0.00", "-1". */
export function isPositivePlainDecimal(text: string): boolean {
  return isPlainDecimal(text, false) && positive(text, 0, text.length);
}

/** A change set read by the character reader (any layout), or undefined. */
function scannedDiff(frame: string): FeedBookDiff | undefined {
  // Escapes are legal JSON but BTCTurk never sends them in book frames; refusing them here lets
  // every string end at the next quote. (The canonical pattern refuses them itself.)
  if (frame.includes('\\')) return undefined;
  const reader = new Reader(frame);
  try {
    reader.expect(OPEN_BRACKET);
    if (reader.integer(false) !== 432) return undefined;
    reader.expect(COMMA);
    let symbol: string | undefined;
    let changeSet: number | undefined;
    let asks: BookLevelChange[] | undefined;
    let bids: BookLevelChange[] | undefined;
    reader.expect(OPEN_BRACE);
    if (reader.space() === CLOSE_BRACE) return undefined;
    for (;;) {
      const k = reader.key();
      if (k === KEY_CS) changeSet = reader.integer(false);
      else if (k === KEY_PS) symbol = reader.plainString();
      else if (k === KEY_AO) asks = reader.rows();
      else if (k === KEY_BO) bids = reader.rows();
      else reader.skip();
      const next = reader.space();
      reader.at++;
      if (next === CLOSE_BRACE) break;
      if (next !== COMMA) return undefined;
    }
    reader.expect(CLOSE_BRACKET);
    reader.space();
    if (reader.at !== frame.length) return undefined;
    if (symbol === undefined || changeSet === undefined || asks === undefined || bids === undefined)
      return undefined;
    return { kind: 'book-diff', symbol, changeSet, bids, asks };
  } catch {
    // GiveUp, or anything else (a regular expression out of stack on a giant frame, say): the
    // general path decides, and it never throws either.
    return undefined;
  }
}

/** Which reader answers a change set: for tests and the benchmark, off the hot path. */
export type DiffReaderPath = 'canonical' | 'scanned' | 'general';

export function bookDiffPath(frame: string): DiffReaderPath {
  if (canonicalDiff(frame) !== undefined) return 'canonical';
  return scannedDiff(frame) !== undefined ? 'scanned' : 'general';
}

/** An obdiff change set read from the frame text, or undefined when the general parser must decide. */
export function scanBookDiff(frame: string): FeedBookDiff | undefined {
  const canonical = canonicalDiff(frame);
  if (canonical !== undefined) {
    bookReaderCounts.canonicalDiffs++;
    return canonical;
  }
  const scanned = scannedDiff(frame);
  if (scanned !== undefined) bookReaderCounts.scannedDiffs++;
  return scanned;
}
