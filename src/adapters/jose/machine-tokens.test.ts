import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
} from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MachineTokens, PublicJwk } from '#app/application/ports/machine-tokens.ts';
import { createManualClock, type ManualClock } from '../../../test/support/manual-clock.ts';
import { createJoseMachineTokens } from './machine-tokens.ts';
import { tokenKeyFromJwk, type TokenKey } from './token-key.ts';

const ISSUER = 'https://vigilance.test';
const API = 'https://api.vigilance.test';
const TOKEN_ENDPOINT = 'https://vigilance.test/oauth/token';
const CLIENT_ID = 'client-3f1c';
const ACCOUNT_ID = 'account-7d2e';
const RESOURCE = 'https://api.vigilance.test/v1/suppliers';

interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
  readonly privateJwk: JWK;
}

const keyPair = async (alg: string, modulusLength?: number): Promise<KeyPair> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(modulusLength === undefined ? {} : { modulusLength }),
  });
  return { privateKey, publicJwk: await exportJWK(publicKey), privateJwk: await exportJWK(privateKey) };
};

const json64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
/** A JWT with `alg: none`: no signature at all. */
const unsecured = (header: Record<string, unknown>, payload: Record<string, unknown>): string =>
  `${json64(header)}.${json64(payload)}.`;
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const pemOf = (jwk: JWK): string =>
  createPublicKey({ key: { ...jwk }, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
const sign = (
  payload: JWTPayload,
  header: JWTHeaderParameters,
  key: CryptoKey | Uint8Array,
): Promise<string> => new SignJWT(payload).setProtectedHeader(header).sign(key);

let ours: TokenKey;
let client: KeyPair;
let clientRsa: KeyPair;
let dpop: KeyPair;
let stranger: KeyPair;

beforeAll(async () => {
  ours = await tokenKeyFromJwk((await keyPair('ES256')).privateJwk);
  client = await keyPair('ES256');
  clientRsa = await keyPair('PS256', 2048);
  dpop = await keyPair('ES256');
  stranger = await keyPair('ES256');
});

let clock: ManualClock;
let tokens: MachineTokens;
const now = (): number => Math.floor(clock.now().getTime() / 1000);
const tokensFor = (options: { issuer?: string; audience?: string; verifiedTokenCacheSize?: number } = {}) =>
  createJoseMachineTokens({
    clock,
    issuer: options.issuer ?? ISSUER,
    audience: options.audience ?? API,
    key: ours,
    ...(options.verifiedTokenCacheSize === undefined
      ? {}
      : { verifiedTokenCacheSize: options.verifiedTokenCacheSize }),
  });

beforeEach(() => {
  clock = createManualClock();
  tokens = tokensFor();
});

const refusedWith = (code: string, message?: RegExp) => ({
  ok: false,
  error: {
    code,
    message:
      message === undefined ? (expect.any(String) as unknown) : (expect.stringMatching(message) as unknown),
  },
});

describe('checkClientKey', () => {
  it('accepts a public EC P-256 key and returns its RFC 7638 thumbprint', async () => {
    expect(await tokens.checkClientKey(client.publicJwk)).toEqual({
      ok: true,
      value: { jkt: await calculateJwkThumbprint(client.publicJwk, 'sha256') },
    });
    const labelled = { ...client.publicJwk, alg: 'ES256', use: 'sig', kid: 'erp-1' };
    expect(await tokens.checkClientKey(labelled)).toMatchObject({ ok: true });
  });

  it('accepts a public RSA key of 2048 bits', async () => {
    expect(await tokens.checkClientKey(clientRsa.publicJwk)).toEqual({
      ok: true,
      value: { jkt: await calculateJwkThumbprint(clientRsa.publicJwk, 'sha256') },
    });
  });

  it('refuses private JWKs, EC or RSA', async () => {
    expect(await tokens.checkClientKey(client.privateJwk)).toEqual({
      ok: false,
      error: { message: expect.stringMatching(/private/) as unknown },
    });
    expect(await tokens.checkClientKey(clientRsa.privateJwk)).toMatchObject({ ok: false });
    expect(await tokens.checkClientKey({ ...clientRsa.publicJwk, p: 'AQAB' })).toMatchObject({ ok: false });
  });

  it('refuses a symmetric (oct) key', async () => {
    const oct = { kty: 'oct', k: Buffer.from('a shared secret of 32 bytes!!!!!').toString('base64url') };
    expect(await tokens.checkClientKey(oct)).toMatchObject({ ok: false });
    expect(await tokens.checkClientKey({ kty: 'oct' })).toMatchObject({ ok: false });
  });

  it('refuses an RSA key of 1024 bits', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(await tokens.checkClientKey(publicKey.export({ format: 'jwk' }))).toEqual({
      ok: false,
      error: { message: expect.stringMatching(/2048 bits/) as unknown },
    });
  });

  it('refuses other curves and key types: P-384, Ed25519', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' });
    expect(await tokens.checkClientKey(p384)).toEqual({
      ok: false,
      error: { message: expect.stringMatching(/P-256/) as unknown },
    });
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    expect(await tokens.checkClientKey(ed25519)).toMatchObject({ ok: false });
  });

  it('refuses a point off the curve, malformed members, a use or alg that does not fit', async () => {
    const { x, y } = client.publicJwk;
    if (x === undefined || y === undefined) throw new Error('coordinates expected');
    const offCurve = { kty: 'EC', crv: 'P-256', x, y: `${y.slice(0, -2)}${y.endsWith('AA') ? 'AB' : 'AA'}` };
    expect(await tokens.checkClientKey(offCurve)).toEqual({
      ok: false,
      error: { message: 'the key is not a valid public key' },
    });
    expect(await tokens.checkClientKey({ kty: 'EC', crv: 'P-256', x, y: 'short' })).toMatchObject({
      ok: false,
    });
    expect(await tokens.checkClientKey({ kty: 'RSA', n: 42, e: 'AQAB' })).toMatchObject({ ok: false });
    expect(await tokens.checkClientKey({ ...client.publicJwk, use: 'enc' })).toMatchObject({ ok: false });
    expect(await tokens.checkClientKey({ ...client.publicJwk, alg: 'RS256' })).toMatchObject({ ok: false });
    expect(await tokens.checkClientKey(null as unknown as PublicJwk)).toMatchObject({ ok: false });
  });
});

