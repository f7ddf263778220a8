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

const isPositiveInteger = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/**
 * Refuses, with a RangeError at start-up, a budget that is not a positive whole number of requests over a window of
 * whole seconds (rate-limiter-flexible counts windows in seconds). Every adapter calls it, so they accept the same
 * budgets.
 */
export const checkBudgets = (budgets: Readonly<Record<string, RequestBudget>>): void => {
  for (const [routeClass, { max, windowMs }] of Object.entries(budgets)) {
    if (!isPositiveInteger(max) || !isPositiveInteger(windowMs) || windowMs % 1000 !== 0) {
      throw new RangeError(
        `The request budget of "${routeClass}" needs a whole number of requests and a window of whole seconds.`,
      );
    }
  }
};
