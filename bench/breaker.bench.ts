/**
 * The circuit breaker: acquire + record pairs per second (each pair is what the retry worker does around one
 * registry call), on the memory adapter and on the Redis adapter (one Lua script per step), one pair at a time
 * and with N pairs in flight. The breaker stays CLOSED (every call succeeds), the common case. Redis is the one of
 * REDIS_URL, skipped when it is not set; the keys go under a random prefix, deleted at the end. Prints figures,
 * asserts nothing; the last line is one JSON object.
 * Usage: npm run bench:breaker [-- --count 20000 --concurrency 16]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMemoryCircuitBreaker } from '#app/adapters/memory/circuit-breaker.ts';
import { createRedisCircuitBreaker } from '#app/adapters/redis/circuit-breaker.ts';
import { openRedis } from '#app/adapters/redis/client.ts';
import { createSystemClock } from '#app/adapters/system/clock.ts';
import { DEFAULT_BREAKER_SETTINGS, type CircuitBreaker } from '#app/application/ports/circuit-breaker.ts';
import { round, positiveInteger } from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
  },
});

const count = positiveInteger('count', values.count);
const concurrency = positiveInteger('concurrency', values.concurrency);
const warmUp = Math.min(1_000, count);
const SOURCES = ['sirene', 'bodacc', 'vies'] as const;

const clock = createSystemClock();
// Every call succeeds, so no breaker ever opens: a fallback would be in use only if Redis failed.
const memory = (): CircuitBreaker =>
  createMemoryCircuitBreaker({ clock, settings: DEFAULT_BREAKER_SETTINGS });

/** `total` pairs with `inFlight` of them running at once; pairs per second. */
const run = async (breaker: CircuitBreaker, total: number, inFlight: number): Promise<number> => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const name = SOURCES[next % SOURCES.length] ?? 'sirene';
      next += 1;
      const permit = await breaker.acquire(name);
      if (!permit.allowed) throw new Error(`the breaker of ${name} opened during the benchmark`);
      await breaker.record(name, 'success', permit);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, worker));
  return total / ((performance.now() - start) / 1000);
};

interface Figures {
  readonly sequentialPairsPerSecond: number;
  readonly concurrentPairsPerSecond: number;
}

const measure = async (breaker: CircuitBreaker): Promise<Figures> => {
  await run(breaker, warmUp, concurrency);
  return {
    sequentialPairsPerSecond: round(await run(breaker, count, 1), 0),
    concurrentPairsPerSecond: round(await run(breaker, count, concurrency), 0),
  };
};

const memoryFigures = await measure(memory());

let redisFigures: Figures | null = null;
let redisSkipped: string | null = null;
const outage = { seen: false };
const redisUrl = process.env.REDIS_URL?.trim() ?? '';
if (redisUrl === '') {
  redisSkipped = 'REDIS_URL is not set';
} else {
  const connection = openRedis({ url: redisUrl, name: 'vigilance-bench' });
  const keyPrefix = `vigilance-bench:${randomBytes(6).toString('hex')}:`;
  try {
    if (!(await connection.ready(5_000))) throw new Error('Redis at REDIS_URL did not answer within 5 s.');
    redisFigures = await measure(
      createRedisCircuitBreaker({
        redis: connection.redis,
        clock,
        keyPrefix,
        openFallback: memory,
        onBackendChange: (change) => {
          if (change.backend === 'memory') outage.seen = true;
        },
      }),
    );
  } finally {
    if (connection.redis.status === 'ready') {
      await connection.redis.del(...SOURCES.map((name) => `${keyPrefix}breaker:${name}`));
    }
    await connection.close();
  }
}

const n = (x: number): string => x.toLocaleString('en-US');
const line = (label: string, f: Figures): string =>
  `  ${label} ${n(f.sequentialPairsPerSecond)} one at a time, ` +
  `${n(f.concurrentPairsPerSecond)} with ${String(concurrency)} in flight`;
console.log(`circuit breaker: acquire + record pairs per second (${n(count)} pairs, ${n(warmUp)} warm-up)`);
console.log(line('memory:', memoryFigures));
if (redisFigures === null) {
  console.log(
    `  Redis skipped: ${redisSkipped ?? ''} (REDIS_URL=redis://... npm run bench:breaker to include it).`,
  );
} else {
  console.log(`${line('Redis: ', redisFigures)} (one Lua script per step, two per pair)`);
  if (outage.seen) {
    console.log('  WARNING: Redis failed during the run: part of it ran on the in-memory fallback.');
  }
}
console.log(
  JSON.stringify({
    bench: 'breaker',
    count,
    concurrency,
    warmUp,
    memory: memoryFigures,
    redis: redisFigures,
    redisSkipped,
    redisFellBack: outage.seen,
    node: process.version,
  }),
);
