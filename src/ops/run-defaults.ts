// Defaults of `btcbot run`'s settings that command help text shows. Kept apart from run-config.ts
// (which re-exports them) so that building the command line loads no settings machinery.

export const DEFAULT_DB = './data/btcbot.db';
export const DEFAULT_PREFIX = 'bb';
export const LIVE_ACK = 'I_UNDERSTAND';

export const DEFAULT_WS_LOGIN_NONCE = 3000;
// ASSUMPTION (BTCTurk): users report logins refused for nonces outside about 100..60000 (a
// millisecond timestamp is refused, the documented 3000 accepted); the exact bounds are not
// documented, so the setting is held to the range known to work.
export const MIN_WS_LOGIN_NONCE = 100;
export const MAX_WS_LOGIN_NONCE = 60_000;
