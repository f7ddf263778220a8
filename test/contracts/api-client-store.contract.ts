import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, ApiClientStore } from '#app/application/ports/account-store.ts';

export interface ApiClientStoreHarness {
  readonly store: ApiClientStore;
  /** Makes an account that exists, for clients to belong to. */
  newAccount(): Promise<string>;
  close(): Promise<void>;
}

const EC_JWK = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

const RSA_JWK = {
  kty: 'RSA',
  e: 'AQAB',
  n:
    '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs' +
    'tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  alg: 'RS256',
};

/**
 * The ApiClientStore contract: a client is kept exactly, found by its id from anywhere, listed and revoked only
 * in its own account, and revoked once.
 */
export const describeApiClientStoreContract = (
  name: string,
  open: () => Promise<ApiClientStoreHarness>,
): void => {
  describe(`ApiClientStore contract: ${name}`, () => {
    let h: ApiClientStoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    const client = (accountId: string, over: Partial<ApiClient> = {}): ApiClient => ({
      id: randomUUID(),
      accountId,
      name: 'ERP de production',
      role: 'member',
      publicJwk: EC_JWK,
      jkt: 'oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U',
      createdAt: '2026-12-01T09:00:00.000Z',
      createdBy: randomUUID(),
      revokedAt: null,
      ...over,
    });

    it('keeps a client exactly, and finds it by id from any account', async () => {
      const account = await h.newAccount();
      const ec = client(account);
      const rsa = client(account, {
        name: 'Sage X3 — « compta » ✓',
        role: 'viewer',
        publicJwk: RSA_JWK,
        jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs',
        createdAt: '2026-12-01T09:00:00.123Z',
        createdBy: null,
      });
      await h.store.insert(ec);
      await h.store.insert(rsa);
      expect(await h.store.get(ec.id)).toEqual(ec);
      expect(await h.store.get(rsa.id)).toEqual(rsa);
      expect(await h.store.get(rsa.id.toUpperCase())).toEqual(rsa);
      expect(await h.store.get(randomUUID())).toBeNull();
      expect(await h.store.get('not-a-uuid')).toBeNull();
    });

    it("lists an account's clients only, revoked ones included, oldest first", async () => {
      const account = await h.newAccount();
      const other = await h.newAccount();
      const newer = client(account, { createdAt: '2026-12-03T00:00:00.000Z' });
      const older = client(account, {
        createdAt: '2026-12-02T00:00:00.000Z',
        revokedAt: '2026-12-04T00:00:00.000Z',
      });
      const theirs = client(other);
      for (const c of [newer, older, theirs]) await h.store.insert(c);
      expect(await h.store.list(account)).toEqual([older, newer]);
      expect(await h.store.list(other)).toEqual([theirs]);
      expect(await h.store.list(await h.newAccount())).toEqual([]);
      expect(await h.store.list('not-a-uuid')).toEqual([]);
    });

    it('revokes once: revoking again returns the client with its first revocation instant', async () => {
      const account = await h.newAccount();
      const c = client(account);
      await h.store.insert(c);
      const revoked = { ...c, revokedAt: '2026-12-05T08:00:00.000Z' };
      expect(await h.store.revoke(account, c.id, '2026-12-05T08:00:00.000Z')).toEqual(revoked);
      expect(await h.store.revoke(account, c.id, '2026-12-06T08:00:00.000Z')).toEqual(revoked);
      expect(await h.store.get(c.id)).toEqual(revoked);
      expect(await h.store.list(account)).toEqual([revoked]);
    });

    it('finds nothing to revoke in another account, and leaves the client as it was', async () => {
      const account = await h.newAccount();
      const other = await h.newAccount();
      const c = client(account);
      await h.store.insert(c);
      expect(await h.store.revoke(other, c.id, '2026-12-05T08:00:00.000Z')).toBeNull();
      expect(await h.store.revoke(account, randomUUID(), '2026-12-05T08:00:00.000Z')).toBeNull();
      expect(await h.store.revoke(account, 'not-a-uuid', '2026-12-05T08:00:00.000Z')).toBeNull();
      expect(await h.store.get(c.id)).toEqual(c);
    });
  });
};
