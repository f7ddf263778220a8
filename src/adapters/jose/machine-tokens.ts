import { createHash, randomUUID } from 'node:crypto';
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Clock } from '#app/application/ports/clock.ts';
import type {
  AccessTokenClaims,
  DpopProof,
  MachineAuthError,
  MachineTokens,
  PublicJwk,
} from '#app/application/ports/machine-tokens.ts';
import { err, ok, type Result } from '#app/domain/result.ts';
import type { TokenKey } from './token-key.ts';

/** Where our access tokens come from and whom they are for, and the key that signs them. */
export interface JoseMachineTokensOptions {
  readonly clock: Clock;
  /** Our issuer identifier: the `iss` of every access token. */
  readonly issuer: string;
  /** The API the access tokens are for: their `aud`. */
  readonly audience: string;
  readonly key: TokenKey;
  /** How many verified access tokens are remembered, so a token used again skips the signature check. */
  readonly verifiedTokenCacheSize?: number;
}

const MAX_ACCESS_TOKEN_SECONDS = 600;
/** How many distinct DPoP keys stay imported. */
const PROOF_KEY_CACHE_SIZE = 1000;
const MAX_ASSERTION_AHEAD_SECONDS = 300;
const ASSERTION_CLOCK_TOLERANCE_SECONDS = 30;
const DPOP_IAT_PAST_SECONDS = 60;
const DPOP_IAT_FUTURE_SECONDS = 5;
const MAX_JTI_LENGTH = 256;
const MIN_RSA_BITS = 2048;
const P256_COORDINATE_BYTES = 32;
const DEFAULT_CACHE_SIZE = 10_000;

const ACCESS_TOKEN_TYP = 'at+jwt';
const DPOP_TYP = 'dpop+jwt';
const EC_ALGORITHMS = ['ES256'] as const;
const RSA_ALGORITHMS = ['PS256', 'RS256'] as const;
const DPOP_ALGORITHMS: readonly string[] = ['ES256', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
/** Members that only a private or a symmetric key has (RFC 7518 section 6, RFC 8037, ML-DSA's `priv`). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

type Subject = 'client assertion' | 'DPoP proof' | 'access token';

const epochSeconds = (clock: Clock): number => Math.floor(clock.now().getTime() / 1000);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const base64urlBytes = (value: unknown): Buffer | undefined =>
  typeof value === 'string' && BASE64URL.test(value) ? Buffer.from(value, 'base64url') : undefined;

const modulusBits = (modulus: Buffer): number => {
  const start = modulus.findIndex((byte) => byte !== 0);
  if (start < 0) return 0;
  return (modulus.length - start - 1) * 8 + (modulus[start] ?? 0).toString(2).length;
};

const hasPrivateMembers = (jwk: Readonly<Record<string, unknown>>): boolean =>
  PRIVATE_MEMBERS.some((member) => Object.hasOwn(jwk, member));

/** An API client's key as we accept it: only its public members, and the algorithms it may sign with. */
interface ClientKey {
  readonly jwk: JWK;
  readonly algorithms: readonly string[];
  readonly jkt: string;
}

/**
 * Checks a client's JWK: public EC P-256 (ES256) or public RSA of 2048 bits or more (PS256, RS256). An `alg`
 * member narrows the algorithms to that one; a `use` member must be `sig`. The key is imported once, so a point
 * off the curve is refused here rather than at the first assertion.
 */
const inspectClientKey = async (jwk: PublicJwk): Promise<Result<ClientKey, { readonly message: string }>> => {
  const refused = (message: string) => err({ message });
  if (!isObject(jwk)) return refused('the key is not a JSON object');
  if (hasPrivateMembers(jwk)) {
    return refused('the key has private or secret members: register the public key only');
  }
  let publicJwk: JWK;
  let algorithms: readonly string[];
  if (jwk.kty === 'EC') {
    if (jwk.crv !== 'P-256') return refused('EC keys must be on the P-256 curve');
    const { x, y } = jwk;
    if (
      typeof x !== 'string' ||
      typeof y !== 'string' ||
      base64urlBytes(x)?.length !== P256_COORDINATE_BYTES ||
      base64urlBytes(y)?.length !== P256_COORDINATE_BYTES
    ) {
      return refused('the EC key has malformed x or y coordinates');
    }
    publicJwk = { kty: 'EC', crv: 'P-256', x, y };
    algorithms = EC_ALGORITHMS;
  } else if (jwk.kty === 'RSA') {
    const { n, e } = jwk;
    const modulus = base64urlBytes(n);
    const exponent = base64urlBytes(e);
    if (typeof n !== 'string' || typeof e !== 'string' || modulus === undefined || exponent === undefined) {
      return refused('the RSA key has a malformed modulus or exponent');
    }
    if (modulusBits(modulus) < MIN_RSA_BITS) {
      return refused(`RSA keys must have a modulus of at least ${MIN_RSA_BITS} bits`);
    }
    publicJwk = { kty: 'RSA', n, e };
    algorithms = RSA_ALGORITHMS;
  } else {
    return refused(`only EC P-256 and RSA (${MIN_RSA_BITS} bits or more) public keys are accepted`);
  }
  if (jwk.use !== undefined && jwk.use !== 'sig')
    return refused('the key\'s "use" must be "sig" when present');
  if (jwk.alg !== undefined) {
    const { alg } = jwk;
    if (typeof alg !== 'string' || !algorithms.includes(alg)) {
      return refused(`the key's "alg" must be one of ${algorithms.join(', ')} when present`);
    }
    algorithms = [alg];
  }
  const [firstAlgorithm] = algorithms;
  try {
    await importJWK(publicJwk, firstAlgorithm);
  } catch {
    return refused('the key is not a valid public key');
  }
  return ok({ jwk: publicJwk, algorithms, jkt: await calculateJwkThumbprint(publicJwk, 'sha256') });
};

/** Why jose refused a JWT, in words that name the claim or the check, never the token's contents. */
const reasonOf = (error: unknown, subject: Subject): string => {
  if (error instanceof errors.JWTExpired) return `the ${subject} has expired`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'typ') return `the ${subject} has the wrong "typ" header`;
    if (error.reason === 'missing') return `the ${subject} has no "${error.claim}" claim`;
    if (error.claim === 'nbf') return `the ${subject} is not valid yet`;
    return `the ${subject}'s "${error.claim}" claim is not the expected value`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return `the ${subject} is signed with an algorithm that is not accepted`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return `the ${subject}'s signature does not verify`;
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return `the ${subject} is not a well-formed signed JWT`;
  }
  // jose throws TypeError for a key that cannot verify with the token's algorithm (a curve or type mismatch).
  return `the ${subject} cannot be verified with its key`;
};

