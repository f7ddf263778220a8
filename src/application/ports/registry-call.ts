import type { Result } from '#app/domain/result.ts';

/** Per-call context every registry request carries. */
export interface RegistryCall {
  /** Sent as `X-Correlation-ID`, so one assessment can be followed through every registry's logs and ours. */
  readonly correlationId: string;
}

/** Why a registry gave no usable answer. An outage is never a negative fact. */
export type UnavailableReason =
  'timeout' | 'network' | 'http_status' | 'rate_limited' | 'service_error' | 'bad_payload' | 'not_configured';

/** The typed "unavailable" value of every registry port: the assessment carries on without that source. */
export interface RegistryUnavailable {
  readonly code: 'REGISTRY_UNAVAILABLE';
  readonly reason: UnavailableReason;
  /** The HTTP status, when one was received. */
  readonly status: number | null;
  /** Seconds the registry asked us to wait (Retry-After, or a rate-limit reset), when it said so. */
  readonly retryAfterSeconds: number | null;
  /** A short, payload-free explanation, e.g. "VIES userError MS_UNAVAILABLE". */
  readonly detail: string;
}

/** A registry's answer: facts, or why there are none. */
export type RegistryAnswer<F> = Result<F, RegistryUnavailable>;

export const unavailable = (
  reason: UnavailableReason,
  detail: string,
  extra: { readonly status?: number | null; readonly retryAfterSeconds?: number | null } = {},
): RegistryUnavailable =>
  Object.freeze({
    code: 'REGISTRY_UNAVAILABLE',
    reason,
    status: extra.status ?? null,
    retryAfterSeconds: extra.retryAfterSeconds ?? null,
    detail,
  });
