import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CHECK_NAMES } from '../../src/cli/commands/doctor-checks.ts';
import { toDec } from '../../src/domain/decimal.ts';
import { connectRedisLimiterStore } from '../../src/btcturk/index.ts';
import { openPostgresStore } from '../../src/store/postgres/open.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import type { Store } from '../../src/ports/store.ts';
import { runCli } from '../helpers/cli.ts';
import { REDIS_URL, redisSkip } from '../redis/helpers.ts';
import { findPostgres, runSql } from '../store-pg/helpers.ts';
import { startSimProcess, type SimProcess } from '../run/helpers.ts';

// `btcbot doctor` as a user runs it — the real binary, configured by environment — against
// `btcbot sim` in its own process, and against a store this test writes.

interface Report {
  readonly ok: boolean;
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail: string }[];
}

// A valid base64 key that is not the simulator's: the login must be refused on its signature.
const WRONG_WS_SECRET = Buffer.from('not-the-simulator-ws-secret-0123').toString('base64');

function parseReport(stdout: string): Report {
  return JSON.parse(stdout) as Report;
}

function check(report: Report, name: string) {
  const found = report.checks.find((c) => c.name === name);
  assert.ok(found, `no "${name}" check in ${JSON.stringify(report)}`);
  return found;
}

/** Neither the key nor any secret may appear anywhere the user or a log collector sees. */
function assertNoSecrets(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) assert.ok(!output.includes(secret), 'a key or secret appeared in the output');
}

/** Journals an order and leaves its send ambiguous: UNKNOWN, as after a timeout. */
async function unknownOrder(store: Store, clientOrderId: string): Promise<void> {
  const order = await store.journalOrder({
    clientOrderId,
    symbol: 'BTCTRY',
    side: 'buy',
    method: 'limit',
    price: toDec('100'),
    quantity: toDec('0.001'),
  });
  assert.equal((await store.applyEvent(order.id, { type: 'sent' })).ok, true);
  assert.equal(
    (await store.applyEvent(order.id, { type: 'send-ambiguous', reason: 'test: timeout' })).ok,
    true,
  );
}

