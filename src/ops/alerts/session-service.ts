import type { HttpClientObserver } from '../../btcturk/http/client.ts';
import { systemClock } from '../../domain/clock.ts';
import { processRandom } from '../../domain/random.ts';
import { alertStoreOf } from '../../store/sql/alerts.ts';
import type { SessionService } from '../compose/services.ts';
import type { RunConfig } from '../run-config.ts';
import type { AlertsConfig } from './config.ts';
import type { AlertFigures } from './figures.ts';
import { AlertsService } from './service.ts';

// The alerts as a session service: the figures read from the session's parts on the service's own
// timer (never on the engine's path), the outbox in the session's store.

/** Several services told of every REST request: one observer that tells each. */
export function fanOutObservers(
  observers: readonly (HttpClientObserver | undefined)[],
): HttpClientObserver | undefined {
  const all = observers.filter((o): o is HttpClientObserver => o !== undefined);
  if (all.length <= 1) return all[0];
  return {
    request: (group, seconds, outcome) => {
      for (const o of all) o.request?.(group, seconds, outcome);
    },
    limiterWait: (group, seconds) => {
      for (const o of all) o.limiterWait?.(group, seconds);
    },
    rateLimited: (group) => {
      for (const o of all) o.rateLimited?.(group);
    },
    retry: (group, kind) => {
      for (const o of all) o.retry?.(group, kind);
    },
  };
}

/** Every secret the session holds: none may reach an alert or its log lines. */
function sessionSecrets(config: RunConfig): string[] {
  const c = config.connection;
  return [c?.apiKey, c?.apiSecret, c?.wsPublicKey, c?.wsPrivateKey].filter(
    (s): s is string => s !== undefined && s !== '',
  );
}

export function alertsService(config: RunConfig): SessionService | null {
  const alerts: AlertsConfig | undefined = config.alerts;
  if (alerts === undefined) return null;
  // 429 answers of the REST client, counted from the start (the rule windows them).
  let rateLimited = 0;
  return {
    name: 'alerts',
    observe: {
      rateLimited: () => {
        rateLimited += 1;
      },
    },
    start: ({ view, socket, privateStream, logger }) => {
      const { store, engine, oms, market } = view.parts;
      const figures = async (fillsSince: number): Promise<AlertFigures> => {
        const [escalation, active, equity, fills] = await Promise.all([
          store.escalation(),
          store.activeOrders(),
          store.lastEquitySnapshot(),
          alerts.enabled.has('fills') ? store.fills({ recordedSince: fillsSince, limit: 1_000 }) : [],
        ]);
        const stats = oms.stats();
        const symbols = market.stats().symbols;
        return {
          startedAt: view.startedAt,
          escalation: { level: escalation.level, reason: escalation.reason ?? '(no reason recorded)' },
          unknownOrders: active
            .filter((o) => o.state === 'UNKNOWN' && o.origin !== 'foreign')
            .map((o) => ({ orderId: o.clientOrderId ?? o.id, symbol: o.symbol, since: o.updatedAt })),
          rateLimited: rateLimited + socket.stats().rateLimited,
          marketData: view.symbols.map((symbol) => ({
            symbol,
            status: market.status(symbol),
            dataAgeMs: symbols[symbol]?.dataAgeMs ?? null,
          })),
          reconcile: {
            runs: stats.reconcileRuns,
            failures: stats.reconcileFailures,
            divergences: stats.divergences,
          },
          equity:
            equity === undefined
              ? null
              : {
                  equity: equity.equity.toString(),
                  peak: equity.peakEquity.toString(),
                  currency: equity.currency,
                },
          privateStream:
            privateStream === undefined
              ? null
              : { loginRefusals: privateStream.loginRefusals(), loggedIn: privateStream.loggedIn() },
          lastLoopAt: engine.stats().lastEvaluationAt,
          fills: fills.map((f) => ({
            tradeId: f.tradeId,
            exchangeOrderId: f.exchangeOrderId,
            symbol: f.symbol,
            side: f.side,
            price: f.price.toString(),
            quantity: f.quantity.toString(),
            fee: f.fee.toString(),
            feeAsset: f.feeAsset,
            recordedAt: f.recordedAt,
          })),
        };
      };
      const service = new AlertsService({
        store: alertStoreOf(store),
        config: alerts,
        bot: view.prefix,
        figures,
        clock: systemClock,
        random: processRandom(),
        logger: logger.child({ component: 'alerts' }),
        secrets: sessionSecrets(config),
      });
      service.start();
      const to = service.worker.receiverNames;
      return Promise.resolve({
        banner: `alerts: ${to.length === 0 ? 'logged only (no receiver configured)' : `to ${to.join(', ')}`}${alerts.heartbeat ? '; heartbeat on' : ''}`,
        stop: () => service.stop(),
      });
    },
  };
}
