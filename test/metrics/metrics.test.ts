import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { btcturkRateLimiter } from '../../src/btcturk/index.ts';
import { stampHotPath } from '../../src/market/hot-path.ts';
import { botMetrics, operationalMetrics, serveMetrics } from '../../src/ops/metrics.ts';
import { ORDER_REQUEST_WRITTEN } from '../../src/ports/exchange.ts';
import {
  FakeClock,
  TEST_SECRET,
  eventually,
  exchangeFor,
  fakeVenue,
  raw,
  type FakeVenue,
} from '../btcturk/helpers.ts';
import { fakeSource, find, parseScrape, value, type FakeSourceState, type Scrape } from './scrape.ts';

// The metrics of issue 11 item 4, exercised through the parts that feed them: the real BTCTurk HTTP
// client against a loopback venue, the hot path's stamps, a real rate limiter, and a scrape over
// HTTP read back as Prometheus reads it.

const venues: FakeVenue[] = [];
after(async () => {
  await Promise.all(venues.map((v) => v.close()));
});

async function scrapeOf(registry: Registry): Promise<Scrape> {
  const server = await serveMetrics(registry, 0);
  try {
    const response = await fetch(server.url);
    assert.equal(response.status, 200);
    return parseScrape(await response.text());
  } finally {
    await server.close();
  }
}

const written = channel(ORDER_REQUEST_WRITTEN);

describe('REST metrics through the HTTP client', () => {
  it('time each attempt by endpoint group and outcome, and count 429s, retries and limiter waits', async (t) => {
    const clock = new FakeClock();
    // The order book answers 429 (Retry-After 60 s) the first time and normally after.
    const venue = await fakeVenue(() =>
      venue.seen.length === 1 ? raw('error-rate-limit', 429, { 'retry-after': '60' }) : raw('orderbook'),
    );
    venues.push(venue);
    const registry = new Registry();
    const metrics = operationalMetrics(registry);
    t.after(() => {
      metrics.close();
    });
    const exchange = exchangeFor(venue.url, { clock, deadlineMs: 120_000, observe: metrics.rest });
    t.after(() => exchange.close());
    const book = exchange.orderBook('BTCTRY');
    await eventually(() => venue.seen.length === 1, 'the first request');
    await clock.advance(60_000);
    await eventually(() => venue.seen.length === 2, 'the request after the block');
    await book;

    const scrape = await scrapeOf(registry);
    assert.equal(scrape.types.get('btcbot_rest_request_duration_seconds'), 'histogram');
    const count = (outcome: string) =>
      value(scrape, 'btcbot_rest_request_duration_seconds_count', { group: 'orderbook', outcome });
    assert.equal(count('ok'), 1);
    assert.equal(count('rate-limited'), 1);
    assert.equal(scrape.types.get('btcbot_rest_rate_limited_total'), 'counter');
    assert.equal(value(scrape, 'btcbot_rest_rate_limited_total', { group: 'orderbook' }), 1);
    assert.equal(value(scrape, 'btcbot_rest_retries_total', { group: 'orderbook', kind: 'rate-limited' }), 1);
    // Two acquires; the second waited out the full Retry-After.
    assert.equal(scrape.types.get('btcbot_rate_limit_wait_seconds'), 'histogram');
    assert.equal(value(scrape, 'btcbot_rate_limit_wait_seconds_count', { group: 'orderbook' }), 2);
    // (the retry's jittered backoff, at most 20 ms here, waited out the start of the block)
    assert.ok(value(scrape, 'btcbot_rate_limit_wait_seconds_sum', { group: 'orderbook' }) >= 59.9);
    assert.equal(value(scrape, 'btcbot_rate_limit_waits_total', { group: 'orderbook' }), 1);
    // The credentials the client signed with are nowhere in the scrape.
    assert.ok(!scrape.text.includes(TEST_SECRET));
    assert.ok(!scrape.text.includes('demo-key'));
  });
});

describe('tick-to-order latency', () => {
  it('times a book change to the first order request written after the evaluation it woke', async (t) => {
    const registry = new Registry();
    const metrics = operationalMetrics(registry);
    t.after(() => {
      metrics.close();
    });
    const count = async () => value(await scrapeOf(registry), 'btcbot_tick_to_order_seconds_count');

    stampHotPath('book');
    stampHotPath('book'); // a second change before the evaluation: timed from the first
    stampHotPath('wake', 1);
    stampHotPath('dispatch', 1);
    written.publish({ operation: 'cancel', exchangeOrderId: '1' });
    written.publish({ operation: 'submit', clientOrderId: 'x' }); // the second request is not a new tick
    assert.equal(await count(), 1);

    // An evaluation woken by a timer (no book change) times nothing.
    stampHotPath('wake', 2);
    stampHotPath('dispatch', 2);
    written.publish({ operation: 'submit', clientOrderId: 'y' });
    assert.equal(await count(), 1);

    // A change whose evaluation sent nothing is not timed from a later, unrelated order.
    stampHotPath('book');
    stampHotPath('wake', 3);
    stampHotPath('dispatch', 3);
    stampHotPath('wake', 4);
    stampHotPath('dispatch', 4);
    written.publish({ operation: 'submit', clientOrderId: 'z' });
    assert.equal(await count(), 1);

    // Closed: no longer listening.
    metrics.close();
    stampHotPath('book');
    stampHotPath('wake', 5);
    stampHotPath('dispatch', 5);
    written.publish({ operation: 'submit', clientOrderId: 'w' });
    assert.equal(await count(), 1);
  });
});

