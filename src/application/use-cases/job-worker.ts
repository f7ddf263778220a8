import type { ProcessDueJobs } from './process-jobs.ts';

export interface JobWorker {
  /** Stops after the round in progress; resolves when it has ended. */
  stop(): Promise<void>;
}

/**
 * Runs rounds of the retry worker until stopped: straight on while jobs were due, otherwise after `idleMs`. A round
 * that fails (the database went away, a fault in a job) is reported and the next round runs after `idleMs`: the
 * jobs it held come back when their leases lapse, so nothing is lost.
 */
export const startJobWorker = (options: {
  readonly processDueJobs: ProcessDueJobs;
  readonly idleMs: number;
  readonly onError: (error: unknown) => void;
}): JobWorker => {
  const state = { running: true };
  let wake: (() => void) | null = null;
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      // Stopped while the round ran: no pause.
      if (!state.running) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });
  const loop = (async () => {
    while (state.running) {
      let claimed = 0;
      try {
        claimed = await options.processDueJobs();
      } catch (error) {
        try {
          options.onError(error);
        } catch {
          // A failing error handler (a broken log stream) must not stop the worker: the next round still runs.
        }
      }
      if (claimed === 0) await pause(options.idleMs);
    }
  })();
  return {
    stop: async () => {
      state.running = false;
      wake?.();
      await loop;
    },
  };
};
