import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { renderReportHtml } from '../../src/backtest/html.ts';
import { REPORT_FILE, SUMMARY_FILE, writeReport } from '../../src/backtest/report.ts';
import { downsample, escapeHtml, niceTicks, renderChart, type SeriesPoint } from '../../src/backtest/svg.ts';
import { summaryOf } from '../../src/backtest/types.ts';
import { chromiumSkipReason, fakeResult, renderInChromium } from './report-helpers.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'btcbot-report-'));
  dirs.push(dir);
  return dir;
}
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('backtest report files', () => {
  it('writes summary.json (the summary without its series) and report.html into a new directory', async () => {
    const result = fakeResult();
    const dir = join(await tempDir(), 'nested', 'out');
    const written = await writeReport(dir, result);
    assert.equal(written.summaryPath, join(dir, SUMMARY_FILE));
    assert.equal(written.htmlPath, join(dir, REPORT_FILE));
    const summary = JSON.parse(await readFile(written.summaryPath, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(summary, JSON.parse(JSON.stringify(summaryOf(result))));
    assert.equal('series' in summary, false);
    assert.equal(typeof (summary.pnl as Record<string, unknown>).realised, 'string');
    const html = await readFile(written.htmlPath, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.equal(html, renderReportHtml(result));
  });

  it('is byte-identical for the same result and differs for a different one', () => {
    assert.equal(renderReportHtml(fakeResult({ seed: 3 })), renderReportHtml(fakeResult({ seed: 3 })));
    assert.notEqual(renderReportHtml(fakeResult({ seed: 3 })), renderReportHtml(fakeResult({ seed: 4 })));
  });

  it('is self-contained: no script, no external reference', () => {
    const html = renderReportHtml(fakeResult());
    assert.doesNotMatch(html, /<script/i);
    assert.doesNotMatch(html, /\b(src|href)\s*=/i);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.doesNotMatch(html, /@import|url\((?!#)/);
  });

  it('has an equity chart, and per pair a price chart with mid, both quotes and fill markers', () => {
    const result = fakeResult();
    const html = renderReportHtml(result);
    assert.match(html, /<svg id="chart-equity"[^>]*>.*?<path class="series" data-series="equity" d="M/s);
    for (const symbol of result.symbols) {
      const start = html.indexOf(`<svg id="chart-price-${symbol}"`);
      assert.ok(start >= 0, `price chart of ${symbol}`);
      const svg = html.slice(start, html.indexOf('</svg>', start));
      for (const name of ['mid', 'our bid', 'our ask'])
        assert.match(svg, new RegExp(`data-series="${name}" d="M`), `${symbol} ${name}`);
      const fills = result.series.fills.filter((f) => f.symbol === symbol).length;
      assert.ok(fills > 0);
      assert.equal(svg.split('class="fill-marker"').length - 1, fills, `${symbol} markers`);
      assert.ok(html.includes(`<svg id="chart-inventory-${symbol}"`));
      assert.ok(html.includes(`<td>${symbol}</td>`), `per-pair row of ${symbol}`);
    }
  });

  it('escapes everything it inserts', () => {
    const evil = '"><script>alert(1)</script><img src=x onerror=alert(2)>';
    const result = fakeResult({ params: { spreadBps: evil }, symbols: ['BTC<b>TRY'] });
    const html = renderReportHtml(result);
    assert.ok(!html.includes('<script>'));
    assert.ok(!html.includes('<img'));
    assert.ok(!html.includes('<b>'));
    assert.ok(html.includes(escapeHtml(evil)));
    assert.ok(html.includes('BTC&lt;b&gt;TRY'));
  });

  it('keeps the page bounded for a long run (downsampled series, capped fill rows)', () => {
    const short = renderReportHtml(fakeResult({ seconds: 600 }));
    const long = renderReportHtml(fakeResult({ seconds: 24 * 3600 }));
    // A day of one-second samples (≈ 170 000 points over 2 pairs) draws no more than a few times
    // the points of ten minutes.
    assert.ok(long.length < 2_000_000, `long report is ${long.length} bytes`);
    assert.ok(long.length < short.length * 12, `long ${long.length} vs short ${short.length}`);
    assert.match(long, /First 500 of \d+ fills\./);
    assert.match(long, /of \d+ shown\)/); // fill markers capped, said in the legend
  });

  it('draws an empty-state chart rather than failing when a series is empty', () => {
    const base = fakeResult({ seconds: 10 });
    const result = { ...base, series: { equity: [], inventory: [], mid: [], quotes: [], fills: [] } };
    const html = renderReportHtml(result);
    assert.match(html, /<svg id="chart-equity"[^>]*>.*?no data/s);
  });
});

describe('chart helpers', () => {
  it('downsample keeps at most 4 points a bucket, the first and last, and every extreme', () => {
    const points: SeriesPoint[] = Array.from({ length: 100_000 }, (_, i) => ({
      t: i * 10,
      v: Math.sin(i / 500) * 100 + (i === 31_337 ? 1_000 : 0) + (i === 77_777 ? -1_000 : 0),
    }));
    const out = downsample(points, 200);
    assert.ok(out.length <= 800, `${out.length} points`);
    assert.deepEqual(out[0], points[0]);
    assert.deepEqual(out.at(-1), points.at(-1));
    assert.ok(
      out.some((p) => p.t === 313_370),
      'spike kept',
    );
    assert.ok(
      out.some((p) => p.t === 777_770),
      'dip kept',
    );
    const times = out.map((p) => p.t);
    assert.deepEqual(
      times,
      [...new Set(times)].sort((a, b) => a - b),
      'time order',
    );
    assert.deepEqual(downsample(points.slice(0, 50), 200), points.slice(0, 50));
  });

  it('downsample keeps gaps (a side without a quote)', () => {
    const points: SeriesPoint[] = Array.from({ length: 10_000 }, (_, i) => ({
      t: i,
      v: i >= 5_000 && i < 5_003 ? null : i,
    }));
    const out = downsample(points, 100);
    assert.ok(out.some((p) => p.v === null));
  });

  it('a chart breaks its line at a gap', () => {
    const svg = renderChart({
      id: 'c',
      title: 't',
      series: [
        {
          name: 's',
          color: '#000',
          points: [
            { t: 0, v: 1 },
            { t: 1, v: 2 },
            { t: 2, v: null },
            { t: 3, v: 3 },
          ],
        },
      ],
    });
    const d = /data-series="s" d="([^"]+)"/.exec(svg)?.[1] ?? '';
    assert.equal(d.split('M').length - 1, 2, d);
  });

  it('niceTicks gives round values inside the range', () => {
    assert.deepEqual(niceTicks(0, 100, 5), [0, 20, 40, 60, 80, 100]);
    const ticks = niceTicks(2_999_123, 3_004_567, 5);
    assert.ok(ticks.length >= 3);
    for (const t of ticks) assert.ok(t >= 2_999_123 && t <= 3_004_567 && t % 1000 === 0, String(t));
  });
});

describe('report.html in headless Chromium', async () => {
  const skip = await chromiumSkipReason();
  it('renders every chart with a non-zero size and no console errors', { skip: skip ?? false }, async () => {
    const result = fakeResult();
    const { htmlPath } = await writeReport(await tempDir(), result);
    const check = await renderInChromium(htmlPath);
    assert.deepEqual(check.consoleErrors, []);
    assert.deepEqual(check.pageErrors, []);
    assert.deepEqual(check.requests, []);
    assert.equal(check.title, 'Backtest: market-maker on BTCTRY, ETHTRY');
    const ids = check.charts.map((c) => c.id);
    assert.deepEqual(ids, [
      'chart-equity',
      'chart-pnl',
      'chart-price-BTCTRY',
      'chart-inventory-BTCTRY',
      'chart-price-ETHTRY',
      'chart-inventory-ETHTRY',
    ]);
    for (const chart of check.charts) {
      assert.ok(chart.width > 0 && chart.height > 0, `${chart.id} size ${chart.width}×${chart.height}`);
      assert.ok(chart.paths > 0, `${chart.id} draws a line`);
    }
    const price = check.charts.find((c) => c.id === 'chart-price-BTCTRY');
    assert.ok(price);
    assert.equal(price.paths, 3);
    assert.equal(price.markers, result.series.fills.filter((f) => f.symbol === 'BTCTRY').length);
  });
});
