import type { CompanyQuery } from '#app/application/ports/company-registry.ts';
import type { Siren, Siret } from '#app/domain/identifiers/identifiers.ts';

// Test literals are cast, not parsed: some recorded payloads use demo numbers that fail Luhn (123456789).
export const bySiren = (value: string): CompanyQuery => ({ siren: value as Siren, siret: null });
export const bySiret = (value: string): CompanyQuery => ({
  siren: value.slice(0, 9) as Siren,
  siret: value as Siret,
});