describe('metrics read at scrape time', () => {
  it('UNKNOWN orders and the oldest one’s age, reconciliation counters, the last loop, limiter headroom', async () => {
    const state: FakeSourceState = {
      oms: { reconcileRuns: 7, reconcileFailures: 2, divergences: 3 },
      lastEvaluationAt: null,
      active: [
        { symbol: 'BTCTRY', state: 'OPEN', updatedAt: 1_000 },
        { symbol: 'BTCTRY', state: 'UNKNOWN', updatedAt: 5_000 },
        { symbol: 'ETHTRY', state: 'UNKNOWN', updatedAt: 2_000 },
      ],
      now: 12_000,
    };
    const clock = new FakeClock();
    const limiter = btcturkRateLimiter({ clock });
    for (let i = 0; i < 4; i += 1)
      await limiter.acquire('order-submit', { deadlineAt: clock.now() + 1_000, operation: 'test' });
    await limiter.block('balances', clock.now() + 30_000);
    const registry = botMetrics(fakeSource(state, { limiter }));

    let scrape = await scrapeOf(registry);
    assert.equal(value(scrape, 'btcbot_unknown_orders'), 2);
    assert.equal(value(scrape, 'btcbot_unknown_order_oldest_age_seconds'), 10);
    assert.equal(value(scrape, 'btcbot_reconciliation_runs_total'), 7);
    assert.equal(value(scrape, 'btcbot_reconciliation_failures_total'), 2);
    assert.equal(value(scrape, 'btcbot_reconciliation_divergences_total'), 3);
    assert.equal(
      value(scrape, 'btcbot_last_loop_timestamp_seconds'),
      12,
      'the set-up time before the first loop',
    );
    assert.equal(
      value(scrape, 'btcbot_rate_limit_headroom_requests', { group: 'order-submit', window: '1s' }),
      6,
    );
    assert.equal(
      value(scrape, 'btcbot_rate_limit_headroom_requests', { group: 'order-submit', window: '60s' }),
      296,
    );
    assert.equal(
      value(scrape, 'btcbot_rate_limit_capacity_requests', { group: 'order-submit', window: '60s' }),
      300,
    );
    assert.equal(value(scrape, 'btcbot_rate_limit_blocked_seconds', { group: 'balances' }), 30);
    assert.equal(value(scrape, 'btcbot_rate_limit_blocked_seconds', { group: 'order-submit' }), 0);

    state.active = [];
    state.lastEvaluationAt = 1_700_000_123_456;
    state.oms = { reconcileRuns: 8, reconcileFailures: 2, divergences: 3 };
    scrape = await scrapeOf(registry);
    assert.equal(value(scrape, 'btcbot_unknown_orders'), 0);
    assert.equal(value(scrape, 'btcbot_unknown_order_oldest_age_seconds'), 0);
    assert.equal(value(scrape, 'btcbot_last_loop_timestamp_seconds'), 1_700_000_123.456);
    assert.equal(value(scrape, 'btcbot_reconciliation_runs_total'), 8);
  });
});

// Every metric issue 11 item 4 asks for, with its type and label names.
const EXPECTED: readonly (readonly [string, string, readonly string[]])[] = [
  ['btcbot_rest_request_duration_seconds', 'histogram', ['group', 'outcome']],
  ['btcbot_rest_rate_limited_total', 'counter', ['group']],
  ['btcbot_rest_retries_total', 'counter', ['group', 'kind']],
  ['btcbot_rate_limit_wait_seconds', 'histogram', ['group']],
  ['btcbot_rate_limit_waits_total', 'counter', ['group']],
  ['btcbot_rate_limit_headroom_requests', 'gauge', ['group', 'window']],
  ['btcbot_rate_limit_capacity_requests', 'gauge', ['group', 'window']],
  ['btcbot_rate_limit_blocked_seconds', 'gauge', ['group']],
  ['btcbot_tick_to_order_seconds', 'histogram', []],
  ['btcbot_unknown_orders', 'gauge', []],
  ['btcbot_unknown_order_oldest_age_seconds', 'gauge', []],
  ['btcbot_reconciliation_runs_total', 'counter', []],
  ['btcbot_reconciliation_failures_total', 'counter', []],
  ['btcbot_reconciliation_divergences_total', 'counter', []],
  ['btcbot_last_loop_timestamp_seconds', 'gauge', []],
  ['nodejs_eventloop_lag_seconds', 'gauge', []],
  ['process_cpu_seconds_total', 'counter', []],
  ['process_resident_memory_bytes', 'gauge', []],
  ['nodejs_heap_size_used_bytes', 'gauge', []],
];

