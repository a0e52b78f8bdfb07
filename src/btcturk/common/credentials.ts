import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError } from '../../domain/errors.ts';

const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// Each problem is described by position and length only: the message must not carry the secret.
function base64Problem(text: string): string | null {
  if (text.length === 0) return 'is empty';
  const space = text.search(/\s/);
  if (space >= 0) return `contains whitespace or a line break at position ${space + 1}`;
  const foreign = text.search(/[^A-Za-z0-9+/=]/);
  if (foreign >= 0)
    return `has a character outside the standard base64 alphabet (A-Z a-z 0-9 + / =) at position ${foreign + 1}`;
  if (text.length % 4 !== 0)
    return `is ${text.length} characters long, not a multiple of 4: "=" padding is missing or extra`;
  if (!CANONICAL_BASE64.test(text)) return 'has "=" padding in the wrong place or too much of it';
  // Same length and alphabet but stray bits in the last character: decoders disagree on such text.
  if (Buffer.from(text, 'base64').toString('base64') !== text)
    return 'is not canonical base64 (stray trailing bits)';
  return null;
}

/**
 * Fails at start-up, not at the first order, when a secret (the REST API secret, or the WebSocket
 * private key) cannot be BTCTurk's base64. The error names `setting`, never the secret.
 */
export function validateSecret(secret: string, setting = 'BTCTURK_API_SECRET'): void {
  const problem = base64Problem(secret);
  if (problem !== null)
    throw new ConfigError(
      setting,
      `${problem}; it must be the secret exactly as BTCTurk issued it (standard base64 with "=" padding)`,
    );
}

/** X-Signature: base64(HMAC-SHA256(key = base64decode(secret), message = apiKey + stamp)). */
export function signStamp(apiKey: string, secretBytes: Buffer, stamp: number): string {
  return createHmac('sha256', secretBytes).update(`${apiKey}${stamp}`).digest('base64');
}

export interface AuthHeaders {
  readonly 'X-PCK': string;
  readonly 'X-Stamp': string;
  readonly 'X-Signature': string;
}

/** The REST key pair. Private fields keep both out of logs, JSON and inspection of the object. */
export class BtcturkCredentials {
  readonly #apiKey: string;
  readonly #apiSecret: string;
  readonly #secretBytes: Buffer;

  constructor(apiKey: string, apiSecret: string) {
    if (apiKey.length === 0) throw new ConfigError('BTCTURK_API_KEY', 'is empty; set the API public key');
    if (/\s/.test(apiKey))
      throw new ConfigError(
        'BTCTURK_API_KEY',
        'contains whitespace; copy the key without spaces or line breaks',
      );
    validateSecret(apiSecret);
    this.#apiKey = apiKey;
    this.#apiSecret = apiSecret;
    this.#secretBytes = Buffer.from(apiSecret, 'base64');
  }

  headers(stamp: number): AuthHeaders {
    return {
      'X-PCK': this.#apiKey,
      'X-Stamp': String(stamp),
      'X-Signature': signStamp(this.#apiKey, this.#secretBytes, stamp),
    };
  }

  /** What must be scrubbed from any text the adapter keeps (see redact). */
  get secrets(): readonly string[] {
    return [this.#apiKey, this.#apiSecret];
  }

  toJSON(): string {
    return '[BtcturkCredentials]';
  }

  [inspect.custom](): string {
    return '[BtcturkCredentials]';
  }
}
