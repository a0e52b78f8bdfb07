export const REDACTED = '[redacted]';

/**
 * Removes every occurrence of each secret from text that may reach a message, a log line or an
 * error field — including a server that echoes the key or secret back. JSON may escape "/" as "\/",
 * so that spelling of a base64 secret is removed too.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const needles = secrets
    .filter((secret) => secret.length > 0)
    .flatMap((secret) => (secret.includes('/') ? [secret, secret.replaceAll('/', '\\/')] : [secret]))
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const needle of needles) out = out.split(needle).join(REDACTED);
  return out;
}

/** A redacted excerpt for messages; redacted before it is cut, so no part of a secret survives a cut. */
export function excerpt(text: string, secrets: readonly string[], max = 200): string {
  const clean = redact(text, secrets).replace(/\s+/g, ' ').trim();
  return clean.length <= max ? clean : `${clean.slice(0, max)}…`;
}
