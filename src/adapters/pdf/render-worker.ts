/**
 * A render worker of the pooled PDF renderer (worker-pool.ts): one pdfkit renderer per worker thread, so the
 * fonts are read and parsed once per worker, answering one render request at a time.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { createPdfRenderer } from './renderer.ts';

/** What the pool hands a worker when it starts it. */
export interface RenderWorkerData {
  readonly fontDir: string | null;
}

/** One report to render; the pool sends the next only once the worker has answered. */
export interface RenderRequest {
  readonly document: ReportDocument;
}

/**
 * The worker's answer: the PDF, its memory moved to the pool rather than copied; or why the render failed, in
 * the words of the renderer's own InfrastructureError (which carry no document content).
 */
export type RenderReply =
  | { readonly ok: true; readonly pdf: Uint8Array<ArrayBuffer> }
  | { readonly ok: false; readonly message: string; readonly cause: unknown };

const RENDER_FAILED = 'The report PDF could not be rendered.';

const fontDirOf = (data: unknown): string | null => {
  if (typeof data !== 'object' || data === null) return null;
  const fontDir: unknown = Reflect.get(data, 'fontDir');
  return typeof fontDir === 'string' ? fontDir : null;
};

/**
 * The PDF as a Uint8Array alone on its memory, which can then be moved. A PDF small enough to come from Node's
 * shared buffer pool is copied out first: the pool's memory cannot be transferred.
 */
const movable = (pdf: Uint8Array): Uint8Array<ArrayBuffer> => {
  const { buffer } = pdf;
  const ownsAll =
    buffer instanceof ArrayBuffer && pdf.byteOffset === 0 && pdf.byteLength === buffer.byteLength;
  return ownsAll ? new Uint8Array(buffer) : new Uint8Array(pdf);
};

const failure = (error: unknown): RenderReply =>
  error instanceof InfrastructureError
    ? { ok: false, message: error.message, cause: error.cause }
    : { ok: false, message: RENDER_FAILED, cause: error };

const reply = (port: MessagePort, answer: RenderReply): void => {
  if (answer.ok) {
    port.postMessage(answer, [answer.pdf.buffer]);
    return;
  }
  try {
    port.postMessage(answer);
  } catch {
    // A cause structured clone cannot copy (a function, a class instance holding a handle) is left behind.
    port.postMessage({ ok: false, message: answer.message, cause: null } satisfies RenderReply);
  }
};

const serve = (port: MessagePort): void => {
  const fontDir = fontDirOf(workerData);
  const renderer = createPdfRenderer(fontDir === null ? {} : { fontDir });
  port.on('message', (request: RenderRequest) => {
    renderer.render(request.document).then(
      (pdf) => {
        reply(port, { ok: true, pdf: movable(pdf) });
      },
      (error: unknown) => {
        reply(port, failure(error));
      },
    );
  });
};

if (parentPort === null)
  throw new Error('render-worker.ts runs as a worker thread of the pooled PDF renderer.');
serve(parentPort);
