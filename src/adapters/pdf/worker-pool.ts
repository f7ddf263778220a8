import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument, ReportRenderer } from '#app/application/ports/report-renderer.ts';
import type { RenderReply, RenderRequest, RenderWorkerData } from './render-worker.ts';

/** How many worker threads render, and where they find their fonts. */
export interface PooledPdfRendererOptions {
  /** Renders that run at once, one worker thread each; defaults to the available cores, at most 2. */
  readonly workers?: number;
  /** As for createPdfRenderer: a directory holding DejaVuSans.ttf and DejaVuSans-Bold.ttf. */
  readonly fontDir?: string;
  /** TEST HOOK ONLY: sees each worker the pool starts, so a test can make one die. */
  readonly onWorkerStart?: (worker: Worker) => void;
}

/** The pdfkit renderer run in worker threads; close() stops them. */
export interface PooledPdfRenderer extends ReportRenderer {
  /** Rejects the renders still pending and stops every worker. Idempotent. */
  close(): Promise<void>;
}

const RENDERER_UNAVAILABLE = 'RENDERER_UNAVAILABLE';
const MAX_DEFAULT_WORKERS = 2;
const WORKER_URL = new URL('./render-worker.ts', import.meta.url);

interface Job {
  readonly document: ReportDocument;
  readonly resolve: (pdf: Uint8Array) => void;
  readonly reject: (error: InfrastructureError) => void;
}

/** A worker and the one render it is doing, if any. */
interface Slot {
  readonly worker: Worker;
  job: Job | null;
  /** The uncaught error that is killing the worker, reported before it exits. */
  fault: unknown;
}

const unavailable = (message: string, cause: unknown): InfrastructureError =>
  new InfrastructureError(RENDERER_UNAVAILABLE, message, { cause });

const isReply = (value: unknown): value is RenderReply =>
  typeof value === 'object' &&
  value !== null &&
  (Reflect.get(value, 'ok') === true
    ? Reflect.get(value, 'pdf') instanceof Uint8Array
    : typeof Reflect.get(value, 'message') === 'string');

const workerCount = (workers: number | undefined): number => {
  const count = workers ?? Math.min(MAX_DEFAULT_WORKERS, availableParallelism());
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError('A PDF worker pool needs at least 1 worker.');
  return count;
};

/**
 * The pdfkit renderer (createPdfRenderer) in a pool of worker threads: a render is tens of milliseconds of
 * synchronous CPU, which in the server's thread would stall every other request and hold sealing to one core.
 * Same port, same bytes as the in-thread renderer.
 *
 * Workers start on demand, one more each time a render finds every worker busy, up to `workers`: a process that
 * never renders starts none, and a worker's start-up (loading pdfkit, then parsing the fonts on its first render)
 * is paid once, on the first render that needs it. Workers are then kept and reused; renders wait in order of
 * arrival when all are busy. An idle worker does not keep the process alive.
 *
 * Faults are InfrastructureError RENDERER_UNAVAILABLE: a render the renderer refuses (the worker carries on), a
 * worker that dies mid-render (it is replaced for later renders), and any render once the pool is closed.
 */
export const createPooledPdfRenderer = (options: PooledPdfRendererOptions = {}): PooledPdfRenderer => {
  const size = workerCount(options.workers);
  const workerData: RenderWorkerData = { fontDir: options.fontDir ?? null };
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let closing: Promise<void> | null = null;

  const settle = (slot: Slot): Job | null => {
    const { job } = slot;
    slot.job = null;
    return job;
  };

  const answer = (slot: Slot, reply: unknown): void => {
    const job = settle(slot);
    if (job === null) return;
    if (!isReply(reply)) {
      job.reject(unavailable('The render worker answered something other than a report PDF.', null));
    } else if (reply.ok) {
      // A Buffer over the moved memory, as the in-thread renderer returns: no copy.
      job.resolve(Buffer.from(reply.pdf.buffer, reply.pdf.byteOffset, reply.pdf.byteLength));
    } else {
      job.reject(unavailable(reply.message, reply.cause));
    }
    dispatch();
  };

  const exited = (slot: Slot, exitCode: number): void => {
    const at = slots.indexOf(slot);
    if (at !== -1) slots.splice(at, 1);
    const job = settle(slot);
    job?.reject(
      unavailable(
        'The render worker stopped during the render.',
        slot.fault ?? new Error(`The render worker exited with code ${exitCode}.`),
      ),
    );
    dispatch();
  };

  const start = (): Slot => {
    const worker = new Worker(WORKER_URL, { workerData, name: 'vigilance-pdf-renderer' });
    const slot: Slot = { worker, job: null, fault: null };
    worker.on('message', (reply: unknown) => {
      answer(slot, reply);
    });
    worker.on('messageerror', (error) => {
      settle(slot)?.reject(unavailable("The render worker's answer could not be read.", error));
      dispatch();
    });
    worker.on('error', (error) => {
      slot.fault = error;
    });
    worker.on('exit', (exitCode) => {
      exited(slot, exitCode);
    });
    slots.push(slot);
    options.onWorkerStart?.(worker);
    return slot;
  };

  const hand = (slot: Slot, job: Job): void => {
    slot.job = job;
    slot.worker.ref();
    try {
      slot.worker.postMessage({ document: job.document } satisfies RenderRequest);
    } catch (cause) {
      settle(slot);
      job.reject(unavailable('The report could not be handed to a render worker.', cause));
    }
  };

  /** Gives waiting renders to idle workers, starting workers while there are fewer than `size`. */
  const dispatch = (): void => {
    while (closing === null) {
      const job = queue[0];
      if (job === undefined) break;
      let slot = slots.find((candidate) => candidate.job === null);
      if (slot === undefined && slots.length < size) {
        try {
          slot = start();
        } catch (cause) {
          queue.shift();
          job.reject(unavailable('A render worker could not be started.', cause));
          continue;
        }
      }
      if (slot === undefined) break;
      queue.shift();
      hand(slot, job);
    }
    // Idle workers let the process exit, except while closing: then the process waits for them to stop.
    if (closing === null) for (const slot of slots) if (slot.job === null) slot.worker.unref();
  };

  return {
    render: (document) =>
      new Promise<Uint8Array>((resolve, reject) => {
        if (closing !== null) {
          reject(unavailable('The report renderer is closed.', null));
          return;
        }
        queue.push({ document, resolve, reject });
        dispatch();
      }),
    close: () => {
      if (closing !== null) return closing;
      const closed = (): InfrastructureError =>
        unavailable('The report renderer was closed before the render.', null);
      for (const job of queue.splice(0)) job.reject(closed());
      for (const slot of slots) settle(slot)?.reject(closed());
      closing = Promise.all(
        slots.map((slot) => {
          slot.worker.ref();
          return slot.worker.terminate();
        }),
      ).then(() => undefined);
      return closing;
    },
  };
};
