import type { AlertTransition, FillDigest } from './evaluate.ts';
import type { Severity } from './rules.ts';

// What an alert says, in one neutral shape stored in the outbox; each receiver renders it when it
// sends (a webhook posts it as JSON, Telegram gets text). Times are ISO-8601 UTC.

export interface AlertMessage {
  /** The same on every retry and for every receiver: a receiver may drop a repeat by it. */
  readonly id: string;
  readonly kind: 'alert' | 'digest';
  /** Which bot: its client order id prefix (several bots may share a receiver). */
  readonly bot: string;
  readonly rule: string;
  readonly key: string;
  readonly status: 'firing' | 'resolved' | 'digest';
  readonly severity: Severity;
  readonly summary: string;
  /** When the condition began (for a digest: its first fill's arrival). */
  readonly since: string;
  readonly at: string;
  readonly fills?: FillDigest['lines'];
}

const iso = (ms: number): string => new Date(ms).toISOString();

export function transitionMessage(bot: string, t: AlertTransition): AlertMessage {
  return {
    id: `${t.rule}/${t.key}/${t.status}/${t.at}`,
    kind: 'alert',
    bot,
    rule: t.rule,
    key: t.key,
    status: t.status,
    severity: t.severity,
    summary: t.summary,
    since: iso(t.since),
    at: iso(t.at),
  };
}

export function digestMessage(bot: string, d: FillDigest): AlertMessage {
  const parts = d.lines.map((l) => `${l.symbol} ${l.side} ${l.count}× ${l.quantity} for ${l.quote}`);
  return {
    id: `fills/digest/${d.at}`,
    kind: 'digest',
    bot,
    rule: 'fills',
    key: 'digest',
    status: 'digest',
    severity: 'info',
    summary: `${d.count} fill${d.count === 1 ? '' : 's'}: ${parts.join('; ')}`,
    since: iso(d.since),
    at: iso(d.at),
    fills: d.lines,
  };
}

/** Telegram's limit on a message's text. */
const TELEGRAM_MAX_TEXT = 4096;

/** Plain text (no parse mode: nothing in a summary needs escaping). */
export function telegramText(m: AlertMessage): string {
  const head =
    m.kind === 'digest'
      ? `[${m.bot}] fills digest since ${m.since}`
      : `[${m.bot}] ${m.status === 'firing' ? 'FIRING' : 'RESOLVED'} ${m.severity} ${m.rule}${m.key === 'main' ? '' : ` (${m.key})`}`;
  const lines = [head, m.summary];
  if (m.fills)
    for (const l of m.fills)
      lines.push(
        `${l.symbol} ${l.side}: ${l.count} fills, ${l.quantity} for ${l.quote}, fees ${Object.entries(l.fees)
          .map(([asset, fee]) => `${fee} ${asset}`)
          .join(', ')}`,
      );
  lines.push(m.at);
  const text = lines.join('\n');
  return text.length <= TELEGRAM_MAX_TEXT ? text : `${text.slice(0, TELEGRAM_MAX_TEXT - 1)}…`;
}
