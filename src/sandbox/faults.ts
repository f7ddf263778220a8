import { err, ok, type Result } from '#app/domain/result.ts';

/** The registries the sandbox impersonates, as fault rules and call counts name them. */
export const SOURCES = ['insee', 'recherche', 'bodacc', 'vies'] as const;
export type Source = (typeof SOURCES)[number];

export const isSource = (value: string): value is Source => (SOURCES as readonly string[]).includes(value);

/**
 * One fault. Conditions (`match`, `times`, `failureRate`) decide whether it applies to a call; effects then apply in
 * this order: `timeout` (hold the request, never answer) or `reset` (drop the connection), else `latencyMs`, then
 * the answer: replaced when `status`, `body` or `retryAfterSeconds` is set, the fixture's answer otherwise.
 */
export interface FaultRule {
  /** Apply only when the request's path and query (as sent, or percent-decoded) contain this string. */
  readonly match?: string;
  /** Apply to the next N calls it is applied to, then never again. */
  readonly times?: number;
  /** Apply to this share of the calls (0..1) at random. */
  readonly failureRate?: number;
  /** Wait this long before answering. */
  readonly latencyMs?: number;
  /** Accept the request and never answer (until the sandbox closes). */
  readonly timeout?: boolean;
  /** Accept the request and destroy the connection without answering (a network error for the client). */
  readonly reset?: boolean;
  /** The HTTP status to answer with; 429 when only `retryAfterSeconds` is set, 200 when only `body` is. */
  readonly status?: number;
  /** The body to answer with: a string is sent as is, anything else as JSON. The registry's error body by default. */
  readonly body?: unknown;
  /** Extra response headers, e.g. INSEE's `X-Rate-Limit-Remaining`. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Sets `Retry-After` (seconds). */
  readonly retryAfterSeconds?: number;
}

/** Fault rules per source: one rule or a list (the first applicable rule wins). */
export type FaultRules = { readonly [S in Source]?: FaultRule | readonly FaultRule[] };

/** Fault rules with every source's rules as a list. */
export type FaultRuleLists = { readonly [S in Source]?: readonly FaultRule[] };

const RULE_KEYS = new Set([
  'match',
  'times',
  'failureRate',
  'latencyMs',
  'timeout',
  'reset',
  'status',
  'body',
  'headers',
  'retryAfterSeconds',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isNonNegativeInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

// Keys starting with "_" are comments, so a faults.json can explain itself.
const isComment = (key: string): boolean => key.startsWith('_');

const parseRule = (input: unknown, where: string): Result<FaultRule, string> => {
  if (!isRecord(input)) return err(`${where} must be an object`);
  const rule: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (isComment(key)) continue;
    if (!RULE_KEYS.has(key)) {
      return err(`${where} has an unknown key "${key}" (expected ${[...RULE_KEYS].join(', ')})`);
    }
    if (value === undefined) continue;
    const problem = checkField(key, value);
    if (problem !== null) return err(`${where}.${key} ${problem}`);
    rule[key] = value;
  }
  if (rule['timeout'] === true && rule['reset'] === true) {
    return err(`${where} cannot both time out and reset the connection`);
  }
  return ok(Object.freeze(rule) as FaultRule);
};

const checkField = (key: string, value: unknown): string | null => {
  switch (key) {
    case 'match':
      return typeof value === 'string' && value !== '' ? null : 'must be a non-empty string';
    case 'times':
    case 'latencyMs':
    case 'retryAfterSeconds':
      return isNonNegativeInteger(value) ? null : 'must be a whole number, 0 or more';
    case 'failureRate':
      return typeof value === 'number' && value >= 0 && value <= 1 ? null : 'must be a number from 0 to 1';
    case 'timeout':
    case 'reset':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'status':
      return Number.isInteger(value) && (value as number) >= 200 && (value as number) <= 599
        ? null
        : 'must be an HTTP status from 200 to 599';
    case 'headers':
      return isRecord(value) &&
        Object.entries(value).every(
          ([name, v]) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && typeof v === 'string',
        )
        ? null
        : 'must map header names to strings';
    default:
      return null;
  }
};

/** Validates fault rules (from JSON): every problem is reported with where it is, e.g. `vies[1].status`. */
export const parseFaultRules = (input: unknown): Result<FaultRuleLists, string> => {
  if (!isRecord(input))
    return err('fault rules must be a JSON object keyed by source (insee, recherche, bodacc, vies)');
  const out: Partial<Record<Source, readonly FaultRule[]>> = {};
  for (const [key, value] of Object.entries(input)) {
    if (isComment(key)) continue;
    if (!isSource(key)) return err(`unknown source "${key}" (expected ${SOURCES.join(', ')})`);
    if (value === null) continue;
    const list: unknown[] = Array.isArray(value) ? value : [value];
    const rules: FaultRule[] = [];
    for (const [i, item] of list.entries()) {
      const rule = parseRule(item, Array.isArray(value) ? `${key}[${i}]` : key);
      if (!rule.ok) return rule;
      rules.push(rule.value);
    }
    if (rules.length > 0) out[key] = Object.freeze(rules);
  }
  return ok(Object.freeze(out));
};

/** The live fault rules of a sandbox: which one applies to a call, and how many uses each has left. */
export interface FaultBook {
  replace(rules: FaultRuleLists): void;
  /** The current rules; a rule with `times` shows the applications it has left. */
  current(): FaultRuleLists;
  /** The first applicable rule for this call, counted against its `times`; null when none applies. */
  pick(source: Source, pathAndQuery: string): FaultRule | null;
}

interface LiveRule {
  readonly rule: FaultRule;
  left: number | null;
}

const decoded = (pathAndQuery: string): string => {
  try {
    return decodeURIComponent(pathAndQuery.replace(/\+/g, ' '));
  } catch {
    return pathAndQuery;
  }
};

/** `random` returns a number in [0, 1); it is called once per rule with a `failureRate` that is otherwise applicable. */
export const createFaultBook = (random: () => number): FaultBook => {
  let live = new Map<Source, LiveRule[]>();
  return {
    replace: (rules) => {
      live = new Map();
      for (const source of SOURCES) {
        const list = rules[source];
        if (list !== undefined)
          live.set(
            source,
            list.map((rule) => ({ rule, left: rule.times ?? null })),
          );
      }
    },
    current: () => {
      const out: Partial<Record<Source, readonly FaultRule[]>> = {};
      for (const [source, list] of live) {
        out[source] = list.map(({ rule, left }) => (left === null ? rule : { ...rule, times: left }));
      }
      return out;
    },
    pick: (source, pathAndQuery) => {
      for (const entry of live.get(source) ?? []) {
        const { rule } = entry;
        if (rule.match !== undefined) {
          if (!pathAndQuery.includes(rule.match) && !decoded(pathAndQuery).includes(rule.match)) continue;
        }
        if (entry.left !== null && entry.left <= 0) continue;
        if (rule.failureRate !== undefined && !(random() < rule.failureRate)) continue;
        if (entry.left !== null) entry.left -= 1;
        return rule;
      }
      return null;
    },
  };
};
