// The BTCTurk adapter: the only code that knows BTCTurk's wire format.
export { BtcturkExchange, btcturkRateLimiter, type BtcturkExchangeOptions } from './exchange.ts';
export { BtcturkCredentials, signStamp, validateSecret } from './common/credentials.ts';
export { redact } from './common/redact.ts';
export { parseJsonLossless } from './common/json.ts';
export { fullJitterDelay, type BackoffPolicy } from './common/retry.ts';
export { RATE_LIMITS, type LimitGroup } from './common/constants.ts';
export {
  InMemoryLimiterStore,
  RateLimiter,
  type AcquireResult,
  type LimiterStore,
  type RateWindow,
} from './common/rate-limiter.ts';
export {
  RedisLimiterStore,
  connectRedisLimiterStore,
  limiterNamespace,
} from './common/redis-limiter-store.ts';
