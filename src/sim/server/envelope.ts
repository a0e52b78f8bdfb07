import type { JsonValue } from './json.ts';

// BTCTurk's reply envelope. Reads answer with `message: null`, order writes with "SUCCESS": both
// occur on the real exchange and a client must accept either.
export function success(data: JsonValue, message: string | null = null): JsonValue {
  return { success: true, message, code: 0, data };
}

export function failure(message: string, code: number, extra: Record<string, JsonValue> = {}): JsonValue {
  return { success: false, message, code, ...extra };
}
