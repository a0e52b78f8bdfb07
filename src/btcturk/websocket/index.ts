// BTCTurk's WebSocket feed: the connection, its frames, and the market and user streams over it.
export { WsCredentials, loginSignature } from './auth.ts';
export {
  BtcturkWsClient,
  DEFAULT_WS_URL,
  type WsClientEvents,
  type WsClientOptions,
  type WsClientStats,
  type WsProblem,
  type WsProblemKind,
} from './client.ts';
export { BtcturkMarketFeed } from './feed.ts';
export { parseFrame, WS_TYPE, type ParsedFrame, type WsMessage } from './messages.ts';
export { BoundedQueue } from './queue.ts';
export {
  backoffDelay,
  ConnectBudget,
  DEFAULT_BACKOFF,
  type BackoffOptions,
  type ConnectBudgetOptions,
} from './reconnect.ts';
export { BtcturkUserStream } from './user-stream.ts';
