import assert from 'node:assert/strict';
import { isLosslessNumber, parse } from 'lossless-json';
import { parseFrame, parseFrameGeneral, type ParsedFrame } from '../../src/btcturk/websocket/messages.ts';
import { randomInt, type Random } from '../../src/domain/random.ts';

// Mutations of real BTCTurk frames for the WebSocket fuzz test (test/wire/ws-fuzz.test.ts) and its
// longer run (bench/wire-fuzz.ts), and the check every mutated frame must pass: parseFrame never
// throws, answers events or a typed failure, agrees with the general reader alone, and yields no
// event that would put a wrong value into a book or an order (a zero price, a negative amount).
// All randomness comes from the caller's seeded Random, so a failure replays from its seed.

/** A JSON value kept as tokens: members in order (duplicates allowed), scalars as their exact text. */
type Node =
  | { readonly t: 'obj'; entries: [string, Node][] }
  | { readonly t: 'arr'; items: Node[] }
  | { readonly t: 'raw'; text: string };

function toNode(value: unknown): Node {
  if (isLosslessNumber(value)) return { t: 'raw', text: value.value };
  if (Array.isArray(value)) return { t: 'arr', items: value.map(toNode) };
  if (value !== null && typeof value === 'object')
    return { t: 'obj', entries: Object.entries(value).map(([k, v]) => [k, toNode(v)]) };
  return { t: 'raw', text: JSON.stringify(value) };
}

/** The frame as a tree whose numbers keep their exact text (lossless-json without a number parser). */
export function frameTree(text: string): Node {
  return toNode(parse(text));
}

export function serialize(node: Node, space: () => string = () => ''): string {
  if (node.t === 'raw') return node.text;
  if (node.t === 'arr')
    return `[${space()}${node.items.map((n) => serialize(n, space)).join(`,${space()}`)}${space()}]`;
  return `{${space()}${node.entries
    .map(([k, v]) => `${JSON.stringify(k)}${space()}:${space()}${serialize(v, space)}`)
    .join(`,${space()}`)}${space()}}`;
}

