import { describeRequestLimiterContract } from '../../../test/contracts/request-limiter.contract.ts';
import { createMemoryRequestLimiter } from './request-limiter.ts';

describeRequestLimiterContract('memory', () =>
  Promise.resolve({
    limiterFor: (budgets) => createMemoryRequestLimiter({ budgets }),
    close: () => Promise.resolve(),
  }),
);
