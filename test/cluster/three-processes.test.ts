import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { REST_LIMITS } from '../../src/sim/server/rate-limits.ts';
import { overspentWindows } from '../limiter/helpers.ts';
import {
  liveEnv,
  simState,
  spawnBot,
  startSimProcess,
  type BotProcess,
  type SimOrderJson,
  type SimStateJson,
} from '../run/helpers.ts';
import { REDIS_URL, redisSkip } from '../redis/helpers.ts';
import { findPostgres, runSql } from '../store-pg/helpers.ts';

// Three `btcbot run` processes in live mode against one `btcbot sim`, one PostgreSQL database, one
// Redis and one key, all given the same six pairs and an order rate that
// together is above the account's limit. Each may take three pairs, so three processes take two
// each and two take three each. Then one is SIGKILLed: its pairs are taken over after
// the lease time, reconciled, and traded on, with no order placed twice. The simulator counts its
// windows in the strict sliding mode (any 11 order requests in one second are refused, however a
// window would be anchored) and its own count of 429s is the judge.

const SYMBOLS = ['AVAXTRY', 'BTCTRY', 'ETHTRY', 'SOLTRY', 'USDTTRY', 'XRPTRY'];
const LEASE_MS = 6_000;

/** The simulator's ground truth, with what this test reads beyond the shared helper's fields. */
interface Truth extends SimStateJson {
  readonly orders: readonly (SimOrderJson & { readonly createdAt: number })[];
  readonly rateLimited: { total: number; byGroup: Record<string, number> } | null;
}

interface OrderRow {
  client_order_id: string | null;
  symbol: string;
  lease_epoch: string | null;
  created_at: string;
  origin: string;
}

/** The 429s a running process was answered, from its metrics endpoint. */
async function rateLimited(bot: BotProcess): Promise<number> {
  const line = await bot.waitFor(/^\s*metrics: http:\/\//);
  const url = /(http:\/\/\S+)/.exec(line)?.[1];
  assert.ok(url, line);
  const text = await (
    await fetch(url.endsWith('/metrics') ? url : `${url.replace(/\/$/, '')}/metrics`)
  ).text();
  let total = 0;
  for (const m of text.matchAll(/^btcbot_rest_rate_limited_total(?:\{[^}]*\})? (\d+)/gm))
    total += Number(m[1]);
  assert.match(text, /btcbot_rest_rate_limited_total/, 'the 429 counter is exported');
  return total;
}

