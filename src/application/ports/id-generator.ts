/** The only source of identifiers and randomness for the application, so tests can make them predictable. */
export interface IdGenerator {
  /** A new unique identifier (a UUID in production). */
  newId(): string;
}
