import { describe, expect, it } from 'vitest';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import { describeReplayCacheContract, newProofId } from '../../../test/contracts/replay-cache.contract.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { createMemoryReplayCache } from './replay-cache.ts';

describeReplayCacheContract('memory', () => {
  const clock = createManualClock();
  return Promise.resolve({
    cache: createMemoryReplayCache({ clock }),
    shortTtlMs: 60_000,
    elapse: (ms: number) => {
      clock.advance(ms);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});

describe('memory replay cache', () => {
  it('remembers a value for exactly its ttl on the clock', async () => {
    const clock = createManualClock();
    const cache = createMemoryReplayCache({ clock });
    const jti = newProofId();
    expect(await cache.firstUse(jti, 30_000)).toBe(true);

    clock.advance(29_999);
    expect(await cache.firstUse(jti, 30_000)).toBe(false);
    clock.advance(1);
    expect(await cache.firstUse(jti, 30_000)).toBe(true);
  });

  it('refuses a new value when full of unexpired ones, fails closed, and still answers replays', async () => {
    const clock = createManualClock();
    const cache = createMemoryReplayCache({ clock, maxEntries: 3 });
    const held = [newProofId(), newProofId(), newProofId()];
    for (const jti of held) expect(await cache.firstUse(jti, 60_000)).toBe(true);

    const refusal = cache.firstUse(newProofId(), 60_000);
    await expect(refusal).rejects.toBeInstanceOf(InfrastructureError);
    await expect(refusal).rejects.toMatchObject({ code: 'REPLAY_CACHE_UNAVAILABLE' });
    // Nothing unexpired was forgotten to make room.
    for (const jti of held) expect(await cache.firstUse(jti, 60_000)).toBe(false);
  });

  it('makes room by dropping expired values first, in expiry order', async () => {
    const clock = createManualClock();
    const cache = createMemoryReplayCache({ clock, maxEntries: 3 });
    const [early, late, middle] = [newProofId(), newProofId(), newProofId()];
    expect(await cache.firstUse(early, 1_000)).toBe(true);
    expect(await cache.firstUse(late, 30_000)).toBe(true);
    expect(await cache.firstUse(middle, 10_000)).toBe(true);

    clock.advance(1_000);
    const newcomer = newProofId();
    expect(await cache.firstUse(newcomer, 60_000)).toBe(true);
    await expect(cache.firstUse(newProofId(), 60_000)).rejects.toMatchObject({
      code: 'REPLAY_CACHE_UNAVAILABLE',
    });

    clock.advance(8_999);
    await expect(cache.firstUse(early, 60_000)).rejects.toMatchObject({ code: 'REPLAY_CACHE_UNAVAILABLE' });
    expect(await cache.firstUse(middle, 60_000)).toBe(false);

    // The middle value has expired: its place goes to the next newcomer, and the others are still held.
    clock.advance(1);
    expect(await cache.firstUse(early, 60_000)).toBe(true);
    expect(await cache.firstUse(late, 60_000)).toBe(false);
    expect(await cache.firstUse(newcomer, 60_000)).toBe(false);
    expect(await cache.firstUse(early, 60_000)).toBe(false);
  });

  it('keeps exactly the unexpired values through many expiries', async () => {
    const clock = createManualClock();
    const cache = createMemoryReplayCache({ clock, maxEntries: 1_000 });
    const seen: { jti: string; until: number }[] = [];
    let now = 0;
    for (let i = 0; i < 5_000; i += 1) {
      const ttl = 1 + ((i * 7919) % 300);
      const jti = newProofId();
      expect(await cache.firstUse(jti, ttl)).toBe(true);
      seen.push({ jti, until: now + ttl });
      clock.advance(1);
      now += 1;
    }
    for (const { jti, until } of seen.slice(-400)) {
      expect(await cache.firstUse(jti, 1_000)).toBe(until <= now);
    }
  });

  it('refuses a maxEntries that is not a positive whole number', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(
        () => createMemoryReplayCache({ clock: createManualClock(), maxEntries }),
        String(maxEntries),
      ).toThrow(RangeError);
    }
  });
});
