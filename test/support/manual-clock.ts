import type { Clock } from '#app/application/ports/clock.ts';

/** A clock that moves only when told to. */
export interface ManualClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export const createManualClock = (startIso = '2026-11-29T09:00:00.000Z'): ManualClock => {
  let now = Date.parse(startIso);
  let mono = 0;
  return {
    now: () => new Date(now),
    monotonicMs: () => mono,
    set: (iso) => {
      now = Date.parse(iso);
    },
    advance: (ms) => {
      now += ms;
      mono += ms;
    },
  };
};
