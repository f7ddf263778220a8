import { err, ok, type Result } from '../result.ts';
import { isVatCountry, VAT_FORMATS, type VatCountry } from './vat-formats.ts';

declare const sirenBrand: unique symbol;
declare const siretBrand: unique symbol;

/** A Luhn-valid 9-digit French company number (SIREN). */
export type Siren = string & { readonly [sirenBrand]: true };
/** A 14-digit French establishment number (SIRET): a SIREN and a 5-digit NIC, checked by Luhn or the La Poste rule. */
export type Siret = string & { readonly [siretBrand]: true };

/** An EU VAT number as VIES addresses it: the VIES member-state code (EL for Greece) and the national part. */
export interface VatNumber {
  readonly country: VatCountry;
  readonly national: string;
}

/** Stable codes of identifier errors: public API, listed in docs/errors.md. */
export const IDENTIFIER_ERROR_CODES = [
  'IDENTIFIER_EMPTY',
  'IDENTIFIER_UNRECOGNISED',
  'IDENTIFIER_BAD_CHECKSUM',
  'VAT_UNKNOWN_COUNTRY',
  'VAT_BAD_FORMAT',
  'VAT_KEY_MISMATCH',
] as const;

export type IdentifierErrorCode = (typeof IDENTIFIER_ERROR_CODES)[number];

export interface IdentifierError {
  readonly code: IdentifierErrorCode;
  readonly message: string;
}

/** What a user can name a supplier by. */
export type SupplierId =
  | { readonly kind: 'siren'; readonly siren: Siren }
  | { readonly kind: 'siret'; readonly siren: Siren; readonly siret: Siret }
  | { readonly kind: 'vat'; readonly vat: VatNumber; readonly siren: Siren | null };

const LA_POSTE_SIREN = '356000000';
/** La Poste's head office, the one La Poste SIRET that keeps its Luhn key (digit sum 26). */
const LA_POSTE_HEAD_OFFICE_SIRET = '35600000000048';

const identifierError = (code: IdentifierErrorCode, message: string): IdentifierError =>
  Object.freeze({ code, message });

/** Strips the separators people type or paste: spaces (including non-breaking), dots, dashes. */
const compact = (input: string): string => input.replace(/[\s.\-\u00a0\u202f]/g, '');

export const luhnValid = (digits: string): boolean => {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
};

const digitSum = (digits: string): number => {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) sum += digits.charCodeAt(i) - 48;
  return sum;
};

export const parseSiren = (input: string): Result<Siren, IdentifierError> => {
  const value = compact(input);
  if (value === '') return err(identifierError('IDENTIFIER_EMPTY', 'No identifier was given.'));
  if (!/^\d{9}$/.test(value)) {
    return err(
      identifierError('IDENTIFIER_UNRECOGNISED', `"${value}" is not a SIREN: a SIREN has 9 digits.`),
    );
  }
  if (!luhnValid(value)) {
    return err(
      identifierError(
        'IDENTIFIER_BAD_CHECKSUM',
        `SIREN ${value} fails the Luhn check: a digit is probably mistyped.`,
      ),
    );
  }
  return ok(value as Siren);
};

export const parseSiret = (input: string): Result<Siret, IdentifierError> => {
  const value = compact(input);
  if (value === '') return err(identifierError('IDENTIFIER_EMPTY', 'No identifier was given.'));
  if (!/^\d{14}$/.test(value)) {
    return err(
      identifierError('IDENTIFIER_UNRECOGNISED', `"${value}" is not a SIRET: a SIRET has 14 digits.`),
    );
  }
  const siren = value.slice(0, 9);
  if (!luhnValid(siren)) {
    return err(
      identifierError(
        'IDENTIFIER_BAD_CHECKSUM',
        `SIRET ${value} starts with SIREN ${siren}, which fails the Luhn check: a digit is probably mistyped.`,
      ),
    );
  }
  // La Poste's establishments outnumber what a Luhn-keyed NIC can hold: INSEE checks the digit sum modulo 5.
  const laPosteRule = siren === LA_POSTE_SIREN && value !== LA_POSTE_HEAD_OFFICE_SIRET;
  const valid = laPosteRule ? digitSum(value) % 5 === 0 : luhnValid(value);
  if (!valid) {
    const rule = laPosteRule ? 'the La Poste rule (digit sum a multiple of 5)' : 'the Luhn check';
    return err(
      identifierError(
        'IDENTIFIER_BAD_CHECKSUM',
        `SIRET ${value} fails ${rule}: a digit is probably mistyped.`,
      ),
    );
  }
  return ok(value as Siret);
};

