import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import { ConfigError } from '../../domain/errors.ts';

// Who may reach the dashboard. It binds loopback unless told otherwise; bound anywhere else it
// needs a token, sent by the page as `Authorization: Bearer …` on every data request (never a
// cookie, so another site can never send it for the user). Every request's Host header must name
// this server — loopback or the bound address, with the port — so a DNS-rebinding page, whose
// requests carry its own host name, is refused even on loopback.

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DASHBOARD_TOKEN_ENV = 'BTCBOT_DASHBOARD_TOKEN';
/** A token shorter than this is refused: it guards a kill switch. */
const MIN_TOKEN_LENGTH = 16;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface DashboardBind {
  readonly host: string;
  readonly port: number;
  /** Required when `host` is not loopback. */
  readonly token: string | undefined;
}

/**
 * Checks where the dashboard is to listen. Beyond loopback without a token it refuses, naming
 * --dashboard-token (exit code 2 through ConfigError); a token given is checked on loopback too.
 */
export function checkBind(bind: DashboardBind): void {
  if (!Number.isInteger(bind.port) || bind.port < 0 || bind.port > 65_535)
    throw new ConfigError('--dashboard-port', `must be a port number from 0 to 65535, got ${bind.port}`);
  if (bind.host.trim() === '') throw new ConfigError('--dashboard-host', 'must not be empty');
  if (bind.token !== undefined && bind.token.length < MIN_TOKEN_LENGTH)
    throw new ConfigError(
      '--dashboard-token',
      `must be at least ${MIN_TOKEN_LENGTH} characters (it is ${bind.token.length}); e.g. openssl rand -hex 32`,
    );
  if (!isLoopback(bind.host) && bind.token === undefined)
    throw new ConfigError(
      '--dashboard-token',
      `the dashboard is to listen on ${bind.host}, beyond loopback: give --dashboard-token (or ${DASHBOARD_TOKEN_ENV}) so only holders of the token can read it and use its kill switch`,
    );
}

const bracketed = (host: string): string =>
  host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;

/** Host names the server answers to (lower case, IPv6 in brackets), without the port. */
export function allowedHostNames(boundHost: string): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '[::1]', bracketed(boundHost.toLowerCase())]);
  // Bound to every interface: each of this machine's addresses and its name reach it.
  if (boundHost === '0.0.0.0' || boundHost === '::') {
    names.add(hostname().toLowerCase());
    for (const list of Object.values(networkInterfaces()))
      for (const address of list ?? []) names.add(bracketed(address.address.toLowerCase()));
  }
  return names;
}

/** Whether a request's Host header names this server: an allowed name with the listening port. */
export function hostAllowed(header: string | undefined, names: ReadonlySet<string>, port: number): boolean {
  if (header === undefined) return false;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(header.trim());
  if (match === null) return false;
  const name = (match[1] ?? '').toLowerCase();
  // A browser leaves out the port only when it is the scheme's default.
  const given = match[2] === undefined ? 80 : Number(match[2]);
  return given === port && names.has(name);
}

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Compares the Authorization header with the token in constant time (both hashed first, so
 * neither the length nor any prefix of the token leaks through timing).
 */
export function tokenAllowed(header: string | undefined, token: string): boolean {
  const match = header === undefined ? null : /^Bearer +(\S+)\s*$/i.exec(header);
  const given = match?.[1] ?? '';
  const same = timingSafeEqual(digest(given), digest(token));
  return same && given !== '';
}
