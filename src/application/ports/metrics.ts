import type { SourceName } from '#app/domain/facts.ts';
import type { JobKind, JobOutcome } from './job-store.ts';
import type { UnavailableReason } from './registry-call.ts';

/** One registry call as measured around its port: which source, how it went and how long it took. No payload. */
export interface RegistryCallMeasure {
  readonly source: SourceName;
  readonly outcome: 'ok' | 'unavailable';
  /** Why the registry gave no usable answer; null when it answered. */
  readonly reason: UnavailableReason | null;
  readonly durationMs: number;
}

/** One HTTP request as answered: the route's pattern (never the address itself, which may hold a token), its method, status and duration. */
export interface HttpRequestMeasure {
  /** The route as declared (`/api/v1/assessments/:id`), or `unmatched` for an address no route serves. */
  readonly route: string;
  readonly method: string;
  readonly status: number;
  readonly durationMs: number;
}

/** A scrape's answer: the text exposition and the content type it must be served with. */
export interface MetricsExposition {
  readonly contentType: string;
  readonly body: string;
}

/**
 * This process's operational metrics (Prometheus).
 *
 * Guarantees: recording never throws, blocks or fails its caller. Every registry call is recorded once, wherever it
 * was made (the assessment's own call or the worker's retry): by the composition root's decorator around the
 * registry ports, never by their callers. `expose` reads the gauges (breaker states, retry queue depth) at the
 * moment of the scrape; a gauge it cannot read is left out of that scrape, never served stale.
 */
export interface Metrics {
  registryCall(measure: RegistryCallMeasure): void;
  /** One job the retry worker ran, and what became of it. */
  job(kind: JobKind, outcome: JobOutcome): void;
  /**
   * The shared circuit breaker left Redis for its in-memory fallback (`memory`), or came back (`redis`): while on
   * memory, this process's breakers are its own.
   */
  breakerBackend(backend: 'redis' | 'memory'): void;
  /** One HTTP request the server answered (rejections included). */
  httpRequest(measure: HttpRequestMeasure): void;
  expose(): Promise<MetricsExposition>;
}