describe('btcbot doctor against btcbot sim', () => {
  let sim: SimProcess;
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    sim = await startSimProcess(['--seed', '41', '--symbols', 'BTCTRY,ETHTRY']);
    dir = mkdtempSync(join(tmpdir(), 'btcbot-doctor-'));
    env = {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_WS_URL: sim.ws,
      BTCTURK_API_KEY: sim.apiKey,
      BTCTURK_API_SECRET: sim.apiSecret,
    };
  });
  after(async () => {
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes every check, in the stable order, with --json (no database yet is reported, not failed)', async () => {
    const db = join(dir, 'absent.db');
    const res = await runCli(['doctor', '--json', '--db', db], env);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const report = parseReport(res.stdout);
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.checks.map((c) => c.name),
      [...CHECK_NAMES],
    );
    assert.deepEqual(CHECK_NAMES, [
      'config',
      'rest',
      'clock',
      'signed-read',
      'websocket',
      'websocket-login',
      'snapshot',
      'rate-limit',
      'database',
      'redis',
      'unknown-orders',
      'kill-switch',
    ]);
    for (const c of report.checks) {
      assert.equal(c.ok, true, `${c.name}: ${c.detail}`);
      assert.equal(typeof c.detail, 'string');
      assert.ok(c.detail.length > 0);
    }
    assert.match(check(report, 'websocket-login').detail, /logged in/);
    assert.match(check(report, 'snapshot').detail, /obdiff BTCTRY: a snapshot of \d+ bids and \d+ asks/);
    assert.match(check(report, 'database').detail, /no database at .*absent\.db yet/);
    assert.match(check(report, 'redis').detail, /^not configured/);
    assert.match(check(report, 'clock').detail, /[+-]\d+ ms/);
    assertNoSecrets(res.stdout + res.stderr, [sim.apiKey, sim.apiSecret]);
  });

  it('fails websocket-login with the server’s own reason when the WebSocket secret is wrong (exit 1)', async () => {
    const res = await runCli(['doctor', '--json', '--db', join(dir, 'absent.db')], {
      ...env,
      BTCTURK_WS_PRIVATE_KEY: WRONG_WS_SECRET,
    });
    assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
    const report = parseReport(res.stdout);
    assert.equal(report.ok, false);
    const login = check(report, 'websocket-login');
    assert.equal(login.ok, false);
    assert.match(login.detail, /Unauthorized - Invalid Signature/);
    assert.match(login.detail, /BTCTURK_WS_PRIVATE_KEY/);
    // Only the login is wrong: everything else still passes.
    assert.deepEqual(
      report.checks.filter((c) => !c.ok).map((c) => c.name),
      ['websocket-login'],
    );
    assertNoSecrets(res.stdout + res.stderr, [sim.apiKey, sim.apiSecret, WRONG_WS_SECRET]);
  });

  it('prints readable PASS/FAIL lines without --json', async () => {
    const res = await runCli(['doctor', '--db', join(dir, 'absent.db'), '--symbol', 'ETHTRY'], env);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const lines = res.stdout.trim().split('\n');
    assert.equal(lines.length, CHECK_NAMES.length + 1);
    CHECK_NAMES.forEach((name, i) => {
      assert.match(lines[i] ?? '', new RegExp(`^PASS ${name}: \\S`));
    });
    assert.match(lines.at(-1) ?? '', /all 12 checks passed/);
    assert.match(res.stdout, /obdiff ETHTRY/);
    assertNoSecrets(res.stdout + res.stderr, [sim.apiKey, sim.apiSecret]);
  });

  it('fails the snapshot check naming a pair the exchange does not list', async () => {
    const res = await runCli(
      ['doctor', '--json', '--db', join(dir, 'absent.db'), '--symbol', 'NOPETRY'],
      env,
    );
    assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
    const snapshot = check(parseReport(res.stdout), 'snapshot');
    assert.equal(snapshot.ok, false);
    assert.match(snapshot.detail, /NOPETRY is not listed/);
  });

  it('reads a real store: current migrations, the writer lock and its holder, UNKNOWN orders, the kill switch', async () => {
    const path = join(dir, 'bot.db');
    const store = await openSqliteStore({ path });
    await unknownOrder(store, 'bb-doctor-unknown-1');
    await store.setKillSwitch(true, 'doctor test');
    try {
      // This process holds the writer lock, as a running bot would.
      const res = await runCli(['doctor', '--json', '--db', path], env);
      assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
      const report = parseReport(res.stdout);
      const database = check(report, 'database');
      assert.equal(database.ok, true, database.detail);
      assert.match(database.detail, /migrations current/);
      assert.match(database.detail, new RegExp(`writer lock held by pid ${process.pid}\\b`));
      const unknown = check(report, 'unknown-orders');
      assert.equal(unknown.ok, false);
      assert.match(unknown.detail, /bb-doctor-unknown-1/);
      const kill = check(report, 'kill-switch');
      assert.equal(kill.ok, false);
      assert.match(kill.detail, /kill switch ON \(doctor test\)/);
    } finally {
      await store.close();
    }
    // Closed: the lock is free; the UNKNOWN order and the switch are still there.
    const res = await runCli(['doctor', '--json', '--db', path], env);
    assert.equal(res.code, 1);
    assert.match(check(parseReport(res.stdout), 'database').detail, /writer lock free/);
  });

  it('a clean store passes; REDUCE_ONLY passes with a warning; HALTED fails', async () => {
    const path = join(dir, 'clean.db');
    const store = await openSqliteStore({ path });
    await store.close();
    const res = await runCli(['doctor', '--json', '--db', path], env);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const report = parseReport(res.stdout);
    assert.match(check(report, 'unknown-orders').detail, /no order in UNKNOWN/);
    assert.match(check(report, 'kill-switch').detail, /kill switch off, escalation NORMAL/);

    const reopened = await openSqliteStore({ path });
    await reopened.setEscalation('REDUCE_ONLY', 'daily loss limit');
    await reopened.close();
    const reduced = await runCli(['doctor', '--json', '--db', path], env);
    assert.equal(reduced.code, 0, `${reduced.stdout}\n${reduced.stderr}`);
    const kill = check(parseReport(reduced.stdout), 'kill-switch');
    assert.equal(kill.ok, true);
    assert.match(kill.detail, /warning: escalation REDUCE_ONLY \(daily loss limit\)/);

    const halted = await openSqliteStore({ path });
    await halted.setEscalation('HALTED', 'drawdown limit');
    await halted.setKillSwitch(false, 'test: HALTED with the switch off');
    await halted.close();
    const stopped = await runCli(['doctor', '--json', '--db', path], env);
    assert.equal(stopped.code, 1, `${stopped.stdout}\n${stopped.stderr}`);
    const haltedCheck = check(parseReport(stopped.stdout), 'kill-switch');
    assert.equal(haltedCheck.ok, false);
    assert.match(haltedCheck.detail, /HALTED/);
  });

  it('reports bad configuration as a failed config check and exits 2, without echoing the secret', async () => {
    const badSecret = 'definitely-not-base64!';
    const res = await runCli(['doctor', '--json'], { ...env, BTCTURK_API_SECRET: badSecret });
    assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
    const report = parseReport(res.stdout);
    assert.deepEqual(report, {
      ok: false,
      checks: [{ name: 'config', ok: false, detail: report.checks[0]?.detail }],
    });
    assert.match(report.checks[0]?.detail ?? '', /^BTCTURK_API_SECRET: /);
    assert.match(res.stderr, /configuration error: BTCTURK_API_SECRET/);
    assertNoSecrets(res.stdout + res.stderr, [badSecret, sim.apiKey]);
  });

  it('holds the login nonce to the range BTCTurk accepts, naming the setting (exit 2)', async () => {
    const res = await runCli(['doctor', '--json'], { ...env, BTCBOT_WS_LOGIN_NONCE: '1700000000000' });
    assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
    assert.match(
      res.stderr,
      /configuration error: BTCBOT_WS_LOGIN_NONCE: expected a whole number from 100 to 60000/,
    );
    const accepted = await runCli(
      ['doctor', '--json', '--db', join(dir, 'absent.db'), '--ws-login-nonce', '59000'],
      env,
    );
    assert.equal(accepted.code, 0, `${accepted.stdout}\n${accepted.stderr}`);
    assert.match(check(parseReport(accepted.stdout), 'websocket-login').detail, /logged in .*nonce 59000/);
  });

  it('without keys the private checks say they do not apply and pass', async () => {
    const res = await runCli(['doctor', '--json', '--db', join(dir, 'absent.db')], {
      BTCTURK_BASE_URL: sim.rest,
      BTCTURK_WS_URL: sim.ws,
    });
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    const report = parseReport(res.stdout);
    assert.match(check(report, 'signed-read').detail, /^not applicable: no API key/);
    assert.match(check(report, 'websocket-login').detail, /^not applicable: no key pair/);
  });
});

