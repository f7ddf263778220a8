/**
 * PDF renders per second and render latency with the pdfkit renderer: one renderer (fonts read and parsed once,
 * as in production), against a renderer made per report (fonts read and parsed for every document).
 * Usage: node bench/render.bench.ts [--total 300 --uncached 40]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createPdfRenderer } from '#app/adapters/pdf/renderer.ts';
import type { ReportRenderer } from '#app/application/ports/report-renderer.ts';
import { documentFor } from './report-fixture.ts';
import { percentile, round } from './support.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '300' },
    uncached: { type: 'string', default: '40' },
  },
});
const total = Number(values.total);
const uncachedTotal = Number(values.uncached);

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

const shared = createPdfRenderer();
await measure(30, () => shared); // warm-up: JIT, and the shared renderer's one font parse
const cached = await measure(total, () => shared);
const uncached = await measure(uncachedTotal, () => createPdfRenderer());

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
console.log(JSON.stringify(figures));
