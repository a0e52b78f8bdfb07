import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { fullJitterDelay } from '../../src/btcturk/common/retry.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { seededRandom } from '../../src/domain/random.ts';
import type { AlertsConfig } from '../../src/ops/alerts/config.ts';
import type { AlertFigures } from '../../src/ops/alerts/figures.ts';
import type { AlertMessage } from '../../src/ops/alerts/messages.ts';
import { DEFAULT_BACKOFF } from '../../src/ops/alerts/outbox.ts';
import { SIGNATURE_HEADER } from '../../src/ops/alerts/receivers.ts';
import { DEFAULT_THRESHOLDS, RULE_NAMES } from '../../src/ops/alerts/rules.ts';
import { AlertsService } from '../../src/ops/alerts/service.ts';
import type { AlertStore } from '../../src/ports/alerts.ts';
import type { Store } from '../../src/ports/store.ts';
import { alertStoreOf } from '../../src/store/sql/alerts.ts';
import { openSqliteStore } from '../../src/store/sqlite/open.ts';
import { manualClock, newOrder, tempDir } from '../store/helpers.ts';
import { figures, START } from './fixtures.ts';
import { capturingLogger, localReceiver, type LocalReceiver } from './receiver.ts';

const WEBHOOK_SECRET = 'whsec-PLANTED-0123456789abcdef';
const TELEGRAM_TOKEN = '123456789:PLANTED_telegram_token_abcdefghij';
const API_SECRET = 'PLANTED-api-secret-b64+/xyz==';
const SEED = 7;

interface Harness {
  store: Store;
  alerts: AlertStore;
  service: AlertsService;
  clock: ReturnType<typeof manualClock>;
  now: { figures: AlertFigures };
  lines: string[];
  reopen(startedAt: number): Promise<void>;
}

function config(webhook: LocalReceiver | null, telegram: LocalReceiver | null, chatId = '42'): AlertsConfig {
  return {
    webhook: webhook && {
      url: `${webhook.url}/hook`,
      secret: WEBHOOK_SECRET,
      limits: [{ limit: 60, perMs: 60_000 }],
    },
    telegram: telegram && { token: TELEGRAM_TOKEN, chatId, apiUrl: telegram.url },
    enabled: new Set(RULE_NAMES),
    heartbeat: null,
    thresholds: DEFAULT_THRESHOLDS,
  };
}

async function harness(
  t: TestContext,
  cfg: AlertsConfig,
  options: { realSleep?: boolean } = {},
): Promise<Harness> {
  const path = join(tempDir(t), 'bot.db');
  const manual = manualClock(START);
  const clock = options.realSleep
    ? { ...manual, sleep: (ms: number, signal?: AbortSignal) => systemClock.sleep(ms, signal) }
    : manual;
  const { logger, lines } = capturingLogger();
  const now = { figures: figures(START) };
  const make = (alerts: AlertStore) =>
    new AlertsService({
      store: alerts,
      config: cfg,
      bot: 'bb',
      figures: () => Promise.resolve(now.figures),
      clock,
      random: seededRandom(SEED),
      logger,
      secrets: [API_SECRET],
    });
  const store = await openSqliteStore({ path, clock });
  const alerts = alertStoreOf(store);
  const h: Harness = {
    store,
    alerts,
    service: make(alerts),
    clock: manual,
    now,
    lines,
    async reopen(startedAt) {
      await h.service.stop();
      await h.store.close();
      h.store = await openSqliteStore({ path, clock });
      h.alerts = alertStoreOf(h.store);
      h.service = make(h.alerts);
      now.figures = { ...now.figures, startedAt };
    },
  };
  t.after(async () => {
    await h.service.stop();
    await h.store.close();
  });
  return h;
}

/** Steps the receiver's lane until nothing is due now. */
async function drain(h: Harness, receiver: string): Promise<void> {
  for (let i = 0; i < 50; i += 1) {
    const r = await h.service.worker.step(receiver);
    if (r.kind === 'idle' || r.kind === 'throttled') return;
  }
  throw new Error('the outbox did not drain');
}

const bodies = (r: LocalReceiver): AlertMessage[] =>
  r.received.map((q) => JSON.parse(q.body) as AlertMessage);
const halted = (reason = 'reconciliation failed 5 times in a row') =>
  ({ escalation: { level: 'HALTED', reason } }) as const;

