import type { Siren, Siret, VatNumber } from './identifiers/identifiers.ts';

/** The registries Vigilance consults, by the role they play. */
export type SourceName = 'sirene' | 'bodacc' | 'vies';

/** Which SIRENE service answered: the INSEE API (with a key) or the keyless API Recherche d'entreprises. */
export type SireneProvider = 'insee' | 'recherche';

/**
 * Identity and administrative state of a legal unit, as SIRENE tells it. A non-diffusible unit exists: its
 * masked fields are null, never a literal "[ND]" or "[NON-DIFFUSIBLE]".
 */
export type CompanyFacts = CompanyFound | CompanyNotFound;

export interface CompanyNotFound {
  readonly kind: 'not_found';
  readonly provider: SireneProvider;
  readonly siren: Siren;
  /** Recherche d'entreprises knows the SIREN from the RNE only (a "ghost" hit with no SIRENE data). */
  readonly knownToRneOnly: boolean;
  readonly sourceUrl: string;
}

export interface CompanyFound {
  readonly kind: 'found';
  readonly provider: SireneProvider;
  /** The SIREN SIRENE answered for; differs from the one asked when INSEE closed it as a duplicate (301). */
  readonly siren: Siren;
  /** The SIREN asked for, when INSEE redirected it to the surviving unit of a duplicate pair. */
  readonly duplicateOf: Siren | null;
  /** null when masked or when INSEE refused the unit outright (403). */
  readonly name: string | null;
  /** public = "O"; partial = "P" (some fields masked); restricted = INSEE answered 403 (exists, nothing shown). */
  readonly diffusion: 'public' | 'partial' | 'restricted';
  readonly state: 'active' | 'ceased' | 'unknown';
  /** ISO date the unit ceased: the start of the period in which its state became "C". */
  readonly ceasedOn: string | null;
  readonly createdOn: string | null;
  /** INSEE legal category code (4 characters, "1000" = sole trader). */
  readonly legalCategory: string | null;
  /** NAF activity code, e.g. "70.10Z". */
  readonly activity: string | null;
  readonly headOfficeSiret: string | null;
  /** Active French VAT numbers known to the tax administration (DGFiP), when the provider lists them. */
  readonly vatNumbers: readonly string[];
  /** Present when a SIRET was asked for. */
  readonly establishment: EstablishmentFacts | null;
  readonly sourceUrl: string;
}

export type EstablishmentFacts =
  | { readonly kind: 'not_found'; readonly siret: Siret }
  | {
      readonly kind: 'found';
      readonly siret: Siret;
      readonly state: 'open' | 'closed' | 'unknown';
      /** ISO date the establishment closed: the start of the period in which its state became "F". */
      readonly closedOn: string | null;
      readonly isHeadOffice: boolean;
    };

/** One BODACC notice about the company, its JSON-in-string fields parsed and its dates normalised to ISO. */
export interface BodaccNotice {
  /** BODACC id: publication letter + parution + notice number, e.g. "A202401871543". */
  readonly id: string;
  readonly publishedOn: string;
  readonly type: 'annonce' | 'rectificatif' | 'annulation';
  /** familleavis: "collective", "radiation", "immatriculation", "modification", "vente", "dpc", ... */
  readonly family: string;
  readonly tribunal: string | null;
  readonly url: string;
  readonly judgment: BodaccJudgment | null;
  readonly radiation: BodaccRadiation | null;
  /** The id of the notice this one corrects or cancels (rectificatif, annulation). */
  readonly previousNoticeId: string | null;
}

export interface BodaccJudgment {
  /** jugement.famille, e.g. "Jugement d'ouverture", "Jugement de clôture"; an open set. */
  readonly family: string;
  /** jugement.nature, e.g. "Jugement de conversion en liquidation judiciaire". */
  readonly nature: string;
  /** ISO date of the judgment, or null when BODACC gives none or an unreadable one. */
  readonly date: string | null;
  readonly complement: string | null;
}

export interface BodaccRadiation {
  /** ISO date of cessation of activity, when the notice gives one. */
  readonly ceasedOn: string | null;
  readonly comment: string | null;
}

/** Every BODACC notice published for a SIREN. */
export interface InsolvencyFacts {
  readonly siren: Siren;
  readonly notices: readonly BodaccNotice[];
  readonly sourceUrl: string;
}

/** What VIES said about a VAT number: only VALID and INVALID are verdicts; anything else is an outage. */
export interface VatFacts {
  readonly vat: VatNumber;
  readonly valid: boolean;
  /** Trader name and address, null when the member state does not disclose them ("---"). */
  readonly name: string | null;
  readonly address: string | null;
  /** VIES's own timestamp for the check. */
  readonly requestDate: string | null;
  readonly sourceUrl: string;
}
