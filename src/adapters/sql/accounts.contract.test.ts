import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '#app/application/ports/unit-of-work.ts';
import { describeAccountStoreContract } from '../../../test/contracts/account-store.contract.ts';
import { describeApiClientStoreContract } from '../../../test/contracts/api-client-store.contract.ts';
import { describeOnEachDatabase, type TestDatabase } from '../../../test/support/databases.ts';
import { createSqlAccountStore } from './account-store.ts';
import { createSqlApiClientStore } from './api-client-store.ts';
import { createSqlUnitOfWork } from './unit-of-work.ts';

const AT = '2026-12-01T09:00:00.000Z';

describeOnEachDatabase('SQL account stores', (target) => {
  describeAccountStoreContract(target.name, async () => {
    const t = await target.open();
    return { store: createSqlAccountStore(t.db), close: () => t.close() };
  });

  describeApiClientStoreContract(target.name, async () => {
    const t = await target.open();
    const accounts = createSqlAccountStore(t.db);
    return {
      store: createSqlApiClientStore(t.db),
      newAccount: async () => {
        const id = randomUUID();
        await accounts.createAccount({ id, name: 'ERP owner', tenancyMode: 'SELF', createdAt: AT });
        return id;
      },
      close: () => t.close(),
    };
  });

  describe('schema and unit of work', () => {
    let t: TestDatabase;
    beforeAll(async () => {
      t = await target.open();
    });
    afterAll(async () => {
      await t.close();
    });

    it('refuses an e-mail address that is not lower-cased, and a second user of one address (23514, 23505)', async () => {
      const insert = (email: string) =>
        t.db.query('insert into users (id, email, created_at) values ($1, $2, $3::timestamptz)', [
          randomUUID(),
          email,
          AT,
        ]);
      await expect(insert('Mixed.Case@example.test')).rejects.toMatchObject({ code: '23514' });
      const accounts = createSqlAccountStore(t.db);
      await accounts.createUser({
        id: randomUUID(),
        email: 'twice@example.test',
        displayName: null,
        createdAt: AT,
      });
      await expect(
        accounts.createUser({
          id: randomUUID(),
          email: 'TWICE@example.test',
          displayName: null,
          createdAt: AT,
        }),
      ).rejects.toMatchObject({ code: '23505' });
    });

    it('refuses to link an identity to a second user (23505)', async () => {
      const accounts = createSqlAccountStore(t.db);
      const identity = { issuer: 'https://login.example.test/', subject: 'sub-1' };
      const [first, second] = [randomUUID(), randomUUID()];
      for (const id of [first, second]) {
        await accounts.createUser({ id, email: `${id}@example.test`, displayName: null, createdAt: AT });
      }
      await accounts.linkIdentity(first, identity, AT);
      await expect(accounts.linkIdentity(second, identity, AT)).rejects.toMatchObject({ code: '23505' });
      expect((await accounts.findUserByIdentity(identity))?.id).toBe(first);
    });

    it('refuses an account as its own client (23514)', async () => {
      const accounts = createSqlAccountStore(t.db);
      const id = randomUUID();
      await accounts.createAccount({ id, name: 'Self', tenancyMode: 'ON_BEHALF', createdAt: AT });
      await expect(accounts.addClient(id, id, AT)).rejects.toMatchObject({ code: '23514' });
    });

    it("writes accounts, users, memberships and API clients in the unit of work's transaction, or none of them", async () => {
      const unitOfWork = createSqlUnitOfWork(t.db, { newId: randomUUID });
      const accountId = randomUUID();
      const userId = randomUUID();
      const clientId = randomUUID();
      const work = async (stores: Stores): Promise<void> => {
        await stores.accounts.createAccount({
          id: accountId,
          name: 'Atomic',
          tenancyMode: 'SELF',
          createdAt: AT,
        });
        await stores.accounts.createUser({
          id: userId,
          email: `${userId}@example.test`,
          displayName: null,
          createdAt: AT,
        });
        await stores.accounts.putMembership(accountId, userId, 'owner', AT);
        await stores.apiClients.insert({
          id: clientId,
          accountId,
          name: 'ERP',
          role: 'viewer',
          publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' },
          jkt: 'thumbprint',
          createdAt: AT,
          createdBy: userId,
          revokedAt: null,
        });
      };
      const rollback = new Error('rolled back on purpose');
      await expect(
        unitOfWork.run(async (stores) => {
          await work(stores);
          throw rollback;
        }),
      ).rejects.toBe(rollback);
      const accounts = createSqlAccountStore(t.db);
      expect(await accounts.getAccount(accountId)).toBeNull();
      expect(await accounts.getUser(userId)).toBeNull();
      expect(await createSqlApiClientStore(t.db).get(clientId)).toBeNull();

      await unitOfWork.run(work);
      expect(await accounts.accessOf(userId, accountId)).toMatchObject({ role: 'owner', via: 'membership' });
      expect(await createSqlApiClientStore(t.db).list(accountId)).toMatchObject([{ id: clientId }]);
    });
  });
});
