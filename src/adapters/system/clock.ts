import { performance } from 'node:perf_hooks';
import type { Clock } from '#app/application/ports/clock.ts';

/** The machine's clock: wall time from the system, durations from the monotonic high-resolution timer. */
export const createSystemClock = (): Clock => ({
  now: () => new Date(),
  monotonicMs: () => performance.now(),
});
