import { createHmac } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { excerpt, redact } from '../../btcturk/common/redact.ts';
import { TELEGRAM_API_URL } from './config.ts';
import { telegramText, type AlertMessage } from './messages.ts';
import type { RateWindow } from './throttle.ts';

// Where alerts go: a generic JSON webhook signed with HMAC-SHA256, and Telegram's Bot API. Each
// send has a deadline; its outcome says whether to try again (and when the receiver asked for).
// Secrets (the webhook secret, the bot token in Telegram's URL) never reach an outcome's text.

export type SendOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** True when sending again cannot help (a refused token, a chat that does not exist). */
      readonly permanent: boolean;
      /** What the receiver asked for (Retry-After, Telegram's retry_after); null: our backoff. */
      readonly retryAfterMs: number | null;
      readonly error: string;
    };

export interface Receiver {
  /** Stable: the outbox rows carry it. */
  readonly name: string;
  readonly limits: readonly RateWindow[];
  /** `stop` aborts a send in flight (the worker is stopping; the message stays due). */
  send(message: AlertMessage, stop?: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
}

export const SIGNATURE_HEADER = 'x-btcbot-signature';
export const DEFAULT_SEND_TIMEOUT_MS = 10_000;

/** `sha256=<hex>` of the body under the secret: what the receiver recomputes to trust a message. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function failure(error: string, permanent: boolean, retryAfter: number | null = null): SendOutcome {
  return { ok: false, permanent, retryAfterMs: retryAfter, error };
}

/** 408, 429 and 5xx may pass later; any other refusal will not. */
const transientStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500;

async function post(
  dispatcher: Dispatcher,
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  stop: AbortSignal | undefined,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const response = await request(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    dispatcher,
    signal: stop ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stop]) : AbortSignal.timeout(timeoutMs),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text };
}

function networkFailure(error: unknown, secrets: readonly string[]): SendOutcome {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const text = error instanceof Error ? `${error.name}: ${error.message}${cause}` : String(error);
  return failure(redact(text, secrets), false);
}

export interface WebhookOptions {
  readonly url: string;
  readonly secret: string;
  readonly timeoutMs?: number | undefined;
  readonly limits?: readonly RateWindow[] | undefined;
  readonly clock?: { now(): number } | undefined;
}

export function webhookReceiver(options: WebhookOptions): Receiver {
  const agent = new Agent({ connections: 2 });
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const now = (): number => options.clock?.now() ?? Date.now();
  const secrets = [options.secret];
  return {
    name: 'webhook',
    limits: options.limits ?? [{ limit: 60, perMs: 60_000 }],
    async send(message, stop) {
      const body = JSON.stringify(message);
      try {
        const reply = await post(
          agent,
          options.url,
          body,
          { [SIGNATURE_HEADER]: signBody(body, options.secret) },
          timeoutMs,
          stop,
        );
        if (reply.status >= 200 && reply.status < 300) return { ok: true };
        return failure(
          `webhook answered HTTP ${reply.status}: ${excerpt(reply.text, secrets, 120)}`,
          !transientStatus(reply.status),
          retryAfterMs(reply.headers['retry-after'], now()),
        );
      } catch (error) {
        return networkFailure(error, secrets);
      }
    },
    close: () => agent.destroy(),
  };
}

export interface TelegramOptions {
  readonly token: string;
  readonly chatId: string;
  /** Default https://api.telegram.org; a local receiver in tests. */
  readonly apiUrl?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

/**
 * Telegram's limits: about one message a second in one chat, twenty a minute in a group (whose
 * chat ids are negative).
 */
export function telegramLimits(chatId: string): RateWindow[] {
  const perChat = { limit: 1, perMs: 1_000 };
  return chatId.startsWith('-') ? [perChat, { limit: 20, perMs: 60_000 }] : [perChat];
}

export function telegramReceiver(options: TelegramOptions): Receiver {
  const agent = new Agent({ connections: 2 });
  const timeoutMs = options.timeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
  const base = (options.apiUrl ?? TELEGRAM_API_URL).replace(/\/+$/, '');
  // The token is part of the URL: it is never logged, and redacted from every outcome.
  const url = `${base}/bot${options.token}/sendMessage`;
  const secrets = [options.token];
  return {
    name: 'telegram',
    limits: telegramLimits(options.chatId),
    async send(message, stop) {
      const body = JSON.stringify({
        chat_id: options.chatId,
        text: telegramText(message),
        disable_web_page_preview: true,
      });
      try {
        const reply = await post(agent, url, body, {}, timeoutMs, stop);
        let parsed: { ok?: unknown; description?: unknown; parameters?: { retry_after?: unknown } } = {};
        try {
          parsed = JSON.parse(reply.text) as typeof parsed;
        } catch {
          // Not JSON (a proxy's error page): the status decides.
        }
        if (reply.status === 200 && parsed.ok === true) return { ok: true };
        const retryAfter = parsed.parameters?.retry_after;
        const description =
          typeof parsed.description === 'string' ? parsed.description : excerpt(reply.text, secrets, 120);
        return failure(
          `Telegram answered HTTP ${reply.status}: ${redact(description, secrets)}`,
          !transientStatus(reply.status),
          typeof retryAfter === 'number' ? retryAfter * 1000 : null,
        );
      } catch (error) {
        return networkFailure(error, secrets);
      }
    },
    close: () => agent.destroy(),
  };
}
