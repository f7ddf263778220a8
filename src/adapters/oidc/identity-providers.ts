import {
  allowInsecureRequests as allowHttp,
  authorizationCodeGrant,
  AuthorizationResponseError,
  buildAuthorizationUrl,
  calculatePKCECodeChallenge,
  ClientError,
  ClientSecretBasic,
  type Configuration,
  discovery,
  None,
  randomNonce,
  randomPKCECodeVerifier,
  randomState,
  ResponseBodyError,
} from 'openid-client';
import type {
  IdentityProviders,
  LoginError,
  LoginProvider,
  VerifiedIdentity,
} from '#app/application/ports/identity-provider.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import { err, ok, type Result } from '#app/domain/result.ts';

/** One OpenID provider people may log in with. */
export interface OidcProviderConfig {
  /** Short and stable, in the login address (`/auth/login/<id>`): lower-case letters, digits and dashes. */
  readonly id: string;
  /** What the login page shows, e.g. "Google". */
  readonly name: string;
  /** Issuer identifier; its `/.well-known/openid-configuration` is read at the first login. */
  readonly issuer: string;
  readonly clientId: string;
  /** Sent with HTTP Basic authentication; absent for a public client (`token_endpoint_auth_method` none). */
  readonly clientSecret?: string;
  /** Space-separated; `openid email profile` when absent. */
  readonly scopes?: string;
}

export interface OidcIdentityProvidersOptions {
  readonly providers: readonly OidcProviderConfig[];
  /** Lets issuers be reached over plain http: only for the embedded provider on loopback, and tests. */
  readonly allowInsecureRequests?: boolean;
  /** Budget of each request to a provider (discovery, token); 10 s when absent. */
  readonly timeoutMs?: number;
}

const DEFAULT_SCOPES = 'openid email profile';
const DEFAULT_TIMEOUT_MS = 10_000;
const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** What `begin` keeps on the server until the callback. */
interface PendingLogin {
  readonly providerId: string;
  readonly verifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly redirectUri: string;
}

const parsePending = (value: JsonValue): PendingLogin | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as { readonly [key: string]: JsonValue };
  const fields = ['providerId', 'verifier', 'state', 'nonce', 'redirectUri'] as const;
  const strings: Partial<Record<(typeof fields)[number], string>> = {};
  for (const field of fields) {
    const text = record[field];
    if (typeof text !== 'string' || text === '') return null;
    strings[field] = text;
  }
  return strings as PendingLogin;
};

const loginFailed = (message: string): LoginError => Object.freeze({ code: 'LOGIN_FAILED', message });

/** Codes of openid-client meaning the provider could not be talked to, rather than a login that did not check out. */
const UNREACHABLE = new Set([
  'OAUTH_TIMEOUT',
  'OAUTH_ABORT',
  'OAUTH_RESPONSE_IS_NOT_CONFORM',
  'OAUTH_RESPONSE_IS_NOT_JSON',
  'OAUTH_HTTP_REQUEST_FORBIDDEN',
  'OAUTH_REQUEST_PROTOCOL_FORBIDDEN',
]);

const isArgumentError = (error: unknown): boolean =>
  error instanceof TypeError &&
  'code' in error &&
  typeof error.code === 'string' &&
  error.code.startsWith('ERR_INVALID_ARG');

const isUnreachable = (error: unknown): boolean => {
  if (error instanceof ResponseBodyError) return error.status >= 500;
  // fetch rejects with a bare TypeError when the connection fails.
  if (error instanceof TypeError) return !isArgumentError(error);
  return error instanceof ClientError && error.code !== undefined && UNREACHABLE.has(error.code);
};

/** An OAuth error code is safe to repeat (a fixed vocabulary); anything else from the wire is not. */
const oauthCode = (code: unknown): string =>
  typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? ` (${code})` : '';

/** A message that says what went wrong without repeating tokens, codes or the provider's free text. */
const failureMessage = (error: unknown): string => {
  if (error instanceof AuthorizationResponseError) {
    return `The provider did not authorize the login${oauthCode(error.error)}.`;
  }
  if (error instanceof ResponseBodyError) {
    return `The provider refused the authorization code${oauthCode(error.error)}.`;
  }
  if (error instanceof ClientError && error.code !== undefined) {
    return `The provider's answer did not check out (${error.code}).`;
  }
  return "The provider's answer did not check out.";
};

/**
 * OpenID Connect relying party over openid-client: authorization code with PKCE (S256), state and nonce, for every
 * configured provider (the embedded one included). A provider's discovery document is fetched at its first login,
 * kept once read, fetched again after a failure. Tokens never leave the server: they are returned with the identity
 * for the session store.
 */