export const sirenOfSiret = (siret: Siret): Siren => siret.slice(0, 9) as Siren;

/** The numeric French VAT key of a SIREN: (12 + 3 × (SIREN mod 97)) mod 97, two digits. */
export const frenchVatKey = (siren: Siren): string =>
  String((12 + 3 * (Number(siren) % 97)) % 97).padStart(2, '0');

/** The French VAT number derived from a SIREN: a candidate only, since not every company is VAT-registered. */
export const frenchVatFromSiren = (siren: Siren): VatNumber =>
  Object.freeze({ country: 'FR', national: `${frenchVatKey(siren)}${siren}` });

export const formatVat = (vat: VatNumber): string => `${vat.country}${vat.national}`;

/**
 * Parses an EU VAT number with its two-letter prefix ("GR" is accepted for Greece and becomes VIES's "EL").
 * A French number's SIREN must pass Luhn, and a numeric key must match the SIREN.
 */
export const parseVatNumber = (input: string): Result<VatNumber, IdentifierError> => {
  const value = compact(input).toUpperCase();
  if (value === '') return err(identifierError('IDENTIFIER_EMPTY', 'No identifier was given.'));
  const prefix = value.slice(0, 2);
  const country = prefix === 'GR' ? 'EL' : prefix;
  if (!/^[A-Z]{2}$/.test(prefix) || !isVatCountry(country)) {
    return err(
      identifierError(
        'VAT_UNKNOWN_COUNTRY',
        `"${value}" does not start with the code of an EU member state known to VIES (AT, BE, ..., EL for Greece, XI).`,
      ),
    );
  }
  const national = value.slice(2);
  const format = VAT_FORMATS[country];
  if (!format.nationalPart.test(national)) {
    return err(
      identifierError(
        'VAT_BAD_FORMAT',
        `"${value}" is not a valid ${format.country} VAT number format (${country} followed by ${format.nationalPart.source.replace(/^\^|\$$/g, '')}).`,
      ),
    );
  }
  if (country === 'FR') {
    const siren = national.slice(2);
    if (!luhnValid(siren)) {
      return err(
        identifierError(
          'IDENTIFIER_BAD_CHECKSUM',
          `VAT number ${value} holds SIREN ${siren}, which fails the Luhn check: a digit is probably mistyped.`,
        ),
      );
    }
    const key = national.slice(0, 2);
    if (/^\d{2}$/.test(key) && key !== frenchVatKey(siren as Siren)) {
      return err(
        identifierError(
          'VAT_KEY_MISMATCH',
          `VAT number ${value} has key ${key}, but SIREN ${siren} gives key ${frenchVatKey(siren as Siren)}.`,
        ),
      );
    }
  }
  return ok(Object.freeze({ country, national }));
};

/** The SIREN inside a French VAT number; null for other member states. */
export const sirenOfVat = (vat: VatNumber): Siren | null =>
  vat.country === 'FR' ? (vat.national.slice(2) as Siren) : null;

/** Recognises a SIREN (9 digits), a SIRET (14 digits) or an EU VAT number (two letters first). */
export const parseSupplierId = (input: string): Result<SupplierId, IdentifierError> => {
  const value = compact(input).toUpperCase();
  if (value === '') return err(identifierError('IDENTIFIER_EMPTY', 'No identifier was given.'));
  if (/^\d{9}$/.test(value)) {
    const siren = parseSiren(value);
    return siren.ok ? ok(Object.freeze({ kind: 'siren', siren: siren.value })) : siren;
  }
  if (/^\d{14}$/.test(value)) {
    const siret = parseSiret(value);
    return siret.ok
      ? ok(Object.freeze({ kind: 'siret', siret: siret.value, siren: sirenOfSiret(siret.value) }))
      : siret;
  }
  if (/^[A-Z]{2}/.test(value)) {
    const vat = parseVatNumber(value);
    return vat.ok ? ok(Object.freeze({ kind: 'vat', vat: vat.value, siren: sirenOfVat(vat.value) })) : vat;
  }
  return err(
    identifierError(
      'IDENTIFIER_UNRECOGNISED',
      `"${value}" is neither a SIREN (9 digits), a SIRET (14 digits) nor an EU VAT number (two-letter country code first).`,
    ),
  );
};
