import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { botMetrics, operationalMetrics } from '../../src/ops/metrics.ts';
import { fakeSource } from '../metrics/scrape.ts';
import { parseSimpleYaml, type Yaml } from './simple-yaml.ts';

// The ready-made Prometheus rules and Grafana dashboard under deploy/: they load, and every metric
// they name is one the bot's registry actually serves.

const RULES = new URL('../../deploy/prometheus/alerts.yml', import.meta.url);
const DASHBOARD = new URL('../../deploy/grafana/btcbot.json', import.meta.url);

/** Metric names in a PromQL expression: the bot's namespaces (functions, labels and values are not). */
function metricNames(expr: string): string[] {
  const unquoted = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...unquoted.matchAll(/\b((?:btcbot|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1] ?? '');
}

/** Every sample name a scrape of the bot's full registry can hold, histogram series included. */
async function scrapedNames(): Promise<Set<string>> {
  const registry = new Registry();
  const measured = operationalMetrics(registry);
  try {
    botMetrics(
      fakeSource(
        { oms: {}, lastEvaluationAt: 1_700_000_000_000, active: [], now: 1_000 },
        // A live session's parts: the limiter, the socket and a private stream (keys given).
        {
          limiter: { headroom: () => Promise.resolve([]) },
          privateStream: { loggedIn: () => true, loginRefusals: () => 0 },
          socket: {
            stats: () => ({
              unreadableFrames: 0,
              oversizedFrames: 0,
              refusedSubscriptions: 0,
              duplicateJoins: 0,
              silences: 0,
              rateLimited: 0,
            }),
          },
        },
      ),
      registry,
    );
    const text = await registry.metrics();
    const names = new Set<string>();
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name = '', type] = m;
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
    }
    return names;
  } finally {
    measured.close();
  }
}

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

function rulesOf(doc: Yaml): Rule[] {
  assert.ok(typeof doc === 'object' && !Array.isArray(doc), 'the file is a map');
  const groups = doc.groups;
  assert.ok(Array.isArray(groups), 'groups is a list');
  return groups.flatMap((g) => {
    assert.ok(typeof g === 'object' && !Array.isArray(g));
    assert.equal(typeof g.name, 'string');
    assert.ok(Array.isArray(g.rules), 'each group has rules');
    return g.rules as unknown as Rule[];
  });
}

describe('deploy/ monitoring files', () => {
  const rules = rulesOf(parseSimpleYaml(readFileSync(RULES, 'utf8')));

  it('the Prometheus rules load (promtool when installed, else the strict parser) and are well formed', () => {
    const promtool = spawnSync('promtool', ['check', 'rules', RULES.pathname], { encoding: 'utf8' });
    if (promtool.error === undefined) assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
    assert.ok(rules.length >= 10);
    const names = new Set<string>();
    for (const r of rules) {
      assert.match(r.alert, /^[A-Z][A-Za-z0-9]+$/, 'alert names are CamelCase');
      assert.ok(!names.has(r.alert), `${r.alert} is named twice`);
      names.add(r.alert);
      assert.equal(typeof r.expr, 'string');
      assert.equal(
        (r.expr.match(/\(/g) ?? []).length,
        (r.expr.match(/\)/g) ?? []).length,
        `${r.alert}: parentheses`,
      );
      if (r.for !== undefined) assert.match(r.for, /^\d+(ms|s|m|h)$/, `${r.alert}: for`);
      assert.ok(r.labels?.severity, `${r.alert} has a severity`);
      assert.ok(r.annotations?.summary, `${r.alert} has a summary`);
    }
  });

  it('includes the always-firing Watchdog, a stalled-loop rule and the trading states', () => {
    const byName = new Map(rules.map((r) => [r.alert, r]));
    assert.equal(byName.get('Watchdog')?.expr, 'vector(1)');
    assert.match(
      byName.get('BtcbotEngineLoopStalled')?.expr ?? '',
      /time\(\) - btcbot_last_loop_timestamp_seconds > \d+/,
    );
    for (const name of [
      'BtcbotHalted',
      'BtcbotRateLimited',
      'BtcbotMarketDataStale',
      'BtcbotUnknownOrder',
      'BtcbotReconciliationFailing',
    ])
      assert.ok(byName.has(name), `${name} is missing`);
  });

  it('names only metrics that exist in a scrape of the bot’s registry (rules and Grafana)', async () => {
    const scraped = await scrapedNames();
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const used = [
      ...rules.map((r) => [`rule ${r.alert}`, r.expr] as const),
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => [`panel "${p.title}"`, t.expr] as const)),
    ];
    let checked = 0;
    for (const [where, expr] of used)
      for (const name of metricNames(expr)) {
        checked += 1;
        assert.ok(scraped.has(name), `${where} names ${name}, which no scrape holds`);
      }
    assert.ok(checked >= 40, `only ${checked} metric references checked`);
    // The check can fail: a name the registry does not serve is caught.
    assert.ok(!scraped.has('btcbot_no_such_metric_total'));
  });

  it('the strict parser refuses what the subset does not allow', () => {
    assert.throws(() => parseSimpleYaml('a: {b: 1}'), /line 1: quote the value/);
    assert.throws(() => parseSimpleYaml('a:\n  - b: "x"\n   c: "y"'), /bad indentation/);
    assert.throws(() => parseSimpleYaml('a: "x\n'), /unterminated/);
  });
});
