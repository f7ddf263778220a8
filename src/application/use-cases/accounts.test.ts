import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJoseMachineTokens } from '#app/adapters/jose/machine-tokens.ts';
import { loadOrCreateTokenKey } from '#app/adapters/jose/token-key.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import type { Result } from '#app/domain/result.ts';
import type { AccountAccess, Role, TenancyMode } from '#app/domain/tenancy.ts';
import type { Account } from '../ports/account-store.ts';
import type { StoredAuditEntry } from '../ports/audit-log.ts';
import type { MachineTokens } from '../ports/machine-tokens.ts';
import type { Stores, UnitOfWork } from '../ports/unit-of-work.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createManualClock } from '../../../test/support/manual-clock.ts';
import { meetingAtFirstAppend } from '../../../test/support/races.ts';
import { actorIdOf, makeResolveAccess, type Principal, type RequestContext } from './access.ts';
import { makeAccountUseCases, type AccountError, type AccountUseCases } from './accounts.ts';

const CONTEXT: RequestContext = { correlationId: 'corr-accounts-1', ip: '203.0.113.7', userAgent: 'ERP/2.1' };

const value = <T>(result: Result<T, AccountError>): T => {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.value;
};

const errorCode = (result: Result<unknown, AccountError>): AccountError['code'] | 'ok' =>
  result.ok ? 'ok' : result.error.code;

