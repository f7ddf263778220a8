import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnPostgres, type TestDatabase } from '../support/databases.ts';
import { deleteKeys, describeOnRedis, openTestRedis, redisUrl } from '../support/redis.ts';
import {
  currentAccountOf,
  dpopProof,
  logIn,
  registerMachineClient,
  sendJson,
  startWeb,
  type WebHarness,
} from '../support/web.ts';

/** A GET with an explicit Host header (fetch does not let one be set): the address the proof was made for. */
const getWithHost = (
  server: WebHarness,
  path: string,
  host: string,
  headers: Record<string, string>,
): Promise<{ status: number; wwwAuthenticate: string | undefined }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(`${server.baseUrl}${path}`, { headers: { ...headers, host } }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, wwwAuthenticate: res.headers['www-authenticate'] });
      });
    });
    req.on('error', reject);
    req.end();
  });

/**
 * Two instances of the server, as in production: one PostgreSQL database, one Redis, one access-token key. A
 * session made on one is good on the other, a logout on one ends it on both, a DPoP proof used on one cannot be
 * used again on the other, and a request budget is one budget for both.
 */
describeOnRedis('two instances sharing PostgreSQL and Redis', () => {
  describeOnPostgres('two instances', (target) => {
    let database: TestDatabase;
    let keys: string;
    let a: WebHarness;
    let b: WebHarness;

    beforeAll(async () => {
      database = await target.open();
      keys = mkdtempSync(join(tmpdir(), 'vigilance-shared-keys-'));
      const env = {
        REDIS_URL: redisUrl,
        VIGILANCE_TOKEN_KEY_FILE: join(keys, 'token-signing-key.json'),
        VIGILANCE_VERIFY_CHECKS_PER_MINUTE: '2',
      };
      a = await startWeb({ database: database.db, env });
      // Instances behind one public name, as in production: A's address is the public URL of both.
      b = await startWeb({ database: database.db, env, publicUrl: a.baseUrl });
    }, 60_000);

    afterAll(async () => {
      await a.close();
      await b.close();
      await database.close();
      rmSync(keys, { recursive: true, force: true });
    });

    it('keeps a session made on one instance good on the other, and a logout on either ends it on both', async () => {
      const onA = await logIn(a.baseUrl, 'nina@example.fr', 'Nina');
      const session = onA.cookie('__Host-vigilance_session') ?? '';
      const csrf = onA.cookie('__Host-vigilance_csrf') ?? '';
      const cookie = `__Host-vigilance_session=${session}; __Host-vigilance_csrf=${csrf}`;
      const me = await fetch(`${b.baseUrl}/api/v1/me`, { headers: { cookie } });
      expect(me.status).toBe(200);
      expect(((await me.json()) as { user: { email: string } }).user.email).toBe('nina@example.fr');

      const logout = await fetch(`${b.baseUrl}/auth/logout`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf },
      });
      expect(logout.status).toBe(204);
      expect((await onA.fetch('/api/v1/me')).status).toBe(401);
    });

    it('refuses on one instance a DPoP proof already used on the other', async () => {
      const admin = await logIn(a.baseUrl, 'omar@example.fr', 'Omar');
      const account = await currentAccountOf(admin);
      expect((await sendJson(admin, 'POST', '/api/v1/assessments', { identifier: '552032534' })).status).toBe(
        201,
      );
      const erp = await registerMachineClient(a.baseUrl, admin, account);
      const host = new URL(a.baseUrl).host;
      const proof = await dpopProof(erp.dpopKey, 'GET', `${a.baseUrl}/api/v1/assessments`, {
        accessToken: erp.accessToken,
      });
      const headers = { authorization: `DPoP ${erp.accessToken}`, dpop: proof };
      // The proof names A's address; B answers for the same host name and sees the request as made to it.
      const first = await getWithHost(b, '/api/v1/assessments', host, headers);
      expect(first.status).toBe(200);
      const replayed = await getWithHost(a, '/api/v1/assessments', host, headers);
      expect(replayed.status).toBe(401);
      expect(replayed.wwwAuthenticate).toContain('error="invalid_dpop_proof"');
    });

    it('counts requests against one budget for both instances', async () => {
      // File checks are 2 a minute per address here, and nothing else in this file makes one. The budget's
      // counters from an earlier run within the minute are cleared first.
      const connection = await openTestRedis();
      try {
        await deleteKeys(connection.redis, 'vigilance:http:requests:checks:');
      } finally {
        await connection.close();
      }
      const check = (server: WebHarness) =>
        fetch(`${server.baseUrl}/api/v1/public/verify/${'A'.repeat(43)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/pdf' },
          body: '%PDF-1.7 not a sealed report',
        });
      const statuses: number[] = [];
      for (const server of [a, b, a]) statuses.push((await check(server)).status);
      expect(statuses).toEqual([404, 404, 429]);
    });
  });
});
