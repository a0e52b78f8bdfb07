import type { BookLevelChange, FeedBookDiff } from '../../ports/market-feed.ts';

// The hot path of the feed: a reader of obdiff change sets (type 432) straight from the frame text.
// JSON.parse builds a generic object tree first and costs most of the time of a change set
// (bench/book-apply.ts measures it); this reader builds only the rows. Whatever it does not
// recognise with certainty (an escape in a string, a missing field, a row value that is not a plain
// decimal, a CS that is not a whole number) makes it give up and return undefined, and the frame
// takes the general zod path in messages.ts, which states the problem. So it can only be faster,
// not more lenient (raw control characters inside a string the general reader skips aside):
// test/btcturk-ws/diff-scanner.test.ts checks what it answers against a JSON.parse reading.
//
// Two readers: one for the exact layout BTCTurk sends, which is nearly every frame, and a general
// one for any other layout JSON allows (whitespace, member order, bare numbers, extra members).

/** CP of a row that removes the level (btcturk-api.md §8; the values as src/sim/server encodes them). */
export const CP_REMOVED = 2;

const QUOTE = 34;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const COLON = 58;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** A literal or number of JSON, read in place (sticky) by skip(). */
const SCALAR = /true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** A JSON number without exponent, as a bare (unquoted) decimal must be. */
const BARE_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;

// ---- the layout BTCTurk sends --------------------------------------------------------------------
// One regular expression vouches for the whole frame in the exact layout BTCTurk sends; the values
// are then cut out by position, with no check left to make. Regular expressions run as native code
// over the characters, several times faster than a JS loop of charCodeAt (which is what the reader
// of any other layout, below, has to be), and test() allocates nothing.

/**
 * Digits with at most one dot and at least one digit: the decimals books accept. Written so that
 * there is only one way to match any text (as is every part of CANONICAL): a failed match then
 * backtracks in linear time, whatever a hostile frame holds.
 */
