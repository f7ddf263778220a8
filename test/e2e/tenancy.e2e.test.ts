import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentAccountOf,
  logIn,
  newBrowser,
  newKeyPair,
  registerMachineClient,
  sendJson,
  startWeb,
  type Browser,
  type MachineClient,
  type WebHarness,
} from '../support/web.ts';
import { servicesRequired } from '../support/services.ts';

/** A GREEN company of the registry sandbox (DANONE). */
const SIREN = '552032534';
const USER_AGENT = 'Vigilance-tenancy-e2e/1.0';
const ACCOUNT_HEADER = 'vigilance-account';

const ALICE = { email: 'alice@example.com', name: 'Alice Martin' };
const BOB = { email: 'bob@example.com', name: 'Bob Durand' };
const CAROL = { email: 'carol@example.com', name: 'Carol Lefebvre' };
const DORA = 'dora@example.com';
const VICTOR = { email: 'victor@example.com', name: 'Victor Viewer' };
const MIA = { email: 'mia@example.com', name: 'Mia Member' };
const ADAM = { email: 'adam@example.com', name: 'Adam Admin' };

const popplerMissing = spawnSync('pdftotext', ['-v']).error !== undefined;
if (popplerMissing && servicesRequired) {
  throw new Error('REQUIRE_SERVICES=1 but pdftotext is missing (apt-get install poppler-utils).');
}
const popplerNote = popplerMissing
  ? ' (skipped for a known reason: pdftotext missing; apt-get install poppler-utils)'
  : '';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** The /api/v1 operations that name no account and no account's resource, and why. */
const NAMES_NO_ACCOUNT: readonly string[] = [
  'GET /api/v1/me', // the caller themself
  'GET /api/v1/auth/csrf', // the caller's session
  'GET /api/v1/accounts', // the caller's own accounts
  'POST /api/v1/accounts', // a new account of the caller's
  'POST /api/v1/public/verify/{token}', // public by design: whoever holds a report's token may verify it
];

interface Problem {
  readonly status: number;
  readonly code: string;
  readonly title: string;
}

interface AccountItem {
  readonly id: string;
  readonly name: string;
  readonly tenancyMode: string;
  readonly role: string;
  readonly via: string;
  readonly agentAccountId: string | null;
}

interface AssessmentBody {
  readonly id: string;
  readonly accountId: string;
  readonly actorId: string;
  readonly agentAccountId: string | null;
  readonly verdict: string;
}

interface ReportBody {
  readonly id: string;
  readonly accountId: string;
  readonly revokedAt: string | null;
  readonly downloadUrl: string;
}

interface MemberBody {
  readonly userId: string;
  readonly email: string;
  readonly role: string;
}

