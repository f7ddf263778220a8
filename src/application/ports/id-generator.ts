/** The only source of identifiers and randomness for the application, so tests can make them predictable. */
export interface IdGenerator {
  /** A new unique identifier (a UUID in production). */
  newId(): string;
  /**
   * A new secret token: 256 bits from the platform's cryptographic generator, base64url without padding
   * (43 characters). Whoever holds it may see what it opens, so it is kept only as a hash.
   */
  newToken(): string;
  /** A uniform draw in [0, 1), for jitter (the retry schedule). */
  random(): number;
}
