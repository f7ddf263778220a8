import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AssessmentJob } from '#app/application/ports/job-store.ts';
import { createWorkerLogger, jobLogObserver } from './worker-log.ts';

const job: AssessmentJob = {
  id: 'job-1',
  accountId: 'account-1',
  assessmentId: 'assessment-1',
  kind: 'retry_source',
  source: 'vies',
  state: 'PENDING',
  attempt: 2,
  firstFailedAt: '2026-11-29T09:00:00.000Z',
  nextAttemptAt: '2026-11-29T09:01:00.000Z',
  lastReason: 'http_status',
  lockedBy: 'worker-1',
  lockedUntil: '2026-11-29T09:03:00.000Z',
};

describe('the worker log', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    return { lines, observer: jobLogObserver(createWorkerLogger(stream)) };
  };

  it('writes one JSON line per job, with its correlation id, source, outcome and duration', () => {
    const { lines, observer } = capture();
    observer.job?.(job, 'retry_scheduled', {
      correlationId: 'corr-1',
      durationMs: 412,
      reason: 'http_status',
    });
    observer.job?.({ ...job, kind: 'seal', source: null }, 'sealed', {
      correlationId: 'corr-2',
      durationMs: null,
      reason: null,
    });
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(Number) as unknown,
        pid: process.pid,
        hostname: expect.any(String) as unknown,
        name: 'vigilance-worker',
        msg: 'job',
        correlationId: 'corr-1',
        jobId: 'job-1',
        assessmentId: 'assessment-1',
        kind: 'retry_source',
        source: 'vies',
        outcome: 'retry_scheduled',
        reason: 'http_status',
        durationMs: 412,
      },
      expect.objectContaining({
        level: 30,
        correlationId: 'corr-2',
        kind: 'seal',
        source: null,
        outcome: 'sealed',
      }),
    ]);
  });

  it('warns when a source is given up on or a lease was lost, and carries nothing of the account', () => {
    const { lines, observer } = capture();
    observer.job?.(job, 'final', { correlationId: 'c', durationMs: 8000, reason: 'timeout' });
    observer.job?.(job, 'lease_lost', { correlationId: 'd', durationMs: null, reason: null });
    expect(lines.map((l) => [l.level, l.outcome])).toEqual([
      [40, 'final'],
      [40, 'lease_lost'],
    ]);
    expect(JSON.stringify(lines)).not.toContain('account-1');
  });
});
