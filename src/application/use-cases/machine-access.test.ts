import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoseMachineTokens } from '#app/adapters/jose/machine-tokens.ts';
import { loadOrCreateTokenKey } from '#app/adapters/jose/token-key.ts';
import { createMemoryReplayCache } from '#app/adapters/memory/replay-cache.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import type { Result } from '#app/domain/result.ts';
import type { ApiClient } from '../ports/account-store.ts';
import type { Stores } from '../ports/unit-of-work.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import type { RequestContext } from './access.ts';
import { makeAccountUseCases, type AccountUseCases } from './accounts.ts';
import {
  CLIENT_ASSERTION_TYPE,
  makeMachineAccess,
  type MachineAccess,
  type TokenRequest,
} from './machine-access.ts';

const TOKEN_URL = 'https://vigilance.example/oauth/token';
const API_URL = 'https://vigilance.example/api/v1/assessments';
const CONTEXT: RequestContext = { correlationId: 'corr-machine-1', ip: '192.0.2.10', userAgent: 'curl/8' };

interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

const newKeyPair = async (): Promise<KeyPair> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
};

const value = <T, E extends { readonly code: string; readonly message: string }>(result: Result<T, E>): T => {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
};

const errorOf = <E>(result: Result<unknown, E>): E | null => (result.ok ? null : result.error);

