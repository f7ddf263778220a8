import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { IdentityProviders, LoginStart } from '#app/application/ports/identity-provider.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import type { JsonValue } from '#app/application/ports/json.ts';
import { createEmbeddedProvider, type EmbeddedProvider } from './embedded-provider.ts';
import { createOidcIdentityProviders } from './identity-providers.ts';

const CALLBACK_PATH = '/auth/callback';
const CLIENT_ID = 'vigilance';

/** A plain HTTP server standing in for Vigilance's: providers mounted by path prefix, the callback answered here. */
interface TestServer {
  readonly origin: string;
  readonly callbackUrl: string;
  mount(prefix: string, provider: EmbeddedProvider | null): void;
  close(): Promise<void>;
}

const startServer = async (): Promise<TestServer> => {
  const mounted = new Map<string, EmbeddedProvider>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === CALLBACK_PATH) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('callback reached');
      return;
    }
    for (const [prefix, provider] of mounted) {
      if (path === prefix || path.startsWith(`${prefix}/`)) {
        provider.handle(req, res);
        return;
      }
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    callbackUrl: `${origin}${CALLBACK_PATH}`,
    mount: (prefix, provider) => {
      if (provider === null) mounted.delete(prefix);
      else mounted.set(prefix, provider);
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        }),
      );
    },
  };
};

