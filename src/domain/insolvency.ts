import type { BodaccJudgment, BodaccNotice } from './facts.ts';

/** The collective proceeding BODACC shows for a company, read from its latest relevant judgment. */
export type ProceedingStatus =
  | { readonly kind: 'none' }
  | {
      readonly kind: 'open';
      readonly procedure: 'liquidation' | 'redressement' | 'sauvegarde';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      /** A plan was adopted: continuation (redressement), sauvegarde plan, or sale of the business (cession). */
      readonly kind: 'plan';
      readonly plan: 'continuation' | 'sauvegarde' | 'cession';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      readonly kind: 'closed';
      readonly reason: 'insufficient_assets' | 'extinction_of_liabilities' | 'other';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    }
  | {
      /**
       * A sauvegarde, redressement or plan whose latest judgment is more than ten years old: a plan cannot last
       * longer (Code de commerce L626-12), so the proceeding is over even though no closing notice was found.
       */
      readonly kind: 'lapsed';
      readonly notice: BodaccNotice;
      readonly judgment: BodaccJudgment;
    };

/** What BODACC tells about a company's solvency and existence, as of a date. */
export interface InsolvencyReading {
  readonly proceeding: ProceedingStatus;
  /** The latest radiation notice still in force (not cancelled, not a mere transfer of the head office). */
  readonly radiation: BodaccNotice | null;
  /** Collective-proceeding notices whose judgment nature no rule recognises: shown, never guessed. */
  readonly unrecognised: readonly BodaccNotice[];
}