it('three processes share the pairs, stay inside the limits, and take a killed one over', async (t) => {
  const pg = await findPostgres();
  if (pg.skip) {
    t.skip(pg.skip);
    return;
  }
  const redisReason = await redisSkip();
  if (redisReason) {
    t.skip(redisReason);
    return;
  }

  // A database of its own: the run command keeps its tables in the database's default schema.
  const database = `btcbot_cluster_${process.pid}_${randomBytes(3).toString('hex')}`;
  await runSql(pg.url, `CREATE DATABASE ${database}`);
  const url = pg.url.replace(/\/[^/]*$/, `/${database}`);
  t.after(() => runSql(pg.url, `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));

  const sim = await startSimProcess(['--seed', '12', '--speed', '3', '--symbols', SYMBOLS.join(',')], {
    BTCBOT_SIM_RATE_WINDOWS: 'sliding',
  });
  t.after(() => sim.stop());
  const env = liveEnv(sim);
  const args = (duration: string) => [
    'run',
    '--mode',
    'live',
    '--live',
    '--symbols',
    SYMBOLS.join(','),
    '--db',
    url,
    '--redis-url',
    REDIS_URL,
    '--max-symbols',
    '3',
    '--lease-ms',
    String(LEASE_MS),
    '--orders-per-minute',
    '300',
    '--duration',
    duration,
    '--cancel-on-exit',
    '--metrics-port',
    '0',
    '--param',
    'requoteThresholdBps=5',
  ];
  const bots: BotProcess[] = [];
  for (let i = 0; i < 3; i += 1) bots.push(spawnBot(args('40s'), env, 150_000));
  t.after(() => {
    for (const bot of bots) bot.child.kill('SIGKILL');
  });
  for (const bot of bots) await bot.waitFor(/^cluster: process /, 60_000);

  const leases = async () =>
    (await runSql(url, 'SELECT symbol, holder, epoch, expires_at FROM leases ORDER BY symbol')).rows.map(
      (r: { symbol: string; holder: string; epoch: string; expires_at: string }) => ({
        symbol: r.symbol,
        holder: r.holder,
        epoch: Number(r.epoch),
        expiresAt: Number(r.expires_at),
      }),
    );
  // Every pair leased, two per process.
  for (let i = 0; i < 100; i += 1) {
    const now = Date.now();
    const live = (await leases()).filter((l) => l.expiresAt > now);
    if (live.length === SYMBOLS.length) break;
    await sleep(300);
  }
  await sleep(8_000);
  // A heartbeat late on a loaded machine makes a process look gone for a moment (its share grows to
  // three); the split settles on the next heartbeats, so it is read until it does (at most ~15 s).
  const split = async () => {
    const leased = await leases();
    const by = new Map<string, string[]>();
    for (const l of leased) by.set(l.holder, [...(by.get(l.holder) ?? []), l.symbol]);
    return { leased, by };
  };
  let { leased: before, by: holders } = await split();
  for (let i = 0; i < 30 && [...holders.values()].some((s) => s.length !== 2); i += 1) {
    await sleep(500);
    ({ leased: before, by: holders } = await split());
  }
  assert.deepEqual(
    [...holders.values()].map((s) => s.length),
    [2, 2, 2],
    `pairs shared out two each: ${JSON.stringify(before)}`,
  );

  // The simulator answered no process with a 429 (each counts what it was answered).
  for (const bot of bots) assert.equal(await rateLimited(bot), 0, 'a process was answered 429');

  // SIGKILL the first process: no chance to cancel or release.
  const victim = bots[0];
  assert.ok(victim);
  const victimPid = victim.child.pid;
  const processes = await runSql(url, 'SELECT id, pid FROM processes');
  const victimId = (processes.rows as { id: string; pid: number }[]).find((p) => p.pid === victimPid)?.id;
  assert.ok(victimId, 'the killed process is in the cluster table');
  const orphaned = before.filter((l) => l.holder === victimId).map((l) => l.symbol);
  victim.child.kill('SIGKILL');
  const killedAt = Date.now();
  await victim.exit;

  let takenAt: number | null = null;
  for (let i = 0; i < 100 && takenAt === null; i += 1) {
    const now = (await leases()).filter((l) => orphaned.includes(l.symbol));
    if (now.every((l) => l.holder !== victimId && l.expiresAt > Date.now())) takenAt = Date.now();
    else await sleep(250);
  }
  assert.ok(takenAt !== null, `the killed process's pairs ${orphaned.join()} were taken over`);
  assert.ok(takenAt - killedAt < 15_000, `taken over ${takenAt - killedAt} ms after the kill`);
  await sleep(LEASE_MS);
  for (const bot of bots.slice(1)) assert.equal(await rateLimited(bot), 0, 'a process was answered 429');
  // Traded on by the new holders until the end.
  for (const bot of bots.slice(1)) {
    const { code } = await bot.exit;
    assert.equal(code, 0, `${bot.lines.join('\n')}\n${bot.stderr().slice(-3000)}`);
  }

  const truth = (await simState(sim.rest)) as Truth;
  // Zero 429s from the simulator itself, in its strict sliding mode, from the first request to the
  // survivors' exit cancels (and the killed process's requests before the kill).
  assert.deepEqual(
    truth.rateLimited,
    { total: 0, byGroup: {} },
    `the simulator answered 429s: ${JSON.stringify(truth.rateLimited)}`,
  );
  const rows = (
    await runSql(url, 'SELECT client_order_id, symbol, lease_epoch, created_at, origin FROM orders')
  ).rows as OrderRow[];
  const byClientId = new Map(rows.map((r) => [r.client_order_id, r]));
  const ours = truth.orders.filter((o) => o.clientOrderId !== null);
  assert.ok(ours.length > 0, 'the processes placed orders');
  // Orders within every BTCTurk window: by the simulator's creation times (taken as it admits the
  // request), no sliding 1 s span holds more than 10 new orders and no 60 s span more than 300.
  const orderWindows = REST_LIMITS['POST /api/v1/order']?.windows ?? [];
  assert.equal(orderWindows.length, 2);
  assert.deepEqual(
    overspentWindows(
      ours.map((o) => o.createdAt),
      orderWindows,
    ),
    [],
    'order requests above a BTCTurk window',
  );
  // No order placed twice: every client id is sent once.
  const ids = ours.map((o) => o.clientOrderId);
  assert.equal(new Set(ids).size, ids.length, 'a client order id reached the exchange twice');
  // Every order the exchange holds was journaled under a lease of its pair.
  for (const o of ours) {
    const row = byClientId.get(o.clientOrderId);
    assert.ok(row, `order ${o.clientOrderId} is not in the store`);
    if (row.origin === 'local')
      assert.ok(row.lease_epoch !== null, `order ${o.clientOrderId} has no lease epoch`);
  }
  // No pair traded by two processes at once: per pair, each epoch's orders were created in a span
  // that no other epoch's span overlaps.
  for (const symbol of SYMBOLS) {
    const spans = new Map<number, [number, number]>();
    for (const r of rows)
      if (r.symbol === symbol && r.lease_epoch !== null) {
        const epoch = Number(r.lease_epoch);
        const at = Number(r.created_at);
        const span = spans.get(epoch) ?? [at, at];
        spans.set(epoch, [Math.min(span[0], at), Math.max(span[1], at)]);
      }
    const sorted = [...spans.entries()].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i += 1) {
      const [prevEpoch, prev] = sorted[i - 1] ?? [0, [0, 0]];
      const [epoch, span] = sorted[i] ?? [0, [0, 0]];
      assert.ok(
        prev[1] < span[0],
        `${symbol}: epoch ${prevEpoch} ${prev.join('-')} overlaps epoch ${epoch} ${span.join('-')}`,
      );
    }
    if (orphaned.includes(symbol))
      assert.ok(
        sorted.some(([, span]) => span[1] > killedAt),
        `${symbol}, taken over from the killed process, was traded on after the kill`,
      );
  }
});
