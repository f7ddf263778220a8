import { pino, type DestinationStream, type Logger } from 'pino';
import type { JobOutcome } from '#app/application/ports/job-store.ts';
import type { JobObserver } from '#app/application/use-cases/process-jobs.ts';

/** What the worker's log lines need of a logger: a pino logger, or the Fastify server's (pino too), fit. */
export interface WorkerLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The `name` of every worker log line, in `vigilance worker` and inside `npm start` alike. */
export const WORKER_LOG_NAME = 'vigilance-worker';

/** JSON lines on stdout (or `destination`), as the server's access log. */
export const createWorkerLogger = (destination?: DestinationStream): Logger =>
  pino({ name: WORKER_LOG_NAME }, destination);

/** What an operator should look at: a source given up on, or a job whose lease lapsed while it ran. */
const WARNING: ReadonlySet<JobOutcome> = new Set<JobOutcome>(['final', 'lease_lost']);

/**
 * One log line per job the worker ran, with its correlation id (the one the registry received and the audit entry
 * carries). Identifiers, enumerations and a duration only: no token, key, PIN or registry payload.
 */
export const jobLogObserver = (log: WorkerLog): JobObserver => ({
  job: (job, outcome, run) => {
    const fields = {
      correlationId: run.correlationId,
      jobId: job.id,
      assessmentId: job.assessmentId,
      kind: job.kind,
      source: job.source,
      outcome,
      reason: run.reason,
      durationMs: run.durationMs,
    };
    if (WARNING.has(outcome)) log.warn(fields, 'job');
    else log.info(fields, 'job');
  },
});
