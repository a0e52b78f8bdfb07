export type { Clock } from '../domain/clock.ts';
