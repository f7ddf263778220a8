import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type {
  BreakerSettings,
  CircuitBreaker,
  GrantedPermit,
} from '#app/application/ports/circuit-breaker.ts';
import { createManualClock, type ManualClock } from '../support/manual-clock.ts';

export interface CircuitBreakerHarness {
  /** A breaker of its own: it shares no state with the breakers made before it. */
  create(clock: ManualClock, settings: BreakerSettings): CircuitBreaker;
  /** After each case: removes what its breakers left behind (Redis keys) and checks nothing went wrong. */
  clean(): Promise<void>;
  close(): Promise<void>;
}

export const CONTRACT_SETTINGS: BreakerSettings = {
  failureRateThreshold: 0.5,
  minimumCalls: 5,
  windowMs: 60_000,
  openMs: 30_000,
  halfOpenProbes: 1,
};

const T0 = '2026-11-29T09:00:00.000Z';
const at = (offsetMs: number): string => new Date(Date.parse(T0) + offsetMs).toISOString();
const { windowMs, openMs } = CONTRACT_SETTINGS;

/** Asks for a permit that must be granted. */
export const grant = async (breaker: CircuitBreaker, name: string): Promise<GrantedPermit> => {
  const permit = await breaker.acquire(name);
  if (!permit.allowed) throw new Error(`${name}: refused (${permit.state} until ${permit.retryAt})`);
  return permit;
};

/** Makes calls through the breaker, in order, with these outcomes ('F' failure, 'S' success). */
export const calls = async (breaker: CircuitBreaker, name: string, outcomes: string): Promise<void> => {
  for (const outcome of outcomes) {
    const permit = await grant(breaker, name);
    expect(permit).toEqual({ allowed: true, probe: false });
    await breaker.record(name, outcome === 'F' ? 'failure' : 'success', permit);
  }
};

/**
 * The CircuitBreaker contract (ARCHITECTURE section 7), run once per adapter. Every case drives its own manual
 * clock, starting at T0; a breaker trips at T0 unless the case says otherwise.
 */
