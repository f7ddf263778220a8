import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionData, SessionStore } from '#app/application/ports/session-store.ts';

/** One adapter, opened for a suite. */
export interface SessionStoreSubject {
  readonly store: SessionStore;
  /** A ttl short enough for `elapse` to let it pass within a test (memory moves a clock; Redis waits for real). */
  readonly shortTtlMs: number;
  /** Lets `ms` pass for the store. */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** A session id as the HTTP API makes them: 32 random bytes, base64url. */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/** A logged-in session with a provider's tokens and a finished login. */
export const loggedIn = (userId = 'user-1'): SessionData => ({
  userId,
  accountId: 'account-1',
  csrfSecret: randomBytes(32).toString('base64url'),
  createdAt: '2026-11-29T09:00:00.000Z',
  pendingLogin: null,
  provider: {
    id: 'keycloak',
    tokens: { access_token: 'at', refresh_token: 'rt', expires_in: 300, scope: ['openid', 'email'] },
  },
});

/** A session before login: only the login in progress, with nested and non-ASCII values. */
export const loggingIn = (): SessionData => ({
  userId: null,
  accountId: null,
  csrfSecret: randomBytes(32).toString('base64url'),
  createdAt: '2026-11-29T09:00:00.000Z',
  pendingLogin: { codeVerifier: 'v'.repeat(43), state: 's', nonce: 'n', returnTo: '/fournisseurs/é?x=1&y=☃' },
  provider: null,
});

const HOUR_MS = 60 * 60 * 1000;

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The SessionStore contract, run once per adapter. Ids are random: cases never see each other's sessions. */
export const describeSessionStoreContract = (
  name: string,
  open: () => Promise<SessionStoreSubject>,
): void => {
  describe(`SessionStore contract: ${name}`, () => {
    let subject: SessionStoreSubject;
    let store: SessionStore;
    beforeAll(async () => {
      subject = await open();
      store = subject.store;
    });
    afterAll(async () => {
      await subject.close();
    });

    it('gives back an equal copy of what was set, never the object itself', async () => {
      const id = newSessionId();
      const data = loggedIn();
      await store.set(id, data, HOUR_MS);

      const read = await store.get(id);
      expect(read).toEqual(data);
      expect(read).not.toBe(data);
      const again = await store.get(id);
      expect(again).toEqual(data);
      expect(again).not.toBe(read);
    });

    it('keeps what was stored whatever the caller does to its objects afterwards', async () => {
      const id = newSessionId();
      const data: Writable<SessionData> = loggingIn();
      const original = structuredClone(data);
      await store.set(id, data, HOUR_MS);
      data.userId = 'intruder';
      (data.pendingLogin as { state: string }).state = 'changed';

      const read: Writable<SessionData> | null = await store.get(id);
      expect(read).toEqual(original);
      if (read === null) throw new Error('missing');
      (read.pendingLogin as { nonce: string }).nonce = 'changed';
      expect(await store.get(id)).toEqual(original);
    });

    it('answers null for an id it never stored', async () => {
      expect(await store.get(newSessionId())).toBeNull();
      expect(await store.get('')).toBeNull();
    });

    it('replaces a session set again under the same id', async () => {
      const id = newSessionId();
      await store.set(id, loggingIn(), HOUR_MS);
      const after = loggedIn('user-2');
      await store.set(id, after, HOUR_MS);

      expect(await store.get(id)).toEqual(after);
    });

    it('forgets a deleted session, and deletes an unknown id without complaint', async () => {
      const id = newSessionId();
      const kept = newSessionId();
      await store.set(id, loggedIn(), HOUR_MS);
      await store.set(kept, loggedIn(), HOUR_MS);

      await store.delete(id);
      expect(await store.get(id)).toBeNull();
      expect(await store.get(kept)).not.toBeNull();
      await expect(store.delete(id)).resolves.toBeUndefined();
      await expect(store.delete(newSessionId())).resolves.toBeUndefined();
    });

    it('tells apart ids that differ by one character, case or trailing space', async () => {
      const base = newSessionId();
      const ids = [base, base.toUpperCase(), `${base} `, base.slice(0, -1), `${base}:`, 'é', 'e\u0301'];
      for (const [i, id] of ids.entries()) await store.set(id, loggedIn(`user-${String(i)}`), HOUR_MS);

      for (const [i, id] of ids.entries())
        expect((await store.get(id))?.userId, id).toBe(`user-${String(i)}`);
    });

    it('keeps sessions written concurrently apart', async () => {
      const ids = Array.from({ length: 20 }, newSessionId);
      await Promise.all(ids.map((id, i) => store.set(id, loggedIn(`user-${String(i)}`), HOUR_MS)));

      const read = await Promise.all(ids.map((id) => store.get(id)));
      expect(read.map((s) => s?.userId)).toEqual(ids.map((_, i) => `user-${String(i)}`));
    });

    it('forgets a session once its ttl has passed, and only that one', async () => {
      const short = newSessionId();
      const long = newSessionId();
      await store.set(short, loggedIn(), subject.shortTtlMs);
      await store.set(long, loggedIn(), HOUR_MS);

      await subject.elapse(subject.shortTtlMs);
      expect(await store.get(short)).toBeNull();
      expect(await store.get(long)).not.toBeNull();
    });

    it('counts the ttl from the last set: replacing a session renews it', async () => {
      const id = newSessionId();
      await store.set(id, loggingIn(), subject.shortTtlMs);
      const renewed = loggedIn();
      await store.set(id, renewed, HOUR_MS);

      await subject.elapse(subject.shortTtlMs);
      expect(await store.get(id)).toEqual(renewed);
    });

    it('stores an expired session again when it is set again', async () => {
      const id = newSessionId();
      await store.set(id, loggingIn(), subject.shortTtlMs);
      await subject.elapse(subject.shortTtlMs);
      expect(await store.get(id)).toBeNull();

      const data = loggedIn();
      await store.set(id, data, HOUR_MS);
      expect(await store.get(id)).toEqual(data);
    });

    it('refuses, with a RangeError, a ttl that is not a positive whole number of ms', async () => {
      const id = newSessionId();
      for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.set(id, loggedIn(), ttl), String(ttl)).rejects.toThrow(RangeError);
      }
      expect(await store.get(id)).toBeNull();
    });
  });
};
