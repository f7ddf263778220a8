import { err, ok, type Result } from '#app/domain/result.ts';
import type { ApiClientStore } from '../ports/account-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { MachineAuthError, MachineTokens } from '../ports/machine-tokens.ts';
import type { ReplayCache } from '../ports/replay-cache.ts';
import type { Principal } from './access.ts';

export interface MachineAccessDeps {
  readonly tokens: MachineTokens;
  readonly replay: ReplayCache;
  readonly apiClients: ApiClientStore;
  readonly clock: Clock;
  /** How long an access token is valid, in seconds (at most 600); 300 by default. */
  readonly tokenTtlSeconds?: number;
  /**
   * Our issuer identifier: a client assertion may name it as its audience (what current advice recommends) instead
   * of the token endpoint's URL.
   */
  readonly issuer?: string;
}

/** A token request, as posted to the token endpoint (each form field undefined when absent). */
export interface TokenRequest {
  readonly grantType: string | undefined;
  readonly clientAssertionType: string | undefined;
  readonly clientAssertion: string | undefined;
  /** The DPoP header. */
  readonly dpopProof: string | undefined;
  /** The token endpoint's own URL: the assertion's audience and the proof's htu. */
  readonly tokenEndpointUrl: string;
}

export interface IssuedToken {
  readonly accessToken: string;
  readonly tokenType: 'DPoP';
  readonly expiresIn: number;
}

/** RFC 6749 section 5.2 error codes, plus RFC 9449's invalid_dpop_proof. */
export type TokenError = {
  readonly code: 'invalid_request' | 'unsupported_grant_type' | 'invalid_client' | 'invalid_dpop_proof';
  readonly message: string;
};

/** An API request's credentials: `Authorization: DPoP <accessToken>` and the DPoP header, with its method and URL. */
export interface MachineRequest {
  readonly accessToken: string;
  readonly dpopProof: string | undefined;
  readonly htm: string;
  readonly htu: string;
}

export type ClientPrincipal = Extract<Principal, { readonly kind: 'client' }>;

