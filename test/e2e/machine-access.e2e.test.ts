import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clientAssertion,
  currentAccountOf,
  dpopProof,
  logIn,
  newKeyPair,
  registerMachineClient,
  requestToken,
  sendJson,
  startWeb,
  type Browser,
  type KeyPair,
  type MachineClient,
  type WebHarness,
} from '../support/web.ts';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSESSMENTS = '/api/v1/assessments';
const SANDBOX_SIREN = '552032534';

interface TokenAnswer {
  readonly access_token?: string;
  readonly token_type?: string;
  readonly expires_in?: number;
  readonly error?: string;
  readonly error_description?: string;
}

interface AuditItem {
  readonly action: string;
  readonly actorId: string | null;
  readonly entityId: string;
}

/** The server's token key file: a private EC P-256 JWK with its thumbprint as kid. */
interface KeyFile {
  readonly kty: string;
  readonly crv: string;
  readonly x: string;
  readonly y: string;
  readonly d: string;
  readonly kid: string;
  readonly alg: string;
  readonly use: string;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('machine access: client credentials, private_key_jwt and DPoP-bound tokens', () => {
  let web: WebHarness;
  let admin: Browser;
  let accountId: string;
  /** A member client whose token the negative cases below bend one part at a time. */
  let client: MachineClient;
  /** The server's own token-signing key, as kept in its data directory. */
  let serverKey: { readonly privateJwk: JWK; readonly publicJwk: JWK; readonly kid: string };

  beforeAll(async () => {
    web = await startWeb();
    admin = await logIn(web.baseUrl, 'erp-admin@example.com', 'ERP Admin');
    accountId = await currentAccountOf(admin);
    client = await registerMachineClient(web.baseUrl, admin, accountId);
    const privateJwk = JSON.parse(
      await readFile(join(web.dataDir, 'keys', 'token-signing-key.json'), 'utf8'),
    ) as KeyFile;
    const { kty, crv, x, y, kid, alg, use } = privateJwk;
    serverKey = { privateJwk, publicJwk: { kty, crv, x, y, kid, alg, use }, kid };
  });
  afterAll(async () => {
    await web.close();
  });

  const tokenUrl = (): string => `${web.baseUrl}/oauth/token`;

  const postToken = (fields: Record<string, string>, dpop?: string): Promise<Response> =>
    fetch(tokenUrl(), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(dpop === undefined ? {} : { dpop }),
      },
      body: new URLSearchParams(fields).toString(),
    });

  const tokenFields = (assertion: string): Record<string, string> => ({
    grant_type: 'client_credentials',
    client_assertion_type: ASSERTION_TYPE,
    client_assertion: assertion,
  });

  const tokenProof = (key: KeyPair, htm = 'POST'): Promise<string> => dpopProof(key, htm, tokenUrl());

  /** An API request with the given Authorization and DPoP headers. */
  const call = (
    path: string,
    headers: { readonly authorization?: string; readonly dpop?: string },
    method = 'GET',
    body?: unknown,
  ): Promise<Response> =>
    fetch(`${web.baseUrl}${path}`, {
      method,
      headers: {
        ...(headers.authorization === undefined ? {} : { authorization: headers.authorization }),
        ...(headers.dpop === undefined ? {} : { dpop: headers.dpop }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  /** A GET of the assessments with `token` and a proof by `key` (for the token, this method and this URL). */
  const listWith = async (token: string, key: KeyPair = client.dpopKey): Promise<Response> =>
    call(ASSESSMENTS, {
      authorization: `DPoP ${token}`,
      dpop: await dpopProof(key, 'GET', `${web.baseUrl}${ASSESSMENTS}`, { accessToken: token }),
    });

  const expectTokenRefusal = async (response: Response, status: number, error: string): Promise<void> => {
    const body = (await response.json()) as TokenAnswer;
    expect({ status: response.status, error: body.error }).toEqual({ status, error });
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('cache-control')).toContain('no-store');
    expect(body.access_token).toBeUndefined();
  };

  const expectChallenge = async (response: Response, error: string): Promise<void> => {
    await response.arrayBuffer();
    const challenge = response.headers.get('www-authenticate') ?? '';
    expect(response.status).toBe(401);
    expect(challenge).toMatch(/^DPoP /);
    expect(challenge).toContain(`error="${error}"`);
  };

  const auditOf = async (): Promise<readonly AuditItem[]> => {
    const response = await admin.fetch(`/api/v1/accounts/${accountId}/audit?limit=200`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: AuditItem[] }).items;
  };

  /** An access token with the claims of `client`'s genuine one, and `claims` in their place, signed as given. */
  const claimsLike = (claims: JWTPayload = {}): JWTPayload => ({
    ...decodeJwt(client.accessToken),
    jti: randomUUID(),
    ...claims,
  });

  /** Signed with the server's own key, with its kid and typ: only what `claims` changes can be wrong. */
  const signedByServer = async (claims: JWTPayload = {}): Promise<string> =>
    new SignJWT(claimsLike(claims))
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: serverKey.kid })
      .sign(await importJWK(serverKey.privateJwk, 'ES256'));

