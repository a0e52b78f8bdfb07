import type { MarketShare, SimEngine, SimEngineOptions } from './api.ts';
import { MatchingCore } from './core.ts';
import { participantFunding, SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT, SyntheticMarket } from './market.ts';
import { EXCHANGE_ACCOUNT } from './venue.ts';

export { DEFAULT_FEES, defaultMarkets } from './defaults.ts';
export { EXCHANGE_ACCOUNT } from './venue.ts';
export { SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT } from './market.ts';
export { DAY_BUCKET_MS, RECENT_TRADES_KEPT } from './tape.ts';
export { MatchingCore, type MatchingCoreOptions } from './core.ts';
export { MirroredMarket, type MirrorLevel } from './mirror.ts';

const INTERNAL_ACCOUNTS: ReadonlySet<string> = new Set([
  EXCHANGE_ACCOUNT,
  ...SIM_MAKER_ACCOUNTS,
  SIM_TAKER_ACCOUNT,
]);

/** The exchange's fee account and the synthetic participants: no user of the simulator is one of these. */
export function isInternalAccount(accountId: string): boolean {
  return INTERNAL_ACCOUNTS.has(accountId);
}

const PARTICIPANTS: ReadonlySet<string> = new Set([...SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT]);
const isParticipant = (accountId: string): boolean => PARTICIPANTS.has(accountId);

/** A BTCTurk-like matching engine: pure, synchronous, replayable from its Clock and Random. */
export function createSimEngine(options: SimEngineOptions): SimEngine {
  return new Engine(options);
}

class Engine extends MatchingCore implements SimEngine {
  private readonly synthetic: SyntheticMarket;

  constructor(options: SimEngineOptions) {
    super({ ...options, transient: isInternalAccount, silentBalances: isParticipant });
    const funding = participantFunding(options.markets);
    // Nobody can be listening yet.
    for (const accountId of [...SIM_MAKER_ACCOUNTS, SIM_TAKER_ACCOUNT]) this.openSilently(accountId, funding);
    this.synthetic = new SyntheticMarket(options.markets, options.random, {
      place: (input) => this.placeOrder(input),
      cancel: (orderId) => this.completeCancel(orderId),
      isOpen: (orderId) => this.isOpen(orderId),
      bestPrice: (symbol, side) => this.bestPrice(symbol, side),
    });
  }

  stepMarket(share?: MarketShare): void {
    this.synthetic.step(share);
  }
}
