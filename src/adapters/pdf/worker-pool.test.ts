import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { ReportDocument } from '#app/application/ports/report-renderer.ts';
import { createPdfRenderer } from './renderer.ts';
import { createPooledPdfRenderer, type PooledPdfRenderer } from './worker-pool.ts';
import { REPORT_ID, SEALED_AT, green, red, report } from '../../../test/support/reports.ts';

const inThread = createPdfRenderer();

/** The i-th of a run of distinct reports, alternating verdict and language. */
const nth = (i: number): ReportDocument =>
  report({
    reportId: `0193a1b2-c3d4-7e5f-8a9b-${String(i).padStart(12, '0')}`,
    assessment: i % 2 === 0 ? red : green,
    lang: i % 3 === 0 ? 'en' : 'fr',
    attachedPayload: JSON.stringify({ reportId: i }),
  });

/** A pool whose workers the test can see (and kill) through the pool's test hook. */
const observedPool = (
  options: { workers?: number; fontDir?: string } = {},
): { pool: PooledPdfRenderer; started: Worker[]; exited: () => number } => {
  const started: Worker[] = [];
  let exits = 0;
  const pool = createPooledPdfRenderer({
    ...options,
    onWorkerStart: (worker) => {
      started.push(worker);
      worker.once('exit', () => {
        exits += 1;
      });
    },
  });
  return { pool, started, exited: () => exits };
};

const rendererUnavailable = (error: unknown): InfrastructureError => {
  expect(error).toBeInstanceOf(InfrastructureError);
  expect(error).toHaveProperty('code', 'RENDERER_UNAVAILABLE');
  return error as InfrastructureError;
};

const failureOf = async (rendering: Promise<Uint8Array>): Promise<InfrastructureError> => {
  try {
    await rendering;
  } catch (error) {
    return rendererUnavailable(error);
  }
  throw new Error('the render was expected to fail');
};

