import type { Logger } from 'pino';
import { DEFAULT_TIMINGS } from '../../oms/index.ts';
import type { RunConfig } from '../run-config.ts';
import { bounded, stopSignal } from '../signals.ts';
import { finalSummaryLines } from '../terminal.ts';
import { Closer } from './closer.ts';
import { buildExecution } from './engine.ts';
import { openVenueRest, tradingExchange } from './exchange.ts';
import { openMarketData } from './market-data.ts';
import { presenter, printBanner, reconcileText } from './presenters.ts';
import { ReconcileLoop } from './reconciliation.ts';
import { sessionServices, type ServiceContext, type SessionService } from './services.ts';
import { openStore, stateText } from './stores.ts';
import { openVenue } from './venue.ts';
import { clusterMember } from '../leases/member.ts';
import { scopedStore } from '../leases/scope.ts';
import { auditLogOf } from '../../store/sql/audit.ts';
import { recordRunStart } from '../start-audit.ts';
import { DecisionLog, sessionView, type LastReconcile, type SessionPhase, type SessionView } from './view.ts';
import { fanOutObservers } from '../alerts/session-service.ts';

// One bot session assembled from the builders beside this file: the venue (paper mode's
// in-process simulator, or the configured exchange), the store, the REST adapter and its limiter,
// market data and the private stream, the execution core and the engine, the services (metrics,
// …) and the presenters. run() trades until a signal or the duration, then stops in order.

export interface SessionIo {
  /** One line for the user (stdout). */
  readonly out: (line: string) => void;
  readonly logger: Logger;
}

export interface SessionOutcome {
  /** Our orders still resting (or unresolved) when the session closed. */
  readonly ordersLeft: number;
  readonly reconcileClean: boolean;
}

export interface Session {
  /** The read model of the running bot (what a dashboard shows). */
  readonly view: SessionView;
  /** Trades until a signal or the duration, then stops in order and prints the final summary. */
  run(): Promise<SessionOutcome>;
  /** Closes everything the session opened, last first (services, engine, …, simulator). */
  close(): Promise<void>;
}

/** How long the exit waits for cancels to be confirmed, and for the final reconciliation. */
const EXIT_CANCEL_BOUND_MS = 20_000;
const EXIT_RECONCILE_BOUND_MS = 15_000;

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * Builds and wires every part, starts the services and prints the banner; trading starts with
 * run(). `services` replaces the configured ones (sessionServices) when given.
 */
