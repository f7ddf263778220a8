/**
 * PDF renders per second and render latency with the Chromium renderer: the first render of each page (cold: the
 * fonts and styles loaded into it), then renders on warm pages, one at a time and with every page of the pool
 * busy. Needs /usr/bin/chromium (apt-get install chromium).
 * Usage: node bench/render-chromium.bench.ts [--total 100 --pages 2]
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { createChromiumRenderer } from '#app/adapters/chromium/renderer.ts';
import { documentFor } from './report-fixture.ts';
import { percentile, round } from './support.ts';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '100' },
    pages: { type: 'string', default: '2' },
  },
});
const total = Number(values.total);
const pages = Number(values.pages);
interface Series {
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly bytes: number;
}

const summarise = (latencies: number[], wallMs: number, bytes: number): Series => {
  latencies.sort((a, b) => a - b);
  return {
    perSecond: round((latencies.length * 1000) / wallMs),
    p50Ms: round(percentile(latencies, 50)),
    p95Ms: round(percentile(latencies, 95)),
    bytes: Math.round(bytes / latencies.length),
  };
};

const launchStarted = performance.now();
const renderer = await createChromiumRenderer({ pages });
const launchMs = round(performance.now() - launchStarted);

// Cold: the first render on each page of the pool, all at once, as a freshly started service would see them.
const coldStarted = performance.now();
const cold = await Promise.all(
  Array.from({ length: pages }, async (_, i) => {
    const t0 = performance.now();
    await renderer.render(documentFor(i));
    return performance.now() - t0;
  }),
);
const coldMs = round(Math.max(...cold));
const coldWallMs = performance.now() - coldStarted;

/** `count` renders, `concurrency` in flight at a time. */
const measure = async (count: number, concurrency: number): Promise<Series> => {
  const latencies: number[] = [];
  let bytes = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        bytes += (await renderer.render(documentFor(i))).byteLength;
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return summarise(latencies, performance.now() - started, bytes);
};

await measure(10, 1); // warm-up: the JIT in Node and Chromium
const serial = await measure(total, 1);
const parallel = await measure(total, pages);
await renderer.close();

const figures = {
  bench: 'render-chromium',
  total,
  pages,
  launchMs,
  coldFirstRenderMs: coldMs,
  coldWallMs: round(coldWallMs),
  warmRendersPerSecond: serial.perSecond,
  warmP50Ms: serial.p50Ms,
  warmP95Ms: serial.p95Ms,
  poolRendersPerSecond: parallel.perSecond,
  poolP50Ms: parallel.p50Ms,
  poolP95Ms: parallel.p95Ms,
  averageBytes: serial.bytes,
  node: process.version,
};

const print = (label: string, value: string): void => {
  console.log(`  ${label.padEnd(34)} ${value}`);
};
console.log(
  `Chromium PDF renders (${figures.averageBytes} bytes on average), browser started in ${launchMs} ms`,
);
print(`cold (first render of ${pages} pages)`, `${coldMs} ms`);
print('warm, one at a time', `${serial.perSecond} renders/s, p50 ${serial.p50Ms} ms, p95 ${serial.p95Ms} ms`);
print(
  `warm, ${pages} at a time`,
  `${parallel.perSecond} renders/s, p50 ${parallel.p50Ms} ms, p95 ${parallel.p95Ms} ms`,
);
console.log(JSON.stringify(figures));
