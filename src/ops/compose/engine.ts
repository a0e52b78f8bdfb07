import type { Logger } from 'pino';
import type { SymbolRules } from '../../domain/symbols.ts';
import { Engine, type EngineDecision } from '../../engine/engine.ts';
import { OrderRateBudget } from '../../engine/rate-budget.ts';
import type { MarketDataService } from '../../market/service.ts';
import { Oms, type ReconcileReport } from '../../oms/index.ts';
import type { Store } from '../../ports/store.ts';
import { clusterOms, scopedStore, type ClusterScope } from '../leases/scope.ts';
import type { RunConfig } from '../run-config.ts';
import type { Closer } from './closer.ts';
import type { Trading } from './exchange.ts';

// The execution core (journal, lifecycle, reconciliation) and the engine (strategy, risk gates,
// run loop) over the session's store, exchange and market data.

export interface Execution {
  readonly oms: Oms;
  readonly engine: Engine;
}

export function buildExecution(
  config: Pick<RunConfig, 'prefix' | 'symbols' | 'engine' | 'ordersPerMinute'>,
  parts: {
    readonly store: Store;
    readonly trading: Trading;
    readonly market: MarketDataService;
    readonly rules: ReadonlyMap<string, SymbolRules>;
    /** Cluster mode: what this process owns and holds (its OMS and engine see only those). */
    readonly cluster?: ClusterScope | undefined;
  },
  hooks: {
    readonly out: (line: string) => void;
    readonly onReconciled: (report: ReconcileReport) => void;
    readonly onDecision: (decision: EngineDecision) => void;
  },
  closer: Closer,
  logger: Logger,
): Execution {
  const { trading, market, rules, cluster } = parts;
  const store = cluster ? scopedStore(parts.store, cluster.owns) : parts.store;
  const oms = new Oms({
    store,
    exchange: trading.exchange,
    prefix: config.prefix,
    // Cluster mode: symbols are reconciled as their leases are taken, not all at the start.
    symbols: cluster ? [] : config.symbols,
    rules,
    logger,
    onAlert: (alert) => {
      hooks.out(`ALERT: trading stepped down to ${alert.level}: ${alert.reason}`);
    },
    onReconciled: hooks.onReconciled,
  });
  closer.add(() => oms.stop());
  const engine = new Engine({
    oms: cluster ? clusterOms(oms, cluster.leases, cluster.owns, Date.now()) : oms,
    store,
    exchange: trading.exchange,
    market,
    userStream: trading.userStream,
    strategy: config.engine.strategy,
    limits: config.engine.risk,
    symbols: config.symbols,
    rules,
    budget: new OrderRateBudget(config.ordersPerMinute),
    logger,
    onDecision: hooks.onDecision,
  });
  closer.add(() => engine.stop());
  return { oms, engine };
}
