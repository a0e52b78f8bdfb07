import { ConfigError } from '../domain/errors.ts';

// A listener that could not bind is a configuration error naming the setting (exit 2), not a stack
// trace: the metrics endpoint, the dashboard and the standalone simulator all say it the same way.

export interface ListenSettings {
  readonly host: string;
  readonly port: number;
  /** The flag that chose the port. */
  readonly portSetting: string;
  /** The flag that chose the address, when one can be given. */
  readonly hostSetting?: string;
}

/** The error to throw for a failed listen: a ConfigError when the address or port was the cause. */
export function listenError(error: unknown, where: ListenSettings): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const { host, port, portSetting } = where;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        portSetting,
        `port ${port} on ${host} is in use by another process: choose another port, or 0 for any free one`,
      );
    case 'EACCES':
      return new ConfigError(
        portSetting,
        `port ${port} on ${host} may not be opened by this user (EACCES): choose one above 1023, or 0 for any free one`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new ConfigError(
        where.hostSetting ?? portSetting,
        `cannot listen on ${host}:${port} (${code}): choose another address`,
      );
    default:
      return error;
  }
}
