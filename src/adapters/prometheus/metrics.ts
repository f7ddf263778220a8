import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BreakerState, CircuitBreaker } from '#app/application/ports/circuit-breaker.ts';
import type { Metrics } from '#app/application/ports/metrics.ts';
import type { SourceName } from '#app/domain/facts.ts';

export interface PrometheusMetricsDeps {
  /** Read at each scrape, one snapshot per source. */
  readonly breaker: CircuitBreaker;
  /** Read at each scrape. */
  readonly queueDepth: () => Promise<{ readonly pending: number; readonly due: number }>;
}

export interface PrometheusMetricsOptions {
  /** Also the process's CPU, memory, event loop and GC (prom-client's defaults): for long-running processes. */
  readonly processMetrics?: boolean;
}

/** The breakers' names, and the `source` label of every registry metric. */
export const METRIC_SOURCES: readonly SourceName[] = ['sirene', 'bodacc', 'vies'];

/** From 10 ms (a cached answer) to 10 s (past the default 8-second registry timeout), in seconds. */
export const REGISTRY_CALL_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** An API read takes milliseconds; an assessment, as long as its slowest registry; a seal, tens of milliseconds. */
export const HTTP_REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Ordered by how bad it is, so `max` over instances or time says the worst. */
export const BREAKER_STATE_VALUES: Readonly<Record<BreakerState, number>> = {
  CLOSED: 0,
  HALF_OPEN: 1,
  OPEN: 2,
};

/**
 * The metrics in a registry of their own (never prom-client's global one, so two instances in one process, as in
 * tests, do not mix): counters and a histogram fed as things happen, gauges read from their sources at each scrape.
 */
export const createPrometheusMetrics = (
  deps: PrometheusMetricsDeps,
  options: PrometheusMetricsOptions = {},
): Metrics => {
  const registry = new Registry();
  const registers = [registry];
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry });

  const calls = new Counter({
    name: 'vigilance_registry_calls_total',
    help: 'Registry calls, by source and outcome (ok or unavailable), with the reason when unavailable.',
    labelNames: ['source', 'outcome', 'reason'] as const,
    registers,
  });
  const durations = new Histogram({
    name: 'vigilance_registry_call_duration_seconds',
    help: 'How long registry calls took, answered or not, by source.',
    labelNames: ['source'] as const,
    buckets: REGISTRY_CALL_BUCKETS,
    registers,
  });
  const jobs = new Counter({
    name: 'vigilance_retry_jobs_total',
    help: 'Jobs the retry worker ran, by kind and outcome (retry_scheduled: the registry failed again).',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const gaugeFailures = new Counter({
    name: 'vigilance_metrics_gauge_read_failures_total',
    help: 'Scrapes that could not read a gauge (left out of that scrape), by gauge.',
    labelNames: ['gauge'] as const,
    registers,
  });
  const breakerState = new Gauge({
    name: 'vigilance_breaker_state',
    help: 'Circuit breaker state by source: 0 closed, 1 half-open, 2 open.',
    labelNames: ['source'] as const,
    registers,
  });
  const backendChanges = new Counter({
    name: 'vigilance_breaker_backend_changes_total',
    help: "Switches of the shared circuit breaker's state: to its in-memory fallback (Redis unreachable), back to Redis.",
    labelNames: ['backend'] as const,
    registers,
  });
  const httpRequests = new Counter({
    name: 'vigilance_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code (rejections included).',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const httpDurations = new Histogram({
    name: 'vigilance_http_request_duration_seconds',
    help: 'How long the server took to answer, by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: HTTP_REQUEST_BUCKETS,
    registers,
  });
  const queue = new Gauge({
    name: 'vigilance_retry_queue_jobs',
    help: 'Jobs waiting in the retry queue: pending (all) and due (their time has come).',
    labelNames: ['state'] as const,
    registers,
  });

  /** Read before the scrape is written, so a failure to read is counted in the same scrape. */
  const readGauges = async (): Promise<void> => {
    const breakers = Promise.all(
      METRIC_SOURCES.map(async (source) => ({ source, snapshot: await deps.breaker.snapshot(source) })),
    ).then(
      (states) => {
        for (const { source, snapshot } of states) {
          breakerState.set({ source }, BREAKER_STATE_VALUES[snapshot.state]);
        }
      },
      () => {
        breakerState.reset();
        gaugeFailures.inc({ gauge: 'vigilance_breaker_state' });
      },
    );
    const depth = deps.queueDepth().then(
      ({ pending, due }) => {
        queue.set({ state: 'pending' }, pending);
        queue.set({ state: 'due' }, due);
      },
      () => {
        queue.reset();
        gaugeFailures.inc({ gauge: 'vigilance_retry_queue_jobs' });
      },
    );
    await Promise.all([breakers, depth]);
  };

  // Series that exist from the start, so rates and ratios are defined before the first call.
  for (const source of METRIC_SOURCES) {
    calls.inc({ source, outcome: 'ok' }, 0);
    durations.zero({ source });
  }

  return {
    registryCall: (measure) => {
      calls.inc(
        measure.reason === null
          ? { source: measure.source, outcome: measure.outcome }
          : { source: measure.source, outcome: measure.outcome, reason: measure.reason },
      );
      durations.observe({ source: measure.source }, Math.max(0, measure.durationMs) / 1000);
    },
    job: (kind, outcome) => {
      jobs.inc({ kind, outcome });
    },
    breakerBackend: (backend) => {
      backendChanges.inc({ backend });
    },
    httpRequest: ({ route, method, status, durationMs }) => {
      httpRequests.inc({ route, method, status: String(status) });
      httpDurations.observe({ route, method }, Math.max(0, durationMs) / 1000);
    },
    expose: async () => {
      await readGauges();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
};
