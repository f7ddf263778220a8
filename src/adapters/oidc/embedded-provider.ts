// @ts-expect-error -- oidc-provider ships no type declarations; the shapes used here are declared below.
import * as oidcProvider from 'oidc-provider';
// @ts-expect-error -- as above. The package's own store, made per provider (its default prints a warning at start).
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomically } from '#app/adapters/shared/atomic-file.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';

/** A relying party allowed to log in against the embedded provider: always one of our own servers. */
export interface EmbeddedProviderClient {
  readonly clientId: string;
  /** Exact callback addresses, e.g. `http://127.0.0.1:8080/auth/callback/local`. */
  readonly redirectUris: readonly string[];
}

/** A person as the embedded provider knows them. */
export interface EmbeddedAccount {
  /** Stable for an e-mail address: see {@link embeddedSubject}. */
  readonly subject: string;
  /** Lower-cased. */
  readonly email: string;
  readonly name: string;
}

/** Where the embedded provider keeps the people who logged in through its page. */
export interface EmbeddedAccounts {
  /** Called at each login on the embedded page, with the address and name typed there (the name is updated). */
  findOrCreate(email: string, name: string): Promise<EmbeddedAccount>;
  /** The account behind a subject, or null when it is unknown (the provider then asks to log in again). */
  find(subject: string): Promise<EmbeddedAccount | null>;
}

export interface EmbeddedProviderOptions {
  /** Issuer identifier, e.g. `http://127.0.0.1:8080/oidc`; its path is where {@link EmbeddedProvider.handle} is mounted. */
  readonly issuer: string;
  readonly clients: readonly EmbeddedProviderClient[];
  /**
   * A JSON file (in the data directory) holding the provider's private signing key and cookie keys: created
   * atomically with mode 0600 on the first start, reused afterwards so ID tokens and cookies survive a restart.
   */
  readonly keysPath: string;
  /** The accounts; kept in memory when absent (names are then forgotten at restart, subjects are not). */
  readonly accounts?: EmbeddedAccounts;
  /** Told of the provider's own failures (answered 500); written to stderr when absent. */
  readonly onError?: (error: unknown) => void;
}

export interface EmbeddedProvider {
  readonly issuer: string;
  /**
   * Answers any request whose path starts with the issuer's path (the full original URL, e.g. `/oidc/auth?...`):
   * discovery, keys, authorization, token, userinfo and the login page. The body must not have been read.
   */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** The subject of an e-mail address: SHA-256 (hex) of the trimmed, lower-cased address. */
export const embeddedSubject = (email: string): string =>
  createHash('sha256').update(email.trim().toLowerCase(), 'utf8').digest('hex');

/** Accounts kept in memory: the subject derives from the address, the name is the last one given at login. */
export const createMemoryEmbeddedAccounts = (): EmbeddedAccounts => {
  const accounts = new Map<string, EmbeddedAccount>();
  return {
    findOrCreate: (email, name) => {
      const account = Object.freeze({
        subject: embeddedSubject(email),
        email: email.trim().toLowerCase(),
        name: name.trim(),
      });
      accounts.set(account.subject, account);
      return Promise.resolve(account);
    },
    find: (subject) => Promise.resolve(accounts.get(subject) ?? null),
  };
};

// ---- The parts of oidc-provider used here (it ships no types) ----

interface KoaContext {
  readonly path: string;
  readonly query: Readonly<Record<string, string | readonly string[] | undefined>>;
  status: number;
  type: string;
  body: unknown;
  set(name: string, value: string): void;
}

interface InteractionDetails {
  readonly uid: string;
  readonly prompt: {
    readonly name: string;
    readonly details: {
      readonly missingOIDCScope?: readonly string[];
      readonly missingOIDCClaims?: readonly string[];
    };
  };
  readonly params: Readonly<Record<string, unknown>>;
  readonly session?: { readonly accountId?: string };
  readonly grantId?: string;
}

interface Grant {
  addOIDCScope(scope: string): void;
  addOIDCClaims(claims: readonly string[]): void;
  save(): Promise<string>;
}

interface OidcProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  use(middleware: (ctx: KoaContext, next: () => Promise<void>) => Promise<void>): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Readonly<Record<string, unknown>>,
    options: { readonly mergeWithLastSubmission: boolean },
  ): Promise<void>;
  on(event: 'server_error', listener: (ctx: unknown, error: unknown) => void): void;
  on(event: 'error', listener: (error: unknown) => void): void;
  readonly Grant: {
    new (init: { readonly accountId: string; readonly clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  };
}

interface OidcProviderModule {
  readonly Provider: new (issuer: string, configuration: object) => OidcProviderInstance;
  readonly errors: { readonly SessionNotFound: new (...args: never[]) => Error };
}

const oidc = oidcProvider as unknown as OidcProviderModule;
const memoryAdapter = createMemoryAdapter as unknown as (clockToleranceSeconds: number) => unknown;

// ---- Keys file ----

interface ProviderKeys {
  readonly jwks: { readonly keys: readonly Readonly<Record<string, unknown>>[] };
  readonly cookieKeys: readonly string[];
}

const keysUnreadable = (cause?: unknown): InfrastructureError =>
  new InfrastructureError(
    'LOGIN_KEYS_UNREADABLE',
    'The embedded login provider cannot read its keys file (not JSON of the expected shape, or not readable).',
    cause === undefined ? undefined : { cause },
  );

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const parseKeys = (text: string): ProviderKeys => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw keysUnreadable(cause);
  }
  if (!isRecord(value) || !isRecord(value['jwks'])) throw keysUnreadable();
  const keys = value['jwks']['keys'];
  const cookieKeys = value['cookieKeys'];
  if (
    !Array.isArray(keys) ||
    keys.length === 0 ||
    !keys.every((key) => isRecord(key) && typeof key['kty'] === 'string' && typeof key['d'] === 'string') ||
    !Array.isArray(cookieKeys) ||
    cookieKeys.length === 0 ||
    !cookieKeys.every((key) => typeof key === 'string' && key.length >= 32)
  ) {
    throw keysUnreadable();
  }
  return { jwks: { keys: keys as Readonly<Record<string, unknown>>[] }, cookieKeys: cookieKeys as string[] };
};

