/**
 * National-part formats of EU VAT numbers as VIES expects them (after the two-letter VIES code).
 * Transcribed from the registries reference pack (`eu-vat-formats.json`): format checks only; only VIES says
 * whether a number is live.
 */
export const VAT_FORMATS = {
  AT: { country: 'Austria', nationalPart: /^U\d{8}$/ },
  BE: { country: 'Belgium', nationalPart: /^[01]\d{9}$/ },
  BG: { country: 'Bulgaria', nationalPart: /^\d{9,10}$/ },
  CY: { country: 'Cyprus', nationalPart: /^\d{8}[A-Z]$/ },
  CZ: { country: 'Czechia', nationalPart: /^\d{8,10}$/ },
  DE: { country: 'Germany', nationalPart: /^\d{9}$/ },
  DK: { country: 'Denmark', nationalPart: /^\d{8}$/ },
  EE: { country: 'Estonia', nationalPart: /^\d{9}$/ },
  EL: { country: 'Greece', nationalPart: /^\d{9}$/ },
  ES: { country: 'Spain', nationalPart: /^(?:[A-Z]\d{7}[A-Z0-9]|\d{8}[A-Z])$/ },
  FI: { country: 'Finland', nationalPart: /^\d{8}$/ },
  FR: { country: 'France', nationalPart: /^[0-9A-HJ-NP-Z]{2}\d{9}$/ },
  HR: { country: 'Croatia', nationalPart: /^\d{11}$/ },
  HU: { country: 'Hungary', nationalPart: /^\d{8}$/ },
  IE: { country: 'Ireland', nationalPart: /^(?:\d{7}[A-W][A-IW]?|\d[A-Z+*]\d{5}[A-W])$/ },
  IT: { country: 'Italy', nationalPart: /^\d{11}$/ },
  LT: { country: 'Lithuania', nationalPart: /^(?:\d{9}|\d{12})$/ },
  LU: { country: 'Luxembourg', nationalPart: /^\d{8}$/ },
  LV: { country: 'Latvia', nationalPart: /^\d{11}$/ },
  MT: { country: 'Malta', nationalPart: /^\d{8}$/ },
  NL: { country: 'Netherlands', nationalPart: /^\d{9}B\d{2}$/ },
  PL: { country: 'Poland', nationalPart: /^\d{10}$/ },
  PT: { country: 'Portugal', nationalPart: /^\d{9}$/ },
  RO: { country: 'Romania', nationalPart: /^\d{2,10}$/ },
  SE: { country: 'Sweden', nationalPart: /^\d{12}$/ },
  SI: { country: 'Slovenia', nationalPart: /^\d{8}$/ },
  SK: { country: 'Slovakia', nationalPart: /^\d{10}$/ },
  XI: { country: 'Northern Ireland', nationalPart: /^(?:\d{9}|\d{12}|GD\d{3}|HA\d{3})$/ },
} as const satisfies Readonly<Record<string, { readonly country: string; readonly nationalPart: RegExp }>>;

export type VatCountry = keyof typeof VAT_FORMATS;

export const isVatCountry = (code: string): code is VatCountry => Object.hasOwn(VAT_FORMATS, code);