describeOnEachDatabase('machine access', (target) => {
  let t: TestDatabase;
  let dir: string;
  let stores: Stores;
  let accounts: AccountUseCases;
  let machine: MachineAccess;
  let accountId: string;
  let ownerId: string;
  const clock = createManualClock('2026-11-29T09:00:00.000Z');
  const ids = createUuidGenerator();
  const seconds = (): number => Math.floor(clock.now().getTime() / 1000);

  beforeAll(async () => {
    t = await target.open();
    dir = mkdtempSync(join(tmpdir(), 'vigilance-machine-'));
    const storeDeps = { newId: () => ids.newId(), driver: t.db.driver };
    stores = createSqlStores(t.db, storeDeps);
    const tokens = createJoseMachineTokens({
      clock,
      issuer: 'https://vigilance.example',
      audience: 'https://vigilance.example/api',
      key: await loadOrCreateTokenKey(join(dir, 'token-key.json')),
    });
    accounts = makeAccountUseCases({
      unitOfWork: createSqlUnitOfWork(t.db, storeDeps),
      stores,
      clock,
      ids,
      machineTokens: tokens,
    });
    machine = makeMachineAccess({
      tokens,
      replay: createMemoryReplayCache({ clock }),
      apiClients: stores.apiClients,
      clock,
    });
    accountId = randomUUID();
    ownerId = randomUUID();
    const at = clock.now().toISOString();
    await stores.accounts.createAccount({ id: accountId, name: 'Acme', tenancyMode: 'SELF', createdAt: at });
    await stores.accounts.createUser({
      id: ownerId,
      email: `${ownerId}@example.com`,
      displayName: null,
      createdAt: at,
    });
    await stores.accounts.putMembership(accountId, ownerId, 'owner', at);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const asOwner = () => ({
    access: { accountId, role: 'owner', via: 'membership', agentAccountId: null } as const,
    principal: { kind: 'user', userId: ownerId } as const,
    context: CONTEXT,
  });

  /** An API client registered through the account use cases, with its private key. */
  const registeredClient = async (role: 'member' | 'viewer' = 'member') => {
    const key = await newKeyPair();
    const client = value(
      await accounts.registerApiClient({ ...asOwner(), name: 'ERP', role, publicJwk: key.publicJwk }),
    );
    return { client, key };
  };

  /** A private_key_jwt client assertion (RFC 7523), issued now by the clock. */
  const assertion = (
    clientId: string,
    key: KeyPair,
    over: { readonly audience?: string; readonly jti?: string } = {},
  ): Promise<string> =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(over.audience ?? TOKEN_URL)
      .setIssuedAt(seconds())
      .setExpirationTime(seconds() + 60)
      .setJti(over.jti ?? randomUUID())
      .sign(key.privateKey);

  /** A DPoP proof (RFC 9449) for a request, issued now by the clock. */
  const proof = (
    key: KeyPair,
    request: { readonly htm: string; readonly htu: string; readonly accessToken?: string },
  ): Promise<string> =>
    new SignJWT({
      htm: request.htm,
      htu: request.htu,
      ...(request.accessToken === undefined
        ? {}
        : { ath: createHash('sha256').update(request.accessToken).digest('base64url') }),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk })
      .setIssuedAt(seconds())
      .setJti(randomUUID())
      .sign(key.privateKey);

  const tokenRequest = async (
    client: ApiClient,
    clientKey: KeyPair,
    dpopKey: KeyPair,
  ): Promise<TokenRequest> => ({
    grantType: 'client_credentials',
    clientAssertionType: CLIENT_ASSERTION_TYPE,
    clientAssertion: await assertion(client.id, clientKey),
    dpopProof: await proof(dpopKey, { htm: 'POST', htu: TOKEN_URL }),
    tokenEndpointUrl: TOKEN_URL,
  });

  /** A token for a newly registered client, bound to a DPoP key of its own. */
  const issued = async (role: 'member' | 'viewer' = 'member') => {
    const { client, key } = await registeredClient(role);
    const dpopKey = await newKeyPair();
    const token = value(await machine.issueToken(await tokenRequest(client, key, dpopKey)));
    return { client, key, dpopKey, token };
  };

  const apiRequest = async (accessToken: string, dpopKey: KeyPair) => ({
    accessToken,
    dpopProof: await proof(dpopKey, { htm: 'GET', htu: API_URL, accessToken }),
    htm: 'GET',
    htu: API_URL,
  });

  describe('issueToken', () => {
    it('issues a DPoP-bound token that then authenticates the client in its account, with its role', async () => {
      const { client, dpopKey, token } = await issued('viewer');
      expect(token).toMatchObject({ tokenType: 'DPoP', expiresIn: 300 });
      expect(token.accessToken.split('.')).toHaveLength(3);
      const principal = value(await machine.authenticate(await apiRequest(token.accessToken, dpopKey)));
      expect(principal).toEqual({ kind: 'client', clientId: client.id, accountId, role: 'viewer' });
    });

    it('takes the token lifetime from its settings', async () => {
      const { client, key } = await registeredClient();
      const shortLived = makeMachineAccess({
        tokens: createJoseMachineTokens({
          clock,
          issuer: 'https://vigilance.example',
          audience: 'https://vigilance.example/api',
          key: await loadOrCreateTokenKey(join(dir, 'token-key.json')),
        }),
        replay: createMemoryReplayCache({ clock }),
        apiClients: stores.apiClients,
        clock,
        tokenTtlSeconds: 60,
      });
      const token = value(await shortLived.issueToken(await tokenRequest(client, key, await newKeyPair())));
      expect(token.expiresIn).toBe(60);
    });

    it('refuses a malformed request (invalid_request, unsupported_grant_type)', async () => {
      const { client, key } = await registeredClient();
      const good = await tokenRequest(client, key, await newKeyPair());
      const cases: readonly [Partial<TokenRequest>, string][] = [
        [{ grantType: undefined }, 'invalid_request'],
        [{ grantType: 'authorization_code' }, 'unsupported_grant_type'],
        [{ clientAssertionType: undefined }, 'invalid_request'],
        [
          { clientAssertionType: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer' },
          'invalid_request',
        ],
        [{ clientAssertion: undefined }, 'invalid_request'],
        [{ dpopProof: undefined }, 'invalid_dpop_proof'],
      ];
      for (const [change, code] of cases) {
        expect(errorOf(await machine.issueToken({ ...good, ...change }))?.code).toBe(code);
      }
      // None of them used up the assertion or the proof.
      expect((await machine.issueToken(good)).ok).toBe(true);
    });

    it('refuses an unknown and a revoked client alike (invalid_client)', async () => {
      const { client, key } = await registeredClient();
      const dpopKey = await newKeyPair();
      const unknownId = randomUUID();
      const unknown = await machine.issueToken({
        ...(await tokenRequest(client, key, dpopKey)),
        clientAssertion: await assertion(unknownId, key),
      });
      value(await accounts.revokeApiClient({ ...asOwner(), clientId: client.id }));
      const revoked = await machine.issueToken(await tokenRequest(client, key, dpopKey));
      expect(errorOf(unknown)).toEqual({ code: 'invalid_client', message: 'Client authentication failed.' });
      expect(errorOf(revoked)).toEqual(errorOf(unknown));
      const garbage = await machine.issueToken({
        ...(await tokenRequest(client, key, dpopKey)),
        clientAssertion: 'not-a-jwt',
      });
      expect(errorOf(garbage)).toEqual(errorOf(unknown));
    });

    it('refuses an assertion signed by another key, or for another audience (invalid_client)', async () => {
      const { client, key } = await registeredClient();
      const dpopKey = await newKeyPair();
      const forged = await machine.issueToken({
        ...(await tokenRequest(client, key, dpopKey)),
        clientAssertion: await assertion(client.id, await newKeyPair()),
      });
      expect(errorOf(forged)?.code).toBe('invalid_client');
      const elsewhere = await machine.issueToken({
        ...(await tokenRequest(client, key, dpopKey)),
        clientAssertion: await assertion(client.id, key, { audience: 'https://other.example/token' }),
      });
      expect(errorOf(elsewhere)?.code).toBe('invalid_client');
    });

    it('refuses a replayed assertion (invalid_client)', async () => {
      const { client, key } = await registeredClient();
      const dpopKey = await newKeyPair();
      const first = await tokenRequest(client, key, dpopKey);
      value(await machine.issueToken(first));
      const replayed = await machine.issueToken({
        ...first,
        dpopProof: await proof(dpopKey, { htm: 'POST', htu: TOKEN_URL }),
      });
      expect(errorOf(replayed)).toEqual({
        code: 'invalid_client',
        message: 'This client assertion was already used.',
      });
    });

    it('refuses a replayed proof, and a proof for another request (invalid_dpop_proof)', async () => {
      const { client, key } = await registeredClient();
      const dpopKey = await newKeyPair();
      const first = await tokenRequest(client, key, dpopKey);
      value(await machine.issueToken(first));
      const replayed = await machine.issueToken({
        ...first,
        clientAssertion: await assertion(client.id, key),
      });
      expect(errorOf(replayed)).toEqual({
        code: 'invalid_dpop_proof',
        message: 'This DPoP proof was already used.',
      });
      const wrongMethod = await machine.issueToken({
        ...first,
        clientAssertion: await assertion(client.id, key),
        dpopProof: await proof(dpopKey, { htm: 'GET', htu: TOKEN_URL }),
      });
      expect(errorOf(wrongMethod)?.code).toBe('invalid_dpop_proof');
    });
  });

  describe('authenticate', () => {
    it('refuses a replayed proof (invalid_dpop_proof)', async () => {
      const { dpopKey, token } = await issued();
      const request = await apiRequest(token.accessToken, dpopKey);
      value(await machine.authenticate(request));
      expect(errorOf(await machine.authenticate(request))).toEqual({
        code: 'invalid_dpop_proof',
        message: 'This DPoP proof was already used.',
      });
      // A fresh proof goes through.
      expect((await machine.authenticate(await apiRequest(token.accessToken, dpopKey))).ok).toBe(true);
    });

    it("refuses a proof by another key than the token's (invalid_dpop_proof)", async () => {
      const { key, token } = await issued();
      // Even the client's own registered key is not the key the token is bound to.
      for (const other of [await newKeyPair(), key]) {
        expect(errorOf(await machine.authenticate(await apiRequest(token.accessToken, other)))).toEqual({
          code: 'invalid_dpop_proof',
          message: 'the proof is not signed by the key the token is bound to',
        });
      }
    });

    it('needs a proof, with the hash of the token, for this request (invalid_dpop_proof)', async () => {
      const { dpopKey, token } = await issued();
      const request = await apiRequest(token.accessToken, dpopKey);
      expect(errorOf(await machine.authenticate({ ...request, dpopProof: undefined }))?.code).toBe(
        'invalid_dpop_proof',
      );
      const withoutAth = await proof(dpopKey, { htm: 'GET', htu: API_URL });
      expect(errorOf(await machine.authenticate({ ...request, dpopProof: withoutAth }))?.code).toBe(
        'invalid_dpop_proof',
      );
      const otherUrl = await apiRequest(token.accessToken, dpopKey);
      expect(
        errorOf(await machine.authenticate({ ...otherUrl, htu: 'https://vigilance.example/api/v1/reports' }))
          ?.code,
      ).toBe('invalid_dpop_proof');
    });

    it('refuses a token that is not ours, or has expired (invalid_token)', async () => {
      const { dpopKey, token } = await issued();
      const [header, payload] = token.accessToken.split('.');
      const forged = `${header ?? ''}.${payload ?? ''}.${'A'.repeat(86)}`;
      expect(errorOf(await machine.authenticate(await apiRequest(forged, dpopKey)))?.code).toBe(
        'invalid_token',
      );
      clock.advance(301_000);
      expect(errorOf(await machine.authenticate(await apiRequest(token.accessToken, dpopKey)))?.code).toBe(
        'invalid_token',
      );
    });

    it("refuses a revoked client's token at its next request (invalid_token)", async () => {
      const { client, dpopKey, token } = await issued();
      value(await machine.authenticate(await apiRequest(token.accessToken, dpopKey)));
      value(await accounts.revokeApiClient({ ...asOwner(), clientId: client.id }));
      expect(errorOf(await machine.authenticate(await apiRequest(token.accessToken, dpopKey)))).toEqual({
        code: 'invalid_token',
        message: 'The client of this token is no longer registered.',
      });
    });
  });
});
