import type { AuditLog } from '#app/application/ports/audit-log.ts';
import type { UnitOfWork } from '#app/application/ports/unit-of-work.ts';

/**
 * The unit of work with each transaction's first audit append held until `parties` transactions have reached
 * theirs: all of them have read what they decide on before any of them writes.
 */
export const meetingAtFirstAppend = (unitOfWork: UnitOfWork, parties: number): UnitOfWork => {
  let arrived = 0;
  let releaseAll: () => void = () => undefined;
  const allArrived = new Promise<void>((resolve) => {
    releaseAll = resolve;
  });
  return {
    run: (work) =>
      unitOfWork.run((stores) => {
        let first = true;
        const append: AuditLog['append'] = async (entry) => {
          if (first && arrived < parties) {
            first = false;
            arrived += 1;
            if (arrived === parties) releaseAll();
            await allArrived;
          }
          return stores.audit.append(entry);
        };
        return work({ ...stores, audit: { ...stores.audit, append } });
      }),
  };
};
