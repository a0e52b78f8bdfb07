import type {
  FeedConnectionCounts,
  FeedStreams,
  MarketFeed,
  MarketFeedEvent,
  MarketFeedListener,
} from '../../ports/market-feed.ts';
import type { BtcturkWsClient } from './client.ts';
import type { WsMessage } from './messages.ts';

// The market layer's view of the BTCTurk socket (ports/market-feed.ts): which channels carry what,
// and how a fresh book snapshot is asked for. BTCTurk answers every obdiff join with a full book
// (up to 100 levels a side), so a resync is a leave and a join of obdiff; the periodic `orderbook`
// channel is only joined when asked for (its CS is another subscription's, see book-keeper.ts).

const CHANNEL_OF: Readonly<Record<keyof FeedStreams, string>> = {
  book: 'obdiff',
  periodicBook: 'orderbook',
  trades: 'trade',
  ticker: 'ticker',
};

const MARKET_KINDS: ReadonlySet<WsMessage['kind']> = new Set([
  'book-snapshot',
  'book-diff',
  'book-unreadable',
  'trade',
  'trades',
  'ticker',
]);

function isMarketEvent(message: WsMessage): message is MarketFeedEvent {
  return MARKET_KINDS.has(message.kind);
}

export class BtcturkMarketFeed implements MarketFeed {
  private readonly watched = new Map<string, FeedStreams>();

  constructor(private readonly client: BtcturkWsClient) {}

  get connected(): boolean {
    return this.client.connected;
  }

  connectionCounts(): FeedConnectionCounts {
    const { connects, reconnects } = this.client.stats();
    return { connects, reconnects };
  }

  listen(listener: MarketFeedListener): () => void {
    const onMessage = (message: WsMessage, receivedAt: number): void => {
      if (isMarketEvent(message)) listener.event(message, receivedAt);
    };
    const onDisconnected = (reason: string): void => {
      listener.disconnected(reason);
    };
    const onReconnected = (): void => {
      listener.reconnected();
    };
    this.client.on('message', onMessage);
    this.client.on('disconnected', onDisconnected);
    this.client.on('reconnected', onReconnected);
    return () => {
      this.client.off('message', onMessage);
      this.client.off('disconnected', onDisconnected);
      this.client.off('reconnected', onReconnected);
    };
  }

  /**
   * Joins the symbol's channels for `streams`. For a symbol already watched only the channels that
   * differ are joined or left: following its trades too leaves its book subscription (and the book
   * kept from it) alone.
   */
  watch(symbol: string, streams: FeedStreams): void {
    const before = this.watched.get(symbol);
    this.watched.set(symbol, streams);
    for (const [stream, channel] of Object.entries(CHANNEL_OF) as [keyof FeedStreams, string][]) {
      const was = before?.[stream] === true;
      if (streams[stream] && !was) this.client.subscribe(channel, symbol);
      else if (!streams[stream] && was) this.client.unsubscribe(channel, symbol);
    }
  }

  unwatch(symbol: string): void {
    const streams = this.watched.get(symbol);
    if (!streams) return;
    this.watched.delete(symbol);
    for (const [stream, channel] of Object.entries(CHANNEL_OF) as [keyof FeedStreams, string][]) {
      if (streams[stream]) this.client.unsubscribe(channel, symbol);
    }
  }

  resyncBook(symbol: string): void {
    this.client.resubscribe(CHANNEL_OF.book, symbol);
  }

  lastAliveAt(): number | null {
    return this.client.lastAliveAt();
  }
}
