import { describeCircuitBreakerContract } from '../../../test/contracts/circuit-breaker.contract.ts';
import { createMemoryCircuitBreaker } from './circuit-breaker.ts';

describeCircuitBreakerContract('memory', () =>
  Promise.resolve({
    create: (clock, settings) => createMemoryCircuitBreaker({ clock, settings }),
    clean: () => Promise.resolve(),
    close: () => Promise.resolve(),
  }),
);
