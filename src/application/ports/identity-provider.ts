import type { Result } from '#app/domain/result.ts';
import type { JsonValue } from './json.ts';

export interface LoginProvider {
  /** A short stable id, in the login address: /auth/login/<id>. */
  readonly id: string;
  /** What the login page shows. */
  readonly name: string;
}

/** The start of a login: where to send the browser, and what to keep on the server until the callback. */
export interface LoginStart {
  readonly authorizationUrl: string;
  /** PKCE verifier, state, nonce, redirect URI: kept in the session, never sent to the browser. */
  readonly pending: JsonValue;
}

/** Who the provider says logged in. */
export interface VerifiedIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly email: string | null;
  readonly emailVerified: boolean;
  readonly name: string | null;
  /** The provider's tokens, kept server-side with the session. */
  readonly tokens: JsonValue;
}

export type LoginError = { readonly code: 'LOGIN_FAILED'; readonly message: string };

/**
 * OpenID Connect providers (discovered from their issuer): authorization code with PKCE (S256), state and nonce.
 * Several at once; the embedded default has its own local provider. A provider that cannot be reached is an
 * InfrastructureError LOGIN_PROVIDER_UNAVAILABLE; a callback that does not check out is LOGIN_FAILED.
 */
export interface IdentityProviders {
  providers(): readonly LoginProvider[];
  /** Null for an unknown provider id. */
  begin(providerId: string, redirectUri: string): Promise<LoginStart | null>;
  /** Checks the callback (state, code, PKCE, ID token, nonce) and returns the identity. */
  complete(
    providerId: string,
    pending: JsonValue,
    callbackUrl: string,
  ): Promise<Result<VerifiedIdentity, LoginError>>;
}