describe('pooled PDF renderer', () => {
  let pool: PooledPdfRenderer;
  beforeAll(() => {
    pool = createPooledPdfRenderer({ workers: 2 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it.each([
    ['RED', 'fr', red],
    ['RED', 'en', red],
    ['GREEN', 'fr', green],
    ['GREEN', 'en', green],
  ] as const)(
    'renders the %s report in %s to the same bytes as the in-thread renderer',
    async (_, lang, assessment) => {
      const document = report({ lang, assessment });
      const pooled = await pool.render(document);
      expect(Buffer.compare(pooled, await inThread.render(document))).toBe(0);
      expect(Buffer.isBuffer(pooled)).toBe(true);
    },
  );

  it('renders 8 reports in flight on 2 workers, each to its own deterministic bytes', async () => {
    const { pool: observed, started } = observedPool({ workers: 2 });
    try {
      const documents = Array.from({ length: 8 }, (_, i) => nth(i));
      const first = await Promise.all(documents.map((document) => observed.render(document)));
      const second = await Promise.all(documents.map((document) => observed.render(document)));
      for (const [i, document] of documents.entries()) {
        const expected = await inThread.render(document);
        expect(Buffer.compare(first[i] ?? new Uint8Array(), expected), `report ${i}`).toBe(0);
        expect(Buffer.compare(second[i] ?? new Uint8Array(), expected), `report ${i}`).toBe(0);
      }
      expect(new Set(first.map((pdf) => Buffer.from(pdf).toString('base64'))).size).toBe(8);
      expect(started).toHaveLength(2);
    } finally {
      await observed.close();
    }
  });

  it('answers waiting renders in their order of arrival', async () => {
    const { pool: single } = observedPool({ workers: 1 });
    try {
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          single.render(nth(i)).then(() => {
            order.push(i);
          }),
        ),
      );
      expect(order).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await single.close();
    }
  });

  it('starts workers only as concurrent renders need them', async () => {
    const { pool: lazy, started } = observedPool({ workers: 3 });
    try {
      expect(started).toHaveLength(0);
      await lazy.render(nth(0));
      await lazy.render(nth(1));
      expect(started).toHaveLength(1);
    } finally {
      await lazy.close();
    }
  });

  it('refuses a pool without workers', () => {
    expect(() => createPooledPdfRenderer({ workers: 0 })).toThrow(RangeError);
    expect(() => createPooledPdfRenderer({ workers: 1.5 })).toThrow(RangeError);
  });
});

describe('pooled PDF renderer faults', () => {
  it('rejects a document the renderer refuses without its content, and the worker renders the next one', async () => {
    const { pool, started } = observedPool({ workers: 1 });
    try {
      const refused = report({ sealedAt: 'the day after tomorrow' });
      const error = await failureOf(pool.render(refused));
      expect(error.message).toBe('The report PDF could not be rendered.');
      for (const content of [refused.sealedAt, REPORT_ID, refused.attachedPayload, refused.verificationUrl]) {
        expect(error.message).not.toContain(content);
      }
      expect(error.cause).toBeInstanceOf(Error);

      const document = report({ sealedAt: SEALED_AT });
      expect(Buffer.compare(await pool.render(document), await inThread.render(document))).toBe(0);
      expect(started).toHaveLength(1);
    } finally {
      await pool.close();
    }
  });

  it('rejects renders when the fonts cannot be loaded', async () => {
    const { pool } = observedPool({ workers: 1, fontDir: '/nonexistent/fonts' });
    try {
      const error = await failureOf(pool.render(report()));
      expect(error.message).toContain('fonts could not be loaded');
    } finally {
      await pool.close();
    }
  });

  it('rejects the render of a worker that dies, and renders what waited on a replacement worker', async () => {
    const { pool, started } = observedPool({ workers: 1 });
    try {
      const doomed = failureOf(pool.render(nth(0)));
      const waiting = pool.render(nth(1));
      const [dying] = started;
      expect(dying).toBeDefined();
      await dying?.terminate();

      const error = await doomed;
      expect(error.message).toBe('The render worker stopped during the render.');
      expect(Buffer.compare(await waiting, await inThread.render(nth(1)))).toBe(0);
      expect(started).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });

  it('replaces a worker that died while idle', async () => {
    const { pool, started, exited } = observedPool({ workers: 1 });
    try {
      await pool.render(nth(0));
      await started[0]?.terminate();
      expect(exited()).toBe(1);
      expect(Buffer.compare(await pool.render(nth(2)), await inThread.render(nth(2)))).toBe(0);
      expect(started).toHaveLength(2);
    } finally {
      await pool.close();
    }
  });
});

describe('closing the pooled PDF renderer', () => {
  it('rejects the renders in flight and waiting, stops every worker, and refuses later renders', async () => {
    const { pool, started, exited } = observedPool({ workers: 2 });
    const pending = Array.from({ length: 5 }, (_, i) => failureOf(pool.render(nth(i))));
    expect(started).toHaveLength(2);

    await pool.close();
    for (const error of await Promise.all(pending)) {
      expect(error.message).toBe('The report renderer was closed before the render.');
    }
    expect(exited()).toBe(2);
    expect((await failureOf(pool.render(nth(0)))).message).toBe('The report renderer is closed.');
    expect(started).toHaveLength(2);
  });

  it('is idempotent, also for a pool that never rendered', async () => {
    const { pool, started } = observedPool();
    const closing = pool.close();
    expect(pool.close()).toBe(closing);
    await closing;
    await pool.close();
    expect(started).toHaveLength(0);
    rendererUnavailable(await pool.render(report()).catch((error: unknown) => error));
  });

  it('lets a process with nothing else to do wait for close(), and exit when close() was forgotten', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigilance-pool-'));
    const script = join(dir, 'render-once.mjs');
    const result = join(dir, 'result.json');
    await writeFile(
      script,
      [
        `const { writeFileSync } = await import('node:fs');`,
        `const { createPooledPdfRenderer } = await import(${JSON.stringify(new URL('./worker-pool.ts', import.meta.url).href)});`,
        `const { report } = await import(${JSON.stringify(new URL('../../../test/support/reports.ts', import.meta.url).href)});`,
        'const closed = createPooledPdfRenderer({ workers: 2 });',
        'const forgotten = createPooledPdfRenderer({ workers: 1 });',
        'const pdfs = await Promise.all([closed.render(report()), closed.render(report()), forgotten.render(report())]);',
        'await closed.close();',
        `writeFileSync(${JSON.stringify(result)}, JSON.stringify(pdfs.map((pdf) => pdf.byteLength)));`,
      ].join('\n'),
    );
    try {
      // No pipes to this process: an open pipe would keep the child's event loop alive by itself. A script file,
      // not --eval: workers inherit the process's flags, and --input-type fails a worker's start.
      const child = spawn(process.execPath, [script], { stdio: 'ignore', timeout: 20_000 });
      const [exitCode, signal] = (await once(child, 'exit')) as [number | null, string | null];
      // A close() that never settles ends the script with exit code 13 (unsettled top-level await).
      expect({ exitCode, signal }).toEqual({ exitCode: 0, signal: null });
      const sizes = JSON.parse(await readFile(result, 'utf8')) as number[];
      expect(sizes).toHaveLength(3);
      expect(new Set(sizes).size).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
