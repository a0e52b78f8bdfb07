// One bot session: assembled in src/ops/compose/ from small builders (venue, store, exchange,
// market data, engine, services, presenters) that the run command, a dashboard and tests share.

export {
  assembleSession,
  runSession,
  type Session,
  type SessionIo,
  type SessionOutcome,
} from './compose/session.ts';
export type { SessionView, SessionSnapshot } from './compose/view.ts';
export type { SessionService, ServiceContext, StartedService } from './compose/services.ts';
