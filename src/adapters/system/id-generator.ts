import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { IdGenerator } from '#app/application/ports/id-generator.ts';

const TOKEN_BYTES = 32;

/** Random (version 4) UUIDs, 256-bit tokens and uniform draws from the platform's cryptographic generator. */
export const createUuidGenerator = (): IdGenerator => ({
  newId: () => randomUUID(),
  newToken: () => randomBytes(TOKEN_BYTES).toString('base64url'),
  random: () => randomInt(2 ** 48 - 1) / 2 ** 48,
});