interface AuditItem {
  readonly seq: number;
  readonly action: string;
  readonly accountId: string | null;
  readonly actorId: string | null;
  readonly entityId: string;
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly correlationId: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

/** An answer as the tests look at it: status, parsed body and the correlation id the request carried. */
interface Answer<T> {
  readonly status: number;
  readonly body: T;
  readonly correlationId: string;
}

/** What a cross-tenant row aims at: an account and its resources (A's, or ids nobody has). */
interface Target {
  readonly accountId: string;
  readonly assessmentId: string;
  readonly reportId: string;
  readonly userId: string;
  readonly clientId: string;
}

interface Probe {
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One route that names an account or one of its resources: how to aim it at a target. */
interface CrossTenantRow {
  /** `METHOD /path` exactly as /api/v1/openapi.json names it. */
  readonly route: string;
  readonly probe: (target: Target) => Probe;
}

describe('tenancy: accounts, roles, agents acting on behalf of clients, and the audit of every change', () => {
  let web: WebHarness;
  let scratch: string;
  /** Correlation ids of every request refused (4xx): none of them may have left an audit entry. */
  const refused = new Set<string>();

  let alice: Browser;
  let aliceId: string;
  let accountA: string;
  let bob: Browser;
  let accountB: string;
  let bobClient: MachineClient;
  /** A key of Bob's, for the API client he tries to register in A. */
  let intruderJwk: JWK;
  let carol: Browser;
  let carolId: string;

  /** A's resources, made by Alice before anyone else comes near. */
  let assessmentId: string;
  let reportId: string;
  let apiClientId: string;
  let doraId: string;
  /** The correlation ids of the requests that made them, for the audit log. */
  const causedBy = {
    login: '',
    membershipAdded: '',
    apiClientCreated: '',
    assessmentCreated: '',
    reportSealed: '',
    agentCreated: '',
    clientCreated: '',
  };
  let cabinetId: string;
  let clientCoId: string;
  /** The report Carol sealed for Client Co. */
  let clientReportId: string;

  /** A correlation id of this suite's own making, and the headers that carry it. */
  const traced = (label: string) => {
    const id = `tenancy-${label}-${randomUUID()}`;
    return { id, headers: { 'x-correlation-id': id, 'user-agent': USER_AGENT } };
  };

  const answerOf = async <T>(response: Response, correlationId: string): Promise<Answer<T>> => {
    expect(response.headers.get('x-correlation-id')).toBe(correlationId);
    const text = await response.text();
    if (response.status >= 400) refused.add(correlationId);
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T, correlationId };
  };

  /** A request of a logged-in person, with its own correlation id and this suite's user agent. */
  const call = async <T = unknown>(
    browser: Browser,
    method: string,
    path: string,
    body?: unknown,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<Answer<T>> => {
    const trace = traced(method.toLowerCase());
    const response = await sendJson(browser, method, path, body, { ...trace.headers, ...headers });
    return answerOf<T>(response, trace.id);
  };

  const read = async <T>(browser: Browser, path: string, headers: Readonly<Record<string, string>> = {}) => {
    const answer = await call<T>(browser, 'GET', path, undefined, headers);
    expect(answer.status, `GET ${path}: ${JSON.stringify(answer.body)}`).toBe(200);
    return answer.body;
  };

  /** The whole audit log of an account, every page, newest first. */
  const auditOf = async (browser: Browser, accountId: string): Promise<AuditItem[]> => {
    const items: AuditItem[] = [];
    let cursor: number | null = null;
    do {
      const page: { items: AuditItem[]; nextCursor: number | null } = await read(
        browser,
        `/api/v1/accounts/${accountId}/audit?limit=200${cursor === null ? '' : `&cursor=${String(cursor)}`}`,
      );
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== null);
    return items;
  };

  /** How many entries the whole hash chain holds (every account's), checked intact on the way. */
  const chainLength = async (): Promise<number> => {
    const verification = await web.app.useCases.verifyAuditLog();
    expect(verification).toMatchObject({ ok: true });
    return verification.entries;
  };

  /** Everything of A that Alice sees: what a stranger's requests must leave as it was. */
  const snapshotOfA = async () => ({
    account: await read(alice, `/api/v1/accounts/${accountA}`),
    assessments: await read(alice, '/api/v1/assessments?limit=200', { [ACCOUNT_HEADER]: accountA }),
    assessment: await read(alice, `/api/v1/assessments/${assessmentId}`, { [ACCOUNT_HEADER]: accountA }),
    report: await read(alice, `/api/v1/reports/${reportId}`, { [ACCOUNT_HEADER]: accountA }),
    members: await read(alice, `/api/v1/accounts/${accountA}/members`),
    apiClients: await read(alice, `/api/v1/accounts/${accountA}/api-clients`),
    auditEntries: (await auditOf(alice, accountA)).length,
  });

  /**
   * A person's login through the embedded OpenID provider, every request of it carrying `correlationId` and this
   * suite's user agent, so that the `user.login` entry can be traced to it.
   */
  const logInTraced = async (email: string, name: string, correlationId: string): Promise<Browser> => {
    const browser = newBrowser(web.baseUrl);
    const headers = { 'x-correlation-id': correlationId, 'user-agent': USER_AGENT };
    const follow = async (response: Response): Promise<Response> => {
      let current = response;
      for (let hops = 0; hops < 20 && [301, 302, 303, 307].includes(current.status); hops += 1) {
        const location = current.headers.get('location');
        if (location === null) break;
        await current.arrayBuffer();
        current = await browser.fetch(location, { headers });
      }
      return current;
    };
    const page = await follow(await browser.fetch('/auth/login/local', { headers }));
    const html = await page.text();
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    if (page.status !== 200 || action === undefined) {
      throw new Error(`No login form (status ${String(page.status)}).`);
    }
    const landed = await follow(
      await browser.fetch(action, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ email, name, action: 'login' }).toString(),
        csrf: false,
      }),
    );
    await landed.arrayBuffer();
    if (browser.cookie('__Host-vigilance_session') === undefined) {
      throw new Error('The login ended in no session.');
    }
    return browser;
  };

  const userIdOf = async (browser: Browser): Promise<string> =>
    (await read<{ user: { id: string } }>(browser, '/api/v1/me')).user.id;

