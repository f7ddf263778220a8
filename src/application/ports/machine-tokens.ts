import type { Result } from '#app/domain/result.ts';

/** A public JWK as received (an object of string members). */
export type PublicJwk = Readonly<Record<string, unknown>>;

/** What a verified DPoP proof (RFC 9449) says. */
export interface DpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key. */
  readonly jkt: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
}

/** What a verified access token says. */
export interface AccessTokenClaims {
  /** The API client (sub). */
  readonly clientId: string;
  readonly accountId: string;
  /** The DPoP key it is bound to (cnf.jkt). */
  readonly jkt: string;
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly exp: number;
}

/**
 * Why a proof, an assertion or a token was refused. DPoP errors map to `WWW-Authenticate: DPoP error=...`:
 * invalid_dpop_proof for the proof, invalid_token for the token, invalid_client for the client assertion.
 */
export type MachineAuthError = {
  readonly code: 'invalid_dpop_proof' | 'invalid_token' | 'invalid_client';
  readonly message: string;
};

/**
 * The cryptography of machine access: client assertions (private_key_jwt, RFC 7523), DPoP proofs (RFC 9449) and
 * our ES256 JWT access tokens (RFC 9068 shape: iss, aud, sub, exp at most 10 minutes, jti, cnf.jkt). Time comes
 * from the Clock given to the adapter. Replay (jti) is the caller's: see ReplayCache.
 */
export interface MachineTokens {
  /** Checks that a JWK is a public key we accept: EC P-256, or RSA of 2048 bits or more; returns its thumbprint. */
  checkClientKey(jwk: PublicJwk): Promise<Result<{ readonly jkt: string }, { readonly message: string }>>;
  /** The client id an assertion claims to be from (its `sub`, equal to `iss`), read without verifying it. */
  assertionClientId(assertion: string): string | null;
  /**
   * Verifies a client assertion: signed by `jwk` (ES256 or PS256/RS256 as the key allows, never `none` or an
   * HMAC), iss = sub = clientId, aud = one of `audiences` (our issuer identifier, which current advice recommends,
   * or the token endpoint's URL) and nothing else, exp in the future and at most 5 minutes
   * ahead, jti present.
   */
  verifyClientAssertion(
    assertion: string,
    expected: { readonly clientId: string; readonly jwk: PublicJwk; readonly audiences: readonly string[] },
  ): Promise<Result<{ readonly jti: string; readonly exp: number }, MachineAuthError>>;
  /**
   * Verifies a DPoP proof: typ dpop+jwt, an asymmetric alg, a public `jwk` header, signature, htm and htu equal
   * to the request's (htu without query and fragment), iat within the window (60 s past, 5 s ahead), jti
   * present, and when `accessToken` is given, ath = base64url(SHA-256(accessToken)).
   */
  verifyDpopProof(
    proof: string,
    expected: { readonly htm: string; readonly htu: string; readonly accessToken?: string },
  ): Promise<Result<DpopProof, MachineAuthError>>;
  /** Issues an access token for a client, bound to the DPoP key `jkt`, valid `ttlSeconds` (at most 600). */
  issueAccessToken(claims: {
    readonly clientId: string;
    readonly accountId: string;
    readonly jkt: string;
    readonly ttlSeconds: number;
  }): Promise<{ readonly token: string; readonly expiresIn: number }>;
  /** Verifies one of our access tokens: ES256 by our key, iss, aud, exp, typ at+jwt. */
  verifyAccessToken(token: string): Promise<Result<AccessTokenClaims, MachineAuthError>>;
}
