/**
 * PDF renders per second and render latency with the pdfkit renderer: one renderer (fonts read and parsed once,
 * as in production), against a renderer made per report (fonts read and parsed for every document); then the
 * same renderer in the server's thread against the pool of worker threads, with 1 and more renders in flight,
 * and how long each keeps the event loop from answering anything else.
 * Usage: node bench/render.bench.ts [--total 300 --uncached 40 --workers 2]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createPdfRenderer } from '#app/adapters/pdf/renderer.ts';
import { createPooledPdfRenderer } from '#app/adapters/pdf/worker-pool.ts';
import type { ReportRenderer } from '#app/application/ports/report-renderer.ts';
import { documentFor } from './report-fixture.ts';
import { percentile, round } from './support.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '300' },
    uncached: { type: 'string', default: '40' },
    workers: { type: 'string', default: String(Math.min(2, availableParallelism())) },
  },
});
const total = Number(values.total);
const uncachedTotal = Number(values.uncached);
const workers = Number(values.workers);

interface Series {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly bytes: number;
}

const measure = async (count: number, rendererFor: () => ReportRenderer): Promise<Series> => {
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const renderer = rendererFor();
    const t0 = performance.now();
    bytes += (await renderer.render(documentFor(i))).byteLength;
    latencies.push(performance.now() - t0);
  }
  const wallMs = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: round((count * 1000) / wallMs),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    bytes: Math.round(bytes / count),
  };
};

interface InFlightSeries extends Series {
  /** The longest the event loop went without running a timer while the renders ran: how long a request waits. */
  readonly loopStallMaxMs: number;
}

/** Watches the event loop with a 1 ms timer; stop() gives the longest gap between two of its ticks. */
const watchLoop = (): { stop(): number } => {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(longest, performance.now() - last);
    },
  };
};

/** `count` renders, `inFlight` at a time (each lane renders its next report as soon as the last one is done). */
const measureInFlight = async (
  count: number,
  inFlight: number,
  renderer: ReportRenderer,
): Promise<InFlightSeries> => {
  const latencies: number[] = [];
  let bytes = 0;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const document = documentFor(next);
      next += 1;
      const t0 = performance.now();
      bytes += (await renderer.render(document)).byteLength;
      latencies.push(performance.now() - t0);
    }
  };
  const loop = watchLoop();
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const wallMs = performance.now() - started;
  const loopStallMaxMs = round(loop.stop());
  latencies.sort((a, b) => a - b);
  return {
    perSecond: round((count * 1000) / wallMs),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    bytes: Math.round(bytes / count),
    loopStallMaxMs,
  };
};

const firstRenderMs = async (renderer: ReportRenderer): Promise<number> => {
  const t0 = performance.now();
  await renderer.render(documentFor(0));
  return round(performance.now() - t0);
};

const shared = createPdfRenderer();
const inThreadFirstRenderMs = await firstRenderMs(shared);
await measure(30, () => shared); // warm-up: JIT, and the shared renderer's one font parse
const cached = await measure(total, () => shared);
const uncached = await measure(uncachedTotal, () => createPdfRenderer());

const inFlightCounts = [...new Set([1, workers, 2 * workers])];
const inThread = new Map<number, InFlightSeries>();
for (const inFlight of [1, 2 * workers])
  inThread.set(inFlight, await measureInFlight(total, inFlight, shared));

const pool = createPooledPdfRenderer({ workers });
const pooledFirstRenderMs = await firstRenderMs(pool);
await measureInFlight(30 * workers, workers, pool); // warm-up: every worker started, its fonts parsed, JIT
const pooled = new Map<number, InFlightSeries>();
for (const inFlight of inFlightCounts) pooled.set(inFlight, await measureInFlight(total, inFlight, pool));
await pool.close();

const seriesFields = (prefix: string, series: ReadonlyMap<number, InFlightSeries>): Record<string, number> =>
  Object.fromEntries(
    [...series].flatMap(([inFlight, s]) => [
      [`${prefix}InFlight${inFlight}RendersPerSecond`, s.perSecond],
      [`${prefix}InFlight${inFlight}P50Ms`, s.p50Ms],
      [`${prefix}InFlight${inFlight}P95Ms`, s.p95Ms],
      [`${prefix}InFlight${inFlight}LoopStallMaxMs`, s.loopStallMaxMs],
    ]),
  );

const figures = {
  bench: 'render',
  total,
  cachedRendersPerSecond: cached.perSecond,
  cachedP50Ms: cached.p50Ms,
  cachedP95Ms: cached.p95Ms,
  uncachedTotal,
  uncachedRendersPerSecond: uncached.perSecond,
  uncachedP50Ms: uncached.p50Ms,
  uncachedP95Ms: uncached.p95Ms,
  uncachedOverCachedP50: round(uncached.p50Ms / cached.p50Ms, 2),
  averageBytes: cached.bytes,
  workers,
  inThreadFirstRenderMs,
  pooledFirstRenderMs,
  ...seriesFields('inThread', inThread),
  ...seriesFields('pooled', pooled),
  node: process.version,
};

const print = (label: string, value: string): void => {
  console.log(`  ${label.padEnd(34)} ${value}`);
};
console.log(`PDF renders, one at a time (${figures.averageBytes} bytes on average)`);
print(
  'fonts parsed once (one renderer)',
  `${cached.perSecond} renders/s, p50 ${cached.p50Ms} ms, p95 ${cached.p95Ms} ms`,
);
print(
  'fonts parsed per report',
  `${uncached.perSecond} renders/s, p50 ${uncached.p50Ms} ms, p95 ${uncached.p95Ms} ms (${figures.uncachedOverCachedP50} x)`,
);
const inFlightLine = (s: InFlightSeries): string =>
  `${s.perSecond} renders/s, p50 ${s.p50Ms} ms, p95 ${s.p95Ms} ms, event loop stalled up to ${s.loopStallMaxMs} ms`;
console.log(`In the server's thread, and in a pool of ${workers} worker threads`);
print('first render, cold (in thread)', `${inThreadFirstRenderMs} ms`);
print('first render, cold (pool)', `${pooledFirstRenderMs} ms, starting a worker included`);
for (const [inFlight, s] of inThread) print(`in thread, ${inFlight} in flight`, inFlightLine(s));
for (const [inFlight, s] of pooled) print(`pool, ${inFlight} in flight`, inFlightLine(s));
console.log(JSON.stringify(figures));
