import { describe, expect, it } from 'vitest';
import { createFaultBook, parseFaultRules, type FaultRuleLists } from './faults.ts';

const parsed = (input: unknown): FaultRuleLists => {
  const result = parseFaultRules(input);
  if (!result.ok) throw new Error(result.error);
  return result.value;
};

const sequence = (...values: number[]) => {
  let i = 0;
  return () => {
    const value = values[i % values.length] ?? 0;
    i += 1;
    return value;
  };
};

describe('parseFaultRules', () => {
  it('accepts one rule or a list per source, and turns both into lists', () => {
    expect(
      parsed({
        insee: { status: 429, retryAfterSeconds: 60 },
        vies: [
          { match: 'FR27', timeout: true },
          { latencyMs: 200, failureRate: 0.5, times: 3 },
        ],
        _comment: 'ignored',
      }),
    ).toEqual({
      insee: [{ status: 429, retryAfterSeconds: 60 }],
      vies: [
        { match: 'FR27', timeout: true },
        { latencyMs: 200, failureRate: 0.5, times: 3 },
      ],
    });
  });

  it('accepts any JSON body and string headers', () => {
    expect(parsed({ bodacc: { body: 'not json', headers: { 'X-RateLimit-Remaining': '0' } } })).toEqual({
      bodacc: [{ body: 'not json', headers: { 'X-RateLimit-Remaining': '0' } }],
    });
  });

  it.each([
    [[], 'fault rules must be a JSON object'],
    [{ sirene: { status: 500 } }, 'unknown source "sirene"'],
    [{ insee: { statuss: 500 } }, 'insee has an unknown key "statuss"'],
    [{ insee: { status: 42 } }, 'insee.status must be an HTTP status'],
    [{ insee: { status: 500.5 } }, 'insee.status must be an HTTP status'],
    [{ vies: [{}, { failureRate: 2 }] }, 'vies[1].failureRate must be a number from 0 to 1'],
    [{ vies: { latencyMs: -1 } }, 'vies.latencyMs must be a whole number'],
    [{ vies: { times: 1.5 } }, 'vies.times must be a whole number'],
    [{ vies: { timeout: 'yes' } }, 'vies.timeout must be true or false'],
    [{ vies: { match: '' } }, 'vies.match must be a non-empty string'],
    [{ recherche: { headers: { 'Bad Header': 'x' } } }, 'recherche.headers must map header names to strings'],
    [{ recherche: { timeout: true, reset: true } }, 'cannot both time out and reset'],
    [{ bodacc: 'slow' }, 'bodacc must be an object'],
  ])('rejects %j with a message saying where', (input, message) => {
    const result = parseFaultRules(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toContain(message);
  });
});

describe('createFaultBook', () => {
  it('applies nothing without rules', () => {
    const book = createFaultBook(sequence(0));
    expect(book.pick('insee', '/api-sirene/3.11/siren/552032534')).toBeNull();
  });

  it('keeps each source to its own rules', () => {
    const book = createFaultBook(sequence(0));
    book.replace(parsed({ vies: { status: 503 } }));
    expect(book.pick('insee', '/x')).toBeNull();
    expect(book.pick('vies', '/x')).toEqual({ status: 503 });
  });

  it('applies a rule with times to that many calls, then stops', () => {
    const book = createFaultBook(sequence(0));
    book.replace(parsed({ insee: { status: 503, times: 2 } }));
    expect(book.pick('insee', '/x')).not.toBeNull();
    expect(book.current()).toEqual({ insee: [{ status: 503, times: 1 }] });
    expect(book.pick('insee', '/x')).not.toBeNull();
    expect(book.pick('insee', '/x')).toBeNull();
    expect(book.current()).toEqual({ insee: [{ status: 503, times: 0 }] });
  });

  it('applies a failureRate of 0 never and of 1 always', () => {
    const book = createFaultBook(sequence(0, 0.5, 0.999999));
    book.replace(
      parsed({ recherche: { status: 500, failureRate: 0 }, bodacc: { status: 500, failureRate: 1 } }),
    );
    for (let i = 0; i < 6; i += 1) {
      expect(book.pick('recherche', '/search?q=1')).toBeNull();
      expect(book.pick('bodacc', '/api')).not.toBeNull();
    }
  });

  it('applies a fractional failureRate to the calls whose random draw falls below it', () => {
    const book = createFaultBook(sequence(0.1, 0.9, 0.49, 0.5, 0.2));
    book.replace(parsed({ vies: { status: 503, failureRate: 0.5 } }));
    const applied = Array.from({ length: 5 }, () => book.pick('vies', '/x') !== null);
    expect(applied).toEqual([true, false, true, false, true]);
  });

  it('counts times only on calls the fault was applied to', () => {
    const book = createFaultBook(sequence(0.9, 0.1, 0.9, 0.1, 0.1));
    book.replace(parsed({ vies: { status: 503, failureRate: 0.5, times: 2 } }));
    const applied = Array.from({ length: 5 }, () => book.pick('vies', '/x') !== null);
    expect(applied).toEqual([false, true, false, true, false]);
  });

  it('applies a rule with match only to paths and queries containing it, encoded or not', () => {
    const book = createFaultBook(sequence(0));
    book.replace(parsed({ bodacc: { match: 'registre="552032534"', status: 500 } }));
    expect(book.pick('bodacc', '/records?where=registre%3D%22552032534%22&limit=100')).not.toBeNull();
    expect(book.pick('bodacc', '/records?where=registre="552032534"')).not.toBeNull();
    expect(book.pick('bodacc', '/records?where=registre%3D%22356000000%22')).toBeNull();
  });

  it('picks the first applicable rule of a list', () => {
    const book = createFaultBook(sequence(0));
    book.replace(
      parsed({
        insee: [
          { match: '/siren/552032534', status: 404, times: 1 },
          { match: '/siret/', status: 403 },
          { status: 500 },
        ],
      }),
    );
    expect(book.pick('insee', '/api-sirene/3.11/siren/552032534')).toMatchObject({ status: 404 });
    expect(book.pick('insee', '/api-sirene/3.11/siren/552032534')).toMatchObject({ status: 500 });
    expect(book.pick('insee', '/api-sirene/3.11/siret/55203253400703')).toMatchObject({ status: 403 });
  });

  it('replaces every rule and restarts their counts', () => {
    const book = createFaultBook(sequence(0));
    book.replace(parsed({ insee: { status: 503, times: 1 } }));
    book.pick('insee', '/x');
    book.replace(parsed({ insee: { status: 503, times: 1 } }));
    expect(book.pick('insee', '/x')).not.toBeNull();
    book.replace({});
    expect(book.current()).toEqual({});
    expect(book.pick('insee', '/x')).toBeNull();
  });
});
