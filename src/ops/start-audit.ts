import { NO_REASON, type AuditDetail, type AuditLog, type AuditValue } from '../ports/audit.ts';
import type { RunConfig } from './run-config.ts';

// The configuration a run starts with, as the audit trail keeps it (issue 11 item 5). A whitelist
// of settings, never the configuration object itself: a credential added to the settings later is
// not recorded by accident, and the keys, the secret and any password inside a URL never are.

/** A URL as it may be shown: no user, no password, no query (where tokens travel). */
function shownUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    return url.toString();
  } catch {
    return '(not a URL)';
  }
}

function plain(value: unknown): AuditValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(plain);
  // Decimals and records (per-symbol limits): their JSON text.
  return JSON.stringify(value);
}

/** The non-secret settings of `config`: mode, pairs, strategy and its parameters, limits, endpoints. */
export function startConfigDetail(config: RunConfig): AuditDetail {
  const detail: Record<string, AuditValue> = {
    mode: config.mode,
    symbols: [...config.symbols],
    strategy: config.engine.strategy.name,
    store: config.store.kind === 'sqlite' ? config.store.path : shownUrl(config.store.url),
    durationMs: config.durationMs,
    ordersPerMinute: config.ordersPerMinute,
    cancelOnExit: config.cancelOnExit,
    prefix: config.prefix,
    seed: config.seed,
    metricsPort: config.metricsPort,
    redis: config.redisUrl === undefined ? null : shownUrl(config.redisUrl),
    baseUrl: config.connection === null ? null : shownUrl(config.connection.baseUrl),
    wsUrl: config.connection === null ? null : shownUrl(config.connection.wsUrl),
    // Whether the run can sign requests: a fact about the set-up, not the credentials themselves.
    signed: config.connection?.apiSecret !== undefined,
  };
  for (const [name, value] of Object.entries(config.strategyParams)) detail[`param.${name}`] = plain(value);
  for (const [name, value] of Object.entries(config.engine.risk)) detail[`risk.${name}`] = plain(value);
  return detail;
}

/** Records the start of a run in the trail of its store. */
export async function recordRunStart(
  audit: AuditLog,
  config: RunConfig,
  reason: string = NO_REASON,
): Promise<void> {
  await audit.record({ action: 'run-start', source: 'cli', reason, detail: startConfigDetail(config) });
}