describe('btcbot doctor never hangs', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let url: string;
  before(async () => {
    // Accepts connections and never answers: neither HTTP nor the WebSocket upgrade.
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    url = `127.0.0.1:${address.port}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((done) =>
      server.close(() => {
        done();
      }),
    );
  });

  it('bounds every check against an endpoint that never answers, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'btcbot-doctor-'));
    try {
      const res = await runCli(
        ['doctor', '--json', '--timeout', '1s', '--db', join(dir, 'absent.db')],
        { BTCTURK_BASE_URL: `http://${url}`, BTCTURK_WS_URL: `ws://${url}/ws` },
        60_000,
      );
      assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
      const report = parseReport(res.stdout);
      assert.deepEqual(
        report.checks.map((c) => c.name),
        [...CHECK_NAMES],
      );
      for (const name of ['rest', 'clock', 'websocket', 'snapshot'])
        assert.equal(check(report, name).ok, false, name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('btcbot doctor with a shared rate limit in Redis', async () => {
  const skip = await redisSkip();
  let sim: SimProcess;
  let dir: string;
  before(async () => {
    if (skip) return;
    sim = await startSimProcess(['--seed', '43', '--symbols', 'BTCTRY']);
    dir = mkdtempSync(join(tmpdir(), 'btcbot-doctor-'));
  });
  after(async () => {
    if (skip) return;
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = () => ({
    BTCTURK_BASE_URL: sim.rest,
    BTCTURK_WS_URL: sim.ws,
    BTCTURK_API_KEY: sim.apiKey,
    BTCTURK_API_SECRET: sim.apiSecret,
    BTCBOT_REDIS_URL: REDIS_URL,
  });

  it(
    'reads the budget shared in Redis, and fails while a 429 blocks a group of the key',
    { skip },
    async () => {
      const args = ['doctor', '--json', '--db', join(dir, 'absent.db')];
      const res = await runCli(args, env());
      assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
      const report = parseReport(res.stdout);
      assert.match(check(report, 'redis').detail, /answered PING with PONG/);
      assert.match(check(report, 'rate-limit').detail, /shared in Redis by every process on this API key/);

      // Another process on the same key met a 429 on balances: the shared store blocks the group.
      const shared = await connectRedisLimiterStore({ url: REDIS_URL, apiKey: sim.apiKey });
      try {
        await shared.block('balances', Date.now() + 60_000);
      } finally {
        await shared.close();
      }
      const blocked = await runCli(args, env());
      assert.equal(blocked.code, 1, `${blocked.stdout}\n${blocked.stderr}`);
      const after429 = parseReport(blocked.stdout);
      const rate = check(after429, 'rate-limit');
      assert.equal(rate.ok, false);
      assert.match(rate.detail, /balances blocked by a 429 for another/);
      assert.equal(check(after429, 'signed-read').ok, false);
    },
  );
});

describe('btcbot doctor on a PostgreSQL store', async () => {
  const target = await findPostgres();
  const database = `btcbot_doctor_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = Object.assign(new URL(target.url), { pathname: `/${database}` }).toString();
  let sim: SimProcess;
  before(async () => {
    if (target.skip) return;
    await runSql(target.url, `CREATE DATABASE "${database}"`);
    sim = await startSimProcess(['--seed', '44', '--symbols', 'BTCTRY']);
  });
  after(async () => {
    if (target.skip) return;
    await sim.stop();
    await runSql(target.url, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  });

  it(
    'reports an empty database, then the store, its writer lock holder and its UNKNOWN orders',
    { skip: target.skip },
    async () => {
      const env = { BTCTURK_BASE_URL: sim.rest, BTCTURK_WS_URL: sim.ws };
      const empty = await runCli(['doctor', '--json', '--db', url], env);
      assert.equal(empty.code, 0, `${empty.stdout}\n${empty.stderr}`);
      assert.match(check(parseReport(empty.stdout), 'database').detail, /no btcbot store in .* yet/);

      const writer = await openPostgresStore({ url });
      try {
        await unknownOrder(writer, 'bb-doctor-pg-unknown');
        const res = await runCli(['doctor', '--json', '--db', url], env);
        assert.equal(res.code, 1, `${res.stdout}\n${res.stderr}`);
        const report = parseReport(res.stdout);
        const db = check(report, 'database');
        assert.equal(db.ok, true, db.detail);
        assert.match(db.detail, /migrations current/);
        assert.match(db.detail, new RegExp(`writer lock held by pid ${process.pid} `));
        assert.match(check(report, 'unknown-orders').detail, /bb-doctor-pg-unknown/);
        assert.equal(check(report, 'kill-switch').ok, true);
      } finally {
        await writer.close();
      }
    },
  );
});
