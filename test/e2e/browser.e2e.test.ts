import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servicesRequired } from '../support/services.ts';
import { startWeb, type WebHarness } from '../support/web.ts';

// Debian's chromium, required in CI, skipped with a visible reason elsewhere.
const CHROMIUM = '/usr/bin/chromium';
const present = spawnSync(CHROMIUM, ['--version']).error === undefined;
if (!present && servicesRequired) throw new Error(`REQUIRE_SERVICES=1 but ${CHROMIUM} is missing.`);
const describeWithChromium = present ? describe : describe.skip;
const note = present ? '' : ` (skipped for a known reason: ${CHROMIUM} missing, apt-get install chromium)`;

/**
 * What a person does right after `npm start`, in a real browser: log in through the embedded OpenID provider (the
 * `__Host-` cookies must be accepted on a plain-http loopback address), call the API from the page with the CSRF
 * token, log out; and browse the API documentation under its content security policy.
 */
describeWithChromium(`the product in a browser${note}`, () => {
  let web: WebHarness;
  let profile: string;
  let context: BrowserContext;
  const violations: string[] = [];

  beforeAll(async () => {
    web = await startWeb();
    profile = await mkdtemp(join(tmpdir(), 'vigilance-browser-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
      locale: 'fr-FR',
    });
    context.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
  }, 60_000);

  afterAll(async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await web.close();
  });

  it('logs in through the embedded provider, calls the API with the CSRF token, and logs out', async () => {
    const page = await context.newPage();
    await page.goto(`${web.baseUrl}/auth/login/local`);
    await page.fill('input[name="email"]', 'camille@example.fr');
    await page.fill('input[name="name"]', 'Camille Martin');
    await Promise.all([page.waitForURL(`${web.baseUrl}/`), page.click('button[value="login"]')]);
    expect(await page.textContent('body')).toContain('Camille Martin');

    const cookies = await context.cookies(web.baseUrl);
    const session = cookies.find((c) => c.name === '__Host-vigilance_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    expect(cookies.find((c) => c.name === '__Host-vigilance_csrf')?.httpOnly).toBe(false);

    const answers = await page.evaluate(async () => {
      const me = (await (await fetch('/api/v1/me')).json()) as { user: { email: string } };
      const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
      const csrf = /(?:^|; )__Host-vigilance_csrf=([^;]+)/.exec(cookie)?.[1] ?? '';
      const unsigned = await fetch('/api/v1/assessments', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ identifier: '552032534' }),
      });
      const created = await fetch('/api/v1/assessments', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': decodeURIComponent(csrf) },
        body: JSON.stringify({ identifier: '552032534' }),
      });
      const logout = await fetch('/auth/logout', {
        method: 'POST',
        headers: { 'x-csrf-token': decodeURIComponent(csrf) },
      });
      const after = await fetch('/api/v1/me');
      return {
        email: me.user.email,
        unsigned: unsigned.status,
        created: created.status,
        verdict: ((await created.json()) as { verdict: string }).verdict,
        logout: logout.status,
        after: after.status,
      };
    });
    expect(answers).toEqual({
      email: 'camille@example.fr',
      unsigned: 403,
      created: 201,
      verdict: 'GREEN',
      logout: 204,
      after: 401,
    });
    expect(violations).toEqual([]);
    await page.close();
  });

  it('shows the API documentation with no policy violation', async () => {
    const page = await context.newPage();
    await page.goto(`${web.baseUrl}/docs`);
    await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Vigilance API');
    expect(await page.locator('.opblock').count()).toBeGreaterThan(20);
    expect(violations).toEqual([]);
    await page.close();
  });
});