describe('alerts service', { timeout: 20_000 }, () => {
  it('fires once, resolves once, and a restart while still firing does not fire again', async (t) => {
    const hook = await localReceiver(t);
    const h = await harness(t, config(hook, null));
    h.now.figures = figures(START, halted());
    assert.equal((await h.service.tick()).messages.length, 1);
    h.clock.advance(5_000);
    assert.equal((await h.service.tick()).messages.length, 0, 'still HALTED: nothing new');
    await drain(h, 'webhook');
    assert.deepEqual(
      bodies(hook).map((m) => [m.rule, m.status, m.severity]),
      [['halted', 'firing', 'critical']],
    );

    // Restart (same SQLite file, a new process start): still HALTED, and nothing is sent again.
    h.clock.advance(5_000);
    await h.reopen(h.clock.now());
    h.now.figures = { ...figures(h.clock.now(), halted()), startedAt: h.clock.now() };
    assert.equal((await h.service.tick()).messages.length, 0);
    await drain(h, 'webhook');
    assert.equal(hook.received.length, 1);

    h.clock.advance(5_000);
    h.now.figures = { ...figures(h.clock.now()), startedAt: h.now.figures.startedAt };
    const resolved = await h.service.tick();
    assert.deepEqual(
      resolved.messages.map((m) => [m.rule, m.status]),
      [['halted', 'resolved']],
    );
    await drain(h, 'webhook');
    assert.deepEqual(
      bodies(hook).map((m) => m.status),
      ['firing', 'resolved'],
    );
    assert.deepEqual(
      (await h.alerts.outbox()).map((m) => m.status),
      ['delivered', 'delivered'],
    );
  });

  it('signs each webhook body with HMAC-SHA256 of the configured secret', async (t) => {
    const hook = await localReceiver(t);
    const h = await harness(t, config(hook, null));
    h.now.figures = figures(START, halted());
    await h.service.tick();
    await drain(h, 'webhook');
    const [request] = hook.received;
    assert.ok(request);
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/hook');
    assert.equal(request.headers['content-type'], 'application/json');
    const expected = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(request.body).digest('hex')}`;
    assert.equal(request.headers[SIGNATURE_HEADER], expected);
    const wrong = `sha256=${createHmac('sha256', 'another-secret').update(request.body).digest('hex')}`;
    assert.notEqual(request.headers[SIGNATURE_HEADER], wrong);
    const body = JSON.parse(request.body) as AlertMessage;
    assert.equal(body.bot, 'bb');
    assert.equal(body.id, `halted/main/firing/${START}`);
    assert.equal(body.at, new Date(START).toISOString());
  });

  it('a receiver answering 500 is retried with growing backoff (full jitter), then delivered', async (t) => {
    const hook = await localReceiver(t);
    hook.answer = { kind: 'status', status: 500, body: 'upstream down' };
    const h = await harness(t, config(hook, null));
    h.now.figures = figures(START, halted());
    await h.service.tick();
    const replica = seededRandom(SEED);
    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const r = await h.service.worker.step('webhook');
      assert.equal(r.kind, 'failed');
      const [row] = await h.alerts.outbox();
      assert.ok(row);
      assert.equal(row.attempts, attempt);
      assert.match(row.lastError ?? '', /HTTP 500: upstream down/);
      const delay = Math.ceil(fullJitterDelay(attempt - 1, DEFAULT_BACKOFF, replica));
      assert.equal(row.nextAttemptAt, h.clock.now() + delay);
      assert.ok(delay <= DEFAULT_BACKOFF.baseMs * 2 ** (attempt - 1), 'within the exponential bound');
      // Not due before its time.
      const early = await h.service.worker.step('webhook');
      if (delay > 0) assert.deepEqual(early, { kind: 'idle', nextAt: row.nextAttemptAt });
      h.clock.advance(delay);
    }
    hook.answer = { kind: 'ok' };
    assert.equal((await h.service.worker.step('webhook')).kind, 'sent');
    assert.equal(hook.received.length, 5);
    assert.equal((await h.alerts.outbox())[0]?.status, 'delivered');
    assert.deepEqual(h.service.worker.stats(), { delivered: 1, failures: 4, givenUp: 0 });
  });

  it("honours a receiver's Retry-After, and gives up on a refusal that cannot pass", async (t) => {
    const hook = await localReceiver(t);
    hook.answer = { kind: 'status', status: 429, headers: { 'retry-after': '120' } };
    const h = await harness(t, config(hook, null));
    h.now.figures = figures(START, halted());
    await h.service.tick();
    await h.service.worker.step('webhook');
    const [row] = await h.alerts.outbox();
    assert.equal(row?.nextAttemptAt, START + 120_000);
    h.clock.advance(120_000);
    hook.answer = { kind: 'status', status: 404, body: 'no such hook' };
    assert.equal((await h.service.worker.step('webhook')).kind, 'gave-up');
    assert.equal((await h.alerts.outbox())[0]?.status, 'dead');
  });

  it('a hanging receiver blocks neither the evaluation nor the store writes of the engine', async (t) => {
    const hook = await localReceiver(t);
    hook.answer = { kind: 'hang' };
    const h = await harness(t, config(hook, null), { realSleep: true });
    h.service.worker.start();
    h.now.figures = figures(START, halted());
    await h.service.tick();
    await hook.arrived(1); // the worker is now stuck in a send that never ends
    // The evaluator goes on: its next transitions are written while the send hangs...
    h.clock.advance(40_000);
    h.now.figures = figures(h.clock.now(), {
      ...halted(),
      unknownOrders: [{ orderId: 'o-9', symbol: 'BTCTRY', since: START }],
    });
    const next = await h.service.tick();
    assert.deepEqual(
      next.messages.map((m) => m.rule),
      ['unknown-order'],
    );
    // ...and so does the engine's journal, on the same database and writer.
    const order = await h.store.journalOrder(newOrder());
    assert.equal(order.state, 'PENDING_SUBMIT');
    assert.equal(hook.received.length, 1, 'the send is still hanging');
    const pending = await h.alerts.outbox({ status: 'pending' });
    assert.equal(pending.length, 2);
    // Stopping abandons the hung send; its claim runs out and it is sent again later.
    await h.service.stop();
    assert.equal((await h.alerts.outbox({ status: 'pending' })).length, 2);
  });

  it("sends Telegram's sendMessage: chat_id and text to /bot<token>/sendMessage, throttled per chat", async (t) => {
    const tg = await localReceiver(t);
    const h = await harness(t, config(null, tg, '-100123'));
    h.now.figures = figures(START, {
      ...halted('halt: test'),
      unknownOrders: [{ orderId: 'o-1', symbol: 'BTCTRY', since: START - 60_000 }],
    });
    assert.equal((await h.service.tick()).messages.length, 2);
    assert.equal((await h.service.worker.step('telegram')).kind, 'sent');
    assert.deepEqual(await h.service.worker.step('telegram'), { kind: 'throttled', nextAt: START + 1_000 });
    h.clock.advance(1_000);
    assert.equal((await h.service.worker.step('telegram')).kind, 'sent');
    const [first] = tg.received;
    assert.ok(first);
    assert.equal(first.method, 'POST');
    assert.equal(first.path, `/bot${TELEGRAM_TOKEN}/sendMessage`);
    assert.equal(first.headers['content-type'], 'application/json');
    const body = JSON.parse(first.body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['chat_id', 'disable_web_page_preview', 'text']);
    assert.equal(body.chat_id, '-100123');
    assert.equal(typeof body.text, 'string');
    assert.match(String(body.text), /FIRING critical halted\ntrading HALTED .*halt: test\n/);
  });

  it("honours Telegram's retry_after, and redacts the token from its answers", async (t) => {
    const tg = await localReceiver(t);
    tg.answer = {
      kind: 'status',
      status: 429,
      body: JSON.stringify({
        ok: false,
        error_code: 429,
        description: `Too Many Requests for bot${TELEGRAM_TOKEN}`,
        parameters: { retry_after: 7 },
      }),
    };
    const h = await harness(t, config(null, tg));
    h.now.figures = figures(START, halted());
    await h.service.tick();
    await h.service.worker.step('telegram');
    const [row] = await h.alerts.outbox();
    assert.ok(row);
    assert.ok(row.nextAttemptAt >= START + 7_000);
    assert.match(row.lastError ?? '', /Too Many Requests for bot\[redacted\]/);
  });

  it('a planted secret reaches no alert payload, stored error or log line', async (t) => {
    const hook = await localReceiver(t);
    const tg = await localReceiver(t);
    // The receivers echo the secrets back, as a misconfigured proxy might.
    hook.answer = { kind: 'status', status: 502, body: `bad gateway ${WEBHOOK_SECRET} ${API_SECRET}` };
    tg.answer = {
      kind: 'status',
      status: 500,
      body: JSON.stringify({ ok: false, description: `x ${TELEGRAM_TOKEN}` }),
    };
    const h = await harness(t, config(hook, tg));
    // A reason that quotes the API secret (an exchange error echoing a request, say).
    h.now.figures = figures(START, halted(`exchange said: signature for ${API_SECRET} refused`));
    await h.service.tick();
    await h.service.worker.step('webhook');
    await h.service.worker.step('telegram');
    const failed = await h.alerts.outbox();
    assert.equal(failed.length, 2);
    for (const row of failed) assert.match(row.lastError ?? '', /\[redacted\]/);
    hook.answer = { kind: 'ok' };
    tg.answer = { kind: 'ok' };
    h.clock.advance(DEFAULT_BACKOFF.capMs);
    await drain(h, 'webhook');
    await drain(h, 'telegram');
    assert.equal(hook.received.length, 2);
    assert.equal(tg.received.length, 2);
    const rows = await h.alerts.outbox();
    const written = [
      ...[...failed, ...rows].map((r) => `${r.payload} ${r.lastError ?? ''}`),
      ...[...hook.received, ...tg.received].map((r) => `${r.body} ${JSON.stringify(r.headers)}`),
      ...h.lines,
    ];
    assert.ok(h.lines.length >= 3, 'the failures and the alert were logged');
    for (const secret of [WEBHOOK_SECRET, TELEGRAM_TOKEN, API_SECRET])
      for (const text of written) assert.ok(!text.includes(secret), `a secret leaked into: ${text}`);
    assert.match(bodies(hook)[0]?.summary ?? '', /signature for \[redacted\] refused/);
  });
});
