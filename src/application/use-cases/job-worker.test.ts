import { describe, expect, it } from 'vitest';
import { startJobWorker } from './job-worker.ts';

describe('the job worker loop', () => {
  it('keeps running rounds after a failing round, even when its error handler throws', async () => {
    let rounds = 0;
    const worker = startJobWorker({
      processDueJobs: () => {
        rounds += 1;
        return Promise.reject(new Error('database down'));
      },
      idleMs: 1,
      onError: () => {
        throw new Error('log stream broken');
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await expect(worker.stop()).resolves.toBeUndefined();
    expect(rounds).toBeGreaterThan(2);
  });

  it('runs rounds back to back while jobs were due, and stops promptly while idle', async () => {
    const claimed = [3, 2, 0];
    let rounds = 0;
    const worker = startJobWorker({
      processDueJobs: () => Promise.resolve(claimed[rounds++] ?? 0),
      idleMs: 60_000,
      onError: () => undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(rounds).toBe(3);
    await worker.stop();
  });
});
