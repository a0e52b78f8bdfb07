import { Command } from 'commander';
import { ConfigError } from '../../domain/errors.ts';
import { listenError } from '../../ops/listen-error.ts';
import { FAULT_NAMES } from '../../sim/server/fault-names.ts';

// `btcbot sim`: the simulator as a server for other processes (DESIGN §4). It prints one JSON line
// when ready — the URLs, the key pair and the admin token to use — and runs until SIGINT or
// SIGTERM. The simulator loads when the command runs, never to build the command line.

interface SimFlags {
  port: string;
  seed?: string;
  symbols?: string;
  pairs?: string;
  apiKey?: string;
  apiSecret?: string;
  balances?: string;
  fault: string[];
  speed?: string;
  bookIntervalMs?: string;
  adminToken?: string;
}

/** `--admin-token`, else BTCBOT_SIM_ADMIN_TOKEN (kept off the process list), else generated. */
function adminTokenSetting(
  flags: Pick<SimFlags, 'adminToken'>,
  env: NodeJS.ProcessEnv,
): { setting: string; token: string } | undefined {
  if (flags.adminToken !== undefined) return { setting: '--admin-token', token: flags.adminToken };
  const fromEnv = env.BTCBOT_SIM_ADMIN_TOKEN;
  if (fromEnv !== undefined && fromEnv !== '') return { setting: 'BTCBOT_SIM_ADMIN_TOKEN', token: fromEnv };
  return undefined;
}

function wholeNumber(setting: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || value < min || value > max)
    throw new ConfigError(
      setting,
      `expected a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`,
    );
  return value;
}

/** `TRY=1000000,BTC=2` → { TRY: "1000000", BTC: "2" }; amounts are checked by the simulator. */
export function parseBalancesArg(text: string): Record<string, string> {
  const balances: Record<string, string> = {};
  for (const part of text.split(',')) {
    const match = /^\s*([A-Za-z0-9]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!match?.[1] || !match[2])
      throw new ConfigError(
        '--balances',
        `expected ASSET=AMOUNT[,ASSET=AMOUNT…] such as TRY=1000000,BTC=2, got ${JSON.stringify(part)}`,
      );
    balances[match[1].toUpperCase()] = match[2];
  }
  return balances;
}

/** The most pairs `--pairs` lists: MAX_SIM_PAIRS of src/sim/server/markets.ts, kept here so that
 * reading the flags loads no part of the simulator. */
export const MAX_PAIRS_FLAG = 1_000;

/** `--pairs N`: how many pairs to list; it replaces `--symbols`, so the two together are refused. */
export function simPairsFlag(flags: Pick<SimFlags, 'pairs' | 'symbols'>): number | undefined {
  if (flags.pairs === undefined) return undefined;
  if (flags.symbols !== undefined)
    throw new ConfigError('--pairs', 'lists pairs of its own: give either --pairs or --symbols, not both');
  return wholeNumber('--pairs', flags.pairs, 1, MAX_PAIRS_FLAG);
}

function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

async function runSim(flags: SimFlags): Promise<void> {
  const [{ startSimulator }, { parseFaultArg }, { checkAdminToken }] = await Promise.all([
    import('../../sim/index.ts'),
    import('../../sim/server/faults.ts'),
    import('../../sim/server/admin.ts'),
  ]);
  const given = adminTokenSetting(flags, process.env);
  const adminToken = given === undefined ? undefined : checkAdminToken(given.setting, given.token);
  const faults = Object.fromEntries(flags.fault.map(parseFaultArg));
  const speed = flags.speed === undefined ? undefined : Number(flags.speed);
  if (speed !== undefined && !(Number.isFinite(speed) && speed > 0))
    throw new ConfigError('--speed', `expected a number above 0, got ${JSON.stringify(flags.speed)}`);
  const port = wholeNumber('--port', flags.port, 0, 65535);
  const sim = await startSimulator({
    port,
    seed: flags.seed === undefined ? undefined : wholeNumber('--seed', flags.seed, -(2 ** 31), 2 ** 31 - 1),
    symbols: flags.symbols?.split(',').map((symbol) => symbol.trim()),
    pairs: simPairsFlag(flags),
    apiKey: flags.apiKey,
    apiSecret: flags.apiSecret,
    balances: flags.balances === undefined ? undefined : parseBalancesArg(flags.balances),
    faults,
    speed,
    bookIntervalMs:
      flags.bookIntervalMs === undefined
        ? undefined
        : wholeNumber('--book-interval-ms', flags.bookIntervalMs, 1, 3_600_000),
    adminToken,
  }).catch((error: unknown) => {
    throw listenError(error, { host: '127.0.0.1', port, portSetting: '--port' });
  });
  const stopSignal = waitForStopSignal();
  process.stdout.write(
    `${JSON.stringify({
      event: 'listening',
      rest: sim.restUrl,
      ws: sim.wsUrl,
      apiKey: sim.apiKey,
      apiSecret: sim.apiSecret,
      seed: sim.seed,
      adminToken: sim.adminToken,
    })}\n`,
  );
  await stopSignal;
  await sim.stop();
}

export function registerSimCommand(program: Command): void {
  program.addCommand(
    new Command('sim')
      .description('run the BTCTurk simulator (REST and WebSocket on one loopback port) until SIGINT/SIGTERM')
      .option('--port <port>', 'port to listen on; 0 picks a free one', '0')
      .option('--seed <n>', 'seed of the synthetic market and of the fault decisions (default: random)')
      .option('--symbols <list>', 'pairs to list, comma-separated (default BTCTRY,ETHTRY)')
      .option(
        '--pairs <n>',
        `list this many pairs instead of --symbols (1 to ${MAX_PAIRS_FLAG}; BTCTurk lists about 380): the built-in ones, then synthetic SYN007TRY, SYN008TRY, …; each pair's book change sets go out at its own phase of --book-interval-ms`,
      )
      .option('--api-key <key>', 'API key of the account (default: generated)')
      .option('--api-secret <secret>', 'API secret of the account, standard base64 (default: generated)')
      .option('--balances <list>', 'starting balances such as TRY=1000000,BTC=2')
      .option(
        '--fault <NAME=VALUE>',
        `switch a fault on, e.g. error-5xx=0.2 or ws-drop-every=30s (repeatable); faults: ${FAULT_NAMES.join(', ')}`,
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option('--speed <factor>', 'synthetic market speed; 2 steps twice as often (default 1)')
      .option(
        '--book-interval-ms <n>',
        'order book change sets are batched per pair over this many ms, like BTCTurk (default 764; divided by --speed)',
      )
      .option(
        '--admin-token <token>',
        'token that POSTs under /sim/ (faults, steps, accounts) must send as "Authorization: Bearer <token>" (also BTCBOT_SIM_ADMIN_TOKEN, which keeps it off the process list; default: generated; printed as adminToken either way)',
      )
      .action((flags: SimFlags) => runSim(flags)),
  );
}
