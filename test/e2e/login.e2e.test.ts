import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logIn, newBrowser, startWeb, type Browser, type WebHarness } from '../support/web.ts';

const SESSION_COOKIE = '__Host-vigilance_session';
const CSRF_COOKIE = '__Host-vigilance_csrf';
const USER_AGENT = 'Vigilance-e2e-browser/1.0';
/** Three base64url segments, the first two JSON objects: what an ID token or a JWT access token looks like. */
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/;

/** One response as the browser saw it: where it was asked, its status, headers and body. */
interface Seen {
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

interface Me {
  readonly user: { readonly id: string; readonly email: string; readonly displayName: string | null };
  readonly currentAccountId: string;
  readonly accounts: readonly {
    readonly id: string;
    readonly tenancyMode: string;
    readonly role: string;
    readonly via: string;
  }[];
}

interface AuditItem {
  readonly action: string;
  readonly actorId: string | null;
  readonly accountId: string | null;
  readonly entityId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string | null;
}

interface Problem {
  readonly status: number;
  readonly code: string;
}

describe('human login: authorization code + PKCE through the embedded OpenID provider', () => {
  let web: WebHarness;
  beforeAll(async () => {
    web = await startWeb();
  });
  afterAll(async () => {
    await web.close();
  });

  const visit = async (browser: Browser, path: string, init: RequestInit = {}): Promise<Seen> => {
    const headers = new Headers(init.headers);
    headers.set('user-agent', USER_AGENT);
    const response = await browser.fetch(path, { ...init, headers });
    return {
      url: new URL(path, web.baseUrl).href,
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
  };

  const locationOf = (seen: Seen): string => {
    const location = seen.headers.get('location');
    if (location === null) throw new Error(`No redirect from ${seen.url} (status ${String(seen.status)}).`);
    return new URL(location, seen.url).href;
  };

  const isRedirect = (seen: Seen): boolean => [301, 302, 303, 307].includes(seen.status);

  /**
   * Starts a login and fills in the provider's page, one request at a time; stops where the provider sends the
   * browser back to our callback, and returns that address unvisited.
   */
  const untilCallback = async (
    browser: Browser,
    email: string,
    name: string,
    query = '',
  ): Promise<{ readonly start: Seen; readonly seen: readonly Seen[]; readonly callbackUrl: string }> => {
    const seen: Seen[] = [];
    const step = async (path: string, init?: RequestInit): Promise<Seen> => {
      const response = await visit(browser, path, init);
      seen.push(response);
      return response;
    };
    const start = await step(`/auth/login/local${query}`);
    let current = start;
    while (isRedirect(current)) current = await step(locationOf(current));
    const action = /<form method="post" action="([^"]+)"/.exec(current.body)?.[1]?.replaceAll('&amp;', '&');
    if (current.status !== 200 || action === undefined) {
      throw new Error(`No login form (status ${String(current.status)}).`);
    }
    current = await step(new URL(action, current.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, name, action: 'login' }).toString(),
    });
    const callbackPrefix = `${web.baseUrl}/auth/callback/local`;
    while (isRedirect(current) && !locationOf(current).startsWith(callbackPrefix)) {
      current = await step(locationOf(current));
    }
    if (!isRedirect(current))
      throw new Error(`The provider did not send back (status ${String(current.status)}).`);
    return { start, seen, callbackUrl: locationOf(current) };
  };

  const setCookieOf = (seen: Seen, name: string) => {
    const line = seen.headers.getSetCookie().find((l) => l.startsWith(`${name}=`));
    if (line === undefined) return undefined;
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
    return {
      value: decodeURIComponent(pair.slice(name.length + 1)),
      attributes: attributes.map((a) => a.toLowerCase()),
    };
  };

  const meOf = async (browser: Browser): Promise<{ status: number; body: Me }> => {
    const response = await browser.fetch('/api/v1/me');
    return { status: response.status, body: (await response.json()) as Me };
  };

  const auditOf = async (browser: Browser, accountId: string): Promise<readonly AuditItem[]> => {
    const response = await browser.fetch(`/api/v1/accounts/${accountId}/audit?limit=200`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: AuditItem[] }).items;
  };

  /** GET /api/v1/auth/csrf with only this session cookie: 200 while the server keeps the session, else 401. */
  const csrfWithSession = (sessionId: string): Promise<Response> =>
    fetch(`${web.baseUrl}/api/v1/auth/csrf`, {
      headers: { cookie: `${SESSION_COOKIE}=${encodeURIComponent(sessionId)}` },
    });

  const problemOf = (seen: Seen): Problem => JSON.parse(seen.body) as Problem;

  it('logs a new person in: /api/v1/me names them, in a personal INDIVIDUAL account they own, all audited', async () => {
    const browser = await logIn(web.baseUrl, 'Ada.Lovelace@Example.com', 'Ada Lovelace');

    const me = await meOf(browser);
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: 'ada.lovelace@example.com', displayName: 'Ada Lovelace' });
    expect(me.body.accounts).toHaveLength(1);
    expect(me.body.accounts[0]).toMatchObject({
      id: me.body.currentAccountId,
      tenancyMode: 'INDIVIDUAL',
      role: 'owner',
    });

    const audit = await auditOf(browser, me.body.currentAccountId);
    const userId = me.body.user.id;
    const byAction = (action: string) => audit.filter((entry) => entry.action === action);
    expect(byAction('user.created')).toHaveLength(1);
    expect(byAction('account.created')).toHaveLength(1);
    expect(byAction('user.login')).toHaveLength(1);
    for (const action of ['user.created', 'account.created', 'user.login']) {
      const [entry] = byAction(action);
      expect(entry).toMatchObject({ actorId: userId, accountId: me.body.currentAccountId, ip: '127.0.0.1' });
      expect(entry?.userAgent).toEqual(expect.stringMatching(/\S/));
      expect(entry?.correlationId).toEqual(expect.stringMatching(/\S/));
    }
    expect(byAction('user.login')[0]?.entityId).toBe(userId);
    expect(byAction('account.created')[0]?.entityId).toBe(me.body.currentAccountId);
    // One request created the user, the account and the login: one correlation id ties them together.
    expect(new Set(audit.map((entry) => entry.correlationId)).size).toBe(1);
  });

  it('keeps PKCE, state and nonce on the server, regenerates the session and hands the browser cookies only', async () => {
    const browser = newBrowser(web.baseUrl);
    const { start, seen, callbackUrl } = await untilCallback(
      browser,
      'grace@example.com',
      'Grace Hopper',
      '?returnTo=/docs',
    );

    expect(start.status).toBe(303);
    const authorization = new URL(locationOf(start));
    expect(`${authorization.origin}${authorization.pathname}`).toBe(`${web.baseUrl}/oidc/auth`);
    const params = authorization.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    // base64url(SHA-256(verifier)): 43 characters.
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect([...params.keys()].filter((key) => /verifier/i.test(key))).toEqual([]);
    const startSession = setCookieOf(start, SESSION_COOKIE);
    expect(startSession?.value).toMatch(/\S{32,}/);

    // Any session, a pending login's too, has a CSRF token: the endpoint tells whether the server knows one.
    expect((await csrfWithSession(startSession?.value ?? '')).status).toBe(200);

    const callback = await visit(browser, callbackUrl);
    expect(callback.status).toBe(303);
    expect(locationOf(callback)).toBe(`${web.baseUrl}/docs`);
    expect(callback.headers.get('cache-control')).toBe('no-store');

    const session = setCookieOf(callback, SESSION_COOKIE);
    expect(session).toBeDefined();
    expect(session?.value).not.toBe(startSession?.value);
    expect(browser.cookie(SESSION_COOKIE)).toBe(session?.value);
    const names = callback.headers.getSetCookie().map((line) => line.slice(0, line.indexOf('=')));
    expect(names.sort()).toEqual([CSRF_COOKIE, SESSION_COOKIE].sort());
    expect(names.every((name) => name.startsWith('__Host-'))).toBe(true);
    expect(session?.attributes).toEqual(
      expect.arrayContaining(['httponly', 'secure', 'samesite=lax', 'path=/']),
    );
    expect(session?.attributes.filter((a) => a.startsWith('domain'))).toEqual([]);

    const csrf = setCookieOf(callback, CSRF_COOKIE);
    expect(csrf?.value).toMatch(/\S{16,}/);
    expect(csrf?.attributes).not.toContain('httponly');
    expect(csrf?.attributes).toEqual(expect.arrayContaining(['secure', 'path=/']));
    expect(csrf?.attributes.filter((a) => a.startsWith('domain'))).toEqual([]);

    // The session that left for the provider was deleted on the server, not only replaced in the browser.
    expect((await csrfWithSession(startSession?.value ?? '')).status).toBe(401);

    const me = await visit(browser, '/api/v1/me');
    expect(me.status).toBe(200);
    const csrfEndpoint = await visit(browser, '/api/v1/auth/csrf');
    expect(csrfEndpoint.status).toBe(200);
    expect((JSON.parse(csrfEndpoint.body) as { csrfToken: string }).csrfToken).toBe(csrf?.value);
    const accounts = await visit(browser, '/api/v1/accounts');
    expect(accounts.status).toBe(200);

    // The provider's ID token (a JWT) stays in the server-side session: no body, no header the browser sees has it.
    for (const response of [...seen, callback, me, csrfEndpoint, accounts]) {
      expect(response.body, `the body of ${response.url}`).not.toMatch(JWT);
      for (const [name, value] of response.headers) {
        expect(value, `the ${name} header of ${response.url}`).not.toMatch(JWT);
      }
    }

    const { user, currentAccountId } = JSON.parse(me.body) as Me;
    expect(user.email).toBe('grace@example.com');
    const login = (await auditOf(browser, currentAccountId)).find((entry) => entry.action === 'user.login');
    expect(login).toMatchObject({
      actorId: user.id,
      ip: '127.0.0.1',
      userAgent: USER_AGENT,
      correlationId: callback.headers.get('x-correlation-id'),
    });
  });

  it('recognises a person who logs in again: same user, same account, no second user.created', async () => {
    const first = await logIn(web.baseUrl, 'katherine@example.com', 'Katherine Johnson');
    const before = (await meOf(first)).body;
    const second = await logIn(web.baseUrl, 'katherine@example.com', 'Katherine Johnson');
    const after = (await meOf(second)).body;

    expect(after.user.id).toBe(before.user.id);
    expect(after.currentAccountId).toBe(before.currentAccountId);
    expect(after.accounts.map((a) => a.id)).toEqual([before.currentAccountId]);
    expect(second.cookie(SESSION_COOKIE)).not.toBe(first.cookie(SESSION_COOKIE));

    const audit = await auditOf(second, after.currentAccountId);
    expect(audit.filter((entry) => entry.action === 'user.created')).toHaveLength(1);
    expect(audit.filter((entry) => entry.action === 'account.created')).toHaveLength(1);
    expect(audit.filter((entry) => entry.action === 'user.login')).toHaveLength(2);
  });

  it('refuses a callback whose state was tampered with, and leaves no session', async () => {
    const browser = newBrowser(web.baseUrl);
    const { callbackUrl } = await untilCallback(browser, 'mallory@example.com', 'Mallory');
    const tampered = new URL(callbackUrl);
    const state = tampered.searchParams.get('state') ?? '';
    expect(state).not.toBe('');
    tampered.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);

    const refused = await visit(browser, tampered.href);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(problemOf(refused).code).toBe('LOGIN_FAILED');
    expect(setCookieOf(refused, SESSION_COOKIE)?.attributes).toContain('max-age=0');
    expect(browser.cookie(SESSION_COOKIE)).toBeUndefined();
    expect((await visit(browser, '/api/v1/me')).status).toBe(401);

    // The pending login was spent on the failed attempt: the genuine answer no longer opens a session either.
    const genuine = await visit(browser, callbackUrl);
    expect(genuine.status).toBe(400);
    expect(problemOf(genuine).code).toBe('LOGIN_FAILED');
    expect((await visit(browser, '/api/v1/me')).status).toBe(401);
  });

  it('refuses a callback replayed after a successful login (same code)', async () => {
    const browser = newBrowser(web.baseUrl);
    const { callbackUrl } = await untilCallback(browser, 'replay@example.com', 'Replay');
    expect((await visit(browser, callbackUrl)).status).toBe(303);

    const replayed = await visit(browser, callbackUrl);
    expect(replayed.status).toBe(400);
    expect(problemOf(replayed).code).toBe('LOGIN_FAILED');

    // Nor does it work in a browser that is itself in the middle of a login.
    const other = newBrowser(web.baseUrl);
    await untilCallback(other, 'replay@example.com', 'Replay');
    const elsewhere = await visit(other, callbackUrl);
    expect(elsewhere.status).toBe(400);
    expect(problemOf(elsewhere).code).toBe('LOGIN_FAILED');
    expect(other.cookie(SESSION_COOKIE)).toBeUndefined();
  });

  it('refuses a callback without a pending login, so a stolen callback address is useless in another browser', async () => {
    const owner = newBrowser(web.baseUrl);
    const { callbackUrl } = await untilCallback(owner, 'owner@example.com', 'Owner');

    const thief = newBrowser(web.baseUrl);
    const stolen = await visit(thief, callbackUrl);
    expect(stolen.status).toBe(400);
    expect(problemOf(stolen).code).toBe('LOGIN_FAILED');
    expect(thief.cookie(SESSION_COOKIE)).toBeUndefined();
    expect((await visit(thief, '/api/v1/me')).status).toBe(401);

    const rightful = await visit(owner, callbackUrl);
    expect(rightful.status).toBe(303);
    expect((await meOf(owner)).body.user.email).toBe('owner@example.com');
  });

  it('answers 404 for a provider that is not configured', async () => {
    const response = await visit(newBrowser(web.baseUrl), '/auth/login/unknown');
    expect(response.status).toBe(404);
    expect(response.headers.get('location')).toBeNull();
  });

  it('returns to a path of this site only: never to another origin', async () => {
    for (const [returnTo, expected] of [
      ['https://evil.example', `${web.baseUrl}/`],
      ['//evil.example/path', `${web.baseUrl}/`],
      ['/\\evil.example', `${web.baseUrl}/`],
      ['/docs', `${web.baseUrl}/docs`],
    ] as const) {
      const browser = newBrowser(web.baseUrl);
      const { callbackUrl } = await untilCallback(
        browser,
        'traveller@example.com',
        'Traveller',
        `?returnTo=${encodeURIComponent(returnTo)}`,
      );
      const callback = await visit(browser, callbackUrl);
      expect({ returnTo, status: callback.status, landed: locationOf(callback) }).toEqual({
        returnTo,
        status: 303,
        landed: expected,
      });
    }
  });

  it('logs out only with the CSRF token, then the session is gone and the logout is audited', async () => {
    const browser = await logIn(web.baseUrl, 'hedy@example.com', 'Hedy Lamarr');
    const { user, currentAccountId } = (await meOf(browser)).body;
    const sessionId = browser.cookie(SESSION_COOKIE);
    expect(sessionId).toBeDefined();

    const forged = await browser.fetch('/auth/logout', { method: 'POST', csrf: false });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as Problem).code).toBe('CSRF_TOKEN_INVALID');
    expect((await browser.fetch('/api/v1/me')).status).toBe(200);

    const wrongToken = await browser.fetch('/auth/logout', {
      method: 'POST',
      headers: { 'x-csrf-token': 'not-the-token' },
    });
    expect(wrongToken.status).toBe(403);
    expect(((await wrongToken.json()) as Problem).code).toBe('CSRF_TOKEN_INVALID');
    expect((await browser.fetch('/api/v1/me')).status).toBe(200);

    const logout = await browser.fetch('/auth/logout', { method: 'POST' });
    expect(logout.status).toBe(204);
    const cleared = logout.headers.getSetCookie();
    for (const name of [SESSION_COOKIE, CSRF_COOKIE]) {
      const line = cleared.find((l) => l.startsWith(`${name}=`));
      expect(line).toMatch(/^[^=]+=;/);
      expect(line?.toLowerCase()).toContain('max-age=0');
    }
    expect(browser.cookie(SESSION_COOKIE)).toBeUndefined();
    expect(browser.cookie(CSRF_COOKIE)).toBeUndefined();
    expect((await browser.fetch('/api/v1/me')).status).toBe(401);
    // Deleted on the server too, not only forgotten by the browser.
    const reused = await fetch(`${web.baseUrl}/api/v1/me`, {
      headers: { cookie: `${SESSION_COOKIE}=${encodeURIComponent(sessionId ?? '')}` },
    });
    expect(reused.status).toBe(401);

    const again = await logIn(web.baseUrl, 'hedy@example.com', 'Hedy Lamarr');
    const logouts = (await auditOf(again, currentAccountId)).filter(
      (entry) => entry.action === 'user.logout',
    );
    expect(logouts).toHaveLength(1);
    expect(logouts[0]).toMatchObject({ actorId: user.id, entityId: user.id, ip: '127.0.0.1' });
  });
});