function pick<T>(random: Random, list: readonly T[]): T {
  const item = list[randomInt(random, 0, list.length - 1)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

/** Every container in the tree, with its depth. */
function containers(node: Node, out: Node[] = []): Node[] {
  if (node.t === 'raw') return out;
  out.push(node);
  for (const child of node.t === 'arr' ? node.items : node.entries.map(([, v]) => v)) containers(child, out);
  return out;
}

/** Every scalar slot: the container and the index of the scalar in it. */
function scalars(node: Node): { holder: Node; index: number }[] {
  const out: { holder: Node; index: number }[] = [];
  for (const c of containers(node)) {
    const children = c.t === 'arr' ? c.items : c.t === 'obj' ? c.entries.map(([, v]) => v) : [];
    children.forEach((child, index) => {
      if (child.t === 'raw') out.push({ holder: c, index });
    });
  }
  return out;
}

function setChild(holder: Node, index: number, value: Node): void {
  if (holder.t === 'arr') holder.items[index] = value;
  else if (holder.t === 'obj') {
    const entry = holder.entries[index];
    if (entry) entry[1] = value;
  }
}

const DEEP = /[[{]{64}/;
const deepArray = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Number texts that break assumptions: huge, negative, exponent, beyond a double, zero. */
const HOSTILE_NUMBERS = [
  '0',
  '-0',
  '-1',
  '-205.24',
  '1e400',
  '-1e400',
  '1e-7',
  '2.5E+3',
  '9007199254740993',
  '123456789012345678901234567890',
  '0.10000000000000000000000000001',
  '3',
  '2',
  '4',
  '-3',
  '1.5',
];
/** Decimal-string values that break assumptions. */
const HOSTILE_STRINGS = [
  '"0"',
  '"0.000"',
  '"-1"',
  '"-0.5"',
  '""',
  '" 1"',
  '"1e5"',
  '"1,5"',
  '"1.2.3"',
  '"."',
  '"NaN"',
  '"Infinity"',
  `"${'9'.repeat(400)}"`,
  '"\\u0031"',
  '"x"',
];
const HOSTILE_VALUES = ['null', 'true', '[]', '{}', '[1,[2,[3]]]', '{"a":{"b":{}}}', '"a\\"b"'];
const FLIP_CHARS = [
  '"',
  '\\',
  ',',
  ':',
  '{',
  '}',
  '[',
  ']',
  '-',
  '.',
  '0',
  '9',
  'e',
  ' ',
  '\u0000',
  '\u001f',
  '\u00e9',
  '\ud800',
  'x',
];

export const MUTATIONS = [
  'flip',
  'truncate',
  'delete-member',
  'duplicate-member',
  'number',
  'decimal-string',
  'value-type',
  'deep-nesting',
  'giant-string',
  'reorder',
  'whitespace',
  'change-kind',
  'frame-type',
] as const;
export type Mutation = (typeof MUTATIONS)[number];

/** One mutation of `text` (a frame); the name says which, for the failure message. */
export function mutate(text: string, random: Random, kind: Mutation = pick(random, MUTATIONS)): string {
  if (kind === 'flip') {
    const at = randomInt(random, 0, Math.max(0, text.length - 1));
    return text.slice(0, at) + pick(random, FLIP_CHARS) + text.slice(at + 1);
  }
  if (kind === 'truncate') return text.slice(0, randomInt(random, 0, Math.max(0, text.length - 1)));
  // Already nested deep (a previous mutation): the tree cannot be built, keep damaging the text.
  if (DEEP.test(text)) return mutate(text, random, random.next() < 0.5 ? 'flip' : 'truncate');
  let tree: Node;
  try {
    tree = frameTree(text);
  } catch {
    return mutate(text, random, 'flip'); // already not JSON: keep damaging the text
  }
  const objects = containers(tree).filter((n): n is Extract<Node, { t: 'obj' }> => n.t === 'obj');
  const anyObject = objects.length > 0 ? pick(random, objects) : null;
  switch (kind) {
    case 'delete-member':
      if (anyObject && anyObject.entries.length > 0)
        anyObject.entries.splice(randomInt(random, 0, anyObject.entries.length - 1), 1);
      break;
    case 'duplicate-member':
      if (anyObject && anyObject.entries.length > 0) {
        const [key, value] = pick(random, anyObject.entries);
        const copy = frameTree(serialize(value));
        const slots = scalars({ t: 'arr', items: [copy] });
        if (slots.length > 0 && random.next() < 0.7) {
          const slot = pick(random, slots);
          setChild(slot.holder, slot.index, {
            t: 'raw',
            text: pick(random, [...HOSTILE_NUMBERS, ...HOSTILE_STRINGS]),
          });
        }
        anyObject.entries.splice(randomInt(random, 0, anyObject.entries.length), 0, [key, copy]);
      }
      break;
    case 'number':
    case 'decimal-string':
    case 'value-type':
    case 'change-kind': {
      let slots = scalars(tree);
      if (kind === 'number') slots = slots.filter((s) => /^-?\d/.test(childText(s)));
      if (kind === 'decimal-string') slots = slots.filter((s) => /^"-?[\d.]+"$/.test(childText(s)));
      if (kind === 'change-kind')
        slots = slots.filter((s) => s.holder.t === 'obj' && s.holder.entries[s.index]?.[0] === 'CP');
      if (slots.length === 0) return mutate(text, random, 'flip');
      const slot = pick(random, slots);
      const replacement =
        kind === 'number'
          ? pick(random, HOSTILE_NUMBERS)
          : kind === 'decimal-string'
            ? pick(random, HOSTILE_STRINGS)
            : kind === 'change-kind'
              ? String(randomInt(random, -2, 6))
              : pick(random, [
                  ...HOSTILE_VALUES,
                  ...HOSTILE_NUMBERS.slice(0, 4),
                  ...HOSTILE_STRINGS.slice(0, 4),
                ]);
      setChild(slot.holder, slot.index, { t: 'raw', text: replacement });
      break;
    }
    case 'deep-nesting': {
      const nested: Node = { t: 'raw', text: deepArray(7000) };
      if (anyObject && random.next() < 0.7) anyObject.entries.push(['x', nested]);
      else {
        const slots = scalars(tree);
        if (slots.length > 0) {
          const slot = pick(random, slots);
          setChild(slot.holder, slot.index, nested);
        }
      }
      break;
    }
    case 'giant-string': {
      const giant: Node = { t: 'raw', text: JSON.stringify('a'.repeat(randomInt(random, 10_000, 100_000))) };
      const slots = scalars(tree);
      if (slots.length > 0 && random.next() < 0.6) {
        const slot = pick(random, slots);
        setChild(slot.holder, slot.index, giant);
      } else if (anyObject) anyObject.entries.push(['giant', giant]);
      break;
    }
    case 'reorder':
      if (anyObject)
        for (let i = anyObject.entries.length - 1; i > 0; i--) {
          const j = randomInt(random, 0, i);
          const a = anyObject.entries[i];
          const b = anyObject.entries[j];
          if (a && b) {
            anyObject.entries[i] = b;
            anyObject.entries[j] = a;
          }
        }
      break;
    case 'whitespace':
      return serialize(tree, () => pick(random, ['', '', ' ', '\n', '\t', '\r\n  ']));
    case 'frame-type':
      if (tree.t === 'arr' && tree.items.length > 0)
        tree.items[0] = {
          t: 'raw',
          text: String(
            pick(random, [100, 114, 201, 402, 421, 422, 423, 431, 432, 441, 451, 452, 453, 991, 0, -1]),
          ),
        };
      break;
  }
  return serialize(tree);
}

function childText(slot: { holder: Node; index: number }): string {
  const { holder, index } = slot;
  const child =
    holder.t === 'arr' ? holder.items[index] : holder.t === 'obj' ? holder.entries[index]?.[1] : undefined;
  return child?.t === 'raw' ? child.text : '';
}

/** Decimals compared by value, shown as text. */
export function plain(value: unknown): unknown {
  if (value && typeof value === 'object' && 'toFixed' in value && 'isZero' in value)
    return (value as { toFixed(): string }).toFixed();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

const POSITIVE = /^(?=.*[1-9])(?:\d+(?:\.\d*)?|\.\d+)$/;
const NON_NEGATIVE = /^(?:\d+(?:\.\d*)?|\.\d+)$/;

interface DecimalLike {
  isNeg(): boolean;
  isZero(): boolean;
  toFixed(): string;
}

/**
 * The check for one frame: throws an AssertionError naming the problem, else returns the result.
 * `differential`: also read it through the general reader alone and require the same answer.
 */
export function checkFrame(text: string, now: number, differential = true): ParsedFrame {
  let result: ParsedFrame;
  try {
    result = parseFrame(text, now);
  } catch (error) {
    assert.fail(`parseFrame threw ${String(error)}`);
  }
  if (!result.ok) {
    assert.ok(result.type === null || Number.isInteger(result.type), 'failure type');
    assert.ok(
      result.symbol === null || (typeof result.symbol === 'string' && result.symbol.length <= 64),
      'failure symbol',
    );
    assert.ok(
      typeof result.reason === 'string' && result.reason.length > 0 && result.reason.length <= 400,
      `reason of ${result.reason.length} characters`,
    );
    const cause: string = result.cause;
    assert.ok(cause === 'unreadable' || cause === 'unknown-change-kind', `cause ${cause}`);
    if (cause === 'unknown-change-kind') assert.equal(result.type, 432);
  } else {
    for (const m of result.messages) {
      if (m.kind === 'book-snapshot' || m.kind === 'book-diff') {
        for (const row of [...m.bids, ...m.asks]) {
          assert.match(row.price, POSITIVE, 'a book price above zero');
          assert.match(row.quantity, NON_NEGATIVE, 'a book amount of zero or more');
        }
        assert.ok(Number.isSafeInteger(m.changeSet) && m.changeSet >= 0);
      } else if (m.kind === 'fill') {
        const f = m.fill;
        assert.ok(!f.quantity.isNeg() && !f.quantity.isZero(), 'a fill quantity above zero');
        assert.ok(!f.price.isNeg() && !f.price.isZero(), 'a fill price above zero');
        assert.ok(!f.fee.isNeg() && !f.tax.isNeg(), 'costs of zero or more');
        assert.ok(f.exchangeOrderId !== '0');
      } else if (m.kind === 'order') {
        const zeroOrMore = (d: DecimalLike) => !d.isNeg();
        assert.ok(zeroOrMore(m.quantity) && zeroOrMore(m.leftQuantity), 'order amounts of zero or more');
        assert.ok(m.price === null || (!m.price.isNeg() && !m.price.isZero()), 'an order price above zero');
        assert.ok(m.exchangeOrderId !== '0', 'order id 0 is no order');
      } else if (m.kind === 'order-match') {
        assert.ok(!m.price.isNeg() && !m.price.isZero() && !m.quantity.isNeg() && !m.quantity.isZero());
        assert.ok(m.exchangeOrderId !== '0');
      }
    }
  }
  if (differential)
    assert.deepEqual(plain(result), plain(parseFrameGeneral(text, now)), 'fast and general readers agree');
  return result;
}
