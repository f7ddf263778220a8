import { Redis } from 'ioredis';

/** How to reach Redis, and who hears about its connection errors. */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /** Shown in `CLIENT LIST`, so an operator can tell Vigilance's connections apart. */
  readonly name?: string;
  /**
   * Connection errors (refused, reset, timed out). ioredis reports each reconnection attempt; without a listener it
   * would print them itself. Never carries the password: ioredis errors name the host and port only.
   */
  readonly onError?: (error: Error) => void;
}

/** A Redis client and its lifecycle. */
export interface RedisConnection {
  readonly redis: Redis;
  /**
   * Resolves true once the client can take commands, false if it cannot within `timeoutMs` (Redis down or
   * unreachable). Never rejects: the client keeps reconnecting in the background either way.
   */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Waits for the replies in flight when connected, then closes; stops reconnecting in every case. */
  close(): Promise<void>;
}

/** A reply within this, or the command fails (and its caller falls back) rather than hang. */
export const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 2_000;
const MAX_RECONNECT_DELAY_MS = 2_000;

/** 100 ms, 200 ms, 400 ms ... up to 2 s between attempts, for ever: the client comes back after a Redis restart. */
const reconnectDelay = (attempt: number): number =>
  Math.min(100 * 2 ** Math.min(attempt - 1, 10), MAX_RECONNECT_DELAY_MS);

/**
 * Opens a Redis client tuned to fail fast: no offline queue (a command sent while disconnected fails at once
 * instead of waiting for a reconnection), one retry per command, a 500 ms command timeout and a 2 s connect
 * timeout. Callers such as the circuit breaker and the rate limiter then degrade to their in-memory twins during
 * an outage instead of stalling the retry worker. It connects straight away (a command sent before the
 * connection is ready fails like one sent during an outage: wait for `ready()` when that matters).
 */
export const openRedis = (options: RedisConnectionOptions): RedisConnection => {
  const redis = new Redis(options.url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    ...(options.name === undefined ? {} : { connectionName: options.name }),
  });
  const onError = options.onError;
  redis.on('error', (error: Error) => {
    onError?.(error);
  });

  return {
    redis,
    ready: (timeoutMs = CONNECT_TIMEOUT_MS) => {
      if (redis.status === 'ready') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (value: boolean): void => {
          clearTimeout(timer);
          redis.off('ready', onReady);
          resolve(value);
        };
        const onReady = (): void => {
          done(true);
        };
        const timer = setTimeout(done, timeoutMs, false);
        redis.on('ready', onReady);
      });
    },
    close: async () => {
      if (redis.status === 'ready') {
        try {
          await redis.quit();
          return;
        } catch {
          // Lost between the check and QUIT: nothing is left to wait for.
        }
      }
      redis.disconnect();
    },
  };
};