export async function assembleSession(
  config: RunConfig,
  io: SessionIo,
  services: readonly SessionService[] = sessionServices(config),
): Promise<Session> {
  const { out, logger } = io;
  const closer = new Closer(logger);
  try {
    const venue = await openVenue(config, closer);
    const store = await openStore(config.store, logger, config.cluster);
    closer.add(() => store.close());
    const member = clusterMember(config.cluster, store, config.symbols, logger);
    // Cluster mode: what this process shows and counts is its own pairs' (as its OMS and engine see).
    const shown = member ? scopedStore(store, member.scope.owns) : store;
    await recordRunStart(auditLogOf(store), config);
    const rest = await openVenueRest(
      config,
      venue,
      closer,
      logger,
      fanOutObservers(services.map((s) => s.observe)),
    );
    const data = await openMarketData(config, venue, rest, closer, io);
    const trading = await tradingExchange(config, venue, rest, data.market, data.client, logger);

    let phase: SessionPhase = 'starting';
    let lastReconcile: LastReconcile | null = null;
    const decisions = new DecisionLog();
    const { oms, engine } = buildExecution(
      config,
      { store, trading, market: data.market, rules: rest.rules, cluster: member?.scope },
      {
        out,
        onReconciled: (report) => {
          lastReconcile = { at: Date.now(), report };
        },
        onDecision: decisions.record,
      },
      closer,
      logger,
    );
    // Stopped before the OMS and engine close: its symbols are given up (cancelled) while they work.
    if (member) closer.add(() => member.stop());
    const loop = new ReconcileLoop({
      oms,
      symbols: config.symbols,
      client: data.client,
      wsCredentials: data.wsCredentials,
      out,
      logger,
    });
    const view = sessionView({
      mode: config.mode,
      symbols: config.symbols,
      strategy: config.engine.strategy.name,
      strategyParams: config.strategyParams,
      prefix: config.prefix,
      parts: {
        store: shown,
        engine,
        oms,
        market: data.market,
        limiter: rest.limiter,
      },
      decisions,
      phase: () => phase,
      lastReconcile: () => lastReconcile,
    });

    const context: ServiceContext = {
      config,
      view,
      socket: data.client,
      privateStream:
        data.wsCredentials === undefined
          ? undefined
          : {
              loggedIn: () => loop.pace.state === 'logged-in' && data.client.loggedIn === true,
              loginRefusals: () => data.client.stats().loginRefusals,
              describe: () => loop.pace.describe(),
            },
      out,
      logger,
    };
    const started = new Map<string, { url?: string | undefined; banner?: string | undefined }>();
    for (const service of services) {
      const running = await service.start(context);
      closer.add(() => running.stop());
      started.set(service.name, running);
    }
    const serviceLines = [...started.values()].flatMap((s) => (s.banner === undefined ? [] : [s.banner]));
    printBanner(
      config,
      {
        exchange: venue.describe,
        state: stateText(config.store, store),
        metrics: started.get('metrics')?.url ?? null,
      },
      [...venue.notes, ...serviceLines],
      out,
    );

    const run = async (): Promise<SessionOutcome> => {
      const lines = presenter(view, loop.pace, io);
      const stop = stopSignal(config.durationMs, out);
      closer.add(() => {
        stop.dispose();
      });
      closer.add(() => {
        lines.stop();
      });
      engine.start();
      data.market.start();
      data.client.start();
      const startupPass = oms.start();
      engine.startupReconciliation(startupPass);
      lines.start();
      const startup = await startupPass;
      out(
        `start-up reconciliation: ${reconcileText(startup)}${startup.clean ? '' : ' (no new orders until a pass comes out clean)'}`,
      );
      lines.checkWaiting();
      if (member) {
        member.start(oms, () => engine.budgetUse(), config.cancelOnExit);
        out(
          `cluster: process ${member.holder} takes up to ${config.cluster?.maxSymbols ?? 0} of the symbols under leases`,
        );
      }
      phase = 'running';
      loop.start();

      const reason = await stop.wait;
      phase = 'stopping';
      loop.halt();
      lines.stop();
      out(`stopping: ${reason}`);
      // Each step that can take seconds says so first: no silence between "stopping" and the summary.
      out("stopping: waiting for the engine's order requests and the reconciliation in progress to finish");
      await engine.stop();
      await loop.stop();
      await view.refreshValuation();
      await engine.recordEquity();

      let canceled = 'resting orders left in place';
      if (config.cancelOnExit) {
        const resting = (await shown.activeOrders()).filter((o) => o.origin !== 'foreign').length;
        if (resting > 0)
          out(
            `stopping: canceling ${resting} resting order(s), waiting up to ${EXIT_CANCEL_BOUND_MS / 1000}s for the exchange to confirm`,
          );
        const results = await bounded(oms.cancelAll(), EXIT_CANCEL_BOUND_MS).catch(asError);
        if (results === 'timeout')
          canceled = `cancels not all confirmed within ${EXIT_CANCEL_BOUND_MS / 1000}s`;
        else if (results instanceof Error) canceled = `cancel-all failed: ${results.message}`;
        else {
          const pending = results.filter((r) => r.outcome === 'pending' || r.outcome === 'refused').length;
          canceled = `${results.length - pending} resting orders canceled${pending > 0 ? `, ${pending} NOT confirmed` : ''}`;
        }
      }
      out(`stopping: final reconciliation with the exchange (up to ${EXIT_RECONCILE_BOUND_MS / 1000}s)`);
      const final = await bounded(
        oms.reconcile({ lookbackMs: DEFAULT_TIMINGS.continuousLookbackMs }),
        EXIT_RECONCILE_BOUND_MS,
      ).catch(asError);
      // Fills the final reconciliation found moved balances and positions: read both again, so the
      // final summary counts them (a failed read keeps the figures held).
      await engine.refreshBalances().catch((error: unknown) => {
        logger.warn({ err: String(error) }, 'balances not read again after the final reconciliation');
      });
      const last = await lines.summary();
      for (const line of finalSummaryLines({
        ...last,
        privateStream: loop.pace.history(),
        reason,
        canceled,
        reconcile: reconcileText(final),
      }))
        out(line);
      phase = 'stopped';
      return {
        ordersLeft: last.openOrders,
        reconcileClean: !(final instanceof Error) && final !== 'timeout' && final.clean,
      };
    };
    return { view, run, close: () => closer.closeAll() };
  } catch (error) {
    await closer.closeAll();
    throw error;
  }
}

/** Runs the bot until a signal or the duration; resolves when everything is closed. */
export async function runSession(config: RunConfig, io: SessionIo): Promise<SessionOutcome> {
  const session = await assembleSession(config, io);
  try {
    return await session.run();
  } finally {
    await session.close();
  }
}
