import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account, AccountStore, User } from '#app/application/ports/account-store.ts';
import type { Role, TenancyMode } from '#app/domain/tenancy.ts';

export interface AccountStoreHarness {
  readonly store: AccountStore;
  close(): Promise<void>;
}

const AT = '2026-12-01T09:00:00.000Z';
const LATER = '2026-12-02T10:30:00.250Z';

/**
 * The AccountStore contract: accounts, users and their sign-in identities, memberships, agents' client accounts,
 * and how a user reaches an account (directly, or as a member of an ON_BEHALF agent). Each case makes accounts and
 * users of its own, so the cases do not depend on one another.
 */
export const describeAccountStoreContract = (
  name: string,
  open: () => Promise<AccountStoreHarness>,
): void => {
  describe(`AccountStore contract: ${name}`, () => {
    let h: AccountStoreHarness;
    beforeAll(async () => {
      h = await open();
    });
    afterAll(async () => {
      await h.close();
    });

    const newAccount = async (accountName: string, tenancyMode: TenancyMode = 'SELF'): Promise<Account> => {
      const account: Account = { id: randomUUID(), name: accountName, tenancyMode, createdAt: AT };
      await h.store.createAccount(account);
      return account;
    };

    const newUser = async (local = 'someone', displayName: string | null = null): Promise<User> => {
      const user: User = {
        id: randomUUID(),
        email: `${local}.${randomUUID()}@example.test`,
        displayName,
        createdAt: AT,
      };
      await h.store.createUser(user);
      return user;
    };

    it('creates an account and gives it back; an unknown or malformed id finds nothing', async () => {
      const account: Account = {
        id: randomUUID(),
        name: 'Cabinet Dupont & Fils — expertise comptable',
        tenancyMode: 'ON_BEHALF',
        createdAt: '2026-12-01T09:00:00.123Z',
      };
      await h.store.createAccount(account);
      expect(await h.store.getAccount(account.id)).toEqual(account);
      expect(await h.store.getAccount(account.id.toUpperCase())).toEqual(account);
      expect(await h.store.getAccount(randomUUID())).toBeNull();
      expect(await h.store.getAccount('not-a-uuid')).toBeNull();
    });

    it('creates a user and finds them by id and by e-mail address, whatever its case', async () => {
      const user = await newUser('Élodie.Martin', 'Élodie Martin');
      const stored = { ...user, email: user.email.toLowerCase() };
      expect(stored.email).not.toBe(user.email);
      expect(await h.store.getUser(user.id)).toEqual(stored);
      expect(await h.store.findUserByEmail(stored.email)).toEqual(stored);
      expect(await h.store.findUserByEmail(user.email.toUpperCase())).toEqual(stored);
      expect(await h.store.findUserByEmail(`x${stored.email}`)).toBeNull();
      expect(await h.store.getUser(randomUUID())).toBeNull();
      expect(await h.store.getUser('not-a-uuid')).toBeNull();
    });

    it('renames a user, and clears the display name', async () => {
      const user = await newUser('rename', 'Old Name');
      await h.store.renameUser(user.id, 'New Name');
      expect(await h.store.getUser(user.id)).toEqual({ ...user, displayName: 'New Name' });
      await h.store.renameUser(user.id, null);
      expect(await h.store.getUser(user.id)).toEqual({ ...user, displayName: null });
    });

    it('finds a user by a linked identity; linking it again changes nothing', async () => {
      const user = await newUser('identity');
      const identity = { issuer: 'https://login.example.test/', subject: `sub-${randomUUID()}` };
      expect(await h.store.findUserByIdentity(identity)).toBeNull();
      await h.store.linkIdentity(user.id, identity, AT);
      expect(await h.store.findUserByIdentity(identity)).toEqual(user);
      await h.store.linkIdentity(user.id, identity, LATER);
      expect(await h.store.findUserByIdentity(identity)).toEqual(user);
      // The issuer and the subject together name the identity.
      expect(
        await h.store.findUserByIdentity({ ...identity, issuer: 'https://other.example.test/' }),
      ).toBeNull();
      expect(await h.store.findUserByIdentity({ ...identity, subject: `${identity.subject}x` })).toBeNull();
      const second = { issuer: 'https://other.example.test/', subject: identity.subject };
      await h.store.linkIdentity(user.id, second, AT);
      expect(await h.store.findUserByIdentity(second)).toEqual(user);
    });

    it('never moves an identity to another user', async () => {
      const owner = await newUser('first');
      const other = await newUser('second');
      const identity = { issuer: 'https://login.example.test/', subject: `sub-${randomUUID()}` };
      await h.store.linkIdentity(owner.id, identity, AT);
      await expect(h.store.linkIdentity(other.id, identity, LATER)).rejects.toThrow();
      expect(await h.store.findUserByIdentity(identity)).toEqual(owner);
    });

    it('inserts a membership, then changes its role and keeps its creation instant', async () => {
      const account = await newAccount('Membership');
      const user = await newUser('member', 'A Member');
      expect(await h.store.member(account.id, user.id)).toBeNull();
      await h.store.putMembership(account.id, user.id, 'viewer', AT);
      const expected = {
        accountId: account.id,
        userId: user.id,
        email: user.email.toLowerCase(),
        displayName: 'A Member',
        role: 'viewer',
        createdAt: AT,
      };
      expect(await h.store.member(account.id, user.id)).toEqual(expected);
      await h.store.putMembership(account.id, user.id, 'admin', LATER);
      expect(await h.store.member(account.id, user.id)).toEqual({ ...expected, role: 'admin' });
      expect(await h.store.member((await newAccount('Elsewhere')).id, user.id)).toBeNull();
      expect(await h.store.member(account.id, 'not-a-uuid')).toBeNull();
    });

    it('removes a membership once: true, then false', async () => {
      const account = await newAccount('Removal');
      const user = await newUser('leaving');
      const staying = await newUser('staying');
      await h.store.putMembership(account.id, user.id, 'member', AT);
      await h.store.putMembership(account.id, staying.id, 'member', AT);
      expect(await h.store.removeMembership(account.id, user.id)).toBe(true);
      expect(await h.store.member(account.id, user.id)).toBeNull();
      expect(await h.store.removeMembership(account.id, user.id)).toBe(false);
      expect(await h.store.removeMembership(account.id, randomUUID())).toBe(false);
      expect(await h.store.removeMembership(account.id, 'not-a-uuid')).toBe(false);
      expect((await h.store.members(account.id)).map((m) => m.userId)).toEqual([staying.id]);
    });

    it("lists an account's members owners first, then by e-mail address", async () => {
      const account = await newAccount('Members');
      const tag = randomUUID();
      const make = async (local: string, role: Role) => {
        const user: User = {
          id: randomUUID(),
          email: `${local}.${tag}@example.test`,
          displayName: null,
          createdAt: AT,
        };
        await h.store.createUser(user);
        await h.store.putMembership(account.id, user.id, role, AT);
        return user.id;
      };
      const zoe = await make('zoe', 'owner');
      const bob = await make('bob', 'viewer');
      const anna = await make('anna', 'admin');
      const yann = await make('yann', 'owner');
      const carl = await make('carl', 'member');
      // A member of another account is not listed.
      await h.store.putMembership(
        (await newAccount('Other')).id,
        (await newUser('outsider')).id,
        'owner',
        AT,
      );

      const members = await h.store.members(account.id);
      expect(members.map((m) => m.userId)).toEqual([yann, zoe, anna, bob, carl]);
      expect(members.map((m) => m.role)).toEqual(['owner', 'owner', 'admin', 'viewer', 'member']);
      expect(members.every((m) => m.accountId === account.id)).toBe(true);
      expect(await h.store.members(randomUUID())).toEqual([]);
      expect(await h.store.members('not-a-uuid')).toEqual([]);
    });

    it('lists the accounts a user is a member of, with the role there, by account name', async () => {
      const user = await newUser('multi');
      const beta = await newAccount('Beta SAS', 'SELF');
      const alpha = await newAccount('Alpha cabinet', 'ON_BEHALF');
      const gamma = await newAccount('Gamma', 'INDIVIDUAL');
      await h.store.putMembership(beta.id, user.id, 'member', AT);
      await h.store.putMembership(alpha.id, user.id, 'owner', AT);
      await h.store.putMembership(gamma.id, user.id, 'viewer', AT);
      await h.store.putMembership(
        (await newAccount('Aardvark')).id,
        (await newUser('other')).id,
        'owner',
        AT,
      );

      expect(await h.store.accountsOf(user.id)).toEqual([
        { account: alpha, role: 'owner' },
        { account: beta, role: 'member' },
        { account: gamma, role: 'viewer' },
      ]);
      expect(await h.store.accountsOf((await newUser('nobody')).id)).toEqual([]);
      expect(await h.store.accountsOf('not-a-uuid')).toEqual([]);
    });

    it('adds client accounts to an agent, once each, and lists them by name', async () => {
      const agent = await newAccount('Cabinet', 'ON_BEHALF');
      const zeta = await newAccount('Zeta');
      const acme = await newAccount('Acme');
      await h.store.addClient(agent.id, zeta.id, AT);
      await h.store.addClient(agent.id, acme.id, AT);
      await h.store.addClient(agent.id, acme.id, LATER);
      // Another agent's client is not listed.
      await h.store.addClient(
        (await newAccount('Other cabinet', 'ON_BEHALF')).id,
        (await newAccount('Beta')).id,
        AT,
      );

      expect(await h.store.clientsOf(agent.id)).toEqual([acme, zeta]);
      expect(await h.store.clientsOf(acme.id)).toEqual([]);
      expect(await h.store.clientsOf('not-a-uuid')).toEqual([]);
    });

    describe('accessOf', () => {
      /** An ON_BEHALF agent with a member of each role, and one client account. */
      const agency = async (mode: TenancyMode = 'ON_BEHALF') => {
        const agent = await newAccount('Agent', mode);
        const client = await newAccount('Client');
        await h.store.addClient(agent.id, client.id, AT);
        const users: Partial<Record<Role, string>> = {};
        for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
          const user = await newUser(role);
          await h.store.putMembership(agent.id, user.id, role, AT);
          users[role] = user.id;
        }
        const of = (role: Role): string => {
          const id = users[role];
          if (id === undefined) throw new Error(`no ${role}`);
          return id;
        };
        return { agent, client, of };
      };

      it("is a member's role, through the membership", async () => {
        const account = await newAccount('Direct');
        for (const role of ['owner', 'admin', 'member', 'viewer'] as const) {
          const user = await newUser(role);
          await h.store.putMembership(account.id, user.id, role, AT);
          expect(await h.store.accessOf(user.id, account.id)).toEqual({
            accountId: account.id,
            role,
            via: 'membership',
            agentAccountId: null,
          });
        }
      });

      it("gives an agent's members access to its client: at most as members, viewers as viewers", async () => {
        const { agent, client, of } = await agency();
        const expected: readonly (readonly [Role, Role])[] = [
          ['owner', 'member'],
          ['admin', 'member'],
          ['member', 'member'],
          ['viewer', 'viewer'],
        ];
        for (const [agentRole, clientRole] of expected) {
          expect(await h.store.accessOf(of(agentRole), client.id), agentRole).toEqual({
            accountId: client.id,
            role: clientRole,
            via: 'agent',
            agentAccountId: agent.id,
          });
        }
        // The agent's own account, through the membership; the client is not an agent of the agent.
        expect(await h.store.accessOf(of('admin'), agent.id)).toMatchObject({
          role: 'admin',
          via: 'membership',
        });
      });

      it('gives nothing through an account that is not ON_BEHALF', async () => {
        for (const mode of ['SELF', 'INDIVIDUAL'] as const) {
          const { client, of } = await agency(mode);
          expect(await h.store.accessOf(of('owner'), client.id), mode).toBeNull();
          expect(await h.store.accessOf(of('member'), client.id), mode).toBeNull();
        }
      });

      it("is null for a stranger, for another agent's client and for an unknown or malformed id", async () => {
        const { client } = await agency();
        const stranger = await newUser('stranger');
        expect(await h.store.accessOf(stranger.id, client.id)).toBeNull();
        const other = await agency();
        expect(await h.store.accessOf(other.of('owner'), client.id)).toBeNull();
        expect(await h.store.accessOf(other.of('owner'), randomUUID())).toBeNull();
        expect(await h.store.accessOf('not-a-uuid', client.id)).toBeNull();
        expect(await h.store.accessOf(other.of('owner'), 'not-a-uuid')).toBeNull();
      });

      it("prefers a direct membership to an agent's, even with a lower role", async () => {
        const { client, of } = await agency();
        await h.store.putMembership(client.id, of('member'), 'viewer', AT);
        await h.store.putMembership(client.id, of('viewer'), 'admin', AT);
        expect(await h.store.accessOf(of('member'), client.id)).toEqual({
          accountId: client.id,
          role: 'viewer',
          via: 'membership',
          agentAccountId: null,
        });
        expect(await h.store.accessOf(of('viewer'), client.id)).toMatchObject({
          role: 'admin',
          via: 'membership',
        });
        // Without the membership, the agent's access is back.
        await h.store.removeMembership(client.id, of('member'));
        expect(await h.store.accessOf(of('member'), client.id)).toMatchObject({
          role: 'member',
          via: 'agent',
        });
      });

      it('takes the highest role among several agents, and of equal roles the agent whose id sorts first', async () => {
        const client = await newAccount('Shared client');
        const user = await newUser('two-agents');
        const agents = [];
        for (let i = 0; i < 3; i += 1) {
          const agent = await newAccount(`Agent ${String(i)}`, 'ON_BEHALF');
          await h.store.addClient(agent.id, client.id, AT);
          agents.push(agent.id);
        }
        const [viewerOf, memberOf, ownerOf] = agents;
        if (viewerOf === undefined || memberOf === undefined || ownerOf === undefined)
          throw new Error('3 agents');
        await h.store.putMembership(viewerOf, user.id, 'viewer', AT);
        expect(await h.store.accessOf(user.id, client.id)).toMatchObject({
          role: 'viewer',
          agentAccountId: viewerOf,
        });
        await h.store.putMembership(memberOf, user.id, 'member', AT);
        expect(await h.store.accessOf(user.id, client.id)).toMatchObject({
          role: 'member',
          agentAccountId: memberOf,
        });
        // An owner there is a member in the client too: a tie with the member's agent, settled by agent id.
        await h.store.putMembership(ownerOf, user.id, 'owner', AT);
        const first = [memberOf, ownerOf].sort()[0];
        expect(await h.store.accessOf(user.id, client.id)).toEqual({
          accountId: client.id,
          role: 'member',
          via: 'agent',
          agentAccountId: first,
        });
      });
    });
  });
};