  beforeAll(async () => {
    web = await startWeb();
    scratch = mkdtempSync(join(tmpdir(), 'vigilance-tenancy-'));

    causedBy.login = traced('login').id;
    alice = await logInTraced(ALICE.email, ALICE.name, causedBy.login);
    aliceId = await userIdOf(alice);
    accountA = await currentAccountOf(alice);

    const assessed = await call<AssessmentBody>(alice, 'POST', '/api/v1/assessments', { identifier: SIREN });
    expect(assessed.status).toBe(201);
    assessmentId = assessed.body.id;
    causedBy.assessmentCreated = assessed.correlationId;

    const sealPath = `/api/v1/assessments/${assessmentId}/seal`;
    const sealed = await call<{ report: ReportBody }>(alice, 'POST', sealPath, { lang: 'en' });
    expect(sealed.status).toBe(201);
    reportId = sealed.body.report.id;
    causedBy.reportSealed = sealed.correlationId;

    const registered = await call<{ id: string }>(alice, 'POST', `/api/v1/accounts/${accountA}/api-clients`, {
      name: 'Alice ERP',
      role: 'member',
      publicJwk: (await newKeyPair()).publicJwk,
    });
    expect(registered.status).toBe(201);
    apiClientId = registered.body.id;
    causedBy.apiClientCreated = registered.correlationId;

    const added = await call<MemberBody>(alice, 'POST', `/api/v1/accounts/${accountA}/members`, {
      email: DORA,
      role: 'member',
    });
    expect(added.status).toBe(201);
    doraId = added.body.userId;
    causedBy.membershipAdded = added.correlationId;

    bob = await logIn(web.baseUrl, BOB.email, BOB.name);
    accountB = await currentAccountOf(bob);
    bobClient = await registerMachineClient(web.baseUrl, bob, accountB);
    intruderJwk = (await newKeyPair()).publicJwk;
  }, 60_000);

