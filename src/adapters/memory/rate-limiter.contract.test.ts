import { describeRateLimiterContract } from '../../../test/contracts/rate-limiter.contract.ts';
import { createMemoryRateLimiter } from './rate-limiter.ts';

describeRateLimiterContract('memory', () =>
  Promise.resolve({ limiterFor: createMemoryRateLimiter, close: () => Promise.resolve() }),
);
