import type { Redis } from 'ioredis';
import {
  BREAKER_WINDOW_BUCKETS,
  checkBreakerName,
  checkBreakerSettings,
  DEFAULT_BREAKER_SETTINGS,
  probeEpochMs,
  type BreakerPermit,
  type BreakerSettings,
  type BreakerSnapshot,
  type CircuitBreaker,
} from '#app/application/ports/circuit-breaker.ts';
import type { Clock } from '#app/application/ports/clock.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';

/** Which store a Redis breaker is using, reported when it changes. */
export interface BreakerBackendChange {
  readonly backend: 'redis' | 'memory';
  /** What made it leave Redis (a connection error, a timeout, an error reply). */
  readonly cause?: unknown;
}

export interface RedisCircuitBreakerOptions {
  /** A client made by `openRedis` (no offline queue, short timeouts), which other adapters may share. */
  readonly redis: Redis;
  readonly clock: Clock;
  readonly settings?: BreakerSettings;
  /** The breaker of `name` lives in the hash `${keyPrefix}breaker:${name}`, e.g. `vigilance:breaker:sirene`. */
  readonly keyPrefix: string;
  /** An untouched breaker's hash expires after this (default 24 hours); it then reads CLOSED with no calls. */
  readonly idleTtlMs?: number;
  /** After a Redis fault, how long to stay on the in-memory breaker before asking Redis again (default 1 s). */
  readonly outageRecheckMs?: number;
  /**
   * Makes the breaker that stands in for Redis during an outage, given the settings: the composition root passes
   * the memory adapter (`createMemoryCircuitBreaker` with the same clock). Adapter families do not import each
   * other, hence the injection.
   */
  readonly openFallback: (settings: BreakerSettings) => CircuitBreaker;
  /** Told when the breaker leaves Redis for its in-memory fallback, and when it comes back: log it. */
  readonly onBackendChange?: (change: BreakerBackendChange) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/*
 * The hash: `st` state (C, O, H; absent = C), `oa` start of the open period, `po` probes out, `ps` probe
 * successes, `pa` when the oldest outstanding probe was granted (all epoch ms), and per window bucket `c<index>`
 * calls and `f<index>` failures. The steps are those of the memory adapter, in the same order.
 * ARGV: now, failureRateThreshold, minimumCalls, windowMs, openMs, halfOpenProbes, ttlMs [, outcome, probe epoch].
 */
const PRELUDE = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local minimumCalls = tonumber(ARGV[3])
local windowMs = tonumber(ARGV[4])
local openMs = tonumber(ARGV[5])
local halfOpenProbes = tonumber(ARGV[6])
local ttlMs = tonumber(ARGV[7])
local BUCKETS = ${String(BREAKER_WINDOW_BUCKETS)}
local bucketMs = windowMs / BUCKETS

local raw = redis.call('HMGET', key, 'st', 'oa', 'po', 'ps', 'pa')
local b = { st = raw[1] or 'C', oa = tonumber(raw[2] or '0'), po = tonumber(raw[3] or '0'),
            ps = tonumber(raw[4] or '0'), pa = tonumber(raw[5] or '0') }
if b.st == 'O' and now >= b.oa + openMs then b.st = 'H' end
if b.st == 'H' and b.po > 0 and now >= b.pa + openMs then b.po = 0 end

local function retryAt()
  if b.st == 'O' then return b.oa + openMs end
  if b.st == 'H' and b.ps + b.po >= halfOpenProbes then return b.pa + openMs end
  return -1
end

local function totals(drop)
  local oldest = math.floor(now / bucketMs) - BUCKETS + 1
  local calls, failures = 0, 0
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local field = all[i]
    local kind = string.sub(field, 1, 1)
    if kind == 'c' or kind == 'f' then
      if tonumber(string.sub(field, 2)) < oldest then
        if drop then redis.call('HDEL', key, field) end
      elseif kind == 'c' then
        calls = calls + tonumber(all[i + 1])
      else
        failures = failures + tonumber(all[i + 1])
      end
    end
  end
  return calls, failures
end

local function open()
  redis.call('HSET', key, 'st', 'O', 'oa', now, 'po', 0, 'ps', 0, 'pa', 0)
end
`;

const ACQUIRE = `${PRELUDE}
if b.st == 'C' then return {1, 0, 0} end
local later = retryAt()
if later >= 0 then return {0, b.st, later} end
if b.po == 0 then b.pa = now end
redis.call('HSET', key, 'st', 'H', 'po', b.po + 1, 'pa', b.pa)
redis.call('PEXPIRE', key, ttlMs)
return {1, 1, b.oa}
`;

const RECORD = `${PRELUDE}
local failed = ARGV[8] == 'failure'
local epoch = ARGV[9]
if epoch == '' then
  if b.st ~= 'C' then return 0 end
  local index = math.floor(now / bucketMs)
  redis.call('HINCRBY', key, 'c' .. index, 1)
  if failed then redis.call('HINCRBY', key, 'f' .. index, 1) end
  local calls, failures = totals(true)
  if calls >= minimumCalls and failures / calls >= threshold then open() end
  redis.call('PEXPIRE', key, ttlMs)
  return 1
end
if b.st ~= 'H' or tonumber(epoch) ~= b.oa then return 0 end
if failed then
  open()
elseif b.ps + 1 >= halfOpenProbes then
  redis.call('DEL', key)
  return 1
else
  redis.call('HSET', key, 'st', 'H', 'ps', b.ps + 1, 'po', math.max(0, b.po - 1))
end
redis.call('PEXPIRE', key, ttlMs)
return 1
`;

const SNAPSHOT = `${PRELUDE}
local calls, failures = totals(false)
return {b.st, calls, failures, b.oa, retryAt()}
`;

type Script = (key: string, ...args: (string | number)[]) => Promise<unknown>;

interface BreakerScripts {
  vigilanceBreakerAcquire: Script;
  vigilanceBreakerRecord: Script;
  vigilanceBreakerSnapshot: Script;
}

/** Registers the scripts on the client (EVALSHA, loading them again after a Redis restart). */
const defineScripts = (redis: Redis): BreakerScripts => {
  redis.defineCommand('vigilanceBreakerAcquire', { numberOfKeys: 1, lua: ACQUIRE });
  redis.defineCommand('vigilanceBreakerRecord', { numberOfKeys: 1, lua: RECORD });
  redis.defineCommand('vigilanceBreakerSnapshot', { numberOfKeys: 1, lua: SNAPSHOT });
  // defineCommand adds the methods at run time; ioredis cannot type them.
  return redis as unknown as BreakerScripts;
};

const badReply = (): InfrastructureError =>
  new InfrastructureError('BREAKER_REPLY_INVALID', 'The circuit breaker script gave an unexpected reply.');

const integer = (value: unknown): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw badReply();
  return value;
};

const STATES = { C: 'CLOSED', O: 'OPEN', H: 'HALF_OPEN' } as const;

const stateOf = (value: unknown): 'CLOSED' | 'OPEN' | 'HALF_OPEN' => {
  if (value !== 'C' && value !== 'O' && value !== 'H') throw badReply();
  return STATES[value];
};

const iso = (ms: number): string => new Date(ms).toISOString();

const reply = (value: unknown, length: number): readonly unknown[] => {
  if (!Array.isArray(value) || value.length !== length) throw badReply();
  return value;
};

const permitOf = (value: unknown): BreakerPermit => {
  const [allowed, second, third] = reply(value, 3);
  if (allowed === 1) {
    return second === 1
      ? { allowed: true, probe: true, openedAt: iso(integer(third)) }
      : { allowed: true, probe: false };
  }
  const state = stateOf(second);
  if (state === 'CLOSED') throw badReply();
  return { allowed: false, state, retryAt: iso(integer(third)) };
};

const snapshotOf = (value: unknown): BreakerSnapshot => {
  const [st, calls, failures, openedAt, retryAt] = reply(value, 5);
  const state = stateOf(st);
  const until = integer(retryAt);
  return {
    state,
    calls: integer(calls),
    failures: integer(failures),
    openedAt: state === 'CLOSED' ? null : iso(integer(openedAt)),
    retryAt: until < 0 ? null : iso(until),
  };
};

/**
 * The circuit breaker shared by every instance through Redis (ARCHITECTURE section 7): one hash per breaker,
 * changed only by Lua scripts, so each acquire and record is one atomic step however many workers race (of 50
 * concurrent acquires on a half-open breaker with one probe slot, exactly one is the probe). The time is the
 * Clock's, passed to the script, never Redis's `TIME`: tests drive it, and instances must keep their clocks in
 * step (NTP) to well within a tenth of the window.
 *
 * Redis faults never reach the caller. When a command fails (refused connection, timeout, error reply), this
 * breaker carries on with a fresh in-memory breaker (`openFallback`) of the same settings, for this process
 * alone: each instance still protects the registries, and nobody is refused for ever because Redis is gone. It
 * asks Redis again once the client is connected and `outageRecheckMs` has passed since the last fault (so a hung
 * Redis costs one command timeout per recheck, not one per call), then drops the in-memory state: the shared one
 * is the truth. An outcome reported to the other side than its permit's is ignored when it cannot apply (a probe
 * of another period) and counted otherwise.
 */
export const createRedisCircuitBreaker = ({
  redis,
  clock,
  settings = DEFAULT_BREAKER_SETTINGS,
  keyPrefix,
  idleTtlMs = DAY_MS,
  outageRecheckMs = 1_000,
  openFallback,
  onBackendChange,
}: RedisCircuitBreakerOptions): CircuitBreaker => {
  const checked = checkBreakerSettings(settings);
  if (!Number.isSafeInteger(idleTtlMs) || idleTtlMs < Math.max(checked.windowMs, checked.openMs)) {
    throw new RangeError('idleTtlMs is a whole number of milliseconds, at least windowMs and openMs.');
  }
  const scripts = defineScripts(redis);
  const settingArgs = [
    String(checked.failureRateThreshold),
    checked.minimumCalls,
    checked.windowMs,
    checked.openMs,
    checked.halfOpenProbes,
    idleTtlMs,
  ] as const;
  const keyOf = (name: string): string => `${keyPrefix}breaker:${name}`;

  /** Non-null during an outage: the breaker standing in for Redis. */
  let fallback: CircuitBreaker | null = null;
  let askRedisAfter = 0;

  const withFallback = async <T>(
    onRedis: () => Promise<T>,
    onMemory: (memory: CircuitBreaker) => Promise<T>,
  ): Promise<T> => {
    if (fallback !== null && (redis.status !== 'ready' || clock.monotonicMs() < askRedisAfter)) {
      return onMemory(fallback);
    }
    try {
      const result = await onRedis();
      if (fallback !== null) {
        fallback = null;
        onBackendChange?.({ backend: 'redis' });
      }
      return result;
    } catch (cause) {
      askRedisAfter = clock.monotonicMs() + outageRecheckMs;
      if (fallback === null) {
        fallback = openFallback(checked);
        onBackendChange?.({ backend: 'memory', cause });
      }
      return onMemory(fallback);
    }
  };

  return {
    acquire: async (name) => {
      checkBreakerName(name);
      return withFallback(
        async () =>
          permitOf(await scripts.vigilanceBreakerAcquire(keyOf(name), clock.now().getTime(), ...settingArgs)),
        (memory) => memory.acquire(name),
      );
    },

    record: async (name, outcome, permit) => {
      checkBreakerName(name);
      const epoch = probeEpochMs(permit);
      await withFallback(
        async () => {
          await scripts.vigilanceBreakerRecord(
            keyOf(name),
            clock.now().getTime(),
            ...settingArgs,
            outcome,
            epoch === null ? '' : epoch,
          );
        },
        (memory) => memory.record(name, outcome, permit),
      );
    },

    snapshot: async (name) => {
      checkBreakerName(name);
      return withFallback(
        async () =>
          snapshotOf(
            await scripts.vigilanceBreakerSnapshot(keyOf(name), clock.now().getTime(), ...settingArgs),
          ),
        (memory) => memory.snapshot(name),
      );
    },
  };
};