  afterAll(async () => {
    await web.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  describe('cross-tenant: nothing of account A answers to Bob, who is not in it', () => {
    const named = (target: Target) => ({ [ACCOUNT_HEADER]: target.accountId });

    /** Every route that takes an id or an account. A new such route needs a row here (the test below says so). */
    const CROSS_TENANT: readonly CrossTenantRow[] = [
      {
        route: 'GET /api/v1/accounts/{accountId}',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}` }),
      },
      {
        route: 'GET /api/v1/accounts/{accountId}/members',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}/members` }),
      },
      {
        route: 'POST /api/v1/accounts/{accountId}/members',
        probe: (t) => ({
          path: `/api/v1/accounts/${t.accountId}/members`,
          body: { email: 'bobs-friend@example.com', role: 'owner' },
        }),
      },
      {
        route: 'PATCH /api/v1/accounts/{accountId}/members/{userId}',
        probe: (t) => ({
          path: `/api/v1/accounts/${t.accountId}/members/${t.userId}`,
          body: { role: 'owner' },
        }),
      },
      {
        route: 'DELETE /api/v1/accounts/{accountId}/members/{userId}',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}/members/${t.userId}` }),
      },
      {
        route: 'GET /api/v1/accounts/{accountId}/api-clients',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}/api-clients` }),
      },
      {
        route: 'POST /api/v1/accounts/{accountId}/api-clients',
        probe: (t) => ({
          path: `/api/v1/accounts/${t.accountId}/api-clients`,
          body: { name: 'Intruder ERP', role: 'member', publicJwk: intruderJwk },
        }),
      },
      {
        route: 'DELETE /api/v1/accounts/{accountId}/api-clients/{clientId}',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}/api-clients/${t.clientId}` }),
      },
      {
        route: 'GET /api/v1/accounts/{accountId}/audit',
        probe: (t) => ({ path: `/api/v1/accounts/${t.accountId}/audit` }),
      },
      {
        route: 'POST /api/v1/accounts/{accountId}/clients',
        probe: (t) => ({
          path: `/api/v1/accounts/${t.accountId}/clients`,
          body: { name: 'Intruder Client' },
        }),
      },
      {
        route: 'GET /api/v1/assessments/{id}',
        probe: (t) => ({ path: `/api/v1/assessments/${t.assessmentId}` }),
      },
      {
        route: 'POST /api/v1/assessments/{id}/seal',
        probe: (t) => ({ path: `/api/v1/assessments/${t.assessmentId}/seal`, body: { lang: 'en' } }),
      },
      { route: 'GET /api/v1/reports/{id}', probe: (t) => ({ path: `/api/v1/reports/${t.reportId}` }) },
      {
        route: 'GET /api/v1/reports/{id}/download',
        probe: (t) => ({ path: `/api/v1/reports/${t.reportId}/download` }),
      },
      {
        route: 'POST /api/v1/reports/{id}/revoke',
        probe: (t) => ({ path: `/api/v1/reports/${t.reportId}/revoke`, body: { reason: 'Bob says so' } }),
      },
      {
        route: 'GET /api/v1/suppliers/{identifier}/state',
        probe: (t) => ({ path: `/api/v1/suppliers/${SIREN}/state`, headers: named(t) }),
      },
      {
        route: 'GET /api/v1/assessments',
        probe: (t) => ({ path: '/api/v1/assessments', headers: named(t) }),
      },
      {
        route: 'POST /api/v1/assessments',
        probe: (t) => ({ path: '/api/v1/assessments', body: { identifier: SIREN }, headers: named(t) }),
      },
      {
        route: 'PUT /api/v1/me/account',
        probe: (t) => ({ path: '/api/v1/me/account', body: { accountId: t.accountId } }),
      },
    ];

    /** Each row is tried as it is (the caller's own account) and naming the target account in the header. */
    const VARIANTS = ['own account', 'Vigilance-Account'] as const;

    const targetA = (): Target => ({
      accountId: accountA,
      assessmentId,
      reportId,
      userId: doraId,
      clientId: apiClientId,
    });

    /** Ids nobody has: what a caller gets for them is what they must get for A's, or A's existence shows. */
    const ghost: Target = {
      accountId: randomUUID(),
      assessmentId: randomUUID(),
      reportId: randomUUID(),
      userId: randomUUID(),
      clientId: randomUUID(),
    };

    type Send = (method: string, probe: Probe) => Promise<Response>;

    interface Outcome {
      readonly route: string;
      readonly variant: (typeof VARIANTS)[number];
      readonly status: number;
      readonly problem: boolean;
      readonly code: string | undefined;
      readonly title: string | undefined;
    }

    const tryAll = async (send: Send, target: Target): Promise<Outcome[]> => {
      const outcomes: Outcome[] = [];
      for (const variant of VARIANTS) {
        for (const row of CROSS_TENANT) {
          const [method = ''] = row.route.split(' ');
          const probe = row.probe(target);
          const trace = traced('intruder');
          const response = await send(method, {
            ...probe,
            headers: {
              ...trace.headers,
              ...(variant === 'Vigilance-Account' ? { [ACCOUNT_HEADER]: target.accountId } : {}),
              ...probe.headers,
            },
          });
          const answer = await answerOf<Partial<Problem> | null>(response, trace.id);
          outcomes.push({
            route: row.route,
            variant,
            status: answer.status,
            problem: (response.headers.get('content-type') ?? '').startsWith('application/problem+json'),
            code: answer.body?.code,
            title: answer.body?.title,
          });
        }
      }
      return outcomes;
    };

    const expectNothingOfA = async (
      send: Send,
      statusOf: (route: string, variant: (typeof VARIANTS)[number]) => number,
    ) => {
      const before = await snapshotOfA();
      const chainBefore = await chainLength();

      const atA = await tryAll(send, targetA());
      expect(atA.map(({ route, variant, status, problem }) => ({ route, variant, status, problem }))).toEqual(
        atA.map(({ route, variant }) => ({
          route,
          variant,
          status: statusOf(route, variant),
          problem: true,
        })),
      );
      // The same answer as for ids that exist nowhere: a 404 that does not tell A's resources exist.
      expect(atA).toEqual(await tryAll(send, ghost));

      expect(await snapshotOfA()).toEqual(before);
      expect(await chainLength()).toBe(chainBefore);
    };

    it('the table has a row for every /api/v1 route that takes a parameter, and every other one names no account', async () => {
      const response = await fetch(`${web.baseUrl}/api/v1/openapi.json`);
      expect(response.status).toBe(200);
      const document = (await response.json()) as { paths: Record<string, Record<string, unknown>> };
      const operations = Object.entries(document.paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((method) => HTTP_METHODS.has(method))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      const api = operations.filter((operation) => operation.split(' ')[1]?.startsWith('/api/v1/'));
      const rows = CROSS_TENANT.map((row) => row.route);
      expect(new Set(rows).size).toBe(rows.length);
      expect(rows.filter((route) => !api.includes(route))).toEqual([]);

      const withParameter = api.filter(
        (operation) => operation.includes('{') && !NAMES_NO_ACCOUNT.includes(operation),
      );
      expect(withParameter.length).toBeGreaterThanOrEqual(15);
      expect(withParameter.filter((operation) => !rows.includes(operation))).toEqual([]);
      expect(api.filter((operation) => !rows.includes(operation)).sort()).toEqual(
        [...NAMES_NO_ACCOUNT].sort(),
      );
    });

    it("Bob's session gets 404 from every route aimed at A or its resources, and A is unchanged", async () => {
      await expectNothingOfA(
        (method, probe) => sendJson(bob, method, probe.path, probe.body, { ...probe.headers }),
        () => 404,
      );
      // Nor does anything of A show in what Bob can list.
      const accounts = await read<{ items: AccountItem[] }>(bob, '/api/v1/accounts');
      expect(accounts.items.map((a) => a.id)).toEqual([accountB]);
      expect(await currentAccountOf(bob)).toBe(accountB);
      const own = await read<{ items: AssessmentBody[] }>(bob, '/api/v1/assessments');
      expect(own.items.map((a) => a.id)).not.toContain(assessmentId);
    });

    it("Bob's API client gets the same 404s, but for what no API client may do in any account (403)", async () => {
      // Two refusals do not depend on the account aimed at, so they tell nothing of A (the ghost comparison holds
      // them to that): an API client has no session whose account it could switch, and in its own account a
      // client (member or viewer at most) never revokes a report.
      await expectNothingOfA(
        (method, probe) => bobClient.fetch(method, probe.path, probe.body, { ...probe.headers }),
        (route, variant) =>
          route === 'PUT /api/v1/me/account' ||
          (route === 'POST /api/v1/reports/{id}/revoke' && variant === 'own account')
            ? 403
            : 404,
      );
    });
  });

  describe('roles in account A: viewer, member, admin, owner', () => {
    let victor: Browser;
    let mia: Browser;
    let adam: Browser;
    let miaId: string;

    beforeAll(async () => {
      for (const [person, role] of [
        [VICTOR, 'viewer'],
        [MIA, 'member'],
        [ADAM, 'admin'],
      ] as const) {
        const added = await call(alice, 'POST', `/api/v1/accounts/${accountA}/members`, {
          email: person.email,
          role,
        });
        expect(added.status, JSON.stringify(added.body)).toBe(201);
      }
      victor = await logIn(web.baseUrl, VICTOR.email, VICTOR.name);
      mia = await logIn(web.baseUrl, MIA.email, MIA.name);
      adam = await logIn(web.baseUrl, ADAM.email, ADAM.name);
      miaId = await userIdOf(mia);
    }, 60_000);

    /** Every change an account can undergo, aimed at A's resources. */
    const changes = (label: string) =>
      [
        ['create assessment', 'POST', '/api/v1/assessments', { identifier: SIREN }],
        ['seal', 'POST', `/api/v1/assessments/${assessmentId}/seal`, { lang: 'en' }],
        ['revoke report', 'POST', `/api/v1/reports/${reportId}/revoke`, { reason: `${label} says so` }],
        [
          'add member',
          'POST',
          `/api/v1/accounts/${accountA}/members`,
          { email: 'friend@example.com', role: 'viewer' },
        ],
        ['change member', 'PATCH', `/api/v1/accounts/${accountA}/members/${doraId}`, { role: 'viewer' }],
        ['remove member', 'DELETE', `/api/v1/accounts/${accountA}/members/${doraId}`, undefined],
        [
          'register API client',
          'POST',
          `/api/v1/accounts/${accountA}/api-clients`,
          { name: `${label} ERP`, role: 'member', publicJwk: intruderJwk },
        ],
        ['revoke API client', 'DELETE', `/api/v1/accounts/${accountA}/api-clients/${apiClientId}`, undefined],
        [
          'create client account',
          'POST',
          `/api/v1/accounts/${accountA}/clients`,
          { name: `${label} Client` },
        ],
      ] as const;

    const statusesOf = async (
      browser: Browser,
      requests: readonly (readonly [string, string, string, unknown])[],
    ) => {
      const outcomes: { what: string; status: number; code: string | undefined }[] = [];
      for (const [what, method, path, body] of requests) {
        const answer = await call<Partial<Problem> | null>(browser, method, path, body);
        outcomes.push({ what, status: answer.status, code: answer.body?.code });
      }
      return outcomes;
    };

    const forbidden = (requests: readonly (readonly [string, ...unknown[]])[]) =>
      requests.map(([what]) => ({ what, status: 403, code: 'FORBIDDEN' }));

    it('members added by e-mail land in A at their first login, with their role', async () => {
      for (const [browser, role] of [
        [victor, 'viewer'],
        [mia, 'member'],
        [adam, 'admin'],
      ] as const) {
        expect(await currentAccountOf(browser)).toBe(accountA);
        const me = await read<{ accounts: AccountItem[] }>(browser, '/api/v1/me');
        expect(me.accounts).toEqual([expect.objectContaining({ id: accountA, role, via: 'membership' })]);
        const switched = await call(browser, 'PUT', '/api/v1/me/account', { accountId: accountA });
        expect(switched.body).toEqual({ currentAccountId: accountA, role });
      }
    });

    it('a viewer reads A (200) but changes nothing (403), and reads neither the audit log nor the API clients', async () => {
      const before = await snapshotOfA();
      const chainBefore = await chainLength();

      const attempts = changes('Victor');
      expect(await statusesOf(victor, attempts)).toEqual(forbidden(attempts));
      const adminReads = [
        ['audit log', 'GET', `/api/v1/accounts/${accountA}/audit`, undefined],
        ['API clients', 'GET', `/api/v1/accounts/${accountA}/api-clients`, undefined],
      ] as const;
      expect(await statusesOf(victor, adminReads)).toEqual(forbidden(adminReads));

      const reads = [
        ['assessments', 'GET', '/api/v1/assessments', undefined],
        ['assessment', 'GET', `/api/v1/assessments/${assessmentId}`, undefined],
        ['report', 'GET', `/api/v1/reports/${reportId}`, undefined],
        ['download link', 'GET', `/api/v1/reports/${reportId}/download`, undefined],
        ['supplier state', 'GET', `/api/v1/suppliers/${SIREN}/state`, undefined],
        ['account', 'GET', `/api/v1/accounts/${accountA}`, undefined],
        ['members', 'GET', `/api/v1/accounts/${accountA}/members`, undefined],
      ] as const;
      expect(await statusesOf(victor, reads)).toEqual(
        reads.map(([what]) => ({ what, status: 200, code: undefined })),
      );
      const listed = await read<{ items: AssessmentBody[] }>(victor, '/api/v1/assessments');
      expect(listed.items.map((a) => a.id)).toContain(assessmentId);

      expect(await snapshotOfA()).toEqual(before);
      expect(await chainLength()).toBe(chainBefore);
    });

    it('a member assesses and seals (201), but neither revokes, administers members or API clients, nor reads the audit', async () => {
      const assessed = await call<AssessmentBody>(mia, 'POST', '/api/v1/assessments', { identifier: SIREN });
      expect(assessed.status).toBe(201);
      expect(assessed.body).toMatchObject({ accountId: accountA, actorId: miaId, agentAccountId: null });
      const sealPath = `/api/v1/assessments/${assessed.body.id}/seal`;
      const sealed = await call<{ report: ReportBody }>(mia, 'POST', sealPath, { lang: 'en' });
      expect(sealed.status).toBe(201);
      expect(sealed.body.report.accountId).toBe(accountA);

      const before = await snapshotOfA();
      const chainBefore = await chainLength();
      const attempts = [
        ...changes('Mia').filter(([what]) => !['create assessment', 'seal'].includes(what)),
        ['audit log', 'GET', `/api/v1/accounts/${accountA}/audit`, undefined],
        ['API clients', 'GET', `/api/v1/accounts/${accountA}/api-clients`, undefined],
      ] as const;
      expect(attempts).toHaveLength(9);
      expect(await statusesOf(mia, attempts)).toEqual(forbidden(attempts));
      expect(await snapshotOfA()).toEqual(before);
      expect(await chainLength()).toBe(chainBefore);
    });

    it('an admin neither grants nor takes ownership (403); the last owner can be neither demoted nor removed (409)', async () => {
      // The admin does administer A: the refusals below are about ownership, not about being an admin.
      expect((await call(adam, 'GET', `/api/v1/accounts/${accountA}/audit`)).status).toBe(200);
      expect((await call(adam, 'GET', `/api/v1/accounts/${accountA}/api-clients`)).status).toBe(200);

      const before = await snapshotOfA();
      const chainBefore = await chainLength();
      const members = `/api/v1/accounts/${accountA}/members`;
      const ownership = [
        ['add an owner', 'POST', members, { email: 'new-owner@example.com', role: 'owner' }],
        ['make a member owner', 'PATCH', `${members}/${miaId}`, { role: 'owner' }],
        ['demote the owner', 'PATCH', `${members}/${aliceId}`, { role: 'admin' }],
        ['remove the owner', 'DELETE', `${members}/${aliceId}`, undefined],
      ] as const;
      expect(await statusesOf(adam, ownership)).toEqual(forbidden(ownership));

      const lastOwner = [
        ['step down to admin', 'PATCH', `${members}/${aliceId}`, { role: 'admin' }],
        ['step down to viewer', 'PATCH', `${members}/${aliceId}`, { role: 'viewer' }],
        ['leave', 'DELETE', `${members}/${aliceId}`, undefined],
      ] as const;
      expect(await statusesOf(alice, lastOwner)).toEqual(
        lastOwner.map(([what]) => ({ what, status: 409, code: 'LAST_OWNER' })),
      );

      const after = await snapshotOfA();
      expect(after).toEqual(before);
      expect((after.members as { items: MemberBody[] }).items.filter((m) => m.role === 'owner')).toEqual([
        expect.objectContaining({ userId: aliceId, email: ALICE.email }),
      ]);
      expect(await chainLength()).toBe(chainBefore);
    });
  });

  describe('ON_BEHALF: an agent firm acting for a client account', () => {
    it('Carol creates the agent account "Cabinet Carol" and its client "Client Co", which her list shows via the agent', async () => {
      carol = await logIn(web.baseUrl, CAROL.email, CAROL.name);
      carolId = await userIdOf(carol);

      const agent = await call<{ id: string; tenancyMode: string }>(carol, 'POST', '/api/v1/accounts', {
        name: 'Cabinet Carol',
        tenancyMode: 'ON_BEHALF',
      });
      expect(agent.status, JSON.stringify(agent.body)).toBe(201);
      expect(agent.body.tenancyMode).toBe('ON_BEHALF');
      cabinetId = agent.body.id;
      causedBy.agentCreated = agent.correlationId;

      const client = await call<{ id: string; name: string }>(
        carol,
        'POST',
        `/api/v1/accounts/${cabinetId}/clients`,
        {
          name: 'Client Co',
        },
      );
      expect(client.status, JSON.stringify(client.body)).toBe(201);
      expect(client.body.name).toBe('Client Co');
      clientCoId = client.body.id;
      causedBy.clientCreated = client.correlationId;

      const accounts = await read<{ items: AccountItem[] }>(carol, '/api/v1/accounts');
      expect(accounts.items).toContainEqual(
        expect.objectContaining({ id: cabinetId, name: 'Cabinet Carol', role: 'owner', via: 'membership' }),
      );
      expect(accounts.items).toContainEqual(
        expect.objectContaining({
          id: clientCoId,
          name: 'Client Co',
          via: 'agent',
          agentAccountId: cabinetId,
        }),
      );
    });

    it('she assesses and seals for Client Co: the client owns both, she is their actor, through Cabinet Carol', async () => {
      const forClient = { [ACCOUNT_HEADER]: clientCoId };
      const assessed = await call<AssessmentBody>(
        carol,
        'POST',
        '/api/v1/assessments',
        { identifier: SIREN },
        forClient,
      );
      expect(assessed.status, JSON.stringify(assessed.body)).toBe(201);
      expect(assessed.body).toMatchObject({
        accountId: clientCoId,
        actorId: carolId,
        agentAccountId: cabinetId,
      });

      const sealed = await call<{ report: ReportBody }>(
        carol,
        'POST',
        `/api/v1/assessments/${assessed.body.id}/seal`,
        { lang: 'en' },
        forClient,
      );
      expect(sealed.status, JSON.stringify(sealed.body)).toBe(201);
      expect(sealed.body.report.accountId).toBe(clientCoId);

      clientReportId = sealed.body.report.id;
    });

    it.skipIf(popplerMissing)(
      `its PDF says it was requested by Carol, of Cabinet Carol, on behalf of Client Co${popplerNote}`,
      async () => {
        const forClient = { [ACCOUNT_HEADER]: clientCoId };
        const report = await read<ReportBody>(carol, `/api/v1/reports/${clientReportId}`, forClient);
        const link = await read<{ url: string }>(carol, report.downloadUrl, forClient);
        const url = new URL(link.url, web.baseUrl);
        expect(url.pathname).toMatch(/^\/files\//);
        const download = await fetch(url);
        expect(download.status).toBe(200);
        expect(download.headers.get('content-type')).toBe('application/pdf');
        const pdf = join(scratch, 'client-co.pdf');
        writeFileSync(pdf, Buffer.from(await download.arrayBuffer()));
        const text = execFileSync('pdftotext', ['-enc', 'UTF-8', pdf, '-']).toString().replace(/\s+/g, ' ');
        expect(text).toContain('on behalf of Client Co');
        expect(text).toContain(CAROL.name);
        expect(text).toContain(`Requested by ${CAROL.name} (Cabinet Carol), on behalf of Client Co`);
      },
    );

    it('Carol does not administer Client Co (403), and Bob does not see it at all (404)', async () => {
      const chainBefore = await chainLength();
      const admin = [
        [
          'add member',
          'POST',
          `/api/v1/accounts/${clientCoId}/members`,
          { email: 'carol-friend@example.com', role: 'admin' },
        ],
        [
          'register API client',
          'POST',
          `/api/v1/accounts/${clientCoId}/api-clients`,
          { name: 'Carol ERP', publicJwk: intruderJwk },
        ],
        ['API clients', 'GET', `/api/v1/accounts/${clientCoId}/api-clients`, undefined],
        ['audit log', 'GET', `/api/v1/accounts/${clientCoId}/audit`, undefined],
      ] as const;
      const carolSees = [];
      for (const [what, method, path, body] of admin) {
        const answer = await call<Problem>(carol, method, path, body);
        carolSees.push({ what, status: answer.status, code: answer.body.code });
      }
      expect(carolSees).toEqual(admin.map(([what]) => ({ what, status: 403, code: 'FORBIDDEN' })));

      const forClient = { [ACCOUNT_HEADER]: clientCoId };
      const bobTries = [
        await call<Problem>(bob, 'GET', `/api/v1/accounts/${clientCoId}`),
        await call<Problem>(bob, 'GET', `/api/v1/accounts/${clientCoId}/members`),
        await call<Problem>(bob, 'GET', '/api/v1/assessments', undefined, forClient),
        await call<Problem>(bob, 'POST', '/api/v1/assessments', { identifier: SIREN }, forClient),
        await call<Problem>(bob, 'PUT', '/api/v1/me/account', { accountId: clientCoId }),
        await call<Problem>(bob, 'POST', `/api/v1/accounts/${cabinetId}/clients`, { name: 'Bob Client' }),
      ];
      expect(bobTries.map((a) => [a.status, a.body.code])).toEqual(bobTries.map(() => [404, 'NOT_FOUND']));
      const bobsAccounts = await read<{ items: AccountItem[] }>(bob, '/api/v1/accounts');
      expect(bobsAccounts.items.map((a) => a.id)).toEqual([accountB]);
      expect(await chainLength()).toBe(chainBefore);
    });
  });

  describe('the audit log', () => {
    it("A's log names every change with its actor, address, user agent, before/after and its request's correlation id", async () => {
      const members = `/api/v1/accounts/${accountA}/members`;
      const changed = await call<MemberBody>(alice, 'PATCH', `${members}/${doraId}`, { role: 'admin' });
      expect(changed.status).toBe(200);
      const removed = await call<MemberBody>(alice, 'DELETE', `${members}/${doraId}`);
      expect(removed.status).toBe(200);
      const clientRevoked = await call(
        alice,
        'DELETE',
        `/api/v1/accounts/${accountA}/api-clients/${apiClientId}`,
      );
      expect(clientRevoked.status).toBe(200);
      const reason = 'Sealed on the wrong supplier';
      const reportRevoked = await call(alice, 'POST', `/api/v1/reports/${reportId}/revoke`, { reason });
      expect(reportRevoked.status).toBe(200);

      const membership = `${accountA}:${doraId}`;
      const expected = [
        {
          action: 'user.login',
          correlationId: causedBy.login,
          entityId: aliceId,
          before: null,
          after: { email: ALICE.email },
        },
        {
          action: 'membership.added',
          correlationId: causedBy.membershipAdded,
          entityId: membership,
          before: null,
          after: { userId: doraId, email: DORA, role: 'member' },
        },
        {
          action: 'membership.changed',
          correlationId: changed.correlationId,
          entityId: membership,
          before: { userId: doraId, role: 'member' },
          after: { userId: doraId, role: 'admin' },
        },
        {
          action: 'membership.removed',
          correlationId: removed.correlationId,
          entityId: membership,
          before: { userId: doraId, role: 'admin' },
          after: null,
        },
        {
          action: 'api_client.created',
          correlationId: causedBy.apiClientCreated,
          entityId: apiClientId,
          before: null,
          after: { id: apiClientId, name: 'Alice ERP', role: 'member' },
        },
        {
          action: 'api_client.revoked',
          correlationId: clientRevoked.correlationId,
          entityId: apiClientId,
          before: { revokedAt: null },
          after: { revokedAt: expect.any(String) as unknown },
        },
        {
          action: 'assessment.created',
          correlationId: causedBy.assessmentCreated,
          entityId: assessmentId,
          before: null,
          after: { verdict: 'GREEN', subject: { siren: SIREN } },
        },
        {
          action: 'report.sealed',
          correlationId: causedBy.reportSealed,
          entityId: reportId,
          before: null,
          after: { assessmentId, verdict: 'GREEN' },
        },
        {
          action: 'report.revoked',
          correlationId: reportRevoked.correlationId,
          entityId: reportId,
          before: { revokedAt: null },
          after: { revokedAt: expect.any(String) as unknown, reason },
        },
      ];

      const log = await auditOf(alice, accountA);
      for (const entry of expected) {
        const found = log.filter((e) => e.action === entry.action && e.correlationId === entry.correlationId);
        expect(found, entry.action).toHaveLength(1);
        expect(found[0], entry.action).toMatchObject({
          ...entry,
          accountId: accountA,
          actorId: aliceId,
          ip: '127.0.0.1',
          userAgent: USER_AGENT,
        });
      }
    });

    it("Cabinet Carol's log has its creation and its client's, by Carol, under their requests' correlation ids", async () => {
      const log = await auditOf(carol, cabinetId);
      const expected = [
        {
          action: 'account.created',
          correlationId: causedBy.agentCreated,
          entityId: cabinetId,
          before: null,
          after: { id: cabinetId, name: 'Cabinet Carol', tenancyMode: 'ON_BEHALF', ownerId: carolId },
        },
        {
          action: 'account.client_created',
          correlationId: causedBy.clientCreated,
          entityId: clientCoId,
          before: null,
          after: { id: clientCoId, name: 'Client Co' },
        },
      ];
      for (const entry of expected) {
        const found = log.filter((e) => e.action === entry.action && e.correlationId === entry.correlationId);
        expect(found, entry.action).toHaveLength(1);
        expect(found[0], entry.action).toMatchObject({
          ...entry,
          accountId: cabinetId,
          actorId: carolId,
          ip: '127.0.0.1',
          userAgent: USER_AGENT,
        });
      }
    });

    it('no refused request (403, 404, 409) left an entry anywhere, and the hash chain verifies', async () => {
      expect(refused.size).toBeGreaterThan(100);
      const logs = [
        ...(await auditOf(alice, accountA)),
        ...(await auditOf(bob, accountB)),
        ...(await auditOf(carol, cabinetId)),
      ];
      expect(logs.length).toBeGreaterThan(15);
      expect(
        logs.filter((entry) => entry.correlationId !== null && refused.has(entry.correlationId)),
      ).toEqual([]);
      expect(await web.app.useCases.verifyAuditLog()).toMatchObject({ ok: true });
    });
  });
});