describe('assertionClientId', () => {
  const unsignedAssertion = (claims: Record<string, unknown>): string =>
    unsecured({ alg: 'ES256', typ: 'JWT' }, claims);

  it('reads the sub of an assertion whose iss is the same, without verifying it', () => {
    expect(tokens.assertionClientId(unsignedAssertion({ iss: CLIENT_ID, sub: CLIENT_ID }))).toBe(CLIENT_ID);
  });

  it('is null when iss and sub differ, sub is empty or not a string, or the text is not a JWT', () => {
    expect(tokens.assertionClientId(unsignedAssertion({ iss: 'other', sub: CLIENT_ID }))).toBeNull();
    expect(tokens.assertionClientId(unsignedAssertion({ sub: CLIENT_ID }))).toBeNull();
    expect(tokens.assertionClientId(unsignedAssertion({ iss: '', sub: '' }))).toBeNull();
    expect(tokens.assertionClientId(unsignedAssertion({ iss: 7, sub: 7 }))).toBeNull();
    expect(tokens.assertionClientId('not a jwt')).toBeNull();
    expect(tokens.assertionClientId('a.b.c')).toBeNull();
    expect(tokens.assertionClientId('')).toBeNull();
  });
});

describe('verifyClientAssertion', () => {
  const claims = (overrides: Record<string, unknown> = {}): JWTPayload => ({
    iss: CLIENT_ID,
    sub: CLIENT_ID,
    aud: TOKEN_ENDPOINT,
    jti: randomUUID(),
    iat: now(),
    exp: now() + 60,
    ...overrides,
  });
  const assertion = (
    overrides: Record<string, unknown> = {},
    { alg = 'ES256', key = client.privateKey }: { alg?: string; key?: CryptoKey | Uint8Array } = {},
  ): Promise<string> => sign(claims(overrides), { alg }, key);
  const verify = (text: string, jwk: PublicJwk = client.publicJwk) =>
    tokens.verifyClientAssertion(text, { clientId: CLIENT_ID, jwk, audiences: [TOKEN_ENDPOINT, ISSUER] });

  it('accepts an ES256 assertion by the registered EC key and returns its jti and exp', async () => {
    const jti = randomUUID();
    expect(await verify(await assertion({ jti }))).toEqual({ ok: true, value: { jti, exp: now() + 60 } });
  });

  it('accepts PS256 and RS256 assertions by a registered RSA-2048 key', async () => {
    const ps256 = await assertion({}, { alg: 'PS256', key: clientRsa.privateKey });
    expect(await verify(ps256, clientRsa.publicJwk)).toMatchObject({ ok: true });
    const rsa = await keyPair('RS256', 2048);
    const rs256 = await assertion({}, { alg: 'RS256', key: rsa.privateKey });
    expect(await verify(rs256, rsa.publicJwk)).toMatchObject({ ok: true });
  });

  it('accepts an exp at most 300 s ahead and up to 30 s past, by clock tolerance', async () => {
    expect(await verify(await assertion({ exp: now() + 300 }))).toMatchObject({ ok: true });
    expect(await verify(await assertion({ iat: now() - 60, exp: now() - 29 }))).toMatchObject({ ok: true });
  });

  it('accepts our issuer identifier as the audience, as current advice recommends', async () => {
    const jti = randomUUID();
    expect(await verify(await assertion({ jti, aud: ISSUER }))).toEqual({
      ok: true,
      value: { jti, exp: now() + 60 },
    });
  });

  it('refuses an assertion for another audience', async () => {
    expect(await verify(await assertion({ aud: 'https://elsewhere.test/token' }))).toEqual(
      refusedWith('invalid_client', /"aud"/),
    );
  });

  it('refuses an assertion naming other audiences besides ours', async () => {
    expect(await verify(await assertion({ aud: [TOKEN_ENDPOINT, 'https://elsewhere.test/token'] }))).toEqual(
      refusedWith('invalid_client', /only audience/),
    );
  });

  it('refuses an expired assertion, past the 30 s tolerance', async () => {
    expect(await verify(await assertion({ iat: now() - 120, exp: now() - 31 }))).toEqual(
      refusedWith('invalid_client', /expired/),
    );
  });

  it('refuses an assertion expiring more than 300 s ahead', async () => {
    expect(await verify(await assertion({ exp: now() + 301 }))).toEqual(
      refusedWith('invalid_client', /300 seconds/),
    );
  });

  it('refuses an assertion without exp or without jti', async () => {
    expect(await verify(await assertion({ exp: undefined }))).toEqual(refusedWith('invalid_client', /"exp"/));
    expect(await verify(await assertion({ jti: undefined }))).toEqual(refusedWith('invalid_client', /"jti"/));
    expect(await verify(await assertion({ jti: '' }))).toEqual(refusedWith('invalid_client', /"jti"/));
  });

  it('refuses an assertion whose iss is not its sub, or not from this client', async () => {
    expect(await verify(await assertion({ iss: 'client-other' }))).toEqual(
      refusedWith('invalid_client', /"iss"/),
    );
    expect(await verify(await assertion({ iss: 'client-other', sub: 'client-other' }))).toEqual(
      refusedWith('invalid_client'),
    );
  });

  it('refuses an assertion signed by another key than the registered one', async () => {
    expect(await verify(await assertion({}, { key: stranger.privateKey }))).toEqual(
      refusedWith('invalid_client', /signature/),
    );
  });

  it('refuses an assertion with alg none', async () => {
    expect(await verify(unsecured({ alg: 'none' }, claims()))).toEqual(
      refusedWith('invalid_client', /algorithm/),
    );
  });

  it('refuses HS256 assertions keyed with the public key itself (JSON or PEM)', async () => {
    for (const secret of [JSON.stringify(client.publicJwk), pemOf(client.publicJwk)]) {
      const forged = await assertion({}, { alg: 'HS256', key: utf8(secret) });
      expect(await verify(forged)).toEqual(refusedWith('invalid_client', /algorithm/));
    }
  });

  it('refuses an assertion whose algorithm does not fit the key type', async () => {
    const rsa = await keyPair('RS256', 2048);
    const rs256ForEc = await assertion({}, { alg: 'RS256', key: rsa.privateKey });
    expect(await verify(rs256ForEc)).toEqual(refusedWith('invalid_client', /algorithm/));
  });

  it('refuses everything when the registered key is not acceptable', async () => {
    expect(await verify(await assertion(), client.privateJwk)).toEqual(
      refusedWith('invalid_client', /registered key/),
    );
  });

  it('refuses text that is not a JWT', async () => {
    expect(await verify('garbage')).toEqual(refusedWith('invalid_client'));
  });
});

