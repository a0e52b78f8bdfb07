import { Command } from 'commander';
import { MAX_DURATION_TEXT } from '../../ops/duration.ts';
import { DEFAULT_DB } from '../../ops/run-defaults.ts';
import type { KillSwitchControl, StoreReader } from '../../ports/store.ts';
import { openControl, openReader, operatorAction } from '../stores.ts';

// `btcbot dashboard --db PATH` (DESIGN §4): the dashboard of a store without a running bot, read
// only. What only a running bot knows (market data, the engine, the order budget, the last
// reconciliation) shows as "not running". With --allow-kill-switch its kill-switch button works,
// through the same row `btcbot kill-switch` writes (beside a running bot too), audited as
// "dashboard". Its modules load when it runs.

export const DEFAULT_DASHBOARD_PORT = 8780;

interface DashboardCommandFlags {
  readonly db: string;
  readonly dashboardPort?: string;
  readonly dashboardHost?: string;
  readonly dashboardToken?: string;
  readonly allowKillSwitch?: boolean;
  readonly duration?: string;
}

async function serve(flags: DashboardCommandFlags): Promise<void> {
  const [
    { dashboardSettings },
    { parseDuration },
    { startDashboard },
    { StoreDashboardSource },
    { storeControl },
    { stopSignal },
  ] = await Promise.all([
    import('../../ops/dashboard/settings.ts'),
    import('../../ops/duration.ts'),
    import('../../ops/dashboard/server.ts'),
    import('../../ops/dashboard/sources.ts'),
    import('../../ops/dashboard/control.ts'),
    import('../../ops/signals.ts'),
  ]);
  const bind = dashboardSettings(flags, process.env, DEFAULT_DASHBOARD_PORT);
  if (bind === null) throw new Error('unreachable: the dashboard command always has a port');
  const durationMs = flags.duration === undefined ? null : parseDuration('--duration', flags.duration);
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const opened: { close(): Promise<void> }[] = [];
  try {
    const reader: StoreReader = await openReader(flags.db);
    opened.push(reader);
    let control: KillSwitchControl | null = null;
    if (flags.allowKillSwitch === true) {
      control = await openControl(flags.db);
      opened.push(control);
    }
    const source = new StoreDashboardSource(reader, { canControl: control !== null });
    const dashboard = await startDashboard({
      ...bind,
      source,
      control: control === null ? null : storeControl(control),
    });
    opened.push(dashboard);
    out(`dashboard: ${dashboard.url}`);
    out(
      `serving ${reader.location} ${control === null ? 'read-only (--allow-kill-switch enables its kill-switch button)' : 'with its kill-switch button'}` +
        (bind.token === undefined ? '' : '; open it as the address above followed by #token=<the token>'),
    );
    const stop = stopSignal(durationMs, out);
    try {
      out(`stopping: ${await stop.wait}`);
    } finally {
      stop.dispose();
    }
  } finally {
    for (const item of opened.reverse()) await item.close();
  }
}

export function registerDashboardCommand(program: Command): void {
  program.addCommand(
    new Command('dashboard')
      .description(
        "serve the dashboard of a bot's store without a running bot (read-only unless --allow-kill-switch)",
      )
      .option('--db <path>', 'the bot database: a file, or a postgres:// URL', DEFAULT_DB)
      .option(
        '--dashboard-port <port>',
        `port to listen on (default ${DEFAULT_DASHBOARD_PORT}; 0: any free port)`,
      )
      .option(
        '--dashboard-host <host>',
        'address to listen on (default 127.0.0.1); beyond loopback it needs --dashboard-token',
      )
      .option(
        '--dashboard-token <token>',
        'bearer token every data request must carry; prefer BTCBOT_DASHBOARD_TOKEN (a flag shows in ps); the page takes it from #token=…',
      )
      .option('--allow-kill-switch', "let the page engage and release the bot's kill switch (audited)")
      .option('--duration <time>', `stop by itself after this long (at most ${MAX_DURATION_TEXT})`)
      .action(operatorAction((flags: DashboardCommandFlags) => serve(flags))),
  );
}
