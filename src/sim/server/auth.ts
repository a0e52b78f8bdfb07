import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../domain/errors.ts';

// BTCTurk's authentication (btcturk-api.md §2 and §8): HMAC-SHA256 keyed with the base64-decoded
// secret, over key + stamp for REST and over publicKey + nonce for the WebSocket login.

/** How far a request's X-Stamp may be from the simulator's clock. */
export const STAMP_TOLERANCE_MS = 5_000;

export interface SimAccount {
  readonly accountId: string;
  /** The numeric user id BTCTurk puts in the login reply and in 441 `user` / 451 `userId`. */
  readonly userId: number;
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** The first account's user id; the next ones count up from it. An arbitrary six-digit number like the real ones. */
const FIRST_USER_ID = 340_001;

/** The nonces users report BTCTurk accepts (btcturk-wire README, "Login"). */
const WS_NONCE_RANGE = { min: 100, max: 60_000 } as const;

/** The login refusals, worded as BTCTurk words them. */
export const WS_LOGIN_REFUSAL = {
  request: 'Unauthorized - Invalid Request',
  nonce: 'Unauthorized - Invalid Nonce',
  publicKey: 'Unauthorized - Invalid Public key',
  // ASSUMPTION (BTCTurk): no capture shows the reply to a wrong signature; the wording follows the others.
  signature: 'Unauthorized - Invalid Signature',
} as const;

/** The members of a login frame (type 114) the check reads. */
export interface WsLogin {
  readonly publicKey?: unknown;
  readonly timestamp?: unknown;
  readonly nonce?: unknown;
  readonly signature?: unknown;
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
  | { readonly ok: true; readonly account: SimAccount }
  /** staleStamp: refused because the stamp (or login timestamp) is outside the ±5 s window. */
  | { readonly ok: false; readonly reason: string; readonly staleStamp?: boolean };

/** The accounts of one simulator, one key pair each (used for REST and the WebSocket login alike). */
export class Accounts {
  private readonly byApiKey = new Map<string, StoredAccount>();
  private readonly byAccountId = new Map<string, StoredAccount>();

  add(input: Omit<SimAccount, 'userId'>): SimAccount {
    const account: SimAccount = { ...input, userId: FIRST_USER_ID + this.byApiKey.size };
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
    this.byAccountId.set(account.accountId, stored);
    return account;
  }

  /** The account of an engine account id (the synthetic participants have none). */
  account(accountId: string): SimAccount | undefined {
    return this.byAccountId.get(accountId);
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
        staleStamp: true,
      };
    if (!sameText(signature, hmacBase64(account.secretBytes, pck + stamp)))
      return { ok: false, reason: 'signature does not match' };
    return { ok: true, account };
  }

  /**
   * WebSocket login (type 114): the nonce, not the timestamp, is signed. Checked in this order, each
   * failure with BTCTurk's own words: the nonce a whole number from 100 to 60000 (a millisecond
   * timestamp as nonce is what users see refused as "Invalid Request"), the timestamp within ±5 s of
   * `now` (the simulator's clock, clock-skew fault included), the public key, the signature.
   * ASSUMPTION (BTCTurk): the order of the checks when several fail, that a missing or non-string
   * member is "Invalid Request", and that the timestamp window is the REST stamp's ±5 s.
   */
  verifyWsLogin(login: WsLogin, now: number): AuthResult {
    const { publicKey, timestamp, nonce, signature } = login;
    if (typeof publicKey !== 'string' || typeof signature !== 'string')
      return { ok: false, reason: WS_LOGIN_REFUSAL.request };
    if (
      typeof nonce !== 'number' ||
      !Number.isInteger(nonce) ||
      nonce < WS_NONCE_RANGE.min ||
      nonce > WS_NONCE_RANGE.max
    )
      return { ok: false, reason: WS_LOGIN_REFUSAL.request };
    const stamp = typeof timestamp === 'string' && /^\d+$/.test(timestamp) ? Number(timestamp) : timestamp;
    if (typeof stamp !== 'number' || !Number.isFinite(stamp))
      return { ok: false, reason: WS_LOGIN_REFUSAL.nonce };
    if (Math.abs(stamp - now) > STAMP_TOLERANCE_MS)
      return { ok: false, reason: WS_LOGIN_REFUSAL.nonce, staleStamp: true };
    const account = this.byApiKey.get(publicKey);
    if (!account) return { ok: false, reason: WS_LOGIN_REFUSAL.publicKey };
    if (!sameText(signature, hmacBase64(account.secretBytes, publicKey + String(nonce))))
      return { ok: false, reason: WS_LOGIN_REFUSAL.signature };
    return { ok: true, account: publicAccount(account) };
  }
}

/** The account without the decoded secret bytes. */
function publicAccount(stored: StoredAccount): SimAccount {
  return {
    accountId: stored.accountId,
    userId: stored.userId,
    apiKey: stored.apiKey,
    apiSecret: stored.apiSecret,
  };
}
