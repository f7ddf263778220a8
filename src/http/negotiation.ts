/**
 * Content and language negotiation for the verification pages: the HTML page unless the client asks for JSON,
 * French unless the client prefers English.
 */

interface Range {
  /** Lowercase: a media range (`text/html`, `text/*`...) or a language range (`en-gb`, `*`...). */
  readonly value: string;
  readonly q: number;
  readonly order: number;
}

const parseRanges = (header: string | undefined): readonly Range[] => {
  if (header === undefined) return [];
  const ranges: Range[] = [];
  for (const [order, part] of header.split(',').entries()) {
    const [value = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    if (value === '') continue;
    let q = 1;
    for (const param of params) {
      const match = /^q\s*=\s*([01](?:\.\d{0,3})?)$/.exec(param);
      if (match?.[1] !== undefined) q = Number(match[1]);
    }
    ranges.push({ value, q: Math.min(q, 1), order });
  }
  return ranges;
};

interface Preference {
  readonly q: number;
  /** Higher is more specific: an exact range outranks a wildcard. */
  readonly specificity: number;
  readonly order: number;
}

const NONE: Preference = { q: 0, specificity: -1, order: Number.POSITIVE_INFINITY };

/** The most specific range that matches decides (RFC 9110, 12.5.1); among equals, the first listed. */
const best = (candidates: readonly (readonly [Range, number])[]): Preference => {
  let found = NONE;
  for (const [range, specificity] of candidates) {
    if (specificity > found.specificity || (specificity === found.specificity && range.order < found.order)) {
      found = { q: range.q, specificity, order: range.order };
    }
  }
  return found;
};

const mediaPreference = (ranges: readonly Range[], type: string): Preference => {
  const [major] = type.split('/');
  return best(
    ranges.flatMap((r): (readonly [Range, number])[] =>
      r.value === type
        ? [[r, 2]]
        : r.value === `${major ?? ''}/*`
          ? [[r, 1]]
          : r.value === '*/*'
            ? [[r, 0]]
            : [],
    ),
  );
};

/** Whether `Accept` prefers JSON to HTML: a higher quality, or an equal one by a more specific or earlier range. */
export const prefersJson = (accept: string | undefined): boolean => {
  const ranges = parseRanges(accept);
  const json = mediaPreference(ranges, 'application/json');
  const html = mediaPreference(ranges, 'text/html');
  if (json.q !== html.q) return json.q > html.q;
  if (json.q === 0) return false;
  if (json.specificity !== html.specificity) return json.specificity > html.specificity;
  return json.order < html.order;
};

export type PageLang = 'fr' | 'en';

const languagePreference = (ranges: readonly Range[], lang: PageLang): Preference =>
  best(
    ranges.flatMap((r): (readonly [Range, number])[] =>
      r.value === lang || r.value.startsWith(`${lang}-`) ? [[r, 1]] : r.value === '*' ? [[r, 0]] : [],
    ),
  );

/**
 * The page's language: `?lang=` when it names one; otherwise English only when `Accept-Language` ranks it above
 * French (or lists it first at the same quality); French by default.
 */
export const pageLang = (query: unknown, acceptLanguage: string | undefined): PageLang => {
  if (query === 'fr' || query === 'en') return query;
  const ranges = parseRanges(acceptLanguage);
  const en = languagePreference(ranges, 'en');
  const fr = languagePreference(ranges, 'fr');
  if (en.q !== fr.q) return en.q > fr.q ? 'en' : 'fr';
  if (en.q === 0) return 'fr';
  if (en.specificity !== fr.specificity) return en.specificity > fr.specificity ? 'en' : 'fr';
  return en.order < fr.order ? 'en' : 'fr';
};
