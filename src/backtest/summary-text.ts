import type { BacktestSummary } from './types.ts';

// The summary as lines for a terminal (`btcbot backtest` without --json).

export function summaryLines(s: BacktestSummary): string[] {
  const from = new Date(s.from).toISOString();
  const to = new Date(s.to).toISOString();
  const params = Object.entries(s.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const lines = [
    `backtest ${s.strategy}${params === '' ? '' : ` (${params})`} on ${s.symbols.join(', ')}`,
    `replayed ${from} .. ${to} (${(s.marketMs / 1000).toFixed(1)} s of market, ${s.events} events), ` +
      `fill model ${s.fillModel}, latency ${s.latencyMs} ms`,
    `orders ${s.orders} (${s.rejected} refused, ${s.cancels} canceled), fills ${s.fills}, maker share ${s.makerShare}`,
    `PnL ${s.pnl.total} ${s.currency}: realised ${s.pnl.realised} (after fees ${s.pnl.fees}), unrealised ${s.pnl.unrealised}`,
    `equity ${s.startEquity} -> ${s.endEquity} ${s.currency}, max drawdown ${s.maxDrawdown}`,
  ];
  for (const p of Object.values(s.perSymbol))
    lines.push(
      `  ${p.symbol}: fills ${p.fills}, orders ${p.orders}, PnL ${p.pnl.total} (realised ${p.pnl.realised}, ` +
        `unrealised ${p.pnl.unrealised}, fees ${p.pnl.fees}), position ${p.endPosition} ${p.base}, ` +
        `maker share ${p.makerShare}, max drawdown ${p.maxDrawdown}`,
    );
  return lines;
}
