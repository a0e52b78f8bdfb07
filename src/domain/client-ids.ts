import { systemClock, type Clock } from './clock.ts';
import { ConfigError } from './errors.ts';
import { randomInt, type Random } from './random.ts';

// Client order ids are how an order whose submit outcome is unknown is found again on the exchange,
// and how our orders are told from hand-placed ones: `<prefix>-<time><counter><random>`. The part
// after the separator is lower-case base36 only, so no other prefix (whose ids would contain a
// second "-" or "_") can pass for ours.

const PREFIX = /^[A-Za-z0-9_-]{1,12}$/;
const SEPARATOR = '-';
const COUNTER_WIDTH = 4; // 36^4 ids per millisecond before the counter wraps
const RANDOM_WIDTH = 8; // ~41 bits: two processes sharing a prefix still do not collide
const COUNTER_SPAN = 36 ** COUNTER_WIDTH;
const RANDOM_CHUNK = 36 ** 4;

let counter = 0;

/** Throws a ConfigError unless the prefix is 1–12 characters of letters, digits, "-" and "_". */
export function validateClientIdPrefix(prefix: string): string {
  if (!PREFIX.test(prefix))
    throw new ConfigError(
      'instance prefix',
      `${JSON.stringify(prefix)} must be 1 to 12 characters of letters, digits, "-" and "_"`,
    );
  return prefix;
}

function base36(value: number, width: number): string {
  return value.toString(36).padStart(width, '0');
}

/** A fresh client order id: unique per process by its counter, across processes by time and randomness. */
export function newClientOrderId(prefix: string, random: Random, clock: Clock = systemClock): string {
  validateClientIdPrefix(prefix);
  counter = (counter + 1) % COUNTER_SPAN;
  const suffix =
    base36(randomInt(random, 0, RANDOM_CHUNK - 1), 4) + base36(randomInt(random, 0, RANDOM_CHUNK - 1), 4);
  // At most 12 + 1 + 9 (time, until the year 5188) + 4 + 8 = 34 of the 50 characters allowed.
  return prefix + SEPARATOR + Math.trunc(clock.now()).toString(36) + base36(counter, COUNTER_WIDTH) + suffix;
}

const OWN_BODY = new RegExp(`^[0-9a-z]{${COUNTER_WIDTH + RANDOM_WIDTH + 1},}$`);

/** True when the id was made by `newClientOrderId` with this prefix. */
export function isOwnClientOrderId(clientOrderId: string, prefix: string): boolean {
  const head = prefix + SEPARATOR;
  return clientOrderId.startsWith(head) && OWN_BODY.test(clientOrderId.slice(head.length));
}