const DECIMAL = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
/** JSON's whole number, at most 15 digits so that its double is exact. */
const WHOLE = String.raw`(?:0|[1-9]\d{0,14})`;
/** A JSON string without escapes or raw control characters (which JSON.parse refuses). */
const STRING = String.raw`"[^"\\\x00-\x1f]*"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
/** A row: a (possibly negative: the book names and refuses it) amount, a price, and CP. */
const ROW = String.raw`\{"A":"-?${DECIMAL}","P":"${DECIMAL}","CP":-?${WHOLE}\}`;
const ROWS = String.raw`\[(?:${ROW}(?:,${ROW})*)?\]`;
/**
 * The members after the book's (`"channel":"obdiff","event":"BTCTRY","type":432`): string and
 * number values under keys of any length but two. A two-letter key could be a second CS, PS, AO
 * or BO, which JSON.parse would let override the first: the general reader decides those.
 */
const OTHER_MEMBER = String.raw`,"(?:[^"\\\x00-\x1f]?|[^"\\\x00-\x1f]{3,})":(?:${STRING}|${NUMBER})`;
const CANONICAL = new RegExp(
  String.raw`^\[432,\{"CS":${WHOLE},"PS":"[^"\\\x00-\x1f]+","AO":${ROWS},"BO":${ROWS}(?:${OTHER_MEMBER})*\}\]$`,
);

const FRAME_HEAD = '[432,{"CS":';
const SYMBOL_HEAD = ',"PS":"';
const ASKS_HEAD = '","AO":[';
const BIDS_HEAD = ',"BO":[';
const ROW_HEAD = '{"A":"';
const ROW_PRICE = '","P":"';
const ROW_KIND = '","CP":';
const DIGIT_TWO = 50;

/**
 * The rows of one side, from just inside its `[`, onto `out`; the position after its `]`. Only for
 * text CANONICAL has matched: every delimiter is where the layout puts it.
 */
function vouchedRows(text: string, at: number, out: BookLevelChange[]): number {
  if (text.charCodeAt(at) === CLOSE_BRACKET) return at + 1;
  for (;;) {
    const quantityStart = at + ROW_HEAD.length;
    const quantityEnd = text.indexOf('"', quantityStart);
    const priceStart = quantityEnd + ROW_PRICE.length;
    const priceEnd = text.indexOf('"', priceStart);
    const kindStart = priceEnd + ROW_KIND.length;
    const kindEnd = text.indexOf('}', kindStart);
    out.push({
      price: text.slice(priceStart, priceEnd),
      quantity: text.slice(quantityStart, quantityEnd),
      remove: kindEnd === kindStart + 1 && text.charCodeAt(kindStart) === DIGIT_TWO, // CP is exactly 2
    });
    at = kindEnd + 1;
    if (text.charCodeAt(at++) === CLOSE_BRACKET) return at;
  }
}

/** A change set in the layout BTCTurk sends, or undefined for any other layout. */
function canonicalFrame(text: string): FeedBookDiff | undefined {
  if (!CANONICAL.test(text)) return undefined;
  let changeSet = 0;
  let at = FRAME_HEAD.length;
  for (let c = text.charCodeAt(at); c !== COMMA; c = text.charCodeAt(++at))
    changeSet = changeSet * 10 + (c - ZERO);
  const symbolStart = at + SYMBOL_HEAD.length;
  const symbolEnd = text.indexOf('"', symbolStart);
  const asks: BookLevelChange[] = [];
  at = vouchedRows(text, symbolEnd + ASKS_HEAD.length, asks);
  const bids: BookLevelChange[] = [];
  vouchedRows(text, at + BIDS_HEAD.length, bids);
  return { kind: 'book-diff', symbol: text.slice(symbolStart, symbolEnd), changeSet, bids, asks };
}

// ---- the general reader: any layout ----------------------------------------------------------

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
const LETTER_O = 79;
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

  /** Skips whitespace; returns the next character code. */
  space(): number {
    const text = this.text;
    let at = this.at;
    let c = text.charCodeAt(at);
    if (c > 32) return c;
    while (c === 32 || c === 10 || c === 13 || c === 9) c = text.charCodeAt(++at);
    this.at = at;
    return c;
  }

  expect(code: number): void {
    // Frames rarely carry whitespace: look at the next character before skipping any.
    if (this.text.charCodeAt(this.at) !== code && this.space() !== code) throw giveUp;
    this.at++;
  }

  /** Reads a member key and the colon after it; names the keys this reader cares about. */
  key(): number {
    this.expect(QUOTE);
    const text = this.text;
    const start = this.at;
    const end = text.indexOf('"', start); // no escapes: scanBookDiff refuses any backslash up front
    if (end < 0) throw giveUp;
    this.at = end + 1;
    this.expect(COLON);
    const length = end - start;
    const a = text.charCodeAt(start);
    if (length === 1) return a === LETTER_A ? KEY_A : a === LETTER_P ? KEY_P : KEY_OTHER;
    if (length !== 2) return KEY_OTHER;
    const b = text.charCodeAt(start + 1);
    if (b === LETTER_S) return a === LETTER_C ? KEY_CS : a === LETTER_P ? KEY_PS : KEY_OTHER;
    if (b === LETTER_O) return a === LETTER_A ? KEY_AO : a === LETTER_B ? KEY_BO : KEY_OTHER;
    return a === LETTER_C && b === LETTER_P ? KEY_CP : KEY_OTHER;
  }

  /** A string (without escapes, see key). */
  plainString(): string {
    this.expect(QUOTE);
    const start = this.at;
    const end = this.text.indexOf('"', start);
    if (end < 0) throw giveUp;
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

  /** A decimal field, quoted or bare: digits with at most one dot (and a leading minus if allowed). */
  decimal(allowMinus: boolean): string {
    const text = this.text;
    const quoted = this.space() === QUOTE;
    let at = quoted ? this.at + 1 : this.at;
    const start = at;
    let c = text.charCodeAt(at);
    if (c === MINUS && allowMinus) c = text.charCodeAt(++at);
    let digits = 0;
    let dots = 0;
    for (;;) {
      if (c >= ZERO && c <= NINE) digits++;
      else if (c === DOT) dots++;
      else break;
      c = text.charCodeAt(++at);
    }
    if (digits === 0 || dots > 1) throw giveUp;
    const value = text.slice(start, at);
    if (quoted) {
      if (c !== QUOTE) throw giveUp;
      at++;
    } else if (!BARE_NUMBER.test(value) || c === 101 || c === 69) {
      throw giveUp; // not JSON's number grammar, or an exponent: not plain text
    }
    this.at = at;
    return value;
  }

  /** Skips any JSON value. */
  skip(): void {
    const text = this.text;
    const c = this.space();
    if (c === QUOTE) {
      const end = text.indexOf('"', this.at + 1);
      if (end < 0) throw giveUp;
      this.at = end + 1;
      return;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const close = c === OPEN_BRACE ? CLOSE_BRACE : CLOSE_BRACKET;
      this.at++;
      if (this.space() === close) {
        this.at++;
        return;
      }
      for (;;) {
        if (c === OPEN_BRACE) this.key();
        this.skip();
        const next = this.space();
        this.at++;
        if (next === close) return;
        if (next !== COMMA) throw giveUp;
      }
    }
    SCALAR.lastIndex = this.at;
    if (!SCALAR.test(text)) throw giveUp;
    this.at = SCALAR.lastIndex;
  }

  /** `[{"A":…,"P":…,"CP":…}, …]` */
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
        if (k === KEY_P) price = this.decimal(false);
        else if (k === KEY_A) quantity = this.decimal(true);
        else if (k === KEY_CP) kind = this.integer(true);
        else this.skip();
        const next = this.space();
        this.at++;
        if (next === CLOSE_BRACE) break;
        if (next !== COMMA) throw giveUp;
      }
    }
    if (price === undefined || quantity === undefined || kind === undefined) throw giveUp;
    return { price, quantity, remove: kind === CP_REMOVED };
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

/** An obdiff change set read from the frame text, or undefined when the general parser must decide. */
export function scanBookDiff(frame: string): FeedBookDiff | undefined {
  const canonical = canonicalFrame(frame);
  if (canonical !== undefined) return canonical;
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
  } catch (error) {
    if (error === giveUp) return undefined;
    throw error;
  }
}
