import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/domain/errors.ts';
import { loadAlertsConfig } from '../../src/ops/alerts/config.ts';
import { Heartbeat, loopHealthy } from '../../src/ops/alerts/heartbeat.ts';
import { manualClock } from '../store/helpers.ts';
import { capturingLogger, localReceiver } from './receiver.ts';

const SECRET = 'whsec-0123456789abcdef';
const TOKEN = '123456789:AAHplantedTokenValue_abcdefghijk';

function refusal(fn: () => unknown, setting: string, what: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.setting, setting);
    assert.match(error.message, what);
    assert.ok(!error.message.includes(TOKEN) && !error.message.includes(SECRET), 'no secret in the message');
    return true;
  });
}

describe('alert settings', () => {
  it('nothing configured: every rule on, no receiver, no heartbeat', () => {
    const c = loadAlertsConfig({}, {});
    assert.equal(c.webhook, null);
    assert.equal(c.telegram, null);
    assert.equal(c.heartbeat, null);
    assert.equal(c.enabled.size, 11);
  });

  it('reads receivers from flags and the environment (secrets from the environment only)', () => {
    const c = loadAlertsConfig(
      {
        alertWebhookUrl: 'https://example.net/hook',
        telegramChatId: '-100123',
        alertsOff: 'fills, drawdown',
      },
      {
        BTCBOT_ALERT_WEBHOOK_SECRET: SECRET,
        BTCBOT_TELEGRAM_BOT_TOKEN: TOKEN,
        BTCBOT_HEARTBEAT_URL: 'https://hc-ping.com/uuid',
      },
    );
    assert.equal(c.webhook?.secret, SECRET);
    assert.equal(c.telegram?.chatId, '-100123');
    assert.equal(c.telegram.apiUrl, 'https://api.telegram.org');
    assert.ok(!c.enabled.has('fills') && !c.enabled.has('drawdown') && c.enabled.has('halted'));
    assert.deepEqual(c.heartbeat, { url: 'https://hc-ping.com/uuid', everyMs: 60_000 });
  });

  it('refuses what cannot work, naming the setting', () => {
    refusal(
      () => loadAlertsConfig({ alertWebhookUrl: 'https://x.net/h' }, {}),
      'BTCBOT_ALERT_WEBHOOK_SECRET',
      /not set/,
    );
    refusal(
      () => loadAlertsConfig({ alertWebhookUrl: 'ftp://x.net/h' }, { BTCBOT_ALERT_WEBHOOK_SECRET: SECRET }),
      '--alert-webhook-url',
      /scheme "ftp:"/,
    );
    refusal(
      () => loadAlertsConfig({}, { BTCBOT_TELEGRAM_BOT_TOKEN: TOKEN }),
      '--telegram-chat-id',
      /missing/,
    );
    refusal(
      () => loadAlertsConfig({ telegramChatId: '42' }, { BTCBOT_TELEGRAM_BOT_TOKEN: 'not-a-token' }),
      'BTCBOT_TELEGRAM_BOT_TOKEN',
      /not a Telegram bot token/,
    );
    refusal(() => loadAlertsConfig({ alertsOff: 'halted,nope' }, {}), '--alerts-off', /"nope" is not a rule/);
    refusal(
      () => loadAlertsConfig({ heartbeatUrl: 'https://x.net/p', heartbeatEvery: '5' }, {}),
      '--heartbeat-every',
      /not a duration/,
    );
  });
});

describe('heartbeat (dead-man’s switch)', () => {
  it('is healthy only while the loop ran within the stall limit', () => {
    assert.equal(loopHealthy(1_000, 0, 20_000, 30_000), true);
    assert.equal(loopHealthy(1_000, 0, 31_000, 30_000), false);
    assert.equal(loopHealthy(null, 10_000, 20_000, 30_000), true, 'just started');
  });

  it('pings while healthy, stays silent while not, and never logs the ping URL’s path', async (t) => {
    const receiver = await localReceiver(t);
    const { logger, lines } = capturingLogger();
    let healthy = true;
    const url = `${receiver.url}/ping/secret-check-uuid`;
    const beat = new Heartbeat({
      url,
      everyMs: 1_000,
      healthy: () => healthy,
      clock: manualClock(),
      logger,
      secrets: [],
    });
    t.after(() => beat.stop());
    assert.equal(await beat.beat(), 'sent');
    assert.equal(await beat.beat(), 'sent');
    healthy = false;
    assert.equal(await beat.beat(), 'silent');
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[0]?.path, '/ping/secret-check-uuid');
    healthy = true;
    receiver.answer = { kind: 'status', status: 503 };
    assert.equal(await beat.beat(), 'failed');
    assert.ok(lines.length >= 3, 'each change is logged once');
    for (const line of lines) assert.ok(!line.includes('secret-check-uuid'), line);
  });
});