  describe('the happy path', () => {
    it('issues a short-lived ES256 at+jwt bound to the DPoP key, which reads, writes (audited) and names the client', async () => {
      const clientKey = await newKeyPair();
      const dpopKey = await newKeyPair();
      const registered = await sendJson(admin, 'POST', `/api/v1/accounts/${accountId}/api-clients`, {
        name: 'ERP happy path',
        role: 'member',
        publicJwk: clientKey.publicJwk,
      });
      expect(registered.status).toBe(201);
      const { id: clientId } = (await registered.json()) as { id: string };

      const answer = await requestToken(web.baseUrl, clientId, clientKey, dpopKey);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toContain('no-store');
      const body = (await answer.json()) as TokenAnswer;
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'token_type']);
      expect(body.token_type).toBe('DPoP');
      expect(body.expires_in).toBeGreaterThan(0);
      expect(body.expires_in).toBeLessThanOrEqual(600);
      const token = body.access_token ?? '';

      expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: serverKey.kid });
      const { payload } = await jwtVerify(token, await importJWK(serverKey.publicJwk, 'ES256'), {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer: web.baseUrl,
        audience: `${web.baseUrl}/api`,
      });
      expect(payload.sub).toBe(clientId);
      expect(typeof payload.jti).toBe('string');
      const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
      expect(lifetime).toBeGreaterThan(0);
      expect(lifetime).toBeLessThanOrEqual(600);
      expect(lifetime).toBe(body.expires_in);
      expect(payload.cnf).toEqual({ jkt: await calculateJwkThumbprint(dpopKey.publicJwk, 'sha256') });

      const listed = await call(ASSESSMENTS, {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(dpopKey, 'GET', `${web.baseUrl}${ASSESSMENTS}`, { accessToken: token }),
      });
      expect(listed.status).toBe(200);
      expect(Array.isArray(((await listed.json()) as { items: unknown }).items)).toBe(true);

      const created = await call(
        ASSESSMENTS,
        {
          authorization: `DPoP ${token}`,
          dpop: await dpopProof(dpopKey, 'POST', `${web.baseUrl}${ASSESSMENTS}`, { accessToken: token }),
        },
        'POST',
        { identifier: SANDBOX_SIREN },
      );
      expect(created.status).toBe(201);
      const assessment = (await created.json()) as { id: string };
      const entry = (await auditOf()).find(
        (e) => e.action === 'assessment.created' && e.entityId === assessment.id,
      );
      expect(entry?.actorId).toBe(clientId);

