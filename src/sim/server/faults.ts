import { ConfigError } from '../../domain/errors.ts';
import { seededRandom, type Random } from '../../domain/random.ts';

// The simulator's fault switches (DESIGN §4: the names are a public interface, keep them stable).
// Each probability fault draws from its own stream seeded from the run's seed and the fault's name,
// one draw per opportunity (request, change set), so its decisions replay from `--seed` and switching
// one fault on never shifts the decisions of another. "Order write" means POST and DELETE
// /api/v1/order; for a DELETE, "accept" is the cancel being accepted.

export const PROBABILITY_FAULTS = {
  'timeout-after-accept':
    'order write processed, reply never sent: the response is held until the client gives up',
  'reset-before-accept': 'order write: the connection is destroyed before the request is processed',
  'error-5xx': 'any /api request answers 503 or 500 without any effect',
  'error-5xx-after-accept':
    'order write processed, then answered 500 (scenario S4: 5xx but the order was placed)',
  'reply-200-failure': 'POST /order answered HTTP 200 with success:false (1120 or 1118), nothing placed',
  'rate-limit-storm':
    'a rate-limited request answers a spurious 429 with Retry-After and blocks its group meanwhile',
  'ws-gap': 'an obdiff change set is not delivered; the CS sequence still advances',
} as const;

export const DURATION_FAULTS = {
  'ws-drop-every': 'every period, every open WebSocket is dropped without a close frame',
  'ws-silence-every':
    'every period, every open WebSocket goes silent (stays open, sends nothing, answers no ping)',
  'clock-skew-ms': "the simulator's clock runs this far ahead (negative: behind) of the system clock",
  'latency-ms': 'every /api request waits this long before it is processed',
  'cancel-delay-ms': 'an accepted DELETE /order completes (order leaves the book) this much later',
  'visibility-delay-ms':
    'a new order shows in openOrders, allOrders and order/{id} only this long after placement (S7)',
} as const;

export type ProbabilityFault = keyof typeof PROBABILITY_FAULTS;
export type DurationFault = keyof typeof DURATION_FAULTS;
export type FaultName = ProbabilityFault | DurationFault;
export type FaultInput = string | number;

/** A fault's value when it is not set; cancels on BTCTurk are asynchronous even without a fault. */
const DEFAULTS: Readonly<Record<FaultName, number>> = {
  ...mapValues(PROBABILITY_FAULTS, 0),
  ...mapValues(DURATION_FAULTS, 0),
  'cancel-delay-ms': 50,
};

const MAY_BE_NEGATIVE: ReadonlySet<FaultName> = new Set(['clock-skew-ms']);
/**
 * Periods: 0 is off (what GET /sim/faults shows when they are), any other value needs its unit in
 * text (`30s`, `500ms`): a bare `30` is refused rather than taken as 30 milliseconds. A JSON number
 * (POST /sim/faults) is milliseconds, the unit GET shows. Faults named `…-ms` take bare milliseconds.
 */
const PERIODS: ReadonlySet<FaultName> = new Set(['ws-drop-every', 'ws-silence-every']);

function mapValues<K extends string>(record: Record<K, string>, value: number): Record<K, number> {
  return Object.fromEntries(Object.keys(record).map((key) => [key, value])) as Record<K, number>;
}

export const FAULT_NAMES: readonly FaultName[] = Object.keys(DEFAULTS) as FaultName[];

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(DEFAULTS, name);
}

function isProbabilityFault(name: FaultName): name is ProbabilityFault {
  return Object.hasOwn(PROBABILITY_FAULTS, name);
}

/** The longest delay setTimeout/setInterval honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const DURATION_TEXT = /^(-?\d+(?:\.\d+)?)(ms|s|m)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** Milliseconds from `30s`, `500ms`, `2m` or a plain number of milliseconds. */
function parseDurationMs(text: string): number | undefined {
  const match = DURATION_TEXT.exec(text.trim());
  if (!match?.[1]) return undefined;
  const unit = (match[2] ?? 'ms') as keyof typeof UNIT_MS;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}