const newKeys = async (): Promise<ProviderKeys> => {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  // RFC 7638 thumbprint: a stable key id derived from the public members.
  const kid = createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }), 'utf8')
    .digest('base64url');
  return {
    jwks: { keys: [{ ...jwk, kid, alg: 'RS256', use: 'sig' }] },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
};

const errorCode = (error: unknown): unknown =>
  error instanceof Error && 'code' in error ? error.code : undefined;

/** Reads the keys file, or creates it (mode 0600, never over a file another process wrote meanwhile). */
const loadOrCreateKeys = async (path: string): Promise<ProviderKeys> => {
  const read = async (): Promise<ProviderKeys | null> => {
    try {
      return parseKeys(await readFile(path, 'utf8'));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      if (error instanceof InfrastructureError) throw error;
      throw keysUnreadable(error);
    }
  };
  const existing = await read();
  if (existing !== null) return existing;
  const keys = await newKeys();
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Never over a file another process published meanwhile: theirs is the one.
    await writeFileAtomically(path, `${JSON.stringify(keys, null, 2)}\n`, 0o600, { replace: false });
    return keys;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      const theirs = await read();
      if (theirs !== null) return theirs;
    }
    throw keysUnreadable(error);
  }
};

// ---- Pages ----

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

const page = (title: string, body: string): string =>
  `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;

interface LoginForm {
  readonly action: string;
  readonly email: string;
  readonly name: string;
  readonly problem?: string;
}

const loginPage = (form: LoginForm): string =>
  page(
    'Log in to Vigilance (local)',
    `<p><strong>This local login has no password.</strong> Whoever can open this page can log in under any e-mail
