import { randomBytes } from 'node:crypto';
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** A source of uniform numbers in [0, 1), injected so any behaviour can be replayed from a seed. */
export interface Random {
  next(): number;
}

const SPAN = 2 ** 30;

/** A replayable stream for tests, the simulator and chaos runs. */
export function seededRandom(seed: number): Random & { readonly seed: number } {
  const gen: RandomGenerator = xoroshiro128plus(seed | 0);
  return {
    seed,
    next: () => unsafeUniformIntDistribution(0, SPAN - 1, gen) / SPAN,
  };
}

/**
 * Production jitter: seeded per process from the OS's cryptographic source, so retries of several
 * bot processes never fall into step (the replaced bot's fixed seed 17 did exactly that).
 */
export function processRandom(): Random & { readonly seed: number } {
  return seededRandom(randomBytes(4).readInt32LE(0));
}

/** A whole number in [min, max]. */
export function randomInt(random: Random, min: number, max: number): number {
  return min + Math.floor(random.next() * (max - min + 1));
}
