import type { Logger } from 'pino';
import type { Store } from '../../ports/store.ts';
import type { DashboardBind } from './access.ts';
import { storeControl } from './control.ts';
import { startDashboard, type RunningDashboard } from './server.ts';
import { LiveDashboardSource, type LiveBot } from './sources.ts';

// The dashboard of a running session (`btcbot run --dashboard-port`): its read model over the
// session's own store and parts, and its kill switch through the session's store, audited.

export interface LiveDashboardOptions {
  readonly bind: DashboardBind;
  /** The session's store: read for the view, and the kill switch written through it. */
  readonly store: Store;
  readonly bot: LiveBot;
  readonly logger?: Logger | undefined;
}

/** The line that says where the dashboard is (what a user, or a script, looks for). */
export function addressLine(dashboard: RunningDashboard, token: string | undefined): string {
  return `dashboard: ${dashboard.url}${token === undefined ? '' : ' (add #token=<the token> to the address)'}`;
}

/** Starts the dashboard; close() stops it (before the store closes). */
export async function serveLiveDashboard(options: LiveDashboardOptions): Promise<RunningDashboard> {
  const source = new LiveDashboardSource(options.store, options.bot, { canControl: true });
  const dashboard = await startDashboard({
    ...options.bind,
    source,
    control: storeControl(options.store),
    logger: options.logger,
  });
  return dashboard;
}
