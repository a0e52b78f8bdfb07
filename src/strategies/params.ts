import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import { toDec, decText } from '../domain/decimal.ts';
import { ConfigError } from '../domain/errors.ts';
import type { ParameterDoc } from './types.ts';

// Parameter schemas shared by strategies and risk limits. Numbers may come as JSON numbers or as
// text (command-line flags); money comes as a decimal string (or a JSON number, read through its
// text) and leaves as a Decimal. Defaults are given as input (`prefault`), so they pass the same
// checks a user's value would.

const NUMERIC_TEXT = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

export interface NumberRange {
  readonly min?: number;
  readonly max?: number;
  readonly above?: number; // exclusive lower bound
  readonly int?: boolean;
}

export function numberParam(range: NumberRange = {}) {
  let schema = z.number({ error: 'must be a number' });
  if (range.int === true) schema = schema.int('must be a whole number');
  if (range.min !== undefined) schema = schema.min(range.min, `must be at least ${range.min}`);
  if (range.above !== undefined) schema = schema.gt(range.above, `must be greater than ${range.above}`);
  if (range.max !== undefined) schema = schema.max(range.max, `must be at most ${range.max}`);
  return z.preprocess(
    (value) => (typeof value === 'string' && NUMERIC_TEXT.test(value.trim()) ? Number(value) : value),
    schema,
  );
}

export interface DecimalRange {
  readonly min?: Decimal.Value;
  readonly above?: Decimal.Value; // exclusive lower bound
  readonly max?: Decimal.Value;
}

export function decimalParam(range: DecimalRange = {}) {
  return z
    .union([z.string(), z.number()], { error: 'must be a decimal number, e.g. "250.5"' })
    .transform((value, ctx): Decimal => {
      try {
        return toDec(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a decimal number, e.g. "250.5"' });
        return z.NEVER;
      }
    })
    .superRefine((value, ctx) => {
      const fail = (rule: string) => {
        ctx.addIssue({ code: 'custom', message: rule });
      };
      if (range.min !== undefined && value.lt(range.min))
        fail(`must be at least ${decText(toDec(range.min))}`);
      if (range.above !== undefined && value.lte(range.above))
        fail(`must be greater than ${decText(toDec(range.above))}`);
      if (range.max !== undefined && value.gt(range.max))
        fail(`must be at most ${decText(toDec(range.max))}`);
    });
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown, known: readonly string[]): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown parameter ${issue.keys.map((k) => `"${k}"`).join(', ')} (known: ${known.join(', ')})`;
  const name = issue.path.map(String).join('.') || '(parameters)';
  if (issue.code === 'invalid_key') {
    const parent = issue.path.slice(0, -1).map(String).join('.');
    return `${parent}: key ${JSON.stringify(issue.path.at(-1))}: ${issue.issues.map((i) => i.message).join(', ')}`;
  }
  const value = valueAt(raw, issue.path);
  if (value === undefined)
    return issue.code === 'invalid_type' ? `${name} is required` : `${name} (default): ${issue.message}`;
  return `${name} = ${JSON.stringify(value)}: ${issue.message}`;
}

/**
 * Validates parameters against a schema. Every problem is named in one ConfigError whose setting is
 * `owner` (e.g. `strategy "market-maker"`): the parameter, the value given and the rule it breaks.
 */
export function parseParams<S extends z.ZodObject>(owner: string, schema: S, raw: unknown): z.output<S> {
  const input = raw ?? {};
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const known = Object.keys(schema.shape);
  throw new ConfigError(owner, result.error.issues.map((i) => describeIssue(i, input, known)).join('; '));
}

/** The parameters of a schema with their defaults and `.describe()` texts. */
export function parameterDocs(schema: z.ZodObject): ParameterDoc[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const doc = typeof property === 'boolean' ? {} : property;
    return { name, description: doc.description ?? '', default: doc.default };
  });
}
