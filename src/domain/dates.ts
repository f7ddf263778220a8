/** Calendar arithmetic on ISO dates (YYYY-MM-DD), pure: the caller supplies "today". */

/** The ISO date `years` years before `isoDate` (29 February falls back to 28). */
export const yearsBefore = (isoDate: string, years: number): string => {
  const year = Number(isoDate.slice(0, 4)) - years;
  const monthDay = isoDate.slice(5, 10) === '02-29' ? '02-28' : isoDate.slice(5, 10);
  return `${String(year).padStart(4, '0')}-${monthDay}`;
};

/** The date part of an ISO timestamp. */
export const dateOf = (isoTimestamp: string): string => isoTimestamp.slice(0, 10);

/** "2025-06-11" -> "11/06/2025", the way French documents write dates. */
export const frenchDate = (isoDate: string): string =>
  `${isoDate.slice(8, 10)}/${isoDate.slice(5, 7)}/${isoDate.slice(0, 4)}`;
