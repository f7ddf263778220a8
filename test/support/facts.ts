import type { CompanyFound } from '#app/domain/facts.ts';
import type { Siren } from '#app/domain/identifiers/identifiers.ts';

/** DANONE as SIRENE describes it, to be varied field by field in use-case and domain tests. */
export const danone = (over: Partial<CompanyFound> = {}): CompanyFound => ({
  kind: 'found',
  provider: 'recherche',
  siren: '552032534' as Siren,
  duplicateOf: null,
  name: 'DANONE',
  diffusion: 'public',
  state: 'active',
  ceasedOn: null,
  createdOn: '1955-01-01',
  legalCategory: '5599',
  activity: '70.10Z',
  headOfficeSiret: '55203253400703',
  vatNumbers: ['FR27552032534'],
  establishment: null,
  sourceUrl: 'https://recherche-entreprises.api.gouv.fr/search?q=552032534&page=1&per_page=1',
  ...over,
});
