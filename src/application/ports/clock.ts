/** The only source of time for the domain and the application, so tests can drive it. */
export interface Clock {
  /** Wall-clock time. */
  now(): Date;
  /** A monotonic reading in milliseconds, for durations. */
  monotonicMs(): number;
}
