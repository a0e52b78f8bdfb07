// BTCTurk writes some ids as bare JSON integers that exceed 2^53 (trade ids such as
// 1181163798924649598). JSON.stringify cannot produce such a literal from a string, so the
// simulator writes its JSON text itself: a `RawNumber` is emitted verbatim, everything else as
// JSON.stringify would. A client that JSON.parses naively loses precision exactly as it would
// against the real exchange.

const NUMBER_LITERAL = /^-?(0|[1-9]\d*)(\.\d+)?$/;

export class RawNumber {
  constructor(readonly text: string) {
    if (!NUMBER_LITERAL.test(text)) throw new Error(`not a JSON number literal: ${JSON.stringify(text)}`);
  }
}

/** A digit string (an id, a decimal's text) written into the JSON text as a bare number. */
export function rawNumber(text: string): RawNumber {
  return new RawNumber(text);
}

export type JsonValue =
  | null
  | boolean
  | number
  | string
  | RawNumber
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue | undefined };

/** JSON text of `value`; object members whose value is undefined are left out, as JSON.stringify does. */
export function jsonText(value: JsonValue): string {
  if (value === null) return 'null';
  if (value instanceof RawNumber) return value.text;
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as JSON`);
    return JSON.stringify(value);
  }
  if (isArray(value)) return `[${value.map(jsonText).join(',')}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value)) {
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${jsonText(member)}`);
  }
  return `{${members.join(',')}}`;
}

function isArray(value: JsonValue): value is readonly JsonValue[] {
  return Array.isArray(value);
}
