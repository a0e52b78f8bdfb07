import type { SymbolRules } from '../domain/symbols.ts';
import type { Exchange } from '../ports/exchange.ts';

/**
 * The exchange's trading rules by symbol: those given at start (the session has read them), else
 * read once from the exchange the first time a symbol is missing (an operator command resuming a
 * replace). Undefined for a symbol the exchange does not list.
 */
export function rulesSource(
  exchange: Pick<Exchange, 'exchangeInfo'>,
  given: ReadonlyMap<string, SymbolRules> = new Map(),
): (symbol: string) => Promise<SymbolRules | undefined> {
  const known = new Map(given);
  let read: Promise<void> | undefined;
  return async (symbol) => {
    if (!known.has(symbol)) {
      read ??= exchange.exchangeInfo().then(
        (info) => {
          for (const rules of info.symbols) if (!known.has(rules.symbol)) known.set(rules.symbol, rules);
        },
        (error: unknown) => {
          read = undefined; // a failed read is tried again by the next caller
          throw error;
        },
      );
      await read;
    }
    return known.get(symbol);
  };
}
