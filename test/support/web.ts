import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { loadConfig } from '#app/config/config.ts';
import type { StageName } from '#app/http/pipeline.ts';
import { compose, type App } from '#app/main/compose.ts';
import { composeWeb } from '#app/main/web.ts';

/** A free loopback port (the OpenID issuer names the port, so it is known before the server starts). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => {
        resolve(port);
      });
    });
  });

export interface WebHarness {
  /** http://127.0.0.1:<port>: the public URL and the address the server listens on. */
  readonly baseUrl: string;
  /** The data directory the server was started with (its keys under `keys/`); removed at close. */
  readonly dataDir: string;
  readonly app: App;
  readonly server: FastifyInstance;
  close(): Promise<void>;
}

export interface WebOptions {
  /** The public URL, when not the server's own address (instances behind one name, as in production). */
  readonly publicUrl?: string;
  /** Extra environment (budgets, trusted hosts, CORS...). */
  readonly env?: Readonly<Record<string, string>>;
  /** An open, migrated database to use instead of the data directory's embedded one. */
  readonly database?: SqlDatabase;
  readonly onStage?: (name: StageName, request: FastifyRequest) => void;
}

/**
 * The whole product as `npm start` runs it — registry sandbox, embedded database (or the one given), local
 * signing key, files, the embedded OpenID provider under /oidc — listening on a free loopback port.
 */
