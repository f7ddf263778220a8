import { describe, expect, it } from 'vitest';
import {
  describeSessionStoreContract,
  loggedIn,
  newSessionId,
} from '../../../test/contracts/session-store.contract.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { createMemorySessionStore } from './session-store.ts';

describeSessionStoreContract('memory', () => {
  const clock = createManualClock();
  return Promise.resolve({
    store: createMemorySessionStore({ clock }),
    shortTtlMs: 60_000,
    elapse: (ms: number) => {
      clock.advance(ms);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  });
});

describe('memory session store', () => {
  it('keeps a session for exactly its ttl on the clock', async () => {
    const clock = createManualClock();
    const store = createMemorySessionStore({ clock });
    const id = newSessionId();
    await store.set(id, loggedIn(), 30_000);

    clock.advance(29_999);
    expect(await store.get(id)).not.toBeNull();
    clock.advance(1);
    expect(await store.get(id)).toBeNull();
  });

  it('drops only expired sessions as it sweeps on later writes', async () => {
    const clock = createManualClock();
    const store = createMemorySessionStore({ clock });
    const live = Array.from({ length: 50 }, newSessionId);
    for (const [i, id] of live.entries()) {
      await store.set(id, loggedIn(`user-${String(i)}`), 3_600_000);
      for (let j = 0; j < 10; j += 1) await store.set(newSessionId(), loggedIn(), 1_000);
    }
    clock.advance(1_000);

    // Enough writes for the sweep to go round the whole map more than once.
    for (let i = 0; i < 500; i += 1) await store.set(newSessionId(), loggedIn(), 1_000);
    for (const [i, id] of live.entries()) expect((await store.get(id))?.userId).toBe(`user-${String(i)}`);
  });

  it('refuses data it cannot copy, and stores nothing', async () => {
    const store = createMemorySessionStore({ clock: createManualClock() });
    const id = newSessionId();
    const data = { ...loggedIn(), pendingLogin: { callback: () => undefined } as never };

    await expect(store.set(id, data, 60_000)).rejects.toThrow();
    expect(await store.get(id)).toBeNull();
  });
});
