import type { Assessment } from './assessment.ts';
import type { Verdict } from './policy.ts';

/** The name of the file the seal payload (without the PDF's own hash) is attached as, inside the PDF. */
export const ATTACHED_PAYLOAD_NAME = 'seal-payload.json';

/** The version of the seal payload's shape; a verifier refuses versions it does not know. */
export const SEAL_PAYLOAD_VERSION = 1;

/**
 * What a seal signs (RFC 8785 canonical JSON of this object): which report, about whom, what was concluded under
 * which policy, a digest of the signals, the PDF's SHA-256, when, and with which key.
 */
export interface SealPayload {
  readonly version: typeof SEAL_PAYLOAD_VERSION;
  readonly reportId: string;
  readonly assessmentId: string;
  readonly subject: {
    readonly siren: string | null;
    readonly siret: string | null;
    readonly vat: string | null;
    readonly name: string | null;
    readonly country: string;
  };
  readonly verdict: Verdict;
  readonly policyVersion: string;
  /** SHA-256 (hex) of the canonical JSON of the assessment's signals. */
  readonly signalsSha256: string;
  /** SHA-256 (hex) of the PDF bytes. */
  readonly pdfSha256: string;
  readonly sealedAt: string;
  readonly kid: string;
  readonly alg: 'PS256';
}

/** The payload as attached inside the PDF: everything but the PDF's own hash, which cannot be inside itself. */
export type AttachedPayload = Omit<SealPayload, 'pdfSha256'>;

/** `report.seal.json`: the canonical payload text exactly as signed, the signature, and the key. */
export interface SealFile {
  readonly payload: string;
  /** base64url, no padding. */
  readonly signature: string;
  readonly kid: string;
  readonly alg: 'PS256';
}

export const attachedPayloadOf = (
  assessment: Assessment,
  ids: { readonly reportId: string; readonly assessmentId: string },
  seal: { readonly signalsSha256: string; readonly sealedAt: string; readonly kid: string },
): AttachedPayload => ({
  version: SEAL_PAYLOAD_VERSION,
  reportId: ids.reportId,
  assessmentId: ids.assessmentId,
  subject: {
    siren: assessment.subject.siren,
    siret: assessment.subject.siret,
    vat: assessment.subject.vat,
    name: assessment.subject.name,
    country: assessment.subject.country,
  },
  verdict: assessment.verdict,
  policyVersion: assessment.policyVersion,
  signalsSha256: seal.signalsSha256,
  sealedAt: seal.sealedAt,
  kid: seal.kid,
  alg: 'PS256',
});

/** Why a report does not verify. Stable codes: public API, listed in docs/errors.md. */
export type SealFailure =
  | 'SEAL_MALFORMED'
  | 'SEAL_PAYLOAD_NOT_CANONICAL'
  | 'SEAL_KEY_UNKNOWN'
  | 'SEAL_SIGNATURE_INVALID'
  | 'SEAL_PDF_MISMATCH';

const HEX64 = /^[0-9a-f]{64}$/;

const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const stringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** Reads a seal file's JSON; null when it is not one. */
export const readSealFile = (value: unknown): SealFile | null =>
  isRecord(value) &&
  typeof value.payload === 'string' &&
  typeof value.signature === 'string' &&
  /^[A-Za-z0-9_-]+$/.test(value.signature) &&
  typeof value.kid === 'string' &&
  value.alg === 'PS256'
    ? { payload: value.payload, signature: value.signature, kid: value.kid, alg: 'PS256' }
    : null;

/** Reads a signed payload's JSON; null when it is not a payload of a version this verifier knows. */
export const readSealPayload = (value: unknown): SealPayload | null => {
  if (!isRecord(value) || value.version !== SEAL_PAYLOAD_VERSION || !isRecord(value.subject)) return null;
  const s = value.subject;
  const ok =
    typeof value.reportId === 'string' &&
    typeof value.assessmentId === 'string' &&
    stringOrNull(s.siren) &&
    stringOrNull(s.siret) &&
    stringOrNull(s.vat) &&
    stringOrNull(s.name) &&
    typeof s.country === 'string' &&
    (value.verdict === 'GREEN' || value.verdict === 'RED' || value.verdict === 'GREY') &&
    typeof value.policyVersion === 'string' &&
    typeof value.signalsSha256 === 'string' &&
    HEX64.test(value.signalsSha256) &&
    typeof value.pdfSha256 === 'string' &&
    HEX64.test(value.pdfSha256) &&
    typeof value.sealedAt === 'string' &&
    typeof value.kid === 'string' &&
    value.alg === 'PS256';
  return ok ? (value as unknown as SealPayload) : null;
};