export const startWeb = async (options: WebOptions = {}): Promise<WebHarness> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'vigilance-web-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${String(port)}`;
  const config = loadConfig({
    VIGILANCE_REGISTRIES: 'sandbox',
    VIGILANCE_DATA_DIR: dataDir,
    VIGILANCE_PUBLIC_URL: options.publicUrl ?? baseUrl,
    PORT: String(port),
    VIGILANCE_INLINE_WORKER: 'false',
    VIGILANCE_API_REQUESTS_PER_MINUTE: '100000',
    VIGILANCE_API_WRITES_PER_MINUTE: '100000',
    VIGILANCE_LOGIN_REQUESTS_PER_MINUTE: '100000',
    VIGILANCE_TOKEN_REQUESTS_PER_MINUTE: '100000',
    VIGILANCE_VERIFY_PAGES_PER_MINUTE: '100000',
    VIGILANCE_LOCAL_LOGIN: 'on',
    ...options.env,
  });
  if (!config.ok) throw new Error(config.error.message);
  const app = await compose(
    config.value,
    options.database === undefined ? {} : { database: options.database },
  );
  try {
    const server = await composeWeb(app, options.onStage === undefined ? {} : { onStage: options.onStage });
    await server.listen({ host: '127.0.0.1', port });
    return {
      baseUrl,
      dataDir,
      app,
      server,
      close: async () => {
        await server.close();
        await app.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
};

interface StoredCookie {
  readonly value: string;
  readonly path: string;
}

/** A browser in miniature: a cookie jar (paths honoured), redirects followed by hand, the CSRF header echoed. */
export interface Browser {
  /** A request to the server; cookies sent and kept. Unsafe methods carry the CSRF token when there is one. */
  fetch(path: string, init?: RequestInit & { readonly csrf?: boolean }): Promise<Response>;
  cookie(name: string): string | undefined;
  /** Follows redirects (303/302/301/307) from a response, keeping cookies; returns the final response. */
  follow(response: Response): Promise<Response>;
}

export const newBrowser = (baseUrl: string): Browser => {
  const jar = new Map<string, StoredCookie>();
  const keep = (response: Response, url: URL): void => {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = decodeURIComponent(pair.slice(eq + 1));
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? url.pathname;
      const maxAge = attributes.find((a) => a.toLowerCase().startsWith('max-age='));
      const expired = attributes.some(
        (a) => a.toLowerCase().startsWith('expires=') && Date.parse(a.slice(8)) < Date.now(),
      );
      if (maxAge === 'Max-Age=0' || value === '' || expired) jar.delete(name);
      else jar.set(name, { value, path });
    }
  };
  const cookieHeader = (url: URL): string =>
    [...jar.entries()]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${encodeURIComponent(c.value)}`)
      .join('; ');
  const browser: Browser = {
    fetch: async (path, init = {}) => {
      const url = new URL(path, baseUrl);
      const headers = new Headers(init.headers);
      const cookies = cookieHeader(url);
      if (cookies !== '') headers.set('cookie', cookies);
      const method = (init.method ?? 'GET').toUpperCase();
      const csrf = jar.get('__Host-vigilance_csrf')?.value;
      if (
        init.csrf !== false &&
        csrf !== undefined &&
        !['GET', 'HEAD'].includes(method) &&
        !headers.has('x-csrf-token')
      ) {
        headers.set('x-csrf-token', csrf);
      }
      const response = await fetch(url, { ...init, headers, redirect: 'manual' });
      keep(response, url);
      return response;
    },
    cookie: (name) => jar.get(name)?.value,
    follow: async (response) => {
      let current = response;
      for (let hops = 0; hops < 20 && [301, 302, 303, 307].includes(current.status); hops += 1) {
        const location = current.headers.get('location');
        if (location === null) break;
        await current.arrayBuffer();
        current = await browser.fetch(location);
      }
      return current;
    },
  };
  return browser;
};

/**
 * Logs a person in through the embedded OpenID provider, the way a browser does: the login route (PKCE), the
 * provider's page, its form, the redirects, the callback. Returns the logged-in browser.
 */
export const logIn = async (
  baseUrl: string,
  email: string,
  name = email.split('@')[0] ?? email,
): Promise<Browser> => {
  const browser = newBrowser(baseUrl);
  const page = await browser.follow(await browser.fetch('/auth/login/local'));
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
  if (page.status !== 200 || action === undefined)
    throw new Error(`No login form (status ${String(page.status)}).`);
  const submitted = await browser.fetch(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ email, name, action: 'login' }).toString(),
    csrf: false,
  });
  const landed = await browser.follow(submitted);
  await landed.arrayBuffer();
  if (browser.cookie('__Host-vigilance_session') === undefined) {
    throw new Error(`The login did not end in a session (last status ${String(landed.status)}).`);
  }
  return browser;
};

/** Sends JSON with the browser (CSRF header included). */
export const sendJson = (
  browser: Browser,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) =>
  browser.fetch(path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const sha256url = (text: string): string => createHash('sha256').update(text).digest('base64url');

/** A DPoP proof (RFC 9449) for a request, signed by `key`; `over` replaces claims or header members. */
export const dpopProof = async (
  key: { readonly privateKey: CryptoKey; readonly publicJwk: JWK },
  htm: string,
  htu: string,
  options: {
    readonly accessToken?: string;
    readonly claims?: Record<string, unknown>;
    readonly header?: Record<string, unknown>;
    readonly iat?: number;
  } = {},
): Promise<string> =>
  new SignJWT({
    htm,
    htu,
    jti: randomUUID(),
    ...(options.accessToken === undefined ? {} : { ath: sha256url(options.accessToken) }),
    ...options.claims,
  })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicJwk, ...options.header })
    .setIssuedAt(options.iat ?? Math.floor(Date.now() / 1000))
    .sign(key.privateKey);

export interface KeyPair {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export const newKeyPair = async (): Promise<KeyPair> => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { privateKey, publicJwk: jwk };
};

/** A client assertion (private_key_jwt) for the token endpoint. */
export const clientAssertion = (
  clientKey: KeyPair,
  clientId: string,
  audience: string,
  over: Record<string, unknown> = {},
) =>
  new SignJWT({ jti: randomUUID(), ...over })
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime('2m')
    .sign(clientKey.privateKey);

/** An ERP system: its registration, its keys, its token, and requests with a fresh DPoP proof each. */
export interface MachineClient {
  readonly clientId: string;
  readonly accountId: string;
  readonly clientKey: KeyPair;
  readonly dpopKey: KeyPair;
  readonly accessToken: string;
  fetch(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<Response>;
}

/** Gets a DPoP-bound access token at the token endpoint. */
export const requestToken = async (
  baseUrl: string,
  clientId: string,
  clientKey: KeyPair,
  dpopKey: KeyPair,
): Promise<Response> => {
  const tokenUrl = `${baseUrl}/oauth/token`;
  return fetch(tokenUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      dpop: await dpopProof(dpopKey, 'POST', tokenUrl),
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await clientAssertion(clientKey, clientId, tokenUrl),
    }).toString(),
  });
};

/** Registers an API client in `accountId` through `admin`'s session, then gets its token. */
export const registerMachineClient = async (
  baseUrl: string,
  admin: Browser,
  accountId: string,
  role: 'member' | 'viewer' = 'member',
): Promise<MachineClient> => {
  const clientKey = await newKeyPair();
  const dpopKey = await newKeyPair();
  const registered = await sendJson(admin, 'POST', `/api/v1/accounts/${accountId}/api-clients`, {
    name: `ERP ${randomUUID().slice(0, 8)}`,
    role,
    publicJwk: clientKey.publicJwk,
  });
  if (registered.status !== 201) throw new Error(`Registration refused: ${await registered.text()}`);
  const { id } = (await registered.json()) as { id: string };
  const token = await requestToken(baseUrl, id, clientKey, dpopKey);
  if (token.status !== 200) throw new Error(`Token refused: ${await token.text()}`);
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  return {
    clientId: id,
    accountId,
    clientKey,
    dpopKey,
    accessToken,
    fetch: async (method, path, body, headers = {}) => {
      const url = new URL(path, baseUrl);
      return fetch(url, {
        method,
        headers: {
          authorization: `DPoP ${accessToken}`,
          dpop: await dpopProof(dpopKey, method, `${url.origin}${url.pathname}`, { accessToken }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
  };
};

/** The current account of a logged-in person. */
export const currentAccountOf = async (browser: Browser): Promise<string> => {
  const me = (await (await browser.fetch('/api/v1/me')).json()) as { currentAccountId: string };
  return me.currentAccountId;
};