describe('verifyDpopProof', () => {
  const proofClaims = (overrides: Record<string, unknown> = {}): JWTPayload => ({
    htm: 'POST',
    htu: RESOURCE,
    iat: now(),
    jti: randomUUID(),
    ...overrides,
  });
  const proof = (
    overrides: Record<string, unknown> = {},
    {
      alg = 'ES256',
      key = dpop.privateKey,
      header = {},
    }: { alg?: string; key?: CryptoKey | Uint8Array; header?: Record<string, unknown> } = {},
  ): Promise<string> =>
    sign(proofClaims(overrides), { alg, typ: 'dpop+jwt', jwk: dpop.publicJwk, ...header }, key);
  const verify = (text: string, expected: { htm?: string; htu?: string; accessToken?: string } = {}) =>
    tokens.verifyDpopProof(text, { htm: 'POST', htu: RESOURCE, ...expected });

  it('accepts a proof for the request and returns the thumbprint of its key, its jti and iat', async () => {
    const jti = randomUUID();
    expect(await verify(await proof({ jti }))).toEqual({
      ok: true,
      value: { jkt: await calculateJwkThumbprint(dpop.publicJwk, 'sha256'), jti, iat: now() },
    });
  });

  it('accepts a proof carrying the hash of the access token it comes with', async () => {
    const accessToken = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const ath = createHash('sha256').update(accessToken).digest('base64url');
    expect(await verify(await proof({ ath, htm: 'GET' }), { htm: 'GET', accessToken })).toMatchObject({
      ok: true,
    });
  });

  it('accepts proofs by RSA (PS256) and Ed25519 keys', async () => {
    const rsa = await keyPair('PS256', 2048);
    const rsaProof = await proof({}, { alg: 'PS256', key: rsa.privateKey, header: { jwk: rsa.publicJwk } });
    expect(await verify(rsaProof)).toEqual({
      ok: true,
      value: expect.objectContaining({
        jkt: await calculateJwkThumbprint(rsa.publicJwk, 'sha256'),
      }) as unknown,
    });
    const ed = await keyPair('EdDSA');
    const edProof = await proof({}, { alg: 'EdDSA', key: ed.privateKey, header: { jwk: ed.publicJwk } });
    expect(await verify(edProof)).toMatchObject({ ok: true });
  });

  it('refuses a proof for another method, or the method in lower case', async () => {
    expect(await verify(await proof({ htm: 'GET' }))).toEqual(refusedWith('invalid_dpop_proof', /"htm"/));
    expect(await verify(await proof({ htm: 'post' }))).toEqual(refusedWith('invalid_dpop_proof', /"htm"/));
  });

  it('refuses a proof for another URI: other path, other host, other scheme', async () => {
    for (const htu of [
      'https://api.vigilance.test/v1/accounts',
      'https://evil.test/v1/suppliers',
      'http://api.vigilance.test/v1/suppliers',
      'https://api.vigilance.test:8443/v1/suppliers',
      'not a uri',
    ]) {
      expect(await verify(await proof({ htu }))).toEqual(refusedWith('invalid_dpop_proof', /"htu"/));
    }
    expect(await verify(await proof({ htu: undefined }))).toEqual(refusedWith('invalid_dpop_proof', /"htu"/));
  });

  it('compares htu without query or fragment, scheme and host in any case, default port dropped', async () => {
    for (const htu of [
      `${RESOURCE}?page=2`,
      `${RESOURCE}#top`,
      'HTTPS://API.Vigilance.TEST/v1/suppliers',
      'https://api.vigilance.test:443/v1/suppliers',
    ]) {
      expect(await verify(await proof({ htu }))).toMatchObject({ ok: true });
    }
    expect(await verify(await proof(), { htu: `${RESOURCE}?page=3` })).toMatchObject({ ok: true });
  });

  it('accepts an iat from 60 s past to 5 s ahead, and refuses 61 s past or 6 s ahead', async () => {
    expect(await verify(await proof({ iat: now() - 60 }))).toMatchObject({ ok: true });
    expect(await verify(await proof({ iat: now() + 5 }))).toMatchObject({ ok: true });
    expect(await verify(await proof({ iat: now() - 61 }))).toEqual(
      refusedWith('invalid_dpop_proof', /too long ago/),
    );
    expect(await verify(await proof({ iat: now() + 6 }))).toEqual(
      refusedWith('invalid_dpop_proof', /future/),
    );
  });

  it('refuses a proof without iat', async () => {
    expect(await verify(await proof({ iat: undefined }))).toEqual(refusedWith('invalid_dpop_proof', /"iat"/));
  });

  it('refuses a proof without jti, with an empty one or one longer than 256 characters', async () => {
    expect(await verify(await proof({ jti: undefined }))).toEqual(refusedWith('invalid_dpop_proof', /"jti"/));
    expect(await verify(await proof({ jti: '' }))).toEqual(refusedWith('invalid_dpop_proof', /"jti"/));
    expect(await verify(await proof({ jti: 'j'.repeat(257) }))).toEqual(refusedWith('invalid_dpop_proof'));
    expect(await verify(await proof({ jti: 'j'.repeat(256) }))).toMatchObject({ ok: true });
  });

  it('refuses an ath that is not the hash of the access token, and a missing ath when a token is given', async () => {
    const accessToken = 'token-a';
    const athOfOther = createHash('sha256').update('token-b').digest('base64url');
    expect(await verify(await proof({ ath: athOfOther }), { accessToken })).toEqual(
      refusedWith('invalid_dpop_proof', /"ath"/),
    );
    expect(await verify(await proof(), { accessToken })).toEqual(refusedWith('invalid_dpop_proof', /"ath"/));
  });

  it('refuses a proof whose typ is missing or another', async () => {
    expect(await verify(await proof({}, { header: { typ: undefined } }))).toEqual(
      refusedWith('invalid_dpop_proof', /"typ"/),
    );
    expect(await verify(await proof({}, { header: { typ: 'JWT' } }))).toEqual(
      refusedWith('invalid_dpop_proof', /"typ"/),
    );
  });

  it('refuses a proof with alg none', async () => {
    const text = unsecured({ alg: 'none', typ: 'dpop+jwt', jwk: dpop.publicJwk }, proofClaims());
    expect(await verify(text)).toEqual(refusedWith('invalid_dpop_proof', /algorithm/));
  });

  it('refuses an HS256 proof, keyed with the embedded public key', async () => {
    const text = await proof({}, { alg: 'HS256', key: utf8(JSON.stringify(dpop.publicJwk)) });
    expect(await verify(text)).toEqual(refusedWith('invalid_dpop_proof', /algorithm/));
  });

  it('refuses a proof whose jwk header is a private key, or missing', async () => {
    const withD = await proof({}, { header: { jwk: dpop.privateJwk } });
    expect(await verify(withD)).toEqual(refusedWith('invalid_dpop_proof', /public key/));
    const withoutJwk = await proof({}, { header: { jwk: undefined } });
    expect(await verify(withoutJwk)).toEqual(refusedWith('invalid_dpop_proof', /"jwk"/));
  });

  it('refuses a proof signed by another key than the one it embeds', async () => {
    expect(await verify(await proof({}, { key: stranger.privateKey }))).toEqual(
      refusedWith('invalid_dpop_proof', /signature/),
    );
  });

  it('refuses a proof whose embedded key does not fit its algorithm', async () => {
    const p384 = await keyPair('ES384');
    const text = await proof({}, { alg: 'ES256', header: { jwk: p384.publicJwk } });
    expect(await verify(text)).toEqual(refusedWith('invalid_dpop_proof'));
  });

  it('refuses text that is not a JWT', async () => {
    expect(await verify('garbage')).toEqual(refusedWith('invalid_dpop_proof'));
  });
});