const nonEmptyString = (value: unknown, maxLength = Number.POSITIVE_INFINITY): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= maxLength;

/**
 * The form of an `htu` that is compared: scheme and host in lower case, the scheme's default port dropped, dot
 * segments resolved, no query, no fragment (RFC 9449 section 4.3). Only http and https.
 */
const normaliseHtu = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  return `${url.origin}${url.pathname}`;
};

const accessTokenHash = (accessToken: string): string =>
  createHash('sha256').update(accessToken, 'utf8').digest('base64url');

/**
 * Machine-access cryptography on jose. Client assertions verify with the client's registered key, ES256 for EC,
 * PS256 or RS256 for RSA, with 30 s of clock tolerance on exp and nbf; DPoP proofs with the key they embed,
 * which must be public (ES256, PS256, RS256 or EdDSA); access tokens are ES256 JWTs signed with `key`, typ
 * at+jwt, and verify only with that key. Verified access tokens are remembered (least recently used first out)
 * until they expire by the clock, so a client reusing a token is not checked again at each call.
 */
export const createJoseMachineTokens = (options: JoseMachineTokensOptions): MachineTokens => {
  const { clock, issuer, audience, key } = options;
  const cacheSize = options.verifiedTokenCacheSize ?? DEFAULT_CACHE_SIZE;
  if (!Number.isInteger(cacheSize) || cacheSize < 0) {
    throw new RangeError('verifiedTokenCacheSize is a whole number of tokens');
  }
  const verified = new Map<string, AccessTokenClaims>();
  /**
   * The DPoP keys seen lately, imported, with their thumbprints: a client signs every proof with the same key, and
   * importing it again for each request was half the cost of checking a proof. Keyed by the algorithm and the
   * key's public members, so a cached key is only ever used for exactly that key.
   */
  const proofKeys = new Map<
    string,
    Promise<{ readonly key: CryptoKey | Uint8Array; readonly jkt: string }>
  >();
  const proofKeyOf = (jwk: JWK, alg: string) => {
    const id = `${alg} ${JSON.stringify([jwk.kty, jwk.crv, jwk.x, jwk.y, jwk.n, jwk.e])}`;
    let entry = proofKeys.get(id);
    if (entry === undefined) {
      entry = Promise.all([importJWK(jwk, alg), calculateJwkThumbprint(jwk, 'sha256')]).then(
        ([key, jkt]) => ({
          key,
          jkt,
        }),
      );
      // A key that cannot be imported is not remembered: each proof with it is refused on its own.
      entry.catch(() => proofKeys.delete(id));
      if (proofKeys.size >= PROOF_KEY_CACHE_SIZE) {
        const oldest = proofKeys.keys().next();
        if (oldest.done !== true) proofKeys.delete(oldest.value);
      }
    } else {
      proofKeys.delete(id);
    }
    proofKeys.set(id, entry);
    return entry;
  };
  let verificationKey: Promise<CryptoKey | Uint8Array> | undefined;
  const publicKey = (): Promise<CryptoKey | Uint8Array> => {
    verificationKey ??= importJWK(key.publicJwk, 'ES256');
    return verificationKey;
  };

  const remember = (token: string, claims: AccessTokenClaims): void => {
    if (cacheSize === 0) return;
    verified.delete(token);
    verified.set(token, claims);
    if (verified.size > cacheSize) {
      const oldest = verified.keys().next();
      if (oldest.done !== true) verified.delete(oldest.value);
    }
  };

  const recall = (token: string): AccessTokenClaims | undefined => {
    const claims = verified.get(token);
    if (claims === undefined) return undefined;
    verified.delete(token);
    if (epochSeconds(clock) >= claims.exp) return undefined;
    verified.set(token, claims);
    return claims;
  };

  const refuseToken = (message: string) => err<MachineAuthError>({ code: 'invalid_token', message });
  const refuseProof = (message: string) => err<MachineAuthError>({ code: 'invalid_dpop_proof', message });
  const refuseClient = (message: string) => err<MachineAuthError>({ code: 'invalid_client', message });

  return {
    checkClientKey: async (jwk) => {
      const inspected = await inspectClientKey(jwk);
      return inspected.ok ? ok({ jkt: inspected.value.jkt }) : inspected;
    },

    assertionClientId: (assertion) => {
      try {
        const { iss, sub } = decodeJwt(assertion);
        return nonEmptyString(sub) && sub === iss ? sub : null;
      } catch {
        return null;
      }
    },

    verifyClientAssertion: async (assertion, expected) => {
      const clientKey = await inspectClientKey(expected.jwk);
      if (!clientKey.ok)
        return refuseClient(`the client's registered key is refused: ${clientKey.error.message}`);
      const { jwk, algorithms } = clientKey.value;
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(assertion, async (header) => importJWK(jwk, header.alg), {
          algorithms: [...algorithms],
          issuer: expected.clientId,
          subject: expected.clientId,
          audience: [...expected.audiences],
          requiredClaims: ['exp', 'jti'],
          currentDate: clock.now(),
          clockTolerance: ASSERTION_CLOCK_TOLERANCE_SECONDS,
        }));
      } catch (error) {
        return refuseClient(reasonOf(error, 'client assertion'));
      }
      const { exp, jti, aud } = payload;
      if (exp === undefined || exp - epochSeconds(clock) > MAX_ASSERTION_AHEAD_SECONDS) {
        return refuseClient(
          `the client assertion expires more than ${MAX_ASSERTION_AHEAD_SECONDS} seconds ahead`,
        );
      }
      if (!nonEmptyString(jti, MAX_JTI_LENGTH)) {
        return refuseClient(
          `the client assertion's "jti" is not a string of 1 to ${MAX_JTI_LENGTH} characters`,
        );
      }
      // One audience only: an assertion naming other servers too could be replayed at them.
      if (Array.isArray(aud) && aud.length !== 1) {
        return refuseClient('the client assertion must name this server as its only audience');
      }
      return ok({ jti, exp });
    },

    verifyDpopProof: async (proof, expected): Promise<Result<DpopProof, MachineAuthError>> => {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(proof);
      } catch {
        return refuseProof('the DPoP proof is not a well-formed signed JWT');
      }
      if (header.typ !== DPOP_TYP) return refuseProof(`the DPoP proof's "typ" header must be "${DPOP_TYP}"`);
      if (typeof header.alg !== 'string' || !DPOP_ALGORITHMS.includes(header.alg)) {
        return refuseProof('the DPoP proof is signed with an algorithm that is not accepted');
      }
      const { jwk } = header;
      if (!isObject(jwk)) return refuseProof('the DPoP proof has no "jwk" header');
      if (hasPrivateMembers(jwk)) return refuseProof('the DPoP proof\'s "jwk" header must be a public key');
      let payload: JWTPayload;
      let jkt: string;
      try {
        const proofKey = await proofKeyOf(jwk, header.alg);
        jkt = proofKey.jkt;
        ({ payload } = await jwtVerify(proof, proofKey.key, {
          algorithms: [header.alg],
          typ: DPOP_TYP,
          currentDate: clock.now(),
        }));
      } catch (error) {
        return refuseProof(reasonOf(error, 'DPoP proof'));
      }
      const { htm, htu, iat, jti, ath } = payload;
      if (htm !== expected.htm) return refuseProof('the DPoP proof\'s "htm" is not the request\'s method');
      const requestUri = normaliseHtu(expected.htu);
      if (requestUri === undefined || normaliseHtu(htu) !== requestUri) {
        return refuseProof('the DPoP proof\'s "htu" is not the request\'s URI');
      }
      const now = epochSeconds(clock);
      if (typeof iat !== 'number' || !Number.isFinite(iat)) {
        return refuseProof('the DPoP proof has no numeric "iat" claim');
      }
      if (iat < now - DPOP_IAT_PAST_SECONDS) return refuseProof('the DPoP proof was issued too long ago');
      if (iat > now + DPOP_IAT_FUTURE_SECONDS) return refuseProof('the DPoP proof is issued in the future');
      if (!nonEmptyString(jti, MAX_JTI_LENGTH)) {
        return refuseProof(`the DPoP proof's "jti" is not a string of 1 to ${MAX_JTI_LENGTH} characters`);
      }
      if (expected.accessToken !== undefined) {
        if (typeof ath !== 'string')
          return refuseProof('the DPoP proof has no "ath" claim for the access token');
        if (ath !== accessTokenHash(expected.accessToken)) {
          return refuseProof('the DPoP proof\'s "ath" is not the hash of the access token');
        }
      }
      return ok({ jkt, jti, iat });
    },

    issueAccessToken: async ({ clientId, accountId, jkt, ttlSeconds }) => {
      if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_ACCESS_TOKEN_SECONDS) {
        throw new RangeError(`an access token lives 1 to ${MAX_ACCESS_TOKEN_SECONDS} whole seconds`);
      }
      if (!nonEmptyString(clientId) || !nonEmptyString(accountId) || !nonEmptyString(jkt)) {
        throw new TypeError('an access token needs a client id, an account id and a DPoP key thumbprint');
      }
      const iat = epochSeconds(clock);
      const token = await new SignJWT({ client_id: clientId, account_id: accountId, cnf: { jkt } })
        .setProtectedHeader({ alg: 'ES256', typ: ACCESS_TOKEN_TYP, kid: key.kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(clientId)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttlSeconds)
        .setJti(randomUUID())
        .sign(key.privateKey);
      return { token, expiresIn: ttlSeconds };
    },

    verifyAccessToken: async (token) => {
      const remembered = recall(token);
      if (remembered !== undefined) return ok(remembered);
      let kid: unknown;
      try {
        ({ kid } = decodeProtectedHeader(token));
      } catch {
        return refuseToken('the access token is not a well-formed signed JWT');
      }
      if (kid !== key.kid) return refuseToken('the access token is not signed by our current key');
      let payload: JWTPayload;
      try {
        let protectedHeader;
        ({ payload, protectedHeader } = await jwtVerify(token, await publicKey(), {
          algorithms: ['ES256'],
          typ: ACCESS_TOKEN_TYP,
          issuer,
          audience,
          requiredClaims: ['exp', 'iat', 'jti', 'sub'],
          currentDate: clock.now(),
        }));
        // jose compares media types loosely (application/ prefix, case); ours are issued exactly so.
        if (protectedHeader.typ !== ACCESS_TOKEN_TYP) {
          return refuseToken(`the access token's "typ" header must be "${ACCESS_TOKEN_TYP}"`);
        }
      } catch (error) {
        return refuseToken(reasonOf(error, 'access token'));
      }
      const { sub, exp, iat, jti, cnf, client_id: clientIdClaim, account_id: accountId } = payload;
      if (exp === undefined || iat === undefined || exp - iat > MAX_ACCESS_TOKEN_SECONDS || exp <= iat) {
        return refuseToken(`the access token lives longer than ${MAX_ACCESS_TOKEN_SECONDS} seconds`);
      }
      if (!nonEmptyString(sub) || !nonEmptyString(jti)) {
        return refuseToken('the access token has no client or no token id');
      }
      if (!nonEmptyString(accountId)) return refuseToken('the access token has no account');
      if (clientIdClaim !== undefined && clientIdClaim !== sub) {
        return refuseToken('the access token names two different clients');
      }
      if (!isObject(cnf) || !nonEmptyString(cnf.jkt)) {
        return refuseToken('the access token is not bound to a DPoP key (cnf.jkt)');
      }
      const claims: AccessTokenClaims = Object.freeze({ clientId: sub, accountId, jkt: cnf.jkt, jti, exp });
      remember(token, claims);
      return ok(claims);
    },
  };
};