address. It is meant for one operator running Vigilance on their own machine; configure a real OpenID provider
for anything else.</p>
${form.problem === undefined ? '' : `<p role="alert">${escapeHtml(form.problem)}</p>`}
<form method="post" action="${escapeHtml(form.action)}">
<p><label for="email">E-mail address</label><br>
<input id="email" name="email" type="email" required maxlength="254" autocomplete="email" value="${escapeHtml(form.email)}"></p>
<p><label for="name">Display name</label><br>
<input id="name" name="name" type="text" required maxlength="100" autocomplete="name" value="${escapeHtml(form.name)}"></p>
<p><button type="submit" name="action" value="login">Log in</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></p>
</form>`,
  );

const messagePage = (title: string, message: string): string => page(title, `<p>${escapeHtml(message)}</p>`);

const EMAIL = /^[^\s@<>"'\p{Cc}]{1,64}@[^\s@<>"'\p{Cc}]{1,189}$/u;
const MAX_NAME = 100;
const MAX_FORM_BYTES = 8 * 1024;
const CLOCK_TOLERANCE_SECONDS = 15;

// ---- The provider ----

/**
 * An OpenID provider running inside Vigilance, so that a person can log in right after `npm start` without an
 * external account. It is a local single-operator convenience: its login page asks for an e-mail address and a
 * display name, with NO password, and trusts what is typed (the address is reported as verified). The subject is
 * derived from the address, so the same address is the same person across restarts.
 *
 * Only the authorization code flow with PKCE (S256) is offered, to the configured public clients, answered in the
 * query string; consent is implied for those clients; the login page is asked at every login (so another address
 * can be used after logging out of Vigilance). Its pages are plain HTML forms without script or inline style.
 */
export const createEmbeddedProvider = async (options: EmbeddedProviderOptions): Promise<EmbeddedProvider> => {
  const issuerUrl = new URL(options.issuer);
  const prefix = issuerUrl.pathname.replace(/\/+$/, '');
  const sessionCookiePath = prefix === '' ? '/' : prefix;
  const accounts = options.accounts ?? createMemoryEmbeddedAccounts();
  const keys = await loadOrCreateKeys(options.keysPath);
  const onError =
    options.onError ??
    ((error: unknown) => {
      console.error('The embedded login provider failed:', error);
    });

  // Where our own pages may send a form (and the redirects that follow it): this origin and the clients' callbacks.
  const formTargets = new Set(["'self'"]);
  for (const client of options.clients) {
    for (const uri of client.redirectUris) formTargets.add(new URL(uri).origin);
  }
  const pageHeaders = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; form-action ${[...formTargets].join(' ')}; frame-ancestors 'none'; base-uri 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };

  const provider = new oidc.Provider(issuerUrl.href.replace(/\/$/, ''), {
    // Codes, sessions and grants live in this process's memory: one operator, one process.
    adapter: memoryAdapter(CLOCK_TOLERANCE_SECONDS),
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      redirect_uris: [...client.redirectUris],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
    })),
    clientAuthMethods: ['none'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    scopes: ['openid'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // The ID token carries the claims its scopes asked for: the relying party needs no userinfo call.
    conformIdTokenClaims: false,
    jwks: keys.jwks,
    cookies: {
      keys: [...keys.cookieKeys],
      // The session cookie stays under the mount path, so two providers on one origin keep apart.
      long: { httpOnly: true, sameSite: 'lax', path: sessionCookiePath },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      deviceFlow: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      resourceIndicators: { enabled: false },
      dPoP: { enabled: false },
      userinfo: { enabled: true },
    },
    interactions: {
      url: (_ctx: unknown, interaction: { readonly uid: string }) =>
        `${prefix}/interaction/${interaction.uid}`,
    },
    findAccount: async (_ctx: unknown, subject: string) => {
      const account = await accounts.find(subject);
      if (account === null) return undefined;
      return {
        accountId: account.subject,
        claims: () => ({
          sub: account.subject,
          email: account.email,
          email_verified: true,
          name: account.name,
        }),
      };
    },
    renderError: (ctx: KoaContext, out: Readonly<Record<string, unknown>>) => {
      const description = typeof out['error_description'] === 'string' ? out['error_description'] : '';
      const code = typeof out['error'] === 'string' ? out['error'] : 'server_error';
      for (const [name, value] of Object.entries(pageHeaders)) ctx.set(name, value);
      ctx.type = 'html';
      ctx.body = messagePage('Login error', description === '' ? code : `${code}: ${description}`);
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
  });

  // Answers go back in the query string only: form_post would need a script, fragments never reach a server.
  provider.use(async (ctx, next) => {
    const mode = ctx.query['response_mode'];
    if (ctx.path === '/auth' && mode !== undefined && mode !== 'query') {
      for (const [name, value] of Object.entries(pageHeaders)) ctx.set(name, value);
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = messagePage(
        'Login error',
        'This provider answers in the query string only (response_mode=query).',
      );
      return;
    }
    await next();
  });

  provider.on('server_error', (_ctx, error) => {
    onError(error);
  });
  // Listening replaces Koa's own logging of the errors that escape oidc-provider's handlers; as Koa does, the
  // errors meant for the client (4xx, exposed) are not failures of ours.
  provider.on('error', (error) => {
    const exposed = error instanceof Error && 'expose' in error && error.expose === true;
    if (!exposed) onError(error);
  });

  const callback = provider.callback();
  let closed = false;

  const sessionCookie = /^\s*_session(?:\.sig)?=/;
  /**
   * Each authorization request starts without the provider's previous session, so the login page is shown every
   * time (another address can be used after logging out of Vigilance). Left in place, a session of another person
   * would make oidc-provider answer the new login with an automatically submitted logout form, which needs a script.
   */
  const forgetSession = (req: IncomingMessage, res: ServerResponse): void => {
    const parts = (req.headers.cookie ?? '').split(';');
    const kept = parts.filter((part) => !sessionCookie.test(part));
    if (kept.length === parts.length) return;
    req.headers.cookie = kept.join(';');
    for (const name of ['_session', '_session.sig']) {
      res.appendHeader(
        'set-cookie',
        `${name}=; path=${sessionCookiePath}; expires=Thu, 01 Jan 1970 00:00:00 GMT; samesite=lax; httponly`,
      );
    }
  };

  const send = (res: ServerResponse, status: number, html: string): void => {
    res.writeHead(status, { ...pageHeaders, 'content-length': Buffer.byteLength(html) });
    res.end(html);
  };

  const readForm = async (req: IncomingMessage): Promise<URLSearchParams | null> => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return null;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) return null;
      chunks.push(chunk);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };

  const grantConsent = async (
    req: IncomingMessage,
    res: ServerResponse,
    details: InteractionDetails,
  ): Promise<void> => {
    const accountId = details.session?.accountId;
    const clientId = details.params['client_id'];
    if (accountId === undefined || typeof clientId !== 'string') {
      send(
        res,
        400,
        messagePage('Login error', 'This login has no signed-in person; start again from Vigilance.'),
      );
      return;
    }
    const existing = details.grantId === undefined ? undefined : await provider.Grant.find(details.grantId);
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    const { missingOIDCScope, missingOIDCClaims } = details.prompt.details;
    if (missingOIDCScope !== undefined) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims !== undefined) grant.addOIDCClaims(missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: existing === undefined ? { grantId } : {} },
      { mergeWithLastSubmission: true },
    );
  };

  const login = async (req: IncomingMessage, res: ServerResponse, action: string): Promise<void> => {
    const form = await readForm(req);
    if (form === null) {
      send(
        res,
        400,
        messagePage('Login error', 'The login form could not be read; start again from Vigilance.'),
      );
      return;
    }
    if (form.get('action') === 'cancel') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The login was cancelled.' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const email = (form.get('email') ?? '').trim();
    const name = (form.get('name') ?? '').trim();
    const problem = !EMAIL.test(email)
      ? 'Type an e-mail address, such as ada@example.com.'
      : name === '' || name.length > MAX_NAME || /\p{Cc}/u.test(name)
        ? `Type a display name of 1 to ${MAX_NAME} characters.`
        : undefined;
    if (problem !== undefined) {
      send(res, 400, loginPage({ action, email, name, problem }));
      return;
    }
    const account = await accounts.findOrCreate(email, name);
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: account.subject, remember: false } },
      { mergeWithLastSubmission: false },
    );
  };

  const sendExpired = (res: ServerResponse): void => {
    send(
      res,
      400,
      messagePage(
        'Login expired',
        'This login has expired or was opened elsewhere; start again from Vigilance.',
      ),
    );
  };

  const interact = async (req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> => {
    const action = `${prefix}/interaction/${uid}`;
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(req, res);
    } catch (error) {
      if (!(error instanceof oidc.errors.SessionNotFound)) throw error;
      sendExpired(res);
      return;
    }
    if (details.uid !== uid) {
      sendExpired(res);
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (details.prompt.name === 'login') send(res, 200, loginPage({ action, email: '', name: '' }));
      else if (details.prompt.name === 'consent') await grantConsent(req, res, details);
      else {
        await provider.interactionFinished(
          req,
          res,
          {
            error: 'interaction_required',
            error_description: 'The local provider cannot complete this request.',
          },
          { mergeWithLastSubmission: false },
        );
      }
      return;
    }
    if (req.method === 'POST' && details.prompt.name === 'login') {
      await login(req, res, action);
      return;
    }
    send(res, 405, messagePage('Login error', 'This page only takes the login form.'));
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (closed || (path !== prefix && !path.startsWith(`${prefix}/`))) {
      send(res, closed ? 503 : 404, messagePage('Not found', 'There is no such page.'));
      return;
    }
    const rest = path.slice(prefix.length);
    if (rest === '/auth') forgetSession(req, res);
    const interaction = /^\/interaction\/([A-Za-z0-9_-]{1,64})$/.exec(rest);
    if (interaction?.[1] !== undefined) {
      await interact(req, res, interaction[1]);
      return;
    }
    // Mounted as express would: the path below the prefix, the full URL as originalUrl, the prefix as baseUrl.
    const mounted = req as IncomingMessage & { originalUrl?: string; baseUrl?: string };
    const saved = { url: req.url, originalUrl: mounted.originalUrl, baseUrl: mounted.baseUrl };
    const below = url.slice(prefix.length);
    mounted.originalUrl = url;
    mounted.baseUrl = prefix;
    req.url = below.startsWith('/') ? below : `/${below}`;
    try {
      await callback(req, res);
    } finally {
      req.url = saved.url;
      if (saved.originalUrl === undefined) delete mounted.originalUrl;
      else mounted.originalUrl = saved.originalUrl;
      if (saved.baseUrl === undefined) delete mounted.baseUrl;
      else mounted.baseUrl = saved.baseUrl;
    }
  };

  return {
    issuer: issuerUrl.href.replace(/\/$/, ''),
    handle: (req, res) => {
      route(req, res).catch((error: unknown) => {
        onError(error);
        if (res.headersSent) {
          res.destroy(error instanceof Error ? error : undefined);
          return;
        }
        send(res, 500, messagePage('Login error', 'The local login provider failed; try again.'));
      });
    },
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
};