/** Validates one fault's value; a problem is a ConfigError naming the fault and the value. */
export function parseFaultValue(name: string, input: FaultInput): number {
  if (!isFaultName(name))
    throw new ConfigError('fault', `unknown fault "${name}"; known faults: ${FAULT_NAMES.join(', ')}`);
  const setting = `fault ${name}`;
  const text = String(input).trim();
  if (isProbabilityFault(name)) {
    const p = Number(text);
    if (text === '' || !Number.isFinite(p) || p < 0 || p > 1)
      throw new ConfigError(setting, `expected a probability between 0 and 1, got ${JSON.stringify(input)}`);
    return p;
  }
  if (PERIODS.has(name) && typeof input === 'string' && /^-?\d+(?:\.\d+)?$/.test(text) && Number(text) !== 0)
    throw new ConfigError(
      setting,
      `${JSON.stringify(input)} has no unit: add ms or s (e.g. ${text}s or ${text}ms); a period is not taken as milliseconds`,
    );
  const ms = typeof input === 'number' ? input : parseDurationMs(text);
  if (ms === undefined || !Number.isFinite(ms))
    throw new ConfigError(
      setting,
      `expected a duration such as 500ms, 30s or 2m, got ${JSON.stringify(input)}`,
    );
  if (ms < 0 && !MAY_BE_NEGATIVE.has(name))
    throw new ConfigError(setting, `must not be negative, got ${JSON.stringify(input)}`);
  // Every duration fault ends up in a timer, and Node fires a timer longer than 2^31-1 ms at once.
  if (Math.abs(ms) > MAX_TIMER_MS)
    throw new ConfigError(
      setting,
      `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest a timer can wait), got ${JSON.stringify(input)}`,
    );
  return Math.round(ms);
}

/** Validates a change as Faults.set would make it (null clears); returns the parsed value. */
export function checkFault(name: string, value: FaultInput | null): number | null {
  if (value !== null) return parseFaultValue(name, value);
  if (!isFaultName(name)) parseFaultValue(name, 0); // throws, naming the unknown fault
  return null;
}

/** Splits `NAME=VALUE` (the CLI's --fault form) and validates it. */
export function parseFaultArg(arg: string): [FaultName, number] {
  const eq = arg.indexOf('=');
  if (eq <= 0)
    throw new ConfigError('--fault', `expected NAME=VALUE such as error-5xx=0.2, got ${JSON.stringify(arg)}`);
  const name = arg.slice(0, eq).trim();
  const value = parseFaultValue(name, arg.slice(eq + 1));
  return [name as FaultName, value];
}

/** The live fault settings of one simulator; changed at run time through /sim/faults. */
export class Faults {
  private readonly values = new Map<FaultName, number>();
  private readonly listeners = new Set<(name: FaultName) => void>();
  /** How often each fault actually took effect (struck a request, hid an order, cut a socket, ...). */
  private readonly struck = new Map<FaultName, number>();
  private readonly streams: ReadonlyMap<ProbabilityFault, Random>;

  constructor(seed: number, initial: Readonly<Record<string, FaultInput>> = {}) {
    this.streams = new Map(
      (Object.keys(PROBABILITY_FAULTS) as ProbabilityFault[]).map((name) => [
        name,
        seededRandom(seed ^ fnv1a(name)),
      ]),
    );
    for (const [name, value] of Object.entries(initial)) this.set(name, value);
  }

  /** Sets a fault (validated) or, with null, clears it back to its default. */
  set(name: string, value: FaultInput | null): void {
    const parsed = checkFault(name, value);
    if (parsed === null) this.values.delete(name as FaultName);
    else this.values.set(name as FaultName, parsed);
    for (const listener of this.listeners) listener(name as FaultName);
  }

  value(name: FaultName): number {
    return this.values.get(name) ?? DEFAULTS[name];
  }

  /** Every fault with its effective value. */
  snapshot(): Record<FaultName, number> {
    return Object.fromEntries(FAULT_NAMES.map((name) => [name, this.value(name)])) as Record<
      FaultName,
      number
    >;
  }

  /** True when the fault was set (not left at its default, as cancel-delay-ms's 50 ms is). */
  isSet(name: FaultName): boolean {
    return this.values.has(name);
  }

  /** One seeded draw: does this probability fault strike the current request? No draw when it is off. */
  strikes(name: ProbabilityFault): boolean {
    const p = this.value(name);
    if (p <= 0) return false;
    const struck = this.stream(name).next() < p;
    if (struck) this.hit(name);
    return struck;
  }

  /** Counts one occasion on which a fault took effect; strikes() counts its own. */
  hit(name: FaultName): void {
    this.struck.set(name, (this.struck.get(name) ?? 0) + 1);
  }

  /** Every fault with the number of times it took effect since the simulator started. */
  hits(): Record<FaultName, number> {
    return Object.fromEntries(FAULT_NAMES.map((name) => [name, this.struck.get(name) ?? 0])) as Record<
      FaultName,
      number
    >;
  }

  /** The fault's own stream, for a secondary choice once it has struck (503 or 500, how long a block). */
  stream(name: ProbabilityFault): Random {
    const stream = this.streams.get(name);
    if (!stream) throw new Error(`no random stream for fault ${name}`);
    return stream;
  }

  onChange(listener: (name: FaultName) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** 32-bit FNV-1a of a name, to derive one seed per fault. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}
