import { Command } from 'commander';
import { DEFAULT_DB } from '../../ops/run-defaults.ts';
import { NO_REASON, type AuditAction, type AuditDetail, type AuditEntry } from '../../ports/audit.ts';
import type { KillSwitchControl, StoreReader } from '../../ports/store.ts';
import { openReader, operatorAction, withOpened } from '../stores.ts';
import { positiveInt } from './exchange.ts';

// `btcbot audit` (DESIGN §4, issue 11): the operator-action trail — kill switch, cancels, manual
// orders, the configuration each run started with — newest first, read-only, so it works beside a
// running bot. Nothing in the trail is a secret: the writers record whitelisted settings only.

const MAX_LIMIT = 100_000;

/** The `--reason` option of every audited command: `command.option(...REASON_OPTION)`. */
export const REASON_OPTION = [
  '--reason <text>',
  `why: kept with time and source in the audit trail (btcbot audit); default "${NO_REASON}"`,
] as const;

/**
 * Records an operator's command-line action in the trail of the store it acted on (the writer
 * store, or the kill-switch control beside a running bot). `detail` holds what the action was
 * about — ids, pair, side, amounts — never a credential.
 */
export async function recordCliAction(
  opened: StoreReader | KillSwitchControl,
  action: AuditAction,
  reason: string | undefined,
  detail: AuditDetail = {},
): Promise<void> {
  const { auditLogOf } = await import('../../store/sql/audit.ts');
  await auditLogOf(opened).record({ action, source: 'cli', reason: reason ?? NO_REASON, detail });
}

type AuditFlags = { db: string; json?: boolean; limit: number };

function describeDetail(entry: AuditEntry): string {
  const parts = Object.entries(entry.detail).map(
    ([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`,
  );
  return parts.length === 0 ? '-' : parts.join(' ');
}

export function registerAuditCommand(program: Command): void {
  program.addCommand(
    new Command('audit')
      .description(
        'the operator-action trail: kill switch, cancel, cancel-all, manual orders and each run’s start ' +
          'configuration, with time, source (cli, dashboard, bot) and reason; newest first',
      )
      .option('--db <path>', 'the bot database: a file, or a postgres:// URL', DEFAULT_DB)
      .option('--json', 'print the result as JSON')
      .option('--limit <n>', 'at most this many entries', positiveInt('--limit', MAX_LIMIT), 100)
      .action(
        operatorAction(async (flags: AuditFlags) => {
          const [{ auditLogOf }, { printJson, printTable }] = await Promise.all([
            import('../../store/sql/audit.ts'),
            import('../output.ts'),
          ]);
          await withOpened(openReader(flags.db), async (reader) => {
            const entries = await auditLogOf(reader).entries({ limit: flags.limit });
            if (flags.json) {
              printJson({ entries });
              return;
            }
            printTable(
              entries.map((e) => ({
                ...e,
                time: new Date(e.at).toISOString(),
                detail: describeDetail(e),
              })),
              ['id', 'time', 'source', 'action', 'reason', 'detail'],
            );
          });
        }),
      ),
  );
}
