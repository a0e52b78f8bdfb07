import { isSafeNumber, parse } from 'lossless-json';

// A number that survives the trip through a double (timestamps, small ids, most prices) stays a
// number; any other keeps its exact digits as a string: trade ids above 2^53, long decimals.
function parseNumber(text: string): number | string {
  return isSafeNumber(text) ? Number(text) : text;
}

/** JSON.parse that loses no digits. Throws SyntaxError on text that is not JSON. */
export function parseJsonLossless(text: string): unknown {
  return parse(text, null, parseNumber);
}
