/**
 * A request budget per client over a window, by class of route: what the HTTP API uses to keep one caller from
 * taking the service for everyone.
 */
export interface RequestBudget {
  readonly max: number;
  /** A whole number of seconds, in milliseconds. */
  readonly windowMs: number;
}

export type RequestDecision =
  | { readonly allowed: true; readonly limit: number; readonly remaining: number }
  | { readonly allowed: false; readonly limit: number; readonly retryAfterMs: number };

/**
 * Counts requests per (route class, client key). Redis in production (one budget shared by every instance, with
 * an in-memory insurance budget when Redis does not answer), memory in the embedded default. Never throws for a
 * store outage.
 */
export interface RequestLimiter {
  consume(routeClass: string, key: string): Promise<RequestDecision>;
}