export const createOidcIdentityProviders = (options: OidcIdentityProvidersOptions): IdentityProviders => {
  const byId = new Map<string, OidcProviderConfig>();
  for (const provider of options.providers) {
    if (!PROVIDER_ID.test(provider.id)) {
      throw new RangeError(`A login provider id is 1 to 32 of [a-z0-9-], starting with a letter or digit.`);
    }
    if (byId.has(provider.id)) throw new RangeError(`Two login providers share the id "${provider.id}".`);
    if (!URL.canParse(provider.issuer)) {
      throw new RangeError(`The issuer of login provider "${provider.id}" is not a URL.`);
    }
    byId.set(provider.id, provider);
  }
  const list: readonly LoginProvider[] = Object.freeze(
    options.providers.map((provider) => Object.freeze({ id: provider.id, name: provider.name })),
  );
  const timeoutSeconds = (options.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000;
  const configurations = new Map<string, Promise<Configuration>>();

  const unavailable = (provider: OidcProviderConfig, cause: unknown): InfrastructureError =>
    new InfrastructureError(
      'LOGIN_PROVIDER_UNAVAILABLE',
      `The login provider "${provider.name}" cannot be reached.`,
      {
        cause,
      },
    );

  const configurationOf = (provider: OidcProviderConfig): Promise<Configuration> => {
    const known = configurations.get(provider.id);
    if (known !== undefined) return known;
    const discovered = discovery(
      new URL(provider.issuer),
      provider.clientId,
      provider.clientSecret === undefined
        ? { token_endpoint_auth_method: 'none' }
        : { client_secret: provider.clientSecret, token_endpoint_auth_method: 'client_secret_basic' },
      provider.clientSecret === undefined ? None() : ClientSecretBasic(provider.clientSecret),
      {
        timeout: timeoutSeconds,
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- flagged only to stand out: loopback issuers
        ...(options.allowInsecureRequests === true ? { execute: [allowHttp] } : {}),
      },
    ).catch((error: unknown) => {
      configurations.delete(provider.id);
      throw unavailable(provider, error);
    });
    configurations.set(provider.id, discovered);
    return discovered;
  };

  return {
    providers: () => list,

    begin: async (providerId, redirectUri) => {
      const provider = byId.get(providerId);
      if (provider === undefined) return null;
      const configuration = await configurationOf(provider);
      const verifier = randomPKCECodeVerifier();
      const state = randomState();
      const nonce = randomNonce();
      const url = buildAuthorizationUrl(configuration, {
        redirect_uri: redirectUri,
        scope: provider.scopes ?? DEFAULT_SCOPES,
        code_challenge: await calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      const pending: PendingLogin = { providerId, verifier, state, nonce, redirectUri };
      return { authorizationUrl: url.href, pending: { ...pending } };
    },

    complete: async (
      providerId,
      pendingValue,
      callbackUrl,
    ): Promise<Result<VerifiedIdentity, LoginError>> => {
      const provider = byId.get(providerId);
      if (provider === undefined) return err(loginFailed('There is no such login provider.'));
      const pending = parsePending(pendingValue);
      if (pending === null) return err(loginFailed('No login is pending in this session.'));
      if (pending.providerId !== providerId) {
        return err(loginFailed('The pending login was started with another provider.'));
      }
      let response: URL;
      try {
        // The redirect URI sent at `begin`, whatever host or scheme the callback was reached through.
        response = new URL(pending.redirectUri);
        response.search = new URL(callbackUrl, pending.redirectUri).search;
      } catch {
        return err(loginFailed('The callback address is not a URL.'));
      }
      const configuration = await configurationOf(provider);
      try {
        const tokens = await authorizationCodeGrant(configuration, response, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (claims === undefined) return err(loginFailed('The provider returned no ID token.'));
        const expiresIn = tokens.expiresIn();
        const issuedTokens: { [key: string]: JsonValue } = { access_token: tokens.access_token };
        if (tokens.id_token !== undefined) issuedTokens['id_token'] = tokens.id_token;
        if (tokens.refresh_token !== undefined) issuedTokens['refresh_token'] = tokens.refresh_token;
        if (expiresIn !== undefined) issuedTokens['expires_at'] = Math.floor(Date.now() / 1000) + expiresIn;
        return ok(
          Object.freeze({
            issuer: configuration.serverMetadata().issuer,
            subject: claims.sub,
            email: typeof claims['email'] === 'string' ? claims['email'] : null,
            emailVerified: claims['email_verified'] === true,
            name: typeof claims['name'] === 'string' ? claims['name'] : null,
            tokens: issuedTokens,
          }),
        );
      } catch (error) {
        if (isArgumentError(error)) throw error;
        if (isUnreachable(error)) throw unavailable(provider, error);
        return err(loginFailed(failureMessage(error)));
      }
    },
  };
};