export const describeCircuitBreakerContract = (
  name: string,
  open: () => Promise<CircuitBreakerHarness>,
): void => {
  describe(`CircuitBreaker contract: ${name}`, () => {
    let h: CircuitBreakerHarness;
    let clock: ManualClock;
    beforeAll(async () => {
      h = await open();
    });
    afterEach(async () => {
      await h.clean();
    });
    afterAll(async () => {
      await h.close();
    });

    const breaker = (settings: Partial<BreakerSettings> = {}): CircuitBreaker => {
      clock = createManualClock(T0);
      return h.create(clock, { ...CONTRACT_SETTINGS, ...settings });
    };

    it('reports an unused breaker CLOSED with an empty window', async () => {
      const b = breaker();
      expect(await b.snapshot('sirene')).toEqual({
        state: 'CLOSED',
        calls: 0,
        failures: 0,
        openedAt: null,
        retryAt: null,
      });
      expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: false });
    });

    it('stays CLOSED below minimumCalls, even when every call fails', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFF');
      expect(await b.snapshot('sirene')).toEqual({
        state: 'CLOSED',
        calls: 4,
        failures: 4,
        openedAt: null,
        retryAt: null,
      });
      expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: false });
    });

    it('opens when the failure rate reaches the threshold over at least minimumCalls calls', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'SFSF');
      clock.advance(1_000);
      await calls(b, 'sirene', 'F');
      expect(await b.snapshot('sirene')).toEqual({
        state: 'OPEN',
        calls: 5,
        failures: 3,
        openedAt: at(1_000),
        retryAt: at(1_000 + openMs),
      });
    });

    it('stays CLOSED under the threshold and opens exactly at it', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'SSSFF');
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 5, failures: 2 });
      await calls(b, 'sirene', 'F');
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'OPEN', calls: 6, failures: 3 });
    });

    it('judges the window at every outcome, a success included', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFFS');
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'OPEN', calls: 5, failures: 4 });
    });

    it('counts an outcome for nine tenths of the window at least, and not after the window', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFF');
      await calls(b, 'bodacc', 'FFFF');

      clock.advance((windowMs * 9) / 10);
      await calls(b, 'sirene', 'F');
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'OPEN', calls: 5, failures: 5 });

      clock.advance(windowMs / 10);
      expect(await b.snapshot('bodacc')).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0 });
      await calls(b, 'bodacc', 'F');
      expect(await b.snapshot('bodacc')).toMatchObject({ state: 'CLOSED', calls: 1, failures: 1 });
    });

    it('refuses every call while OPEN, until openMs after the opening, and changes nothing', async () => {
      const b = breaker();
      const inFlight = await grant(b, 'sirene');
      await calls(b, 'sirene', 'FFFFF');
      const opened = await b.snapshot('sirene');
      expect(opened).toMatchObject({ state: 'OPEN', openedAt: at(0), retryAt: at(openMs) });

      const refusal = { allowed: false, state: 'OPEN', retryAt: at(openMs) };
      for (const offset of [0, 1, openMs / 2, openMs - 1]) {
        clock.set(at(offset));
        for (let i = 0; i < 3; i += 1) expect(await b.acquire('sirene')).toEqual(refusal);
        expect(await b.snapshot('sirene')).toEqual(opened);
      }
      // A call granted before the opening reports late: it is not counted, and closes nothing.
      await b.record('sirene', 'success', inFlight);
      await b.record('sirene', 'failure', inFlight);
      expect(await b.snapshot('sirene')).toEqual(opened);
      expect(await b.acquire('sirene')).toEqual(refusal);
    });

    it('grants exactly halfOpenProbes probes once openMs has passed, and refuses the others', async () => {
      const b = breaker({ halfOpenProbes: 2 });
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      expect(await b.snapshot('sirene')).toMatchObject({
        state: 'HALF_OPEN',
        openedAt: at(0),
        retryAt: null,
      });

      const probe = { allowed: true, probe: true, openedAt: at(0) };
      expect(await b.acquire('sirene')).toEqual(probe);
      clock.advance(1_000);
      expect(await b.acquire('sirene')).toEqual(probe);
      const refusal = { allowed: false, state: 'HALF_OPEN', retryAt: at(2 * openMs) };
      expect(await b.acquire('sirene')).toEqual(refusal);
      expect(await b.acquire('sirene')).toEqual(refusal);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'HALF_OPEN', retryAt: at(2 * openMs) });
    });

    it('closes with an empty window when every probe succeeds', async () => {
      const b = breaker({ halfOpenProbes: 2 });
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      const first = await grant(b, 'sirene');
      const second = await grant(b, 'sirene');

      await b.record('sirene', 'success', first);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'HALF_OPEN' });
      expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'HALF_OPEN' });

      await b.record('sirene', 'success', second);
      expect(await b.snapshot('sirene')).toEqual({
        state: 'CLOSED',
        calls: 0,
        failures: 0,
        openedAt: null,
        retryAt: null,
      });
      // The five failures that opened it are still inside the window's time, but no longer count.
      await calls(b, 'sirene', 'F');
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 1, failures: 1 });
    });

    it('opens again for a new period when a probe fails', async () => {
      const b = breaker({ halfOpenProbes: 2 });
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      const first = await grant(b, 'sirene');
      const second = await grant(b, 'sirene');
      await b.record('sirene', 'success', first);
      clock.advance(5_000);
      await b.record('sirene', 'failure', second);

      const reopened = at(openMs + 5_000);
      expect(await b.snapshot('sirene')).toMatchObject({
        state: 'OPEN',
        openedAt: reopened,
        retryAt: at(2 * openMs + 5_000),
      });
      clock.advance(openMs - 1);
      expect(await b.acquire('sirene')).toEqual({
        allowed: false,
        state: 'OPEN',
        retryAt: at(2 * openMs + 5_000),
      });
      clock.advance(1);
      // A new period: two probes again, the earlier success forgotten.
      expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: true, openedAt: reopened });
      expect(await b.acquire('sirene')).toEqual({ allowed: true, probe: true, openedAt: reopened });
      expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'HALF_OPEN' });
    });

    it('grants a lost probe again once openMs has passed without a report', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      await grant(b, 'sirene');

      clock.advance(openMs - 1);
      expect(await b.acquire('sirene')).toEqual({
        allowed: false,
        state: 'HALF_OPEN',
        retryAt: at(2 * openMs),
      });
      clock.advance(1);
      const again = await grant(b, 'sirene');
      expect(again).toEqual({ allowed: true, probe: true, openedAt: at(0) });
      expect(await b.acquire('sirene')).toMatchObject({ allowed: false, retryAt: at(3 * openMs) });

      await b.record('sirene', 'success', again);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED' });
    });

    it('counts a presumed-lost probe that reports late in its own period', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      const lost = await grant(b, 'sirene');
      clock.advance(openMs);
      await grant(b, 'sirene');

      await b.record('sirene', 'success', lost);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED' });
    });

    it('ignores a probe that reports after its open period has ended', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFFF');
      clock.advance(openMs);
      const lost = await grant(b, 'sirene');
      clock.advance(openMs);
      const failing = await grant(b, 'sirene');
      await b.record('sirene', 'failure', failing);
      const reopened = at(2 * openMs);
      clock.advance(openMs);
      const probe = await grant(b, 'sirene');
      expect(probe).toEqual({ allowed: true, probe: true, openedAt: reopened });

      await b.record('sirene', 'success', lost);
      await b.record('sirene', 'failure', lost);
      await b.record('sirene', 'success', failing);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'HALF_OPEN', openedAt: reopened });
      expect(await b.acquire('sirene')).toMatchObject({ allowed: false, state: 'HALF_OPEN' });

      await b.record('sirene', 'success', probe);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED' });
      // Reports of a closed period's probes change nothing either.
      await b.record('sirene', 'failure', probe);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0 });
    });

    it('keeps breakers of different names independent', async () => {
      const b = breaker();
      await calls(b, 'sirene', 'FFFFF');
      await calls(b, 'bodacc', 'SSFF');

      expect(await b.snapshot('sirene')).toMatchObject({ state: 'OPEN', calls: 5, failures: 5 });
      expect(await b.snapshot('bodacc')).toMatchObject({ state: 'CLOSED', calls: 4, failures: 2 });
      expect(await b.snapshot('vies')).toMatchObject({ state: 'CLOSED', calls: 0, failures: 0 });
      expect(await b.acquire('vies')).toEqual({ allowed: true, probe: false });

      clock.advance(openMs);
      const probe = await grant(b, 'sirene');
      await calls(b, 'bodacc', 'F');
      expect(await b.snapshot('bodacc')).toMatchObject({ state: 'OPEN', openedAt: at(openMs) });
      await b.record('sirene', 'success', probe);
      expect(await b.snapshot('sirene')).toMatchObject({ state: 'CLOSED' });
      expect(await b.snapshot('bodacc')).toMatchObject({ state: 'OPEN' });
    });

    it('refuses names, permits and settings no breaker accepts', async () => {
      const b = breaker();
      for (const bad of ['', 'two words', 'x'.repeat(65), 'sirène', 'a/b']) {
        await expect(b.acquire(bad), bad).rejects.toThrow(RangeError);
        await expect(b.snapshot(bad), bad).rejects.toThrow(RangeError);
        await expect(b.record(bad, 'failure', { allowed: true, probe: false }), bad).rejects.toThrow(
          RangeError,
        );
      }
      await expect(
        b.record('sirene', 'success', { allowed: true, probe: true, openedAt: 'yesterday' }),
      ).rejects.toThrow(RangeError);
      await b.acquire('x'.repeat(64));
      await b.acquire('insee.sirene:v3_1-a');

      const bad: Partial<BreakerSettings>[] = [
        { failureRateThreshold: 0 },
        { failureRateThreshold: 1.5 },
        { failureRateThreshold: Number.NaN },
        { minimumCalls: 0 },
        { minimumCalls: 2.5 },
        { windowMs: 9 },
        { openMs: 0 },
        { halfOpenProbes: 0 },
      ];
      for (const settings of bad)
        expect(() => breaker(settings), JSON.stringify(settings)).toThrow(RangeError);
      expect(() => breaker({ failureRateThreshold: 1, minimumCalls: 1, windowMs: 10 })).not.toThrow();
    });
  });
};
