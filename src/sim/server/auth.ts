import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../domain/errors.ts';

// BTCTurk's authentication (btcturk-api.md §2 and §8): HMAC-SHA256 keyed with the base64-decoded
// secret, over key + stamp for REST and over publicKey + nonce for the WebSocket login.

/** How far a request's X-Stamp may be from the simulator's clock. */
export const STAMP_TOLERANCE_MS = 5_000;

export interface SimAccount {
  readonly accountId: string;
  readonly apiKey: string;
  readonly apiSecret: string;
}

interface StoredAccount extends SimAccount {
  readonly secretBytes: Buffer;
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function generateKeyPair(): { apiKey: string; apiSecret: string } {
  return { apiKey: randomBytes(16).toString('hex'), apiSecret: randomBytes(32).toString('base64') };
}

export function hmacBase64(secretBytes: Buffer, message: string): string {
  return createHmac('sha256', secretBytes).update(message, 'utf8').digest('base64');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

export type AuthResult =
  { readonly ok: true; readonly account: SimAccount } | { readonly ok: false; readonly reason: string };

/** The accounts of one simulator, one key pair each (used for REST and the WebSocket login alike). */
export class Accounts {
  private readonly byApiKey = new Map<string, StoredAccount>();

  add(account: SimAccount): SimAccount {
    if (account.apiKey.length === 0) throw new ConfigError('api-key', 'must not be empty');
    if (account.apiSecret.length === 0 || !STANDARD_BASE64.test(account.apiSecret))
      throw new ConfigError(
        'api-secret',
        'must be standard base64 with padding (BTCTurk issues secrets that way)',
      );
    if (this.byApiKey.has(account.apiKey))
      throw new ConfigError('api-key', `account ${account.accountId} reuses the key of another account`);
    const stored = { ...account, secretBytes: Buffer.from(account.apiSecret, 'base64') };
    this.byApiKey.set(account.apiKey, stored);
    return { accountId: account.accountId, apiKey: account.apiKey, apiSecret: account.apiSecret };
  }

  get size(): number {
    return this.byApiKey.size;
  }

  /** REST: X-PCK, X-Stamp (ms) and X-Signature, with the stamp within ±5 s of `now`. */
  verifyRest(headers: { pck?: string; stamp?: string; signature?: string }, now: number): AuthResult {
    const { pck, stamp, signature } = headers;
    if (!pck || !stamp || !signature)
      return { ok: false, reason: 'X-PCK, X-Stamp and X-Signature are required' };
    const account = this.byApiKey.get(pck);
    if (!account) return { ok: false, reason: 'unknown API key' };
    if (!/^\d+$/.test(stamp)) return { ok: false, reason: 'X-Stamp must be UTC milliseconds as digits' };
    const offset = Number(stamp) - now;
    if (Math.abs(offset) > STAMP_TOLERANCE_MS)
      return {
        ok: false,
        reason: `X-Stamp is ${offset} ms from server time (allowed ±${STAMP_TOLERANCE_MS}); sync with /api/v2/server/time`,
      };
    if (!sameText(signature, hmacBase64(account.secretBytes, pck + stamp)))
      return { ok: false, reason: 'signature does not match' };
    return { ok: true, account };
  }

  /** WebSocket login (type 114): the nonce, not the timestamp, is signed. */
  verifyWsLogin(publicKey: unknown, nonce: unknown, signature: unknown): AuthResult {
    if (typeof publicKey !== 'string' || typeof signature !== 'string')
      return { ok: false, reason: 'publicKey and signature are required' };
    if (typeof nonce !== 'number' && typeof nonce !== 'string')
      return { ok: false, reason: 'nonce is required' };
    const account = this.byApiKey.get(publicKey);
    if (!account) return { ok: false, reason: 'unknown public key' };
    if (!sameText(signature, hmacBase64(account.secretBytes, publicKey + String(nonce))))
      return { ok: false, reason: 'signature does not match' };
    return { ok: true, account };
  }
}
