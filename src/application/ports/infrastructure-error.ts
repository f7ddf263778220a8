/**
 * A fault (not an expected outcome): infrastructure that failed or is misused. Thrown, never returned. The code is
 * stable and listed in docs/errors.md; the message carries no payload, secret or token.
 */
export class InfrastructureError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = 'InfrastructureError';
    this.code = code;
  }
}
