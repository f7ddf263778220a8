import { randomBytes, randomUUID } from 'node:crypto';
import type { IdGenerator } from '#app/application/ports/id-generator.ts';

const TOKEN_BYTES = 32;

/** Random (version 4) UUIDs and 256-bit tokens from the platform's cryptographic generator. */
export const createUuidGenerator = (): IdGenerator => ({
  newId: () => randomUUID(),
  newToken: () => randomBytes(TOKEN_BYTES).toString('base64url'),
});