describeOnEachDatabase('account use cases', (target) => {
  let t: TestDatabase;
  let stores: Stores;
  let useCases: AccountUseCases;
  let unitOfWork: UnitOfWork;
  let machineTokens: MachineTokens;
  let dir: string;
  const clock = createManualClock('2026-11-29T09:00:00.000Z');
  const ids = createUuidGenerator();
  const resolve = (principal: Principal, accountId: string) =>
    makeResolveAccess(stores)(principal, accountId);

  beforeAll(async () => {
    t = await target.open();
    const storeDeps = { newId: () => ids.newId(), driver: t.db.driver };
    stores = createSqlStores(t.db, storeDeps);
    dir = mkdtempSync(join(tmpdir(), 'vigilance-accounts-'));
    machineTokens = createJoseMachineTokens({
      clock,
      issuer: 'https://vigilance.example',
      audience: 'https://vigilance.example/api',
      key: await loadOrCreateTokenKey(join(dir, 'token-key.json')),
    });
    unitOfWork = createSqlUnitOfWork(t.db, storeDeps);
    useCases = useCasesWith(unitOfWork);
  }, 60_000);
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const useCasesWith = (uow: UnitOfWork): AccountUseCases =>
    makeAccountUseCases({ unitOfWork: uow, stores, clock, ids, machineTokens });

  const newAccount = async (name: string, tenancyMode: TenancyMode = 'SELF'): Promise<Account> => {
    const account: Account = { id: randomUUID(), name, tenancyMode, createdAt: clock.now().toISOString() };
    await stores.accounts.createAccount(account);
    return account;
  };

  /** A new user with `role` in `accountId`, and their principal. */
  const newMember = async (accountId: string, role: Role, email = `${randomUUID()}@example.com`) => {
    const id = randomUUID();
    await stores.accounts.createUser({ id, email, displayName: null, createdAt: clock.now().toISOString() });
    await stores.accounts.putMembership(accountId, id, role, clock.now().toISOString());
    return { id, email, principal: { kind: 'user', userId: id } as const };
  };

  const accessOf = async (principal: Principal, accountId: string): Promise<AccountAccess> => {
    const access = await resolve(principal, accountId);
    if (access === null) throw new Error(`no access to ${accountId}`);
    return access;
  };

  /** An account with an owner, an admin, a member and a viewer. */
  const team = async (tenancyMode: TenancyMode = 'SELF') => {
    const account = await newAccount(`Team ${randomUUID()}`, tenancyMode);
    const owner = await newMember(account.id, 'owner');
    const admin = await newMember(account.id, 'admin');
    const member = await newMember(account.id, 'member');
    const viewer = await newMember(account.id, 'viewer');
    const as = async (who: { readonly principal: Principal }) => ({
      access: await accessOf(who.principal, account.id),
      principal: who.principal,
      context: CONTEXT,
    });
    return { account, owner, admin, member, viewer, as };
  };

  const auditOf = async (accountId: string, action?: string): Promise<readonly StoredAuditEntry[]> =>
    stores.audit.query({ accountId, limit: 200, ...(action === undefined ? {} : { action }) });

  describe('access', () => {
    it('gives a client its own account only, with its role, and a user what the store says', async () => {
      const { account, member } = await team();
      const other = await newAccount('Elsewhere');
      const client: Principal = {
        kind: 'client',
        clientId: randomUUID(),
        accountId: account.id,
        role: 'viewer',
      };
      expect(await resolve(client, account.id)).toEqual({
        accountId: account.id,
        role: 'viewer',
        via: 'membership',
        agentAccountId: null,
      });
      expect(await resolve(client, other.id)).toBeNull();
      expect(await resolve(member.principal, account.id)).toMatchObject({
        role: 'member',
        via: 'membership',
      });
      expect(await resolve(member.principal, other.id)).toBeNull();
      expect(actorIdOf(member.principal)).toBe(member.id);
      expect(actorIdOf(client)).toBe(client.clientId);
    });
  });

  describe('members', () => {
    it('adds a member by e-mail, creating the user, and audits who did it from where', async () => {
      const { account, owner, as } = await team();
      clock.advance(1000);
      const added = value(
        await useCases.addMember({
          ...(await as(owner)),
          email: '  New.Person@Example.COM ',
          role: 'member',
        }),
      );
      expect(added).toMatchObject({ accountId: account.id, email: 'new.person@example.com', role: 'member' });
      const user = await stores.accounts.findUserByEmail('new.person@example.com');
      expect(user).toMatchObject({ id: added.userId, displayName: null });
      expect(await stores.accounts.member(account.id, added.userId)).toMatchObject({ role: 'member' });

      const [entry, ...more] = await auditOf(account.id, 'membership.added');
      expect(more).toEqual([]);
      expect(entry).toMatchObject({
        occurredAt: clock.now().toISOString(),
        accountId: account.id,
        actorId: owner.id,
        ip: CONTEXT.ip,
        userAgent: CONTEXT.userAgent,
        correlationId: CONTEXT.correlationId,
        entityType: 'membership',
        entityId: `${account.id}:${added.userId}`,
        before: null,
        after: { userId: added.userId, email: 'new.person@example.com', role: 'member' },
      });
    });

    it('adds an existing user to another account without creating a second one', async () => {
      const { member } = await team();
      const second = await team();
      const added = value(
        await useCases.addMember({ ...(await second.as(second.owner)), email: member.email, role: 'viewer' }),
      );
      expect(added.userId).toBe(member.id);
      expect((await stores.accounts.accountsOf(member.id)).length).toBe(2);
    });

    it('refuses a bad address (EMAIL_INVALID) and an existing member (MEMBER_EXISTS), auditing neither', async () => {
      const { account, owner, member, as } = await team();
      for (const email of ['', 'no-at-sign', 'two@@example.com', 'spaces in@example.com', 'a@localhost']) {
        expect(errorCode(await useCases.addMember({ ...(await as(owner)), email, role: 'member' }))).toBe(
          'EMAIL_INVALID',
        );
      }
      const again = await useCases.addMember({
        ...(await as(owner)),
        email: member.email.toUpperCase(),
        role: 'admin',
      });
      expect(errorCode(again)).toBe('MEMBER_EXISTS');
      expect(await stores.accounts.member(account.id, member.id)).toMatchObject({ role: 'member' });
      expect(await auditOf(account.id)).toEqual([]);
    });

    it('lets a viewer or a member list members but not manage them (FORBIDDEN), with nothing audited', async () => {
      const { account, owner, admin, member, viewer, as } = await team();
      const listed = value(await useCases.listMembers((await as(viewer)).access));
      // Owners first, then by e-mail.
      expect(listed.map((m) => m.userId)).toEqual([
        owner.id,
        ...[admin, member, viewer].sort((a, b) => a.email.localeCompare(b.email)).map((m) => m.id),
      ]);
      for (const who of [viewer, member]) {
        const input = await as(who);
        expect(
          errorCode(await useCases.addMember({ ...input, email: 'x@example.com', role: 'viewer' })),
        ).toBe('FORBIDDEN');
        expect(
          errorCode(await useCases.changeMemberRole({ ...input, userId: admin.id, role: 'viewer' })),
        ).toBe('FORBIDDEN');
        expect(errorCode(await useCases.removeMember({ ...input, userId: admin.id }))).toBe('FORBIDDEN');
      }
      expect(await stores.accounts.findUserByEmail('x@example.com')).toBeNull();
      expect(await auditOf(account.id)).toEqual([]);
    });

    it('lets an admin manage admins, members and viewers, never owners; an owner manages everyone', async () => {
      const { account, owner, admin, member, viewer, as } = await team();
      const asAdmin = await as(admin);
      expect(
        errorCode(await useCases.addMember({ ...asAdmin, email: 'boss@example.com', role: 'owner' })),
      ).toBe('FORBIDDEN');
      expect(
        errorCode(await useCases.changeMemberRole({ ...asAdmin, userId: member.id, role: 'owner' })),
      ).toBe('FORBIDDEN');
      expect(
        errorCode(await useCases.changeMemberRole({ ...asAdmin, userId: owner.id, role: 'admin' })),
      ).toBe('FORBIDDEN');
      expect(errorCode(await useCases.removeMember({ ...asAdmin, userId: owner.id }))).toBe('FORBIDDEN');
      expect(await auditOf(account.id)).toEqual([]);

      clock.advance(1000);
      const promoted = value(
        await useCases.changeMemberRole({ ...asAdmin, userId: viewer.id, role: 'admin' }),
      );
      expect(promoted).toMatchObject({ userId: viewer.id, email: viewer.email, role: 'admin' });
      expect(await stores.accounts.member(account.id, viewer.id)).toMatchObject({ role: 'admin' });
      const [changed] = await auditOf(account.id, 'membership.changed');
      expect(changed).toMatchObject({
        actorId: admin.id,
        entityType: 'membership',
        entityId: `${account.id}:${viewer.id}`,
        before: { userId: viewer.id, role: 'viewer' },
        after: { userId: viewer.id, role: 'admin' },
        occurredAt: clock.now().toISOString(),
      });

      const asOwner = await as(owner);
      value(await useCases.changeMemberRole({ ...asOwner, userId: member.id, role: 'owner' }));
      value(await useCases.addMember({ ...asOwner, email: 'second.boss@example.com', role: 'owner' }));
      expect(
        value(await useCases.listMembers(asOwner.access))
          .filter((m) => m.role === 'owner')
          .map((m) => m.email)
          .sort(),
      ).toEqual([member.email, owner.email, 'second.boss@example.com'].sort());
    });

    it('changes nothing and audits nothing when the role is already the one asked for', async () => {
      const { account, owner, member, as } = await team();
      const same = value(
        await useCases.changeMemberRole({ ...(await as(owner)), userId: member.id, role: 'member' }),
      );
      expect(same.role).toBe('member');
      expect(await auditOf(account.id)).toEqual([]);
    });

    it('removes a member and audits the membership as it was', async () => {
      const { account, owner, member, as } = await team();
      const removed = value(await useCases.removeMember({ ...(await as(owner)), userId: member.id }));
      expect(removed).toMatchObject({ userId: member.id, role: 'member' });
      expect(await stores.accounts.member(account.id, member.id)).toBeNull();
      expect(await resolve(member.principal, account.id)).toBeNull();
      const [entry, ...more] = await auditOf(account.id);
      expect(more).toEqual([]);
      expect(entry).toMatchObject({
        action: 'membership.removed',
        actorId: owner.id,
        entityId: `${account.id}:${member.id}`,
        before: { userId: member.id, email: member.email, role: 'member' },
        after: null,
      });
    });

    it('names an unknown member MEMBER_NOT_FOUND', async () => {
      const { owner, as } = await team();
      const stranger = await newMember((await newAccount('Stranger Ltd')).id, 'owner');
      for (const userId of [stranger.id, randomUUID(), 'not-a-uuid']) {
        expect(
          errorCode(await useCases.changeMemberRole({ ...(await as(owner)), userId, role: 'viewer' })),
        ).toBe('MEMBER_NOT_FOUND');
        expect(errorCode(await useCases.removeMember({ ...(await as(owner)), userId }))).toBe(
          'MEMBER_NOT_FOUND',
        );
      }
    });

    it('never leaves an account without an owner (LAST_OWNER)', async () => {
      const { account, owner, member, as } = await team();
      const asOwner = await as(owner);
      expect(
        errorCode(await useCases.changeMemberRole({ ...asOwner, userId: owner.id, role: 'admin' })),
      ).toBe('LAST_OWNER');
      expect(errorCode(await useCases.removeMember({ ...asOwner, userId: owner.id }))).toBe('LAST_OWNER');
      expect(await stores.accounts.member(account.id, owner.id)).toMatchObject({ role: 'owner' });
      expect(await auditOf(account.id)).toEqual([]);

      // With a second owner, the first may step down.
      value(await useCases.changeMemberRole({ ...asOwner, userId: member.id, role: 'owner' }));
      value(await useCases.removeMember({ ...asOwner, userId: owner.id }));
      expect((await stores.accounts.members(account.id)).filter((m) => m.role === 'owner')).toHaveLength(1);
    });

    it('keeps one owner when two owners step down at the same time', async () => {
      const { account, owner, member, as } = await team();
      value(await useCases.changeMemberRole({ ...(await as(owner)), userId: member.id, role: 'owner' }));
      const [first, second] = [await as(owner), await as(member)];
      // Both have counted two owners before either writes. PGlite runs one transaction at a time: nothing to hold.
      const racing = useCasesWith(meetingAtFirstAppend(unitOfWork, target.name === 'postgres' ? 2 : 0));
      const outcomes = await Promise.all([
        racing.changeMemberRole({ ...first, userId: owner.id, role: 'admin' }),
        racing.removeMember({ ...second, userId: member.id }),
      ]);
      expect(outcomes.map(errorCode).sort()).toEqual(['LAST_OWNER', 'ok']);
      expect((await stores.accounts.members(account.id)).filter((m) => m.role === 'owner')).toHaveLength(1);
      // The promotion, then the one change that went through.
      expect(await auditOf(account.id)).toHaveLength(2);
    });

    it('adds a new address once when two admins add it at the same time', async () => {
      const { account, owner, admin, as } = await team();
      const racing = useCasesWith(meetingAtFirstAppend(unitOfWork, target.name === 'postgres' ? 2 : 0));
      const outcomes = await Promise.all([
        racing.addMember({ ...(await as(owner)), email: 'twice@example.com', role: 'member' }),
        racing.addMember({ ...(await as(admin)), email: 'TWICE@example.com', role: 'viewer' }),
      ]);
      expect(outcomes.map(errorCode).sort()).toEqual(['MEMBER_EXISTS', 'ok']);
      expect(await auditOf(account.id, 'membership.added')).toHaveLength(1);
    });
  });

  describe('agents and client accounts', () => {
    it('creates a client account of an ON_BEHALF account, audited in the agent account', async () => {
      const agency = await team('ON_BEHALF');
      clock.advance(1000);
      const client = value(
        await useCases.createClientAccount({
          ...(await agency.as(agency.admin)),
          name: '  Boulangerie Martin ',
        }),
      );
      expect(client).toMatchObject({ name: 'Boulangerie Martin', tenancyMode: 'SELF' });
      expect(await stores.accounts.getAccount(client.id)).toEqual(client);
      expect(await stores.accounts.clientsOf(agency.account.id)).toEqual([client]);
      const [entry, ...more] = await auditOf(agency.account.id);
      expect(more).toEqual([]);
      expect(entry).toMatchObject({
        action: 'account.client_created',
        accountId: agency.account.id,
        actorId: agency.admin.id,
        ip: CONTEXT.ip,
        correlationId: CONTEXT.correlationId,
        entityType: 'customer_account',
        entityId: client.id,
        before: null,
        after: {
          id: client.id,
          name: 'Boulangerie Martin',
          tenancyMode: 'SELF',
          createdAt: client.createdAt,
        },
      });
    });

    it('refuses a client account to a non-agent account, a member and a bad name', async () => {
      const company = await team('SELF');
      const agency = await team('ON_BEHALF');
      expect(
        errorCode(
          await useCases.createClientAccount({ ...(await company.as(company.owner)), name: 'Client' }),
        ),
      ).toBe('NOT_AN_AGENT_ACCOUNT');
      expect(
        errorCode(
          await useCases.createClientAccount({ ...(await agency.as(agency.member)), name: 'Client' }),
        ),
      ).toBe('FORBIDDEN');
      for (const name of ['   ', 'x'.repeat(101)]) {
        expect(
          errorCode(await useCases.createClientAccount({ ...(await agency.as(agency.owner)), name })),
        ).toBe('NAME_INVALID');
      }
      expect(await stores.accounts.clientsOf(agency.account.id)).toEqual([]);
      expect(await auditOf(agency.account.id)).toEqual([]);
      expect(await auditOf(company.account.id)).toEqual([]);
    });

    it("shows an agent's members their client accounts, where they never administer", async () => {
      const agency = await team('ON_BEHALF');
      const asAgencyOwner = await agency.as(agency.owner);
      const zeta = value(await useCases.createClientAccount({ ...asAgencyOwner, name: 'Zeta SARL' }));
      const alpha = value(await useCases.createClientAccount({ ...asAgencyOwner, name: 'Alpha SA' }));

      const mine = value(await useCases.myAccounts(agency.admin.id));
      expect(mine.map((e) => [e.account.name, e.role, e.via, e.agentAccountId])).toEqual([
        [agency.account.name, 'admin', 'membership', null],
        ['Alpha SA', 'member', 'agent', agency.account.id],
        ['Zeta SARL', 'member', 'agent', agency.account.id],
      ]);
      expect(
        value(await useCases.myAccounts(agency.viewer.id))
          .slice(1)
          .map((e) => e.role),
      ).toEqual(['viewer', 'viewer']);

      // The agency's admin reaches the client as a member: reads, but does not administer.
      const inClient = {
        access: await accessOf(agency.admin.principal, alpha.id),
        principal: agency.admin.principal,
        context: CONTEXT,
      };
      expect(inClient.access).toMatchObject({
        role: 'member',
        via: 'agent',
        agentAccountId: agency.account.id,
      });
      expect(value(await useCases.getAccount(inClient.access))).toEqual(alpha);
      expect(
        errorCode(await useCases.addMember({ ...inClient, email: 'x@example.com', role: 'viewer' })),
      ).toBe('FORBIDDEN');
      expect(errorCode(await useCases.readAudit({ access: inClient.access, query: { limit: 10 } }))).toBe(
        'FORBIDDEN',
      );
      // Even with an admin role in hand, access through an agent administers nothing.
      const forged: AccountAccess = { ...inClient.access, role: 'owner' };
      expect(
        errorCode(
          await useCases.addMember({ ...inClient, access: forged, email: 'x@example.com', role: 'viewer' }),
        ),
      ).toBe('FORBIDDEN');
      expect(await auditOf(alpha.id)).toEqual([]);

      // A direct membership of a client account shows once, as the membership.
      await stores.accounts.putMembership(zeta.id, agency.admin.id, 'owner', clock.now().toISOString());
      const again = value(await useCases.myAccounts(agency.admin.id));
      expect(again.filter((e) => e.account.id === zeta.id)).toEqual([
        { account: zeta, role: 'owner', via: 'membership', agentAccountId: null },
      ]);
      expect(again).toHaveLength(3);
    });

    it('returns the account the access resolved to', async () => {
      const { account, viewer, as } = await team();
      expect(value(await useCases.getAccount((await as(viewer)).access))).toEqual(account);
    });
  });

  describe('API clients', () => {
    const publicKey = async () => {
      const { publicKey: key, privateKey } = await generateKeyPair('ES256', { extractable: true });
      return { jwk: await exportJWK(key), privateJwk: await exportJWK(privateKey) };
    };

    it('registers a client with its public key, auditing its thumbprint but not the key', async () => {
      const { account, admin, as } = await team();
      const { jwk } = await publicKey();
      clock.advance(1000);
      const client = value(
        await useCases.registerApiClient({
          ...(await as(admin)),
          name: 'SAP production',
          role: 'member',
          publicJwk: jwk,
        }),
      );
      const jkt = await calculateJwkThumbprint(jwk, 'sha256');
      expect(client).toMatchObject({
        accountId: account.id,
        name: 'SAP production',
        role: 'member',
        jkt,
        createdBy: admin.id,
        revokedAt: null,
        createdAt: clock.now().toISOString(),
      });
      expect(await stores.apiClients.get(client.id)).toEqual(client);
      expect(value(await useCases.listApiClients((await as(admin)).access))).toEqual([client]);
      const [entry, ...more] = await auditOf(account.id);
      expect(more).toEqual([]);
      expect(entry).toMatchObject({
        action: 'api_client.created',
        actorId: admin.id,
        userAgent: CONTEXT.userAgent,
        entityType: 'api_client',
        entityId: client.id,
        before: null,
      });
      expect(entry?.after).toEqual({ id: client.id, name: 'SAP production', role: 'member', jkt });
    });

    it('refuses a private key (CLIENT_KEY_INVALID, with the reason), a bad name and a member', async () => {
      const { account, owner, member, as } = await team();
      const { jwk, privateJwk } = await publicKey();
      const withPrivate = await useCases.registerApiClient({
        ...(await as(owner)),
        name: 'ERP',
        role: 'member',
        publicJwk: privateJwk,
      });
      expect(withPrivate.ok ? null : withPrivate.error).toEqual({
        code: 'CLIENT_KEY_INVALID',
        message: 'the key has private or secret members: register the public key only',
      });
      const symmetric = await useCases.registerApiClient({
        ...(await as(owner)),
        name: 'ERP',
        role: 'member',
        publicJwk: { kty: 'oct', k: 'c2VjcmV0' },
      });
      expect(errorCode(symmetric)).toBe('CLIENT_KEY_INVALID');
      for (const name of ['', ' \t ', 'n'.repeat(101)]) {
        expect(
          errorCode(
            await useCases.registerApiClient({ ...(await as(owner)), name, role: 'viewer', publicJwk: jwk }),
          ),
        ).toBe('NAME_INVALID');
      }
      expect(
        errorCode(
          await useCases.registerApiClient({
            ...(await as(member)),
            name: 'ERP',
            role: 'viewer',
            publicJwk: jwk,
          }),
        ),
      ).toBe('FORBIDDEN');
      expect(errorCode(await useCases.listApiClients((await as(member)).access))).toBe('FORBIDDEN');
      expect(await stores.apiClients.list(account.id)).toEqual([]);
      expect(await auditOf(account.id)).toEqual([]);
    });

    it('revokes a client once: revoking again returns it unchanged, with no second entry', async () => {
      const { account, owner, admin, as } = await team();
      const { jwk } = await publicKey();
      const client = value(
        await useCases.registerApiClient({
          ...(await as(owner)),
          name: 'ERP',
          role: 'viewer',
          publicJwk: jwk,
        }),
      );
      clock.advance(60_000);
      const revokedAt = clock.now().toISOString();
      const revoked = value(await useCases.revokeApiClient({ ...(await as(admin)), clientId: client.id }));
      expect(revoked).toEqual({ ...client, revokedAt });
      clock.advance(60_000);
      expect(value(await useCases.revokeApiClient({ ...(await as(owner)), clientId: client.id }))).toEqual(
        revoked,
      );
      const entries = await auditOf(account.id, 'api_client.revoked');
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actorId: admin.id,
        entityType: 'api_client',
        entityId: client.id,
        before: { revokedAt: null },
        after: { revokedAt },
      });
    });

    it("names an unknown client, or another account's, CLIENT_NOT_FOUND, and lets no member revoke", async () => {
      const mine = await team();
      const theirs = await team();
      const { jwk } = await publicKey();
      const theirClient = value(
        await useCases.registerApiClient({
          ...(await theirs.as(theirs.owner)),
          name: 'Their ERP',
          role: 'member',
          publicJwk: jwk,
        }),
      );
      for (const clientId of [theirClient.id, randomUUID(), 'nope']) {
        expect(errorCode(await useCases.revokeApiClient({ ...(await mine.as(mine.owner)), clientId }))).toBe(
          'CLIENT_NOT_FOUND',
        );
      }
      expect(
        errorCode(
          await useCases.revokeApiClient({ ...(await theirs.as(theirs.member)), clientId: theirClient.id }),
        ),
      ).toBe('FORBIDDEN');
      expect(await stores.apiClients.get(theirClient.id)).toMatchObject({ revokedAt: null });
      expect(await auditOf(mine.account.id)).toEqual([]);
    });

    it('lets an API client act as a member at most', async () => {
      const { account } = await team();
      const client: Principal = {
        kind: 'client',
        clientId: randomUUID(),
        accountId: account.id,
        role: 'member',
      };
      const input = { access: await accessOf(client, account.id), principal: client, context: CONTEXT };
      expect(errorCode(await useCases.addMember({ ...input, email: 'x@example.com', role: 'viewer' }))).toBe(
        'FORBIDDEN',
      );
      expect(value(await useCases.listMembers(input.access))).toHaveLength(4);
    });
  });

  describe('audit log', () => {
    it("lets an admin read the account's entries, filtered, and no one else's", async () => {
      const { account, owner, admin, member, viewer, as } = await team();
      const other = await team();
      value(await useCases.removeMember({ ...(await as(admin)), userId: viewer.id }));
      value(await useCases.changeMemberRole({ ...(await as(owner)), userId: member.id, role: 'admin' }));
      value(await useCases.removeMember({ ...(await other.as(other.owner)), userId: other.viewer.id }));

      const all = value(await useCases.readAudit({ access: (await as(admin)).access, query: { limit: 50 } }));
      expect(all.map((e) => e.action)).toEqual(['membership.changed', 'membership.removed']);
      expect(all.every((e) => e.accountId === account.id)).toBe(true);
      const byActor = value(
        await useCases.readAudit({
          access: (await as(owner)).access,
          query: { limit: 50, actorId: admin.id },
        }),
      );
      expect(byActor.map((e) => e.action)).toEqual(['membership.removed']);
      const [newest] = all;
      const paged = value(
        await useCases.readAudit({
          access: (await as(owner)).access,
          query: { limit: 50, ...(newest === undefined ? {} : { beforeSeq: newest.seq }) },
        }),
      );
      expect(paged.map((e) => e.action)).toEqual(['membership.removed']);
    });

    it('refuses the audit log to members and viewers (FORBIDDEN)', async () => {
      const { member, viewer, as } = await team();
      for (const who of [member, viewer]) {
        expect(
          errorCode(await useCases.readAudit({ access: (await as(who)).access, query: { limit: 10 } })),
        ).toBe('FORBIDDEN');
      }
    });
  });
});
