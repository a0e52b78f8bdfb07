import { ConfigError } from '../../domain/errors.ts';
import { checkBind, DASHBOARD_TOKEN_ENV, DEFAULT_DASHBOARD_HOST, type DashboardBind } from './access.ts';

// The dashboard's settings as `btcbot run` and `btcbot dashboard` take them: --dashboard-port,
// --dashboard-host and --dashboard-token (or BTCBOT_DASHBOARD_TOKEN), checked before anything starts.

export interface DashboardFlags {
  readonly dashboardPort?: string | undefined;
  readonly dashboardHost?: string | undefined;
  readonly dashboardToken?: string | undefined;
}

function parsePort(text: string, setting: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(port) || port > 65_535)
    throw new ConfigError(
      setting,
      `must be a port number from 0 (any free port) to 65535, got ${JSON.stringify(text)}`,
    );
  return port;
}

/**
 * The dashboard to serve, or null when no port was given (`defaultPort` null). A token may come
 * from the flag or the environment; binding beyond loopback without one is a configuration error.
 */
export function dashboardSettings(
  flags: DashboardFlags,
  env: NodeJS.ProcessEnv,
  defaultPort: number | null = null,
): DashboardBind | null {
  const portText = flags.dashboardPort ?? (defaultPort === null ? undefined : String(defaultPort));
  if (portText === undefined) {
    if (flags.dashboardHost !== undefined || flags.dashboardToken !== undefined)
      throw new ConfigError(
        '--dashboard-port',
        'give the port the dashboard is to listen on (0: any free port)',
      );
    return null;
  }
  const fromEnv = env[DASHBOARD_TOKEN_ENV];
  const token = flags.dashboardToken ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
  const bind: DashboardBind = {
    port: parsePort(portText, '--dashboard-port'),
    host: flags.dashboardHost ?? DEFAULT_DASHBOARD_HOST,
    token,
  };
  try {
    checkBind(bind);
  } catch (error) {
    // The token from the environment is named as such (never its value).
    if (
      error instanceof ConfigError &&
      error.setting === '--dashboard-token' &&
      flags.dashboardToken === undefined &&
      token !== undefined
    )
      throw new ConfigError(DASHBOARD_TOKEN_ENV, error.message.replace(/^--dashboard-token: /, ''));
    throw error;
  }
  return bind;
}