describe('access tokens', () => {
  let jkt: string;
  beforeAll(async () => {
    jkt = await calculateJwkThumbprint(dpop.publicJwk, 'sha256');
  });

  const issue = (ttlSeconds = 300, machine: MachineTokens = tokens) =>
    machine.issueAccessToken({ clientId: CLIENT_ID, accountId: ACCOUNT_ID, jkt, ttlSeconds });
  /** A token signed by hand, to get past the checks of issueAccessToken. */
  const handSigned = (
    overrides: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: CryptoKey | Uint8Array | TokenKey['privateKey'] = ours.privateKey,
  ): Promise<string> =>
    new SignJWT({
      iss: ISSUER,
      aud: API,
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      account_id: ACCOUNT_ID,
      cnf: { jkt },
      jti: randomUUID(),
      iat: now(),
      exp: now() + 300,
      ...overrides,
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: ours.kid, ...header })
      .sign(key);

  it('issues an ES256 at+jwt token with our kid, bound to the DPoP key, and verifies it', async () => {
    const { token, expiresIn } = await issue(300);
    expect(expiresIn).toBe(300);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: ours.kid });
    const payload = decodeJwt(token);
    expect(payload).toEqual({
      iss: ISSUER,
      aud: API,
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      account_id: ACCOUNT_ID,
      cnf: { jkt },
      iat: now(),
      exp: now() + 300,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect(await tokens.verifyAccessToken(token)).toEqual({
      ok: true,
      value: { clientId: CLIENT_ID, accountId: ACCOUNT_ID, jkt, jti: payload.jti, exp: now() + 300 },
    });
    expect((await issue(300)).token).not.toBe(token);
  });

  it('refuses to issue a token living less than 1 s, more than 600 s, or a fraction of seconds', async () => {
    for (const ttl of [0, -1, 601, 1.5, Number.NaN]) await expect(issue(ttl)).rejects.toThrow(RangeError);
    await expect(issue(600)).resolves.toMatchObject({ expiresIn: 600 });
    await expect(issue(1)).resolves.toMatchObject({ expiresIn: 1 });
  });

  it('accepts a token until its exp, and refuses it from then on, verified again or remembered', async () => {
    const { token } = await issue(60);
    expect(await tokens.verifyAccessToken(token)).toMatchObject({ ok: true });
    clock.advance(59_999);
    expect(await tokens.verifyAccessToken(token)).toMatchObject({ ok: true });
    clock.advance(1);
    expect(await tokens.verifyAccessToken(token)).toEqual(refusedWith('invalid_token', /expired/));
    expect(await tokensFor().verifyAccessToken(token)).toEqual(refusedWith('invalid_token', /expired/));
  });

  it('gives the same claims for a token verified again, with a cache of one or none', async () => {
    for (const size of [0, 1, 10_000]) {
      const machine = tokensFor({ verifiedTokenCacheSize: size });
      const first = await issue(300);
      const second = await issue(300);
      const a = await machine.verifyAccessToken(first.token);
      expect(a).toMatchObject({ ok: true });
      expect(await machine.verifyAccessToken(second.token)).toMatchObject({ ok: true });
      expect(await machine.verifyAccessToken(first.token)).toEqual(a);
      expect(await machine.verifyAccessToken(first.token)).toEqual(a);
    }
  });

  it('refuses a token with alg none, with or without our kid', async () => {
    const claims = decodeJwt((await issue()).token);
    expect(await tokens.verifyAccessToken(unsecured({ alg: 'none', typ: 'at+jwt' }, claims))).toEqual(
      refusedWith('invalid_token'),
    );
    expect(
      await tokens.verifyAccessToken(unsecured({ alg: 'none', typ: 'at+jwt', kid: ours.kid }, claims)),
    ).toEqual(refusedWith('invalid_token', /algorithm/));
  });

  it('refuses HS256 tokens keyed with our public key as JSON or PEM (key confusion)', async () => {
    const secrets = [
      JSON.stringify(ours.publicJwk),
      JSON.stringify({ crv: ours.publicJwk.crv, kty: 'EC', x: ours.publicJwk.x, y: ours.publicJwk.y }),
      pemOf(ours.publicJwk),
    ];
    for (const secret of secrets) {
      const forged = await handSigned({}, { alg: 'HS256' }, utf8(secret));
      expect(await tokens.verifyAccessToken(forged)).toEqual(refusedWith('invalid_token', /algorithm/));
    }
  });

  it('refuses a token for another audience or from another issuer', async () => {
    const otherApi = await issue(300, tokensFor({ audience: 'https://other-api.test' }));
    expect(await tokens.verifyAccessToken(otherApi.token)).toEqual(refusedWith('invalid_token', /"aud"/));
    const otherIssuer = await issue(300, tokensFor({ issuer: 'https://other-issuer.test' }));
    expect(await tokens.verifyAccessToken(otherIssuer.token)).toEqual(refusedWith('invalid_token', /"iss"/));
  });

  it('refuses a token whose payload was changed, even after the original was verified', async () => {
    const { token } = await issue();
    expect(await tokens.verifyAccessToken(token)).toMatchObject({ ok: true });
    const [header, payload, signature] = token.split('.');
    if (header === undefined || payload === undefined || signature === undefined) throw new Error('3 parts');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const tampered = `${header}.${json64({ ...claims, account_id: 'account-other' })}.${signature}`;
    expect(await tokens.verifyAccessToken(tampered)).toEqual(refusedWith('invalid_token', /signature/));
  });

  it('refuses a token whose typ is not at+jwt', async () => {
    for (const typ of ['JWT', 'application/at+jwt', undefined]) {
      expect(await tokens.verifyAccessToken(await handSigned({}, { typ }))).toEqual(
        refusedWith('invalid_token', /"typ"/),
      );
    }
  });

  it('refuses a token living longer than 600 s, though signed with our key', async () => {
    expect(await tokens.verifyAccessToken(await handSigned({ exp: now() + 600 }))).toMatchObject({
      ok: true,
    });
    expect(await tokens.verifyAccessToken(await handSigned({ exp: now() + 601 }))).toEqual(
      refusedWith('invalid_token', /600 seconds/),
    );
    expect(await tokens.verifyAccessToken(await handSigned({ iat: now() - 3600 }))).toEqual(
      refusedWith('invalid_token', /600 seconds/),
    );
  });

  it('refuses a token without exp, iat, jti, account or DPoP binding, though signed with our key', async () => {
    for (const missing of ['exp', 'iat', 'jti', 'sub', 'account_id', 'cnf']) {
      expect(await tokens.verifyAccessToken(await handSigned({ [missing]: undefined }))).toEqual(
        refusedWith('invalid_token'),
      );
    }
    expect(await tokens.verifyAccessToken(await handSigned({ cnf: { jkt: 7 } }))).toEqual(
      refusedWith('invalid_token', /cnf\.jkt/),
    );
    expect(await tokens.verifyAccessToken(await handSigned({ client_id: 'client-other' }))).toEqual(
      refusedWith('invalid_token'),
    );
  });

  it('refuses a token signed by another ES256 key under our kid', async () => {
    const forged = await handSigned({}, {}, stranger.privateKey);
    expect(await tokens.verifyAccessToken(forged)).toEqual(refusedWith('invalid_token', /signature/));
    const otherKid = await handSigned({}, { kid: 'another-key' });
    expect(await tokens.verifyAccessToken(otherKid)).toEqual(refusedWith('invalid_token', /key/));
  });

  it('refuses text that is not a JWT', async () => {
    expect(await tokens.verifyAccessToken('garbage')).toEqual(refusedWith('invalid_token', /well-formed/));
    expect(await tokens.verifyAccessToken('')).toEqual(refusedWith('invalid_token'));
  });
});
