import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type {
  BreakerSnapshot,
  BreakerState,
  CircuitBreaker,
} from '#app/application/ports/circuit-breaker.ts';
import { createPrometheusMetrics } from './metrics.ts';

const snapshotOf = (state: BreakerState): BreakerSnapshot => ({
  state,
  calls: 0,
  failures: 0,
  openedAt: null,
  retryAt: null,
});

/** A breaker whose states the test sets, and that fails to answer when told to. */
const standInBreaker = (states: Record<string, BreakerState>, failing: { now: boolean }): CircuitBreaker => ({
  acquire: () => Promise.reject(new Error('not used')),
  record: () => Promise.reject(new Error('not used')),
  snapshot: (name) =>
    failing.now
      ? Promise.reject(new Error('redis gone'))
      : Promise.resolve(snapshotOf(states[name] ?? 'CLOSED')),
});

/** The samples of the exposition, by metric name and labels as written, e.g. `x_total{a="1"}`. */
const samples = (body: string): Map<string, number> =>
  new Map(
    body
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.lastIndexOf(' ');
        return [line.slice(0, at), Number(line.slice(at + 1))] as const;
      }),
  );

describe('Prometheus metrics', () => {
  const setUp = (options: { processMetrics?: boolean } = {}) => {
    const states: Record<string, BreakerState> = {};
    const failing = { now: false };
    const depth = { pending: 0, due: 0, fails: false };
    const metrics = createPrometheusMetrics(
      {
        breaker: standInBreaker(states, failing),
        queueDepth: () =>
          depth.fails ? Promise.reject(new Error('database gone')) : Promise.resolve({ ...depth }),
      },
      options,
    );
    const scrape = async () => samples((await metrics.expose()).body);
    return { metrics, states, failing, depth, scrape };
  };

  it('counts registry calls by source and outcome, with the reason of an unavailable one', async () => {
    const { metrics, scrape } = setUp();
    const before = await scrape();
    // Every source's ok series exists from the start, at zero.
    expect(before.get('vigilance_registry_calls_total{source="bodacc",outcome="ok"}')).toBe(0);
    metrics.registryCall({ source: 'vies', outcome: 'ok', reason: null, durationMs: 40 });
    metrics.registryCall({ source: 'vies', outcome: 'ok', reason: null, durationMs: 60 });
    metrics.registryCall({ source: 'vies', outcome: 'unavailable', reason: 'timeout', durationMs: 8000 });
    metrics.registryCall({ source: 'sirene', outcome: 'unavailable', reason: 'rate_limited', durationMs: 5 });
    const after = await scrape();
    expect(after.get('vigilance_registry_calls_total{source="vies",outcome="ok"}')).toBe(2);
    expect(
      after.get('vigilance_registry_calls_total{source="vies",outcome="unavailable",reason="timeout"}'),
    ).toBe(1);
    expect(
      after.get(
        'vigilance_registry_calls_total{source="sirene",outcome="unavailable",reason="rate_limited"}',
      ),
    ).toBe(1);
    expect(after.get('vigilance_registry_calls_total{source="bodacc",outcome="ok"}')).toBe(0);
  });

  it('observes durations in seconds, in buckets from 10 ms to 10 s', async () => {
    const { metrics, scrape } = setUp();
    for (const durationMs of [4, 40, 60, 8000, 12_000]) {
      metrics.registryCall({ source: 'bodacc', outcome: 'ok', reason: null, durationMs });
    }
    const s = await scrape();
    const bucket = (le: string) =>
      s.get(`vigilance_registry_call_duration_seconds_bucket{le="${le}",source="bodacc"}`);
    expect(bucket('0.01')).toBe(1);
    expect(bucket('0.05')).toBe(2);
    expect(bucket('0.1')).toBe(3);
    expect(bucket('5')).toBe(3);
    expect(bucket('10')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(s.get('vigilance_registry_call_duration_seconds_count{source="bodacc"}')).toBe(5);
    expect(s.get('vigilance_registry_call_duration_seconds_sum{source="bodacc"}')).toBeCloseTo(20.104, 6);
    expect(s.get('vigilance_registry_call_duration_seconds_count{source="vies"}')).toBe(0);
  });

  it('counts the jobs the worker ran, retries scheduled included', async () => {
    const { metrics, scrape } = setUp();
    metrics.job('retry_source', 'retry_scheduled');
    metrics.job('retry_source', 'retry_scheduled');
    metrics.job('retry_source', 'answered');
    metrics.job('seal', 'sealed');
    const s = await scrape();
    expect(s.get('vigilance_retry_jobs_total{kind="retry_source",outcome="retry_scheduled"}')).toBe(2);
    expect(s.get('vigilance_retry_jobs_total{kind="retry_source",outcome="answered"}')).toBe(1);
    expect(s.get('vigilance_retry_jobs_total{kind="seal",outcome="sealed"}')).toBe(1);
  });

  it("counts the shared breaker's switches to its in-memory fallback and back to Redis", async () => {
    const { metrics, scrape } = setUp();
    metrics.breakerBackend('memory');
    metrics.breakerBackend('redis');
    metrics.breakerBackend('memory');
    const s = await scrape();
    expect(s.get('vigilance_breaker_backend_changes_total{backend="memory"}')).toBe(2);
    expect(s.get('vigilance_breaker_backend_changes_total{backend="redis"}')).toBe(1);
  });

  it('counts HTTP requests by route pattern, method and status, and observes their durations', async () => {
    const { metrics, scrape } = setUp();
    metrics.httpRequest({ route: '/api/v1/assessments/:id', method: 'GET', status: 200, durationMs: 4 });
    metrics.httpRequest({ route: '/api/v1/assessments/:id', method: 'GET', status: 200, durationMs: 30 });
    metrics.httpRequest({ route: 'unmatched', method: 'GET', status: 404, durationMs: 1 });
    const s = await scrape();
    expect(
      s.get('vigilance_http_requests_total{route="/api/v1/assessments/:id",method="GET",status="200"}'),
    ).toBe(2);
    expect(s.get('vigilance_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(
      s.get(
        'vigilance_http_request_duration_seconds_bucket{le="0.005",route="/api/v1/assessments/:id",method="GET"}',
      ),
    ).toBe(1);
    expect(
      s.get('vigilance_http_request_duration_seconds_count{route="/api/v1/assessments/:id",method="GET"}'),
    ).toBe(2);
  });

  it('reads the breakers and the queue at each scrape', async () => {
    const { states, depth, scrape } = setUp();
    depth.pending = 3;
    depth.due = 1;
    states.vies = 'OPEN';
    const first = await scrape();
    expect(first.get('vigilance_breaker_state{source="vies"}')).toBe(2);
    expect(first.get('vigilance_breaker_state{source="sirene"}')).toBe(0);
    expect(first.get('vigilance_breaker_state{source="bodacc"}')).toBe(0);
    expect(first.get('vigilance_retry_queue_jobs{state="pending"}')).toBe(3);
    expect(first.get('vigilance_retry_queue_jobs{state="due"}')).toBe(1);

    states.vies = 'HALF_OPEN';
    depth.pending = 0;
    depth.due = 0;
    const second = await scrape();
    expect(second.get('vigilance_breaker_state{source="vies"}')).toBe(1);
    expect(second.get('vigilance_retry_queue_jobs{state="pending"}')).toBe(0);
  });

  it('leaves out a gauge it cannot read, rather than serve it stale, and counts the failure', async () => {
    const { failing, depth, scrape } = setUp();
    depth.pending = 5;
    expect((await scrape()).get('vigilance_retry_queue_jobs{state="pending"}')).toBe(5);
    depth.fails = true;
    failing.now = true;
    const s = await scrape();
    expect(s.has('vigilance_retry_queue_jobs{state="pending"}')).toBe(false);
    expect(s.has('vigilance_breaker_state{source="vies"}')).toBe(false);
    expect(s.get('vigilance_metrics_gauge_read_failures_total{gauge="vigilance_retry_queue_jobs"}')).toBe(1);
    expect(s.get('vigilance_metrics_gauge_read_failures_total{gauge="vigilance_breaker_state"}')).toBe(1);
  });

  it('serves the text exposition with its content type, in a registry of its own', async () => {
    const { metrics } = setUp();
    const exposition = await metrics.expose();
    expect(exposition.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(exposition.body).toContain('# TYPE vigilance_registry_calls_total counter');
    expect(exposition.body).toContain('# TYPE vigilance_registry_call_duration_seconds histogram');
    expect(exposition.body).toContain('# TYPE vigilance_breaker_state gauge');
    expect(exposition.body).not.toContain('process_cpu');
    // Two instances in one process neither clash nor touch prom-client's global registry.
    setUp();
    expect(await globalRegistry.metrics()).not.toContain('vigilance_');
  });

  it('adds the process metrics when asked', async () => {
    const { metrics } = setUp({ processMetrics: true });
    const { body } = await metrics.expose();
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
  });
});
