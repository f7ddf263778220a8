import { describeObservationStoreContract } from '../../../test/contracts/observation-store.contract.ts';
import { describeOnEachDatabase } from '../../../test/support/databases.ts';
import { createSqlObservationStore } from './observation-store.ts';

describeOnEachDatabase('sql observation store', (target) => {
  describeObservationStoreContract(target.name, async () => {
    const t = await target.open();
    return {
      store: createSqlObservationStore(t.db),
      database: { db: t.db, bind: createSqlObservationStore },
      close: () => t.close(),
    };
  });
});