      const me = await call('/api/v1/me', {
        authorization: `DPoP ${token}`,
        dpop: await dpopProof(dpopKey, 'GET', `${web.baseUrl}/api/v1/me`, { accessToken: token }),
      });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({
        client: { kind: 'client', clientId, accountId, role: 'member' },
        currentAccountId: accountId,
      });
    });

    it('grants a token for an assertion whose audience is the issuer identifier (the recommended form)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, web.baseUrl);
      const response = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      expect(response.status).toBe(200);
      expect(((await response.json()) as { token_type: string }).token_type).toBe('DPoP');
    });
  });

  describe('the token endpoint refuses, in RFC 6749 terms', () => {
    it('a request without a DPoP proof (invalid_dpop_proof)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, tokenUrl());
      await expectTokenRefusal(await postToken(tokenFields(assertion)), 400, 'invalid_dpop_proof');
    });

    it('another grant type (unsupported_grant_type)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, tokenUrl());
      const response = await postToken(
        { ...tokenFields(assertion), grant_type: 'authorization_code' },
        await tokenProof(client.dpopKey),
      );
      await expectTokenRefusal(response, 400, 'unsupported_grant_type');
    });

    it('another client assertion type (invalid_request)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, tokenUrl());
      const response = await postToken(
        {
          ...tokenFields(assertion),
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        },
        await tokenProof(client.dpopKey),
      );
      await expectTokenRefusal(response, 400, 'invalid_request');
    });

    it('an assertion made for another audience (invalid_client)', async () => {
      const assertion = await clientAssertion(
        client.clientKey,
        client.clientId,
        'https://other-server.example/oauth/token',
      );
      const response = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      await expectTokenRefusal(response, 401, 'invalid_client');
    });

    it('an assertion signed by another key than the registered one (invalid_client)', async () => {
      const assertion = await clientAssertion(await newKeyPair(), client.clientId, tokenUrl());
      const response = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      await expectTokenRefusal(response, 401, 'invalid_client');
    });

    it('the same assertion a second time (invalid_client)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, tokenUrl());
      const first = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const second = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      await expectTokenRefusal(second, 401, 'invalid_client');
    });

    it('an unknown client id (invalid_client)', async () => {
      const assertion = await clientAssertion(client.clientKey, randomUUID(), tokenUrl());
      const response = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey));
      await expectTokenRefusal(response, 401, 'invalid_client');
    });

    it('a revoked client (invalid_client)', async () => {
      const revoked = await registerMachineClient(web.baseUrl, admin, accountId);
      const revocation = await sendJson(
        admin,
        'DELETE',
        `/api/v1/accounts/${accountId}/api-clients/${revoked.clientId}`,
      );
      expect(revocation.status).toBe(200);
      expect(((await revocation.json()) as { revokedAt: string | null }).revokedAt).not.toBeNull();

      const response = await requestToken(web.baseUrl, revoked.clientId, revoked.clientKey, revoked.dpopKey);
      await expectTokenRefusal(response, 401, 'invalid_client');
    });

    it('a DPoP proof made for GET (invalid_dpop_proof)', async () => {
      const assertion = await clientAssertion(client.clientKey, client.clientId, tokenUrl());
      const response = await postToken(tokenFields(assertion), await tokenProof(client.dpopKey, 'GET'));
      await expectTokenRefusal(response, 400, 'invalid_dpop_proof');
    });
  });

  describe('the API refuses with a DPoP challenge (401)', () => {
    const url = (path: string): string => `${web.baseUrl}${path}`;

    it('the same proof sent twice', async () => {
      const proof = await dpopProof(client.dpopKey, 'GET', url(ASSESSMENTS), {
        accessToken: client.accessToken,
      });
      const first = await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof });
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const again = await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof });
      await expectChallenge(again, 'invalid_dpop_proof');
    });

    it('a proof for another method', async () => {
      const proof = await dpopProof(client.dpopKey, 'POST', url(ASSESSMENTS), {
        accessToken: client.accessToken,
      });
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof }),
        'invalid_dpop_proof',
      );
    });

    it('a proof for another address', async () => {
      const proof = await dpopProof(client.dpopKey, 'GET', url('/api/v1/accounts'), {
        accessToken: client.accessToken,
      });
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof }),
        'invalid_dpop_proof',
      );
    });

    it('a proof issued 2 minutes ago', async () => {
      const proof = await dpopProof(client.dpopKey, 'GET', url(ASSESSMENTS), {
        accessToken: client.accessToken,
        iat: nowSeconds() - 120,
      });
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof }),
        'invalid_dpop_proof',
      );
    });

    it('a proof carrying the hash of another token', async () => {
      const answer = await requestToken(web.baseUrl, client.clientId, client.clientKey, client.dpopKey);
      const { access_token: other = '' } = (await answer.json()) as TokenAnswer;
      expect(other).not.toBe(client.accessToken);
      // The other token is good with a proof of its own: only the pairing is wrong.
      expect((await listWith(other)).status).toBe(200);

      const proof = await dpopProof(client.dpopKey, 'GET', url(ASSESSMENTS), { accessToken: other });
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}`, dpop: proof }),
        'invalid_dpop_proof',
      );
    });

    it('a proof signed by another key than the one the token is bound to', async () => {
      await expectChallenge(await listWith(client.accessToken, await newKeyPair()), 'invalid_dpop_proof');
    });

    it('a token without a proof', async () => {
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `DPoP ${client.accessToken}` }),
        'invalid_dpop_proof',
      );
    });

    it('the token as a bearer token', async () => {
      const proof = await dpopProof(client.dpopKey, 'GET', url(ASSESSMENTS), {
        accessToken: client.accessToken,
      });
      await expectChallenge(
        await call(ASSESSMENTS, { authorization: `Bearer ${client.accessToken}`, dpop: proof }),
        'invalid_request',
      );
    });

    it('a token signed with the server key: accepted with the genuine claims (the control of the two cases below)', async () => {
      expect((await listWith(await signedByServer())).status).toBe(200);
    });

    it('an expired token signed with the server key', async () => {
      const token = await signedByServer({ iat: nowSeconds() - 900, exp: nowSeconds() - 300 });
      await expectChallenge(await listWith(token), 'invalid_token');
    });

    it('a token for another audience signed with the server key', async () => {
      const token = await signedByServer({ aud: 'https://another-api.example' });
      await expectChallenge(await listWith(token), 'invalid_token');
    });

    it('an unsigned token (alg none)', async () => {
      const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
      const token = `${part({ alg: 'none', typ: 'at+jwt', kid: serverKey.kid })}.${part(claimsLike())}.`;
      await expectChallenge(await listWith(token), 'invalid_token');
    });

    it("an HS256 token whose secret is the server's public key", async () => {
      const { kty, crv, x, y } = serverKey.publicJwk;
      for (const secret of [JSON.stringify(serverKey.publicJwk), JSON.stringify({ kty, crv, x, y })]) {
        const token = await new SignJWT(claimsLike())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: serverKey.kid })
          .sign(new TextEncoder().encode(secret));
        await expectChallenge(await listWith(token), 'invalid_token');
      }
    });

    it('a token of a client revoked after the token was issued', async () => {
      const revoked = await registerMachineClient(web.baseUrl, admin, accountId);
      const before = await revoked.fetch('GET', ASSESSMENTS);
      expect(before.status).toBe(200);
      await before.arrayBuffer();

      const revocation = await sendJson(
        admin,
        'DELETE',
        `/api/v1/accounts/${accountId}/api-clients/${revoked.clientId}`,
      );
      expect(revocation.status).toBe(200);
      await revocation.arrayBuffer();

      await expectChallenge(await revoked.fetch('GET', ASSESSMENTS), 'invalid_token');
    });
  });

  it('lets a viewer client read but not assess (403 FORBIDDEN)', async () => {
    const viewer = await registerMachineClient(web.baseUrl, admin, accountId, 'viewer');
    const read = await viewer.fetch('GET', ASSESSMENTS);
    expect(read.status).toBe(200);
    await read.arrayBuffer();

    const write = await viewer.fetch('POST', ASSESSMENTS, { identifier: SANDBOX_SIREN });
    expect(write.status).toBe(403);
    expect(((await write.json()) as { code: string }).code).toBe('FORBIDDEN');
  });
});