/** The browser's cookies, enough for one origin: name and path, no expiry beyond deletion. */
const createCookieJar = () => {
  const cookies = new Map<string, { readonly name: string; readonly value: string; readonly path: string }>();
  return {
    header: (url: URL): string =>
      [...cookies.values()]
        .filter(
          (cookie) =>
            url.pathname === cookie.path ||
            url.pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`),
        )
        .map((cookie) => `${cookie.name}=${cookie.value}`)
        .join('; '),
    store: (url: URL, response: Response): void => {
      for (const line of response.headers.getSetCookie()) {
        const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
        const at = pair.indexOf('=');
        const name = pair.slice(0, at);
        const value = pair.slice(at + 1);
        const pathAttribute = attributes.find((attribute) => attribute.toLowerCase().startsWith('path='));
        const path =
          pathAttribute === undefined ? url.pathname.replace(/\/[^/]*$/, '') || '/' : pathAttribute.slice(5);
        const expired = attributes.some((attribute) => /^expires=.*1970/i.test(attribute));
        if (expired || value === '') cookies.delete(`${name} ${path}`);
        else cookies.set(`${name} ${path}`, { name, value, path });
      }
    },
  };
};
type CookieJar = ReturnType<typeof createCookieJar>;

interface Page {
  readonly url: URL;
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
}

/** Follows redirects by hand (carrying cookies) until a page, or until the callback address is reached. */
const navigate = async (
  jar: CookieJar,
  start: string,
  stopAt: string,
  init: { readonly method?: string; readonly body?: URLSearchParams } = {},
): Promise<{ readonly callback: URL } | { readonly page: Page }> => {
  let url = new URL(start);
  let method = init.method ?? 'GET';
  let body: URLSearchParams | undefined = init.body;
  for (let hop = 0; hop < 20; hop += 1) {
    if (url.href.startsWith(stopAt)) return { callback: url };
    const headers: Record<string, string> = { cookie: jar.header(url) };
    if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method,
      headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body: body.toString() }),
    });
    jar.store(url, response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      url = new URL(location, url);
      method = 'GET';
      body = undefined;
      continue;
    }
    return { page: { url, status: response.status, headers: response.headers, html: await response.text() } };
  }
  throw new Error('too many redirects');
};

const pageOf = (outcome: Awaited<ReturnType<typeof navigate>>): Page => {
  if (!('page' in outcome)) throw new Error(`expected a page, reached ${outcome.callback.href}`);
  return outcome.page;
};

const callbackOf = (outcome: Awaited<ReturnType<typeof navigate>>): URL => {
  if (!('callback' in outcome)) {
    throw new Error(
      `expected the callback, got ${outcome.page.status} at ${outcome.page.url.href}: ${outcome.page.html}`,
    );
  }
  return outcome.callback;
};

const unescapeHtml = (text: string): string =>
  text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));

const formAction = (page: Page): URL => {
  const action = /<form method="post" action="([^"]+)"/.exec(page.html)?.[1];
  if (action === undefined) throw new Error(`no login form in ${page.html}`);
  return new URL(unescapeHtml(action), page.url);
};

interface Person {
  readonly email: string;
  readonly name: string;
}

/** The whole browser side of a login: begin, the login page, the form, the redirects back to the callback. */
const browserLogin = async (
  identity: IdentityProviders,
  providerId: string,
  server: TestServer,
  person: Person,
  jar: CookieJar = createCookieJar(),
): Promise<{ readonly start: LoginStart; readonly callback: URL; readonly loginPage: Page }> => {
  const start = await identity.begin(providerId, server.callbackUrl);
  if (start === null) throw new Error(`unknown provider ${providerId}`);
  const loginPage = pageOf(await navigate(jar, start.authorizationUrl, server.callbackUrl));
  const callback = callbackOf(
    await navigate(jar, formAction(loginPage).href, server.callbackUrl, {
      method: 'POST',
      body: new URLSearchParams({ email: person.email, name: person.name, action: 'login' }),
    }),
  );
  return { start, callback, loginPage };
};

const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const withField = (pending: JsonValue, field: string, value: string): JsonValue => ({
  ...(pending as { readonly [key: string]: JsonValue }),
  [field]: value,
});

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'vigilance-oidc-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let keysFileCount = 0;
const freshKeysPath = (): string => {
  keysFileCount += 1;
  return join(dataDir, `keys-${keysFileCount}`, 'oidc-keys.json');
};

/** A server with the embedded provider under `prefix`, and a relying party pointed at it as provider `id`. */
const setUp = async (prefix = '/oidc', id = 'local') => {
  const server = await startServer();
  cleanups.push(() => server.close());
  const embedded = await createEmbeddedProvider({
    issuer: `${server.origin}${prefix}`,
    clients: [{ clientId: CLIENT_ID, redirectUris: [server.callbackUrl] }],
    keysPath: freshKeysPath(),
  });
  cleanups.push(() => embedded.close());
  server.mount(prefix, embedded);
  const identity = createOidcIdentityProviders({
    allowInsecureRequests: true,
    providers: [{ id, name: 'Local', issuer: embedded.issuer, clientId: CLIENT_ID }],
  });
  return { server, embedded, identity };
};

const ADA: Person = { email: 'Ada@Example.com', name: 'Ada Lovelace' };

describe('login against the embedded provider', () => {
  it('runs the whole authorization code + PKCE login and returns the verified identity', async () => {
    const { server, embedded, identity } = await setUp();
    expect(identity.providers()).toEqual([{ id: 'local', name: 'Local' }]);

    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    const authorization = new URL(start.authorizationUrl);
    expect(authorization.href.startsWith(`${server.origin}/oidc/auth?`)).toBe(true);
    expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorization.searchParams.get('redirect_uri')).toBe(server.callbackUrl);
    expect(authorization.searchParams.get('scope')).toBe('openid email profile');
    expect(callback.searchParams.get('code')).toBeTruthy();

    const outcome = await identity.complete('local', start.pending, callback.href);
    if (!outcome.ok) throw new Error(outcome.error.message);
    expect(outcome.value).toMatchObject({
      issuer: embedded.issuer,
      subject: sha256Hex('ada@example.com'),
      email: 'ada@example.com',
      emailVerified: true,
      name: 'Ada Lovelace',
    });
    expect(embedded.issuer).toBe(`${server.origin}/oidc`);
    const tokens = outcome.value.tokens as { readonly [key: string]: JsonValue };
    expect(typeof tokens['id_token']).toBe('string');
    expect(typeof tokens['access_token']).toBe('string');
    expect(typeof tokens['expires_at']).toBe('number');
    expect(tokens['refresh_token']).toBeUndefined();
  });

  it('keeps PKCE verifier, state and nonce in the pending login, not in the browser', async () => {
    const { server, identity } = await setUp();
    const start = await identity.begin('local', server.callbackUrl);
    if (start === null) throw new Error('unknown provider');
    const pending = start.pending as { readonly [key: string]: JsonValue };
    expect(pending).toMatchObject({ providerId: 'local', redirectUri: server.callbackUrl });
    const url = new URL(start.authorizationUrl);
    expect(url.searchParams.get('state')).toBe(pending['state']);
    expect(url.searchParams.get('nonce')).toBe(pending['nonce']);
    const verifier = pending['verifier'];
    if (typeof verifier !== 'string') throw new Error('no verifier in the pending login');
    expect(verifier.length).toBeGreaterThanOrEqual(43);
    expect(start.authorizationUrl).not.toContain(verifier);
  });

  it('serves a login page without password, script or inline style, under its own CSP', async () => {
    const { server, identity } = await setUp();
    const { loginPage } = await browserLogin(identity, 'local', server, ADA);
    expect(loginPage.status).toBe(200);
    expect(loginPage.url.pathname.startsWith('/oidc/interaction/')).toBe(true);
    expect(loginPage.html).toContain('no password');
    expect(loginPage.html).not.toMatch(/<script|<style|\sstyle=/i);
    expect(loginPage.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('gives the same subject to the same address, asks again at every login and remembers the latest name', async () => {
    const { server, identity } = await setUp();
    const jar = createCookieJar();
    const first = await browserLogin(identity, 'local', server, ADA, jar);
    const firstOutcome = await identity.complete('local', first.start.pending, first.callback.href);
    // Same browser, so the provider's session cookie is sent: the login page is shown all the same.
    const second = await browserLogin(
      identity,
      'local',
      server,
      { email: 'ada@example.com', name: 'Countess' },
      jar,
    );
    const secondOutcome = await identity.complete('local', second.start.pending, second.callback.href);
    if (!firstOutcome.ok || !secondOutcome.ok) throw new Error('login failed');
    expect(secondOutcome.value.subject).toBe(firstOutcome.value.subject);
    expect(secondOutcome.value.name).toBe('Countess');
    const other = await browserLogin(
      identity,
      'local',
      server,
      { email: 'grace@example.com', name: 'Grace' },
      jar,
    );
    const otherOutcome = await identity.complete('local', other.start.pending, other.callback.href);
    if (!otherOutcome.ok) throw new Error('login failed');
    expect(otherOutcome.value.subject).toBe(sha256Hex('grace@example.com'));
    expect(otherOutcome.value.email).toBe('grace@example.com');
  });

  it('shows the form again, escaped, when the address is not one', async () => {
    const { server, identity } = await setUp();
    const jar = createCookieJar();
    const start = await identity.begin('local', server.callbackUrl);
    if (start === null) throw new Error('unknown provider');
    const loginPage = pageOf(await navigate(jar, start.authorizationUrl, server.callbackUrl));
    const again = pageOf(
      await navigate(jar, formAction(loginPage).href, server.callbackUrl, {
        method: 'POST',
        body: new URLSearchParams({ email: '"><script>alert(1)</script>', name: 'Eve', action: 'login' }),
      }),
    );
    expect(again.status).toBe(400);
    expect(again.html).toContain('Type an e-mail address');
    expect(again.html).not.toContain('<script>');
    expect(again.html).toContain('&#34;&#62;&#60;script&#62;');
  });

  it('turns a cancelled login into LOGIN_FAILED', async () => {
    const { server, identity } = await setUp();
    const jar = createCookieJar();
    const start = await identity.begin('local', server.callbackUrl);
    if (start === null) throw new Error('unknown provider');
    const loginPage = pageOf(await navigate(jar, start.authorizationUrl, server.callbackUrl));
    const callback = callbackOf(
      await navigate(jar, formAction(loginPage).href, server.callbackUrl, {
        method: 'POST',
        body: new URLSearchParams({ action: 'cancel' }),
      }),
    );
    expect(callback.searchParams.get('error')).toBe('access_denied');
    const outcome = await identity.complete('local', start.pending, callback.href);
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'LOGIN_FAILED', message: 'The provider did not authorize the login (access_denied).' },
    });
  });

  it('refuses an authorization request without PKCE, and answers in the query string only', async () => {
    const { server, identity } = await setUp();
    const start = await identity.begin('local', server.callbackUrl);
    if (start === null) throw new Error('unknown provider');
    const withoutPkce = new URL(start.authorizationUrl);
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const refused = callbackOf(await navigate(createCookieJar(), withoutPkce.href, server.callbackUrl));
    expect(refused.searchParams.get('error')).toBe('invalid_request');
    expect(refused.searchParams.get('code')).toBeNull();

    const unregistered = new URL(start.authorizationUrl);
    unregistered.searchParams.set('redirect_uri', `${server.origin}/elsewhere`);
    const errorPage = pageOf(await navigate(createCookieJar(), unregistered.href, server.callbackUrl));
    expect(errorPage.status).toBe(400);
    expect(errorPage.html).toContain('redirect_uri');
    expect(errorPage.html).not.toMatch(/<script|<style|\sstyle=/i);
    expect(errorPage.headers.get('content-security-policy')).toContain("default-src 'none'");

    const formPost = new URL(start.authorizationUrl);
    formPost.searchParams.set('response_mode', 'form_post');
    const page = pageOf(await navigate(createCookieJar(), formPost.href, server.callbackUrl));
    expect(page.status).toBe(400);
    expect(page.html).not.toMatch(/<script/i);
  });
});

describe('callbacks that do not check out', () => {
  it('fails with LOGIN_FAILED when the state in the callback is not the pending one', async () => {
    const { server, identity } = await setUp();
    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    const forged = new URL(callback);
    forged.searchParams.set('state', 'not-the-state-we-sent');
    const outcome = await identity.complete('local', start.pending, forged.href);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe('LOGIN_FAILED');
  });

  it('fails with LOGIN_FAILED the second time the same code is used', async () => {
    const { server, identity } = await setUp();
    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    expect((await identity.complete('local', start.pending, callback.href)).ok).toBe(true);
    const replay = await identity.complete('local', start.pending, callback.href);
    expect(replay).toEqual({
      ok: false,
      error: {
        code: 'LOGIN_FAILED',
        message: 'The provider refused the authorization code (invalid_grant).',
      },
    });
  });

  it('fails with LOGIN_FAILED when the pending login holds another PKCE verifier', async () => {
    const { server, identity } = await setUp();
    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    const other = withField(start.pending, 'verifier', 'x'.repeat(43));
    const outcome = await identity.complete('local', other, callback.href);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) {
      expect(outcome.error.code).toBe('LOGIN_FAILED');
      expect(outcome.error.message).not.toContain('x'.repeat(43));
    }
  });

  it('fails with LOGIN_FAILED when the nonce does not match the ID token', async () => {
    const { server, identity } = await setUp();
    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    const outcome = await identity.complete(
      'local',
      withField(start.pending, 'nonce', 'another-nonce'),
      callback.href,
    );
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.code).toBe('LOGIN_FAILED');
  });

  it('fails with LOGIN_FAILED for a pending login that is not one', async () => {
    const { server, identity } = await setUp();
    const { callback } = await browserLogin(identity, 'local', server, ADA);
    const outcome = await identity.complete('local', { providerId: 'local' }, callback.href);
    expect(outcome.ok).toBe(false);
  });
});

describe('providers', () => {
  it('answers null to begin with an unknown provider id, and LOGIN_FAILED to complete', async () => {
    const { server, identity } = await setUp();
    expect(await identity.begin('nope', server.callbackUrl)).toBeNull();
    const outcome = await identity.complete('nope', {}, `${server.callbackUrl}?code=x&state=y`);
    expect(outcome.ok).toBe(false);
  });

  it('throws LOGIN_PROVIDER_UNAVAILABLE when the issuer cannot be reached', async () => {
    const closed = await startServer();
    await closed.close();
    const identity = createOidcIdentityProviders({
      allowInsecureRequests: true,
      timeoutMs: 5_000,
      providers: [{ id: 'down', name: 'Down', issuer: `${closed.origin}/oidc`, clientId: CLIENT_ID }],
    });
    const attempt = identity.begin('down', closed.callbackUrl);
    await expect(attempt).rejects.toBeInstanceOf(InfrastructureError);
    await expect(attempt).rejects.toMatchObject({ code: 'LOGIN_PROVIDER_UNAVAILABLE' });
  });

  it('discovers again after a failed discovery, then keeps the discovered configuration', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const identity = createOidcIdentityProviders({
      allowInsecureRequests: true,
      providers: [{ id: 'late', name: 'Late', issuer: `${server.origin}/oidc`, clientId: CLIENT_ID }],
    });
    // Nothing mounted yet: the discovery document is a 404.
    await expect(identity.begin('late', server.callbackUrl)).rejects.toMatchObject({
      code: 'LOGIN_PROVIDER_UNAVAILABLE',
    });
    const embedded = await createEmbeddedProvider({
      issuer: `${server.origin}/oidc`,
      clients: [{ clientId: CLIENT_ID, redirectUris: [server.callbackUrl] }],
      keysPath: freshKeysPath(),
    });
    server.mount('/oidc', embedded);
    const { start, callback } = await browserLogin(identity, 'late', server, ADA);
    expect(start.authorizationUrl.startsWith(`${server.origin}/oidc/auth?`)).toBe(true);
    expect((await identity.complete('late', start.pending, callback.href)).ok).toBe(true);
  });

  it('throws LOGIN_PROVIDER_UNAVAILABLE at complete when the provider went away after begin', async () => {
    const { server, identity } = await setUp();
    const { start, callback } = await browserLogin(identity, 'local', server, ADA);
    server.mount('/oidc', null);
    await expect(identity.complete('local', start.pending, callback.href)).rejects.toMatchObject({
      code: 'LOGIN_PROVIDER_UNAVAILABLE',
    });
  });

  it('logs in with two providers on one server, and refuses one callback with the other pending', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const embedded = await Promise.all(
      ['/oidc-a', '/oidc-b'].map(async (prefix) => {
        const provider = await createEmbeddedProvider({
          issuer: `${server.origin}${prefix}`,
          clients: [{ clientId: CLIENT_ID, redirectUris: [server.callbackUrl] }],
          keysPath: freshKeysPath(),
        });
        server.mount(prefix, provider);
        return provider;
      }),
    );
    const [a, b] = embedded as [EmbeddedProvider, EmbeddedProvider];
    const identity = createOidcIdentityProviders({
      allowInsecureRequests: true,
      providers: [
        { id: 'a', name: 'A', issuer: a.issuer, clientId: CLIENT_ID },
        { id: 'b', name: 'B', issuer: b.issuer, clientId: CLIENT_ID },
      ],
    });
    expect(identity.providers().map((provider) => provider.id)).toEqual(['a', 'b']);

    // One browser logs in with both: each provider's cookies stay under its own path.
    const jar = createCookieJar();
    const loginA = await browserLogin(identity, 'a', server, ADA, jar);
    const loginB = await browserLogin(
      identity,
      'b',
      server,
      { email: 'grace@example.com', name: 'Grace' },
      jar,
    );
    expect(loginA.start.authorizationUrl.startsWith(`${server.origin}/oidc-a/auth?`)).toBe(true);
    expect(loginB.start.authorizationUrl.startsWith(`${server.origin}/oidc-b/auth?`)).toBe(true);

    // A's callback completed with B's pending login, either way round, does not check out.
    expect((await identity.complete('b', loginB.start.pending, loginA.callback.href)).ok).toBe(false);
    expect((await identity.complete('a', loginB.start.pending, loginA.callback.href)).ok).toBe(false);
    expect(await identity.complete('b', loginA.start.pending, loginA.callback.href)).toEqual({
      ok: false,
      error: { code: 'LOGIN_FAILED', message: 'The pending login was started with another provider.' },
    });
    // Even relabelled as B's, A's login is refused by B: A's callback names A as its issuer.
    const relabelled = withField(loginA.start.pending, 'providerId', 'b');
    expect((await identity.complete('b', relabelled, loginA.callback.href)).ok).toBe(false);

    const outcomeA = await identity.complete('a', loginA.start.pending, loginA.callback.href);
    const outcomeB = await identity.complete('b', loginB.start.pending, loginB.callback.href);
    if (!outcomeA.ok || !outcomeB.ok) throw new Error('login failed');
    expect(outcomeA.value).toMatchObject({ issuer: a.issuer, email: 'ada@example.com' });
    expect(outcomeB.value).toMatchObject({ issuer: b.issuer, email: 'grace@example.com' });
  });
});

describe('the embedded provider keys file', () => {
  const kidsOf = async (issuer: string): Promise<string[]> => {
    const response = await fetch(`${issuer}/jwks`);
    const jwks = (await response.json()) as {
      readonly keys: readonly { readonly kid: string; readonly d?: string }[];
    };
    for (const key of jwks.keys) expect(key.d).toBeUndefined();
    return jwks.keys.map((key) => key.kid);
  };

  it('is created once with mode 0600 and reused after a restart', async () => {
    const server = await startServer();
    cleanups.push(() => server.close());
    const keysPath = freshKeysPath();
    const options = {
      issuer: `${server.origin}/oidc`,
      clients: [{ clientId: CLIENT_ID, redirectUris: [server.callbackUrl] }],
      keysPath,
    };

    const first = await createEmbeddedProvider(options);
    server.mount('/oidc', first);
    const created = await stat(keysPath);
    expect(created.mode & 0o777).toBe(0o600);
    const content = await readFile(keysPath, 'utf8');
    const kids = await kidsOf(first.issuer);
    expect(kids).toHaveLength(1);
    await first.close();

    const second = await createEmbeddedProvider(options);
    server.mount('/oidc', second);
    expect(await kidsOf(second.issuer)).toEqual(kids);
    expect(await readFile(keysPath, 'utf8')).toBe(content);
    await second.close();
  });

  it('refuses a keys file that is not one', async () => {
    const keysPath = join(dataDir, 'broken-keys.json');
    await writeFile(keysPath, '{"jwks":{}}', { mode: 0o600 });
    await expect(
      createEmbeddedProvider({ issuer: 'http://127.0.0.1:1/oidc', clients: [], keysPath }),
    ).rejects.toMatchObject({ code: 'LOGIN_KEYS_UNREADABLE' });
  });
});
