export type { Random } from '../domain/random.ts';
