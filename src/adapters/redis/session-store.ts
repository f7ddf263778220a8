import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';

export interface RedisSessionStoreOptions {
  /** A client made by `openRedis` (no offline queue, short timeouts), which other adapters may share. */
  readonly redis: Redis;
  /** A session lives at `${keyPrefix}session:<SHA-256 hex of its id>`, e.g. `vigilance:session:9f86d0…`. */
  readonly keyPrefix: string;
}

const CODE = 'SESSION_STORE_UNAVAILABLE';

const hashOf = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

const checkTtl = (ttlMs: number): void => {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError('A session lives a positive whole number of milliseconds.');
  }
};

const unavailable = (cause: unknown): InfrastructureError =>
  new InfrastructureError(CODE, 'The session store (Redis) did not answer.', { cause });

const parse = (text: string): SessionData => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InfrastructureError(CODE, 'The session store holds a session that is not JSON.', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InfrastructureError(CODE, 'The session store holds a session that is not an object.');
  }
  return value as SessionData;
};

/**
 * Sessions in Redis, shared by every instance of the HTTP API. Each is one JSON string at a key named by the
 * SHA-256 of the session id (whoever can read Redis cannot use what they read as a cookie), written with
 * `SET ... PX ttl`, so Redis itself forgets a session when it expires. Every command that fails (Redis down,
 * a timeout, an error reply) and every value that cannot be read is thrown as InfrastructureError
 * SESSION_STORE_UNAVAILABLE: there is no in-memory stand-in, since a session written in one process must be read
 * by all. A ttl that is not a positive whole number of ms is a RangeError. Does not own the client.
 */
export const createRedisSessionStore = ({ redis, keyPrefix }: RedisSessionStoreOptions): SessionStore => {
  const keyOf = (id: string): string => `${keyPrefix}session:${hashOf(id)}`;

  return {
    get: async (id) => {
      let text: string | null;
      try {
        text = await redis.get(keyOf(id));
      } catch (cause) {
        throw unavailable(cause);
      }
      return text === null ? null : parse(text);
    },

    set: async (id, data, ttlMs) => {
      checkTtl(ttlMs);
      const text = JSON.stringify(data);
      try {
        await redis.set(keyOf(id), text, 'PX', ttlMs);
      } catch (cause) {
        throw unavailable(cause);
      }
    },

    delete: async (id) => {
      try {
        await redis.del(keyOf(id));
      } catch (cause) {
        throw unavailable(cause);
      }
    },
  };
};
