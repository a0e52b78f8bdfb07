import type { JsonValue } from './json.ts';

// BTCTurk's reply envelope. Reads answer with `message: null`, order writes with "SUCCESS": both
// occur on the real exchange and a client must accept either. The captured replies put `data`
// first (frames.jsonl rest-ticker-unknown-pair, rest-user-trades-empty); the docs' examples put it
// last — key order means nothing to a JSON reader, the simulator follows the captures.
export function success(data: JsonValue, message: string | null = null): JsonValue {
  return { data, success: true, message, code: 0 };
}

export function failure(message: string, code: number, extra: Record<string, JsonValue> = {}): JsonValue {
  return { success: false, message, code, ...extra };
}

/** A success with no `data` member at all, as BTCTurk answers an accepted cancel. */
export function acknowledged(message: string): JsonValue {
  return { success: true, message, code: 0 };
}