/** A full session's registry, exercised once through every path that feeds it. */
async function exercisedRegistry(t: { after(fn: () => unknown): void }): Promise<Registry> {
  const registry = new Registry();
  const metrics = operationalMetrics(registry);
  t.after(() => {
    metrics.close();
  });
  const clock = new FakeClock();
  const venue = await fakeVenue(() =>
    venue.seen.length === 1 ? raw('error-rate-limit', 429, { 'retry-after': '1' }) : raw('orderbook'),
  );
  venues.push(venue);
  const limiter = btcturkRateLimiter({ clock });
  const exchange = exchangeFor(venue.url, { clock, limiter, deadlineMs: 60_000, observe: metrics.rest });
  t.after(() => exchange.close());
  const book = exchange.orderBook('BTCTRY');
  await eventually(() => venue.seen.length === 1, 'the first request');
  await clock.advance(1_000);
  await book;
  stampHotPath('book');
  stampHotPath('wake', 1);
  stampHotPath('dispatch', 1);
  written.publish({ operation: 'submit', clientOrderId: 'a' });
  botMetrics(
    fakeSource(
      {
        oms: { reconcileRuns: 1 },
        lastEvaluationAt: 1_700_000_000_000,
        active: [{ symbol: 'BTCTRY', state: 'UNKNOWN', updatedAt: 0 }],
        now: 1_000,
      },
      { limiter },
    ),
    registry,
  );
  return registry;
}

describe('a scrape of the whole registry', () => {
  it('holds each new metric with its type and label names', async (t) => {
    const registry = await exercisedRegistry(t);
    const scrape = await scrapeOf(registry);
    for (const [name, type, labels] of EXPECTED) {
      assert.equal(scrape.types.get(name), type, `${name} should be a ${type}`);
      const samples = scrape.samples.filter((s) =>
        type === 'histogram' ? s.name === `${name}_count` : s.name === name,
      );
      assert.ok(samples.length > 0, `${name} has no sample`);
      for (const sample of samples)
        assert.deepEqual(Object.keys(sample.labels).sort(), [...labels].sort(), `${name} label names`);
    }
  });

  it('names every metric as Prometheus asks: counters end in _total, durations carry _seconds, labels bounded', async (t) => {
    const registry = await exercisedRegistry(t);
    const families = await registry.getMetricsAsJSON();
    assert.ok(families.length > 30, 'the registry should hold the bot’s and Node’s metrics');
    const ours = families.filter((f) => f.name.startsWith('btcbot_'));
    for (const family of families) {
      assert.match(family.name, /^[a-z_:][a-z0-9_:]*$/, `${family.name}: lower snake case`);
      const type = String(family.type);
      if (type === 'counter')
        assert.match(family.name, /_total$/, `counter ${family.name} must end in _total`);
      if (type === 'histogram' || type === 'summary')
        assert.match(family.name, /_(seconds|bytes)$/, `${type} ${family.name} must carry its unit`);
      if (/(duration|latency|lag|age|wait|timestamp|blocked)/.test(family.name) && type !== 'counter')
        assert.match(family.name, /_seconds(_total)?$/, `${family.name} is a time: its unit is seconds`);
    }
    for (const family of ours) {
      if (String(family.type) !== 'counter')
        assert.doesNotMatch(family.name, /_total$/, `only counters end in _total: ${family.name}`);
      for (const sample of family.values) {
        for (const [label, labelValue] of Object.entries(sample.labels)) {
          assert.match(label, /^[a-z_][a-z0-9_]*$/, `${family.name}: label ${label}`);
          assert.doesNotMatch(label, /^__/, `${family.name}: reserved label ${label}`);
          assert.ok(String(labelValue).length <= 64, `${family.name}{${label}} is not a bounded value`);
        }
      }
    }
    // Label values of the REST metrics come from fixed sets (an unknown group or kind becomes "other").
    const groups = new Set(
      families
        .filter((f) => f.name.startsWith('btcbot_rest_') || f.name.startsWith('btcbot_rate_limit_'))
        .flatMap((f) => f.values.map((v) => String(v.labels.group))),
    );
    for (const group of groups) assert.match(group, /^[a-z-]+$/, `group label ${group}`);
  });

  it('folds an unknown group or outcome into "other"', async (t) => {
    const registry = new Registry();
    const metrics = operationalMetrics(registry);
    t.after(() => {
      metrics.close();
    });
    for (let i = 0; i < 50; i += 1) {
      metrics.rest.request?.(`group-${i}`, 0.01, `kind-${i}`);
      metrics.rest.retry?.(`group-${i}`, `kind-${i}`);
    }
    const scrape = await scrapeOf(registry);
    assert.deepEqual(
      find(scrape, 'btcbot_rest_request_duration_seconds_count').map((s) => s.labels),
      [{ group: 'other', outcome: 'other' }],
    );
    assert.equal(value(scrape, 'btcbot_rest_retries_total', { group: 'other', kind: 'other' }), 50);
  });
});
