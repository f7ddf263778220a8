import { randomUUID } from 'node:crypto';
import type { IdGenerator } from '#app/application/ports/id-generator.ts';

/** Random (version 4) UUIDs from the platform's cryptographic generator. */
export const createUuidGenerator = (): IdGenerator => ({ newId: () => randomUUID() });
