/**
 * Reading SIRENE payloads, shared by the INSEE and Recherche d'entreprises clients: both serve the same SIRENE
 * data, hide the fields of non-diffusible units behind a literal placeholder, and can send any field as null.
 */

export type JsonRecord = Readonly<Record<string, unknown>>;

export const isRecord = (value: unknown): value is JsonRecord =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** INSEE writes "[ND]", Recherche d'entreprises "[NON-DIFFUSIBLE]": a hidden value, never a real one. */
const MASKS: ReadonlySet<string> = new Set(['[ND]', '[NON-DIFFUSIBLE]']);

/** INSEE's placeholder for an unknown creation date; its documentation says to read it as no date. */
const UNKNOWN_DATE = '1900-01-01';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Reads fields leniently where SIRENE is lenient (absent, null and masked all mean "no value") and notes every
 * field whose type is wrong, so the caller can refuse the whole payload instead of reporting half-read facts.
 */
export interface PayloadReader {
  /** A string field, trimmed; null when absent, null, empty or masked. */
  text(record: JsonRecord, key: string): string | null;
  /** A calendar date "YYYY-MM-DD"; null when absent, null or masked. */
  date(record: JsonRecord, key: string): string | null;
  /** A boolean field; null when absent or null. */
  flag(record: JsonRecord, key: string): boolean | null;
  /** An array of strings, masked entries dropped; empty when absent or null. */
  texts(record: JsonRecord, key: string): readonly string[];
  /** Notes a problem the caller found itself (a missing block, an empty history). */
  fail(problem: string): void;
  /** The problems found so far: field names and what was wrong, never the values. */
  readonly problems: readonly string[];
}

export const createPayloadReader = (): PayloadReader => {
  const problems: string[] = [];
  const note = (problem: string): void => {
    if (!problems.includes(problem)) problems.push(problem);
  };
  const text = (record: JsonRecord, key: string): string | null => {
    const value = record[key];
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') {
      note(`${key} is not a string`);
      return null;
    }
    const trimmed = value.trim();
    return trimmed === '' || MASKS.has(trimmed) ? null : trimmed;
  };
  return {
    problems,
    text,
    date: (record, key) => {
      const value = text(record, key);
      if (value !== null && !ISO_DATE.test(value)) {
        note(`${key} is not a date`);
        return null;
      }
      return value;
    },
    flag: (record, key) => {
      const value = record[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== 'boolean') {
        note(`${key} is not a boolean`);
        return null;
      }
      return value;
    },
    texts: (record, key) => {
      const value = record[key];
      if (value === undefined || value === null) return [];
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
        note(`${key} is not a list of strings`);
        return [];
      }
      return value.map((item) => item.trim()).filter((item) => item !== '' && !MASKS.has(item));
    },
    fail: note,
  };
};

/** A creation date as a fact: INSEE's 1900-01-01 placeholder means the date is unknown. */
export const knownCreationDate = (date: string | null): string | null =>
  date === UNKNOWN_DATE ? null : date;
