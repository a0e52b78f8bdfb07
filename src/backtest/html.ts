import { escapeHtml, formatNumber, renderChart, type ChartMarker, type SeriesPoint } from './svg.ts';
import type { BacktestResult, SymbolSummary } from './types.ts';

// report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) for a
// backtest result: the summary, an equity chart with the drawdown under it, and per pair a price
// chart (recorded mid, our best bid and ask quotes over time, our fills as markers), an inventory
// chart and a table row. The same result gives the same bytes.

/** Fills listed in the page's table at most (the summary and charts count all of them). */
const MAX_FILL_ROWS = 500;

const num = (text: string | null): number | null => (text === null ? null : Number(text));

const e = escapeHtml;

function cell(text: string, numeric = false): string {
  return `<td${numeric ? ' class="num"' : ''}>${e(text)}</td>`;
}

/** Decimal text shown with thousands separators, at most `digits` decimals (exact text in a tooltip). */
function money(text: string | null, digits = 2): string {
  if (text === null) return '—';
  const value = Number(text);
  return Number.isFinite(value) ? formatNumber(value, digits) : text;
}

function pct(text: string): string {
  const value = Number(text);
  return Number.isFinite(value) ? `${formatNumber(value * 100, 1)}%` : text;
}

function iso(t: number): string {
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toISOString();
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h ${m}m ${sec}s` : m > 0 ? `${m}m ${sec}s` : `${sec}s`;
}

/** Decimals to show for prices around `value`: more for small prices. */
function priceDigits(value: number): number {
  const abs = Math.abs(value);
  if (abs >= 1000) return 0;
  if (abs >= 10) return 2;
  if (abs >= 0.1) return 4;
  return 8;
}

function kv(rows: readonly [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${e(k)}</th><td>${e(v)}</td></tr>`).join('')}</table>`;
}

function symbolRow(s: SymbolSummary): string {
  return `<tr>${[
    cell(s.symbol),
    cell(money(s.pnl.total), true),
    cell(money(s.pnl.realised), true),
    cell(money(s.pnl.unrealised), true),
    cell(money(s.pnl.fees), true),
    cell(String(s.fills), true),
    cell(String(s.orders), true),
    cell(pct(s.makerShare), true),
    cell(money(s.maxDrawdown), true),
    cell(s.boughtQuantity, true),
    cell(s.soldQuantity, true),
    cell(money(s.volume), true),
    cell(s.endPosition, true),
    cell(s.lastMid ?? '—', true),
  ].join('')}</tr>`;
}

function equitySection(result: BacktestResult): string {
  const equity: SeriesPoint[] = result.series.equity.map((p) => ({ t: p.t, v: Number(p.equity) }));
  const pnl: SeriesPoint[] = result.series.equity.map((p) => ({ t: p.t, v: Number(p.pnl) }));
  let peak = -Infinity;
  const drawdown: SeriesPoint[] = equity.map((p) => {
    peak = Math.max(peak, p.v ?? -Infinity);
    return { t: p.t, v: p.v === null ? null : -(peak - p.v) };
  });
  const range = { from: result.from, to: Math.max(result.to, result.from + 1) };
  return [
    '<h2>Equity</h2>',
    renderChart({
      id: 'chart-equity',
      title: `Account equity (${result.currency})`,
      series: [{ name: 'equity', color: '#0969da', points: equity }],
      ...range,
    }),
    renderChart({
      id: 'chart-pnl',
      title: `PnL, realised + unrealised (${result.currency}), and drawdown from the equity high`,
      series: [
        { name: 'PnL', color: '#8250df', points: pnl },
        { name: 'drawdown', color: '#cf222e', points: drawdown, area: true },
      ],
      height: 200,
      ...range,
    }),
  ].join('\n');
}

function symbolSection(result: BacktestResult, symbol: string): string {
  const summary = result.perSymbol[symbol];
  const mids = result.series.mid.filter((p) => p.symbol === symbol);
  const quotes = result.series.quotes.filter((p) => p.symbol === symbol);
  const fills = result.series.fills.filter((f) => f.symbol === symbol);
  const inventory = result.series.inventory.filter((p) => p.symbol === symbol);
  const firstPrice = mids.find((m) => m.mid !== null)?.mid ?? fills[0]?.price ?? null;
  const digits = firstPrice === null ? 2 : priceDigits(Number(firstPrice));
  const markers: ChartMarker[] = fills.map((f) => ({
    t: f.t,
    v: Number(f.price),
    side: f.side,
    liquidity: f.liquidity,
    label: `${iso(f.t)} ${f.side} ${f.quantity} @ ${f.price} (${f.liquidity}, fee ${f.fee})`,
  }));
  const range = { from: result.from, to: Math.max(result.to, result.from + 1) };
  const quote = summary?.quote ?? result.currency;
  return [
    `<section class="symbol" data-symbol="${e(symbol)}">`,
    `<h2>${e(symbol)}</h2>`,
    summary === undefined
      ? ''
      : kv([
          ['PnL total', `${money(summary.pnl.total)} ${quote}`],
          ['realised / unrealised', `${money(summary.pnl.realised)} / ${money(summary.pnl.unrealised)}`],
          ['fees + tax', money(summary.pnl.fees)],
          ['fills / orders', `${summary.fills} / ${summary.orders}`],
          ['maker share', pct(summary.makerShare)],
          ['max drawdown', money(summary.maxDrawdown)],
          ['end position', `${summary.endPosition} ${summary.base}`],
        ]),
    renderChart({
      id: `chart-price-${symbol}`,
      title: `${symbol}: recorded mid, our best bid and ask, our fills (${quote})`,
      series: [
        { name: 'mid', color: '#57606a', points: mids.map((m) => ({ t: m.t, v: num(m.mid) })) },
        {
          name: 'our bid',
          color: '#1a7f37',
          points: quotes.map((q) => ({ t: q.t, v: num(q.bid) })),
          step: true,
          dashed: true,
        },
        {
          name: 'our ask',
          color: '#cf222e',
          points: quotes.map((q) => ({ t: q.t, v: num(q.ask) })),
          step: true,
          dashed: true,
        },
      ],
      markers,
      digits,
      height: 320,
      ...range,
    }),
    renderChart({
      id: `chart-inventory-${symbol}`,
      title: `${symbol}: our position (${summary?.base ?? 'base'})`,
      series: [
        {
          name: 'position',
          color: '#bf8700',
          points: inventory.map((p) => ({ t: p.t, v: Number(p.position) })),
          step: true,
          area: true,
        },
      ],
      digits: 8,
      height: 180,
      ...range,
    }),
    '</section>',
  ].join('\n');
}

function fillsTable(result: BacktestResult): string {
  const fills = result.series.fills;
  const shown = fills.slice(0, MAX_FILL_ROWS);
  const note =
    fills.length > shown.length ? `<p class="note">First ${shown.length} of ${fills.length} fills.</p>` : '';
  const rows = shown
    .map(
      (f) =>
        `<tr>${[
          cell(iso(f.t)),
          cell(f.symbol),
          cell(f.side),
          cell(f.price, true),
          cell(f.quantity, true),
          cell(f.liquidity),
          cell(f.fee, true),
          cell(f.clientOrderId ?? f.orderId),
        ].join('')}</tr>`,
    )
    .join('\n');
  return `<h2>Fills</h2>${note}<table class="data"><thead><tr><th>time (UTC)</th><th>pair</th><th>side</th><th>price</th><th>quantity</th><th>liquidity</th><th>fee + tax</th><th>order</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

