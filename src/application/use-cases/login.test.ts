import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import type { Result } from '#app/domain/result.ts';
import type { StoredAuditEntry } from '../ports/audit-log.ts';
import type { VerifiedIdentity } from '../ports/identity-provider.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { meetingAtFirstAppend } from '../../../test/support/races.ts';
import type { RequestContext } from './access.ts';
import { makeAccountUseCases } from './accounts.ts';
import { makeLoginUseCases, type LoginUseCases } from './login.ts';

const CONTEXT: RequestContext = {
  correlationId: 'corr-login-1',
  ip: '198.51.100.4',
  userAgent: 'Firefox/140',
};
const ISSUER = 'https://login.example';

const value = <T, E extends { readonly code: string }>(result: Result<T, E>): T => {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}`);
  return result.value;
};

/** What a provider says; a fresh subject and address unless told otherwise. */
const identity = (over: Partial<VerifiedIdentity> = {}): VerifiedIdentity => ({
  issuer: ISSUER,
  subject: randomUUID(),
  email: `${randomUUID()}@example.com`,
  emailVerified: true,
  name: 'Camille Durand',
  tokens: { id_token: 'opaque' },
  ...over,
});

describeOnEachDatabase('login use cases', (target) => {
  let t: TestDatabase;
  let stores: Stores;
  let unitOfWork: UnitOfWork;
  let login: LoginUseCases;
  const clock = createManualClock('2026-11-29T09:00:00.000Z');
  const ids = createUuidGenerator();
  const loginWith = (uow: UnitOfWork): LoginUseCases =>
    makeLoginUseCases({ unitOfWork: uow, stores, clock, ids });

  beforeAll(async () => {
    t = await target.open();
    const storeDeps = { newId: () => ids.newId(), driver: t.db.driver };
    stores = createSqlStores(t.db, storeDeps);
    unitOfWork = createSqlUnitOfWork(t.db, storeDeps);
    login = loginWith(unitOfWork);
  }, 60_000);
  afterAll(async () => {
    await t.close();
  });

  const auditOf = async (accountId: string): Promise<readonly StoredAuditEntry[]> =>
    stores.audit.query({ accountId, limit: 200 });

  /** How many entries the whole log holds. */
  const logLength = async (): Promise<number> => {
    const verified = await stores.audit.verify();
    expect(verified.ok).toBe(true);
    return verified.entries;
  };

  describe('completeLogin', () => {
    it('creates the user and a personal account at the first login, audited, and reuses them after', async () => {
      const person = identity({ email: ' Camille.Durand@Example.COM ' });
      clock.advance(1000);
      const first = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(first.created).toBe(true);
      expect(first.user).toMatchObject({
        email: 'camille.durand@example.com',
        displayName: 'Camille Durand',
      });
      expect(await stores.accounts.findUserByIdentity(person)).toEqual(first.user);
      expect(await stores.accounts.accountsOf(first.user.id)).toEqual([
        {
          account: {
            id: first.accountId,
            name: 'Camille Durand',
            tenancyMode: 'INDIVIDUAL',
            createdAt: clock.now().toISOString(),
          },
          role: 'owner',
        },
      ]);
      const entries = await auditOf(first.accountId);
      expect(entries.map((e) => e.action)).toEqual(['user.login', 'account.created', 'user.created']);
      for (const entry of entries) {
        expect(entry).toMatchObject({
          actorId: first.user.id,
          ip: CONTEXT.ip,
          userAgent: CONTEXT.userAgent,
          correlationId: CONTEXT.correlationId,
          occurredAt: clock.now().toISOString(),
          before: null,
        });
      }
      expect(entries[0]).toMatchObject({
        entityType: 'user',
        entityId: first.user.id,
        after: { email: 'camille.durand@example.com', issuer: ISSUER },
      });
      expect(entries[1]).toMatchObject({ entityType: 'customer_account', entityId: first.accountId });
      expect(entries[2]).toMatchObject({ entityType: 'user', entityId: first.user.id });

      // The same identity again, even with another address and unverified: the same user, nothing created.
      clock.advance(60_000);
      const again = value(
        await login.completeLogin({
          identity: {
            ...person,
            email: 'other@example.com',
            emailVerified: false,
            name: 'Camille Durand-Petit',
          },
          context: CONTEXT,
        }),
      );
      expect(again).toMatchObject({ created: false, accountId: first.accountId });
      expect(again.user).toEqual({ ...first.user, displayName: 'Camille Durand-Petit' });
      expect(await stores.accounts.getUser(first.user.id)).toMatchObject({
        displayName: 'Camille Durand-Petit',
      });
      expect(await stores.accounts.accountsOf(first.user.id)).toHaveLength(1);
      expect((await auditOf(first.accountId)).map((e) => e.action)).toEqual([
        'user.login',
        'user.login',
        'account.created',
        'user.created',
      ]);
    });

    it('names the account after the address when the provider gives no name, and keeps a known name', async () => {
      const person = identity({ name: null, email: 'nameless@example.com' });
      const first = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(first.user.displayName).toBeNull();
      expect((await stores.accounts.getAccount(first.accountId))?.name).toBe('nameless@example.com');
      await stores.accounts.renameUser(first.user.id, 'Known Name');
      const again = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(again.user.displayName).toBe('Known Name');
    });

    it('needs an e-mail address to create a user (LOGIN_EMAIL_REQUIRED), writing nothing', async () => {
      const before = await logLength();
      for (const email of [null, '  ']) {
        const refused = await login.completeLogin({ identity: identity({ email }), context: CONTEXT });
        expect(refused.ok ? null : refused.error.code).toBe('LOGIN_EMAIL_REQUIRED');
      }
      expect(await logLength()).toBe(before);
    });

    it('refuses an unverified address that another user has (LOGIN_EMAIL_TAKEN), writing nothing', async () => {
      const owner = value(await login.completeLogin({ identity: identity(), context: CONTEXT }));
      const before = await logLength();
      const intruder = identity({
        issuer: 'https://elsewhere.example',
        email: owner.user.email.toUpperCase(),
        emailVerified: false,
      });
      const refused = await login.completeLogin({ identity: intruder, context: CONTEXT });
      expect(refused.ok ? null : refused.error.code).toBe('LOGIN_EMAIL_TAKEN');
      expect(await stores.accounts.findUserByIdentity(intruder)).toBeNull();
      expect(await logLength()).toBe(before);
    });

    it('creates a user for an unverified address that no one has', async () => {
      const person = identity({ emailVerified: false });
      const created = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(created.created).toBe(true);
      expect(created.user.email).toBe(person.email);
    });

    it('links a verified address to the member added before they ever logged in', async () => {
      const founder = value(await login.completeLogin({ identity: identity(), context: CONTEXT }));
      const accounts = makeAccountUseCases({
        unitOfWork,
        stores,
        clock,
        ids,
        machineTokens: { checkClientKey: () => Promise.reject(new Error('not used')) },
      });
      const access = await stores.accounts.accessOf(founder.user.id, founder.accountId);
      if (access === null) throw new Error('the founder reaches their account');
      const added = value(
        await accounts.addMember({
          access,
          principal: { kind: 'user', userId: founder.user.id },
          context: CONTEXT,
          email: 'Pat.Lee@Example.com',
          role: 'admin',
        }),
      );

      const pat = identity({ email: 'pat.lee@example.com', name: 'Pat Lee' });
      const linked = value(await login.completeLogin({ identity: pat, context: CONTEXT }));
      expect(linked).toMatchObject({ created: false, accountId: founder.accountId });
      expect(linked.user).toMatchObject({ id: added.userId, displayName: 'Pat Lee' });
      expect(await stores.accounts.findUserByIdentity(pat)).toMatchObject({ id: added.userId });
      expect(await stores.accounts.accountsOf(added.userId)).toHaveLength(1);
      const [login1, link] = await auditOf(founder.accountId);
      expect(login1).toMatchObject({ action: 'user.login', actorId: added.userId });
      expect(link).toMatchObject({
        action: 'user.identity_linked',
        actorId: added.userId,
        after: { email: 'pat.lee@example.com', issuer: ISSUER, subject: pat.subject },
      });

      // The identity now finds them whatever the provider says of the address.
      const later = value(
        await login.completeLogin({ identity: { ...pat, emailVerified: false }, context: CONTEXT }),
      );
      expect(later.user.id).toBe(added.userId);
    });

    it('does not link an unverified address to the member who has it', async () => {
      const founder = value(await login.completeLogin({ identity: identity(), context: CONTEXT }));
      const refused = await login.completeLogin({
        identity: identity({ email: founder.user.email, emailVerified: false }),
        context: CONTEXT,
      });
      expect(refused.ok ? null : refused.error.code).toBe('LOGIN_EMAIL_TAKEN');
    });

    it('gives a user who belongs to no account any more a new personal account', async () => {
      const person = identity({ name: 'Dominique Roy' });
      const first = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      await stores.accounts.removeMembership(first.accountId, first.user.id);
      const again = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(again.created).toBe(false);
      expect(again.accountId).not.toBe(first.accountId);
      expect(await stores.accounts.accountsOf(first.user.id)).toEqual([
        {
          account: expect.objectContaining({ id: again.accountId, name: 'Dominique Roy' }) as unknown,
          role: 'owner',
        },
      ]);
      expect((await auditOf(again.accountId)).map((e) => e.action)).toEqual([
        'user.login',
        'account.created',
      ]);
    });

    it('lands in the first account by name', async () => {
      const person = identity({ name: 'Zoé Zimmer' });
      const first = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      const earlier = {
        id: randomUUID(),
        name: 'Aardvark SA',
        tenancyMode: 'SELF' as const,
        createdAt: first.user.createdAt,
      };
      await stores.accounts.createAccount(earlier);
      await stores.accounts.putMembership(earlier.id, first.user.id, 'viewer', first.user.createdAt);
      const again = value(await login.completeLogin({ identity: person, context: CONTEXT }));
      expect(again.accountId).toBe(earlier.id);
    });

    it('creates one user when the same person completes two first logins at once', async () => {
      const person = identity();
      // Both have found no user before either writes. PGlite runs one transaction at a time: nothing to hold.
      const racing = loginWith(meetingAtFirstAppend(unitOfWork, target.name === 'postgres' ? 2 : 0));
      const outcomes = await Promise.all([
        racing.completeLogin({ identity: person, context: CONTEXT }),
        racing.completeLogin({ identity: person, context: CONTEXT }),
      ]);
      const [a, b] = outcomes.map((o) => value(o));
      expect(a?.user.id).toBe(b?.user.id);
      expect(a?.accountId).toBe(b?.accountId);
      expect(outcomes.map((o) => value(o).created).sort()).toEqual([false, true]);
      expect(await stores.accounts.accountsOf(a?.user.id ?? '')).toHaveLength(1);
    });
  });

  describe('recordLogout', () => {
    it('audits the logout', async () => {
      const person = value(await login.completeLogin({ identity: identity(), context: CONTEXT }));
      clock.advance(5000);
      await login.recordLogout({ userId: person.user.id, accountId: person.accountId, context: CONTEXT });
      const [entry] = await auditOf(person.accountId);
      expect(entry).toMatchObject({
        action: 'user.logout',
        accountId: person.accountId,
        actorId: person.user.id,
        ip: CONTEXT.ip,
        userAgent: CONTEXT.userAgent,
        correlationId: CONTEXT.correlationId,
        entityType: 'user',
        entityId: person.user.id,
        occurredAt: clock.now().toISOString(),
      });
    });
  });
});
