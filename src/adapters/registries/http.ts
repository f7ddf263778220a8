import { err, ok, type Result } from '#app/domain/result.ts';
import { unavailable, type RegistryUnavailable } from '#app/application/ports/registry-call.ts';

/** What every registry client needs to make a request. */
export interface HttpClientOptions {
  /** Base URL of the API, without a trailing slash; the sandbox's when testing. */
  readonly baseUrl: string;
  /** Per-call budget, connection and body included. */
  readonly timeoutMs: number;
  /** Sent on every request, so the registries' operators know who calls them. */
  readonly userAgent: string;
  /** Injected for tests that need to observe requests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Headers;
  /** The URL finally answered, after redirects. */
  readonly url: string;
  readonly redirected: boolean;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  readonly json: unknown;
}

export interface HttpRequest {
  readonly url: string;
  readonly correlationId: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
}

/**
 * Sends one request with the client's timeout, User-Agent and the caller's correlation id. Any HTTP status is a
 * reply; only a timeout or a network failure is unavailable here (the caller judges statuses and bodies).
 */
export const request = async (
  options: HttpClientOptions,
  req: HttpRequest,
): Promise<Result<HttpReply, RegistryUnavailable>> => {
  const doFetch = options.fetch ?? fetch;
  try {
    const response = await doFetch(req.url, {
      method: req.method ?? 'GET',
      headers: {
        accept: 'application/json',
        'user-agent': options.userAgent,
        'x-correlation-id': req.correlationId,
        ...req.headers,
      },
      ...(req.body === undefined ? {} : { body: req.body }),
      redirect: 'follow',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    const text = await response.text();
    return ok({
      status: response.status,
      headers: response.headers,
      url: response.url || req.url,
      redirected: response.redirected,
      json: parseJson(text),
    });
  } catch (error) {
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return err(unavailable('timeout', `no answer within ${options.timeoutMs} ms`));
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as { code?: unknown } | null)?.code;
    return err(unavailable('network', typeof code === 'string' ? `network error ${code}` : 'network error'));
  }
};

const parseJson = (text: string): unknown => {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

/**
 * Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or from a rate-limit reset header
 * in epoch milliseconds or seconds. `nowMs` is the caller's clock.
 */
export const retryAfterSeconds = (headers: Headers, nowMs: number): number | null => {
  const retryAfter = headers.get('retry-after');
  if (retryAfter !== null) {
    const trimmed = retryAfter.trim();
    if (/^\d+$/.test(trimmed)) return Number(trimmed);
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - nowMs) / 1000));
  }
  const reset = headers.get('x-rate-limit-reset') ?? headers.get('x-ratelimit-reset');
  if (reset !== null && /^\d+$/.test(reset.trim())) {
    const value = Number(reset.trim());
    const resetMs = value > 1e12 ? value : value * 1000;
    return Math.max(0, Math.ceil((resetMs - nowMs) / 1000));
  }
  return null;
};

/** The unavailable value for an HTTP status a registry should not have answered (429, 5xx, 401, ...). */
export const statusUnavailable = (registry: string, reply: HttpReply, nowMs: number): RegistryUnavailable =>
  reply.status === 429
    ? unavailable('rate_limited', `${registry} answered HTTP 429`, {
        status: 429,
        retryAfterSeconds: retryAfterSeconds(reply.headers, nowMs),
      })
    : unavailable('http_status', `${registry} answered HTTP ${reply.status}`, {
        status: reply.status,
        retryAfterSeconds: reply.status === 503 ? retryAfterSeconds(reply.headers, nowMs) : null,
      });

/** A payload the adapter cannot read is an outage of that registry, not a fact about the company. */
export const badPayload = (registry: string, what: string): RegistryUnavailable =>
  unavailable('bad_payload', `${registry} answered a body that could not be read: ${what}`);