export interface MachineAccess {
  issueToken(input: TokenRequest): Promise<Result<IssuedToken, TokenError>>;
  authenticate(input: MachineRequest): Promise<Result<ClientPrincipal, MachineAuthError>>;
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A proof is accepted up to 60 s after its iat (and 5 s before): its id is remembered a little longer. */
const DPOP_JTI_TTL_MS = 120_000;
/** How long past its expiry an assertion's id is remembered, for clock skew. */
const ASSERTION_JTI_GRACE_SECONDS = 60;
const DEFAULT_TTL_SECONDS = 300;

// One message for an unknown and a revoked client, so the endpoint does not tell which ids exist.
const CLIENT_REFUSED = 'Client authentication failed.';

/**
 * Machine-to-machine access for ERPs: the OAuth 2.0 client-credentials grant, authenticated by a private-key JWT
 * (RFC 7523), issuing access tokens bound to a DPoP key (RFC 9449), and the check of each API request made with
 * such a token.
 *
 * issueToken: grant_type client_credentials (else unsupported_grant_type; missing fields are invalid_request);
 * the client assertion must be from a registered, unrevoked client, signed by its key, for this endpoint, and
 * never seen before (invalid_client, with the same message whether the client is unknown, revoked or the
 * assertion wrong); the DPoP proof must be present, valid for POST on this endpoint and never seen before
 * (invalid_dpop_proof). The token is bound to the proof's key.
 *
 * authenticate: the token must be ours and unexpired (invalid_token); a proof of possession of the key it is
 * bound to must come with it, for this method and URL, carrying the token's hash, never seen before
 * (invalid_dpop_proof); the client must still exist and not be revoked (invalid_token), so a revocation takes
 * effect at the next request. Proof and assertion ids are remembered in the ReplayCache, which fails closed.
 */
export const makeMachineAccess = (deps: MachineAccessDeps): MachineAccess => {
  const ttlSeconds = deps.tokenTtlSeconds ?? DEFAULT_TTL_SECONDS;
  const nowSeconds = (): number => deps.clock.now().getTime() / 1000;

  return {
    issueToken: async (input) => {
      const tokenError = (code: TokenError['code'], message: string) => err({ code, message });
      if (input.grantType === undefined || input.grantType === '') {
        return tokenError('invalid_request', 'grant_type is required.');
      }
      if (input.grantType !== 'client_credentials') {
        return tokenError('unsupported_grant_type', 'Only the client_credentials grant is supported.');
      }
      if (input.clientAssertionType !== CLIENT_ASSERTION_TYPE) {
        return tokenError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}.`);
      }
      if (input.clientAssertion === undefined || input.clientAssertion === '') {
        return tokenError('invalid_request', 'client_assertion is required.');
      }
      if (input.dpopProof === undefined || input.dpopProof === '') {
        return tokenError('invalid_dpop_proof', 'A DPoP proof is required: tokens are bound to a key.');
      }

      const clientId = deps.tokens.assertionClientId(input.clientAssertion);
      const client = clientId === null ? null : await deps.apiClients.get(clientId);
      if (client === null || client.revokedAt !== null) return tokenError('invalid_client', CLIENT_REFUSED);
      const assertion = await deps.tokens.verifyClientAssertion(input.clientAssertion, {
        clientId: client.id,
        jwk: client.publicJwk,
        audiences:
          deps.issuer === undefined ? [input.tokenEndpointUrl] : [input.tokenEndpointUrl, deps.issuer],
      });
      if (!assertion.ok) return tokenError('invalid_client', assertion.error.message);
      const assertionTtlMs = Math.max(
        1,
        Math.ceil((assertion.value.exp + ASSERTION_JTI_GRACE_SECONDS - nowSeconds()) * 1000),
      );
      if (!(await deps.replay.firstUse(`assertion:${client.id}:${assertion.value.jti}`, assertionTtlMs))) {
        return tokenError('invalid_client', 'This client assertion was already used.');
      }

      const proof = await deps.tokens.verifyDpopProof(input.dpopProof, {
        htm: 'POST',
        htu: input.tokenEndpointUrl,
      });
      if (!proof.ok) return tokenError('invalid_dpop_proof', proof.error.message);
      if (!(await deps.replay.firstUse(`dpop:${proof.value.jkt}:${proof.value.jti}`, DPOP_JTI_TTL_MS))) {
        return tokenError('invalid_dpop_proof', 'This DPoP proof was already used.');
      }

      const issued = await deps.tokens.issueAccessToken({
        clientId: client.id,
        accountId: client.accountId,
        jkt: proof.value.jkt,
        ttlSeconds,
      });
      return ok({ accessToken: issued.token, tokenType: 'DPoP', expiresIn: issued.expiresIn });
    },

    authenticate: async (input) => {
      const token = await deps.tokens.verifyAccessToken(input.accessToken);
      if (!token.ok) return token;
      if (input.dpopProof === undefined || input.dpopProof === '') {
        return err({
          code: 'invalid_dpop_proof',
          message: 'A DPoP proof is required with a DPoP-bound token.',
        });
      }
      const proof = await deps.tokens.verifyDpopProof(input.dpopProof, {
        htm: input.htm,
        htu: input.htu,
        accessToken: input.accessToken,
      });
      if (!proof.ok) return proof;
      if (proof.value.jkt !== token.value.jkt) {
        return err({
          code: 'invalid_dpop_proof',
          message: 'the proof is not signed by the key the token is bound to',
        });
      }
      if (!(await deps.replay.firstUse(`dpop:${proof.value.jkt}:${proof.value.jti}`, DPOP_JTI_TTL_MS))) {
        return err({ code: 'invalid_dpop_proof', message: 'This DPoP proof was already used.' });
      }
      const client = await deps.apiClients.get(token.value.clientId);
      if (client === null || client.revokedAt !== null || client.accountId !== token.value.accountId) {
        return err({ code: 'invalid_token', message: 'The client of this token is no longer registered.' });
      }
      return ok({ kind: 'client', clientId: client.id, accountId: client.accountId, role: client.role });
    },
  };
};