function balancesTable(result: BacktestResult): string {
  const assets = [
    ...new Set([...Object.keys(result.balancesStart), ...Object.keys(result.balancesEnd)]),
  ].sort();
  const rows = assets
    .map(
      (a) =>
        `<tr>${cell(a)}${cell(result.balancesStart[a] ?? '0', true)}${cell(result.balancesEnd[a] ?? '0', true)}</tr>`,
    )
    .join('');
  return `<h2>Balances</h2><table class="data"><thead><tr><th>asset</th><th>start</th><th>end</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2328;max-width:1000px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
table{border-collapse:collapse;margin:8px 0}.scroll{overflow-x:auto}table.data{font-size:13px}th,td{padding:3px 10px;border-bottom:1px solid #d0d7de;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{font-weight:500;color:#57606a}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px}
.card .k{color:#57606a;font-size:12px}.card .v{font-size:18px;font-variant-numeric:tabular-nums}
.pos{color:#1a7f37}.neg{color:#cf222e}
svg.chart{display:block;margin:10px 0;font:11px system-ui,sans-serif}
svg .plot{fill:#fff;stroke:#d0d7de}svg .grid{stroke:#eaeef2}svg .axis{fill:#57606a}
svg .chart-title{font-weight:600;fill:#1f2328;font-size:12px}svg .legend{fill:#1f2328}svg .empty{fill:#8c959f}
.note{color:#57606a}
`;

/** The whole report page for `result`. */
export function renderReportHtml(result: BacktestResult): string {
  const total = Number(result.pnl.total);
  const sign = total > 0 ? 'pos' : total < 0 ? 'neg' : '';
  const params = Object.entries(result.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const cards: [string, string, string][] = [
    ['PnL total', `${money(result.pnl.total)} ${result.currency}`, sign],
    ['realised', money(result.pnl.realised), ''],
    ['unrealised', money(result.pnl.unrealised), ''],
    ['fees + tax', money(result.pnl.fees), ''],
    ['fills', String(result.fills), ''],
    ['orders', String(result.orders), ''],
    ['maker share', pct(result.makerShare), ''],
    ['max drawdown', money(result.maxDrawdown), ''],
  ];
  const title = `Backtest: ${result.strategy} on ${result.symbols.join(', ')}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="btcbot backtest">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${e(title)}</h1>
${kv([
  ['recorded time', `${iso(result.from)} → ${iso(result.to)} (${duration(result.marketMs)})`],
  ['events replayed', String(result.events)],
  ['parameters', params === '' ? '(defaults)' : params],
  ['fill model', `${result.fillModel}, request latency ${result.latencyMs} ms`],
  ['orders / rejected / cancels', `${result.orders} / ${result.rejected} / ${result.cancels}`],
  ['equity start → end', `${money(result.startEquity)} → ${money(result.endEquity)} ${result.currency}`],
])}
<div class="cards">${cards
    .map(
      ([k, v, cls]) =>
        `<div class="card"><div class="k">${e(k)}</div><div class="v${cls === '' ? '' : ` ${cls}`}">${e(v)}</div></div>`,
    )
    .join('')}</div>
<h2>Per pair</h2>
<div class="scroll"><table class="data" id="per-pair"><thead><tr><th>pair</th><th>PnL total</th><th>realised</th><th>unrealised</th><th>fees + tax</th><th>fills</th><th>orders</th><th>maker share</th><th>max drawdown</th><th>bought</th><th>sold</th><th>volume</th><th>end position</th><th>last mid</th></tr></thead>
<tbody>
${result.symbols
  .map((s) => result.perSymbol[s])
  .filter((s): s is SymbolSummary => s !== undefined)
  .map(symbolRow)
  .join('\n')}
</tbody></table></div>
${equitySection(result)}
${result.symbols.map((s) => symbolSection(result, s)).join('\n')}
${balancesTable(result)}
${fillsTable(result)}
</body>
</html>
`;
}
