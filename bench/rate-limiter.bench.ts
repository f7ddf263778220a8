/**
 * The per-source rate limiter: tryAcquire calls per second, one at a time (with latency percentiles) and with many
 * in flight, for a rate rule and for a concurrency rule (acquire then release), on the in-memory adapter, on Redis
 * (REDIS_URL; skipped when it is not set) and on the Redis adapter with Redis unreachable (its in-memory fallback).
 * Rules are sized so every call is granted: the figures are the limiter's own cost, not the registries' limits.
 * Prints figures, asserts nothing; the last line is one JSON object.
 * Usage: npm run bench:rate-limiter [-- --count 20000 --in-flight 32]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createMemoryRateLimiter } from '#app/adapters/memory/rate-limiter.ts';
import { openRedis } from '#app/adapters/redis/client.ts';
import { createRedisRateLimiter } from '#app/adapters/redis/rate-limiter.ts';
import type { RateLimiter, SourceLimits } from '#app/application/ports/rate-limiter.ts';
import { percentile, round, positiveInteger } from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20000' },
    'in-flight': { type: 'string', default: '32' },
  },
});

const count = positiveInteger('count', values.count);
const inFlight = positiveInteger('in-flight', values['in-flight']);
const redisUrl = process.env.REDIS_URL?.trim() ?? '';

/** Every call granted: a window far larger than the run, and more places than calls in flight. */
const LIMITS: SourceLimits = {
  insee: { kind: 'rate', points: 1_000_000_000, durationMs: 3_600_000 },
  vies: { kind: 'concurrency', max: 1_000_000, leaseMs: 60_000 },
};

/** One call: a rate permit, or a concurrency permit taken and given back, as a registry call would. */
const call = async (limiter: RateLimiter, source: string): Promise<void> => {
  const permit = await limiter.tryAcquire(source);
  if (!permit.granted) throw new Error(`${source} refused a call: the benchmark's rules are too small.`);
  await permit.release();
};

interface Figures {
  readonly perSecond: number;
  readonly p50Us: number | null;
  readonly p99Us: number | null;
}

const oneAtATime = async (limiter: RateLimiter, source: string): Promise<Figures> => {
  for (let i = 0; i < Math.min(500, count); i += 1) await call(limiter, source);
  const latencies: number[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i += 1) {
    const t = performance.now();
    await call(limiter, source);
    latencies.push(performance.now() - t);
  }
  const elapsed = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: Math.round((count / elapsed) * 1000),
    p50Us: round(percentile(latencies, 50) * 1000),
    p99Us: round(percentile(latencies, 99) * 1000),
  };
};

const manyInFlight = async (limiter: RateLimiter, source: string): Promise<Figures> => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      await call(limiter, source);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { perSecond: Math.round((count / (performance.now() - started)) * 1000), p50Us: null, p99Us: null };
};

const measure = async (limiter: RateLimiter) => ({
  rate: { oneAtATime: await oneAtATime(limiter, 'insee'), inFlight: await manyInFlight(limiter, 'insee') },
  concurrency: {
    oneAtATime: await oneAtATime(limiter, 'vies'),
    inFlight: await manyInFlight(limiter, 'vies'),
  },
});
type Run = Awaited<ReturnType<typeof measure>>;

const keyPrefix = `vigilance-bench:rate-limiter:${randomBytes(6).toString('hex')}`;
/** On the product's own client (fail fast: no offline queue, a command timeout). */
const onRedis = async (): Promise<Run> => {
  const connection = openRedis({
    url: redisUrl,
    onError: (error) => {
      console.error('Redis:', error.message);
    },
  });
  try {
    if (!(await connection.ready(5_000))) throw new Error('The Redis of REDIS_URL is not ready after 5 s.');
    return await measure(createRedisRateLimiter({ redis: connection.redis, limits: LIMITS, keyPrefix }));
  } finally {
    if (connection.redis.status === 'ready') {
      await connection.redis.del(`${keyPrefix}:rate:insee`, `${keyPrefix}:concurrency:vies`);
    }
    await connection.close();
  }
};

/** The Redis adapter on a client that never connects: what a Redis outage costs per call. */
const onUnreachableRedis = async (): Promise<Run> => {
  const connection = openRedis({ url: 'redis://127.0.0.1:1' });
  try {
    return await measure(createRedisRateLimiter({ redis: connection.redis, limits: LIMITS, keyPrefix }));
  } finally {
    await connection.close();
  }
};

const memory = await measure(createMemoryRateLimiter(LIMITS));
const redis = redisUrl === '' ? null : await onRedis();
const redisDown = await onUnreachableRedis();

const print = (label: string, run: Run | null): void => {
  if (run === null) {
    console.log(`  ${label.padEnd(36)} skipped: REDIS_URL is not set`);
    return;
  }
  for (const [rule, figures] of [
    ['rate', run.rate],
    ['concurrency', run.concurrency],
  ] as const) {
    console.log(
      `  ${`${label}, ${rule}`.padEnd(36)} ${String(figures.oneAtATime.perSecond).padStart(8)} calls/s one at a time ` +
        `(p50 ${String(figures.oneAtATime.p50Us)} µs, p99 ${String(figures.oneAtATime.p99Us)} µs), ` +
        `${String(figures.inFlight.perSecond).padStart(8)} calls/s with ${String(inFlight)} in flight`,
    );
  }
};
console.log(
  `Rate limiter: ${String(count)} calls per case (a concurrency call acquires and releases), every call granted`,
);
print('memory', memory);
print('redis', redis);
print('redis down (fallback)', redisDown);
console.log(
  JSON.stringify({
    count,
    inFlight,
    memory,
    redis,
    redisSkipped: redis === null ? 'REDIS_URL is not set' : null,
    redisDown,
    node: process.version,
  }),
);
