import type { Decimal } from 'decimal.js';
import { toDec } from '../../domain/decimal.ts';
import type { SessionService } from '../compose/services.ts';
import type { SessionView } from '../compose/view.ts';
import type { RunConfig } from '../run-config.ts';
import type { LiveBot } from './sources.ts';

// `btcbot run --dashboard-port`: the dashboard as a session service. It reads the bot through the
// session's view, on its own timer and only while a page is open; it never blocks trading. Its
// server (fastify) loads only when a dashboard is asked for.

/** The base position a strategy aims for, from its parameters as given: the market maker's targetBase. */
export function strategyTarget(
  strategy: string,
  params: Readonly<Record<string, unknown>>,
): (symbol: string) => Decimal | null {
  if (strategy !== 'market-maker') return () => null;
  const given = params.targetBase;
  let target: Decimal | null = null;
  try {
    target = toDec(given ?? '0', 'targetBase');
  } catch {
    target = null; // the strategy refused it at start already; nothing to show
  }
  return () => target;
}

/** The dashboard's narrow view of a running session. */
export function liveBotOf(view: SessionView, config: Pick<RunConfig, 'engine' | 'strategyParams'>): LiveBot {
  const { engine, market, limiter } = view.parts;
  const target = strategyTarget(config.engine.strategy.name, config.strategyParams);
  return {
    mode: view.mode,
    symbols: view.symbols,
    engine: {
      stats: () => engine.stats(),
      waiting: () => engine.waiting(),
      budgetUse: () => engine.budgetUse(),
      // The session values the account with every summary; the dashboard shows that valuation.
      valuation: () => Promise.resolve(view.valuation()),
    },
    market,
    limiter,
    lastReconciliation: () => view.lastReconcile(),
    decisions: () => view.decisions(),
    target,
  };
}

export function dashboardService(
  config: Pick<RunConfig, 'dashboard' | 'engine' | 'strategyParams'>,
): SessionService | null {
  const bind = config.dashboard;
  if (bind === null || bind === undefined) return null;
  return {
    name: 'dashboard',
    start: async ({ view, logger }) => {
      const { addressLine, serveLiveDashboard } = await import('./live.ts');
      const dashboard = await serveLiveDashboard({
        bind,
        store: view.parts.store,
        bot: liveBotOf(view, config),
        logger,
      });
      // Printed with the banner: `  dashboard: http://127.0.0.1:PORT/`.
      return {
        url: dashboard.url,
        banner: addressLine(dashboard, bind.token),
        stop: () => dashboard.close(),
      };
    },
  };
}
