import type { Verdict } from '#app/domain/policy.ts';
import type { SealFailure, SealFile, SealPayload } from '#app/domain/seal.ts';
import type { Clock } from '../ports/clock.ts';
import type { ReportStore, StoredReport } from '../ports/report-store.ts';
import type { SealCrypto } from '../ports/seal-crypto.ts';
import type { PublishedKey } from '../ports/signer.ts';
import { checkSeal } from './verify-seal.ts';

export type ReportStatus = 'valid' | 'superseded' | 'revoked';

/** What anyone holding a report's verification token may see of it. */
export interface PublicReportView {
  readonly status: ReportStatus;
  readonly reportId: string;
  readonly assessmentId: string;
  readonly subject: SealPayload['subject'] | null;
  readonly verdict: Verdict;
  readonly policyVersion: string | null;
  readonly sealedAt: string;
  readonly kid: string;
  readonly alg: 'PS256';
  readonly pdfSha256: string;
  /** The seal exactly as issued (`report.seal.json`), so a verifier can check it with no trust in this server. */
  readonly seal: SealFile;
  /** Whether the signature verifies against the published key it names, checked now; the failure code if not. */
  readonly signature: { readonly valid: true } | { readonly valid: false; readonly code: SealFailure };
  /** The newest report of the same assessment, when this one was superseded. */
  readonly supersededBy: {
    readonly reportId: string;
    readonly sealedAt: string;
    readonly verdict: Verdict;
  } | null;
  readonly revokedAt: string | null;
  readonly revocationReason: string | null;
}

export interface FileCheck {
  readonly view: PublicReportView;
  /** True when the uploaded file is, byte for byte, the sealed PDF. */
  readonly match: boolean;
  readonly pdfSha256: string;
}

export interface PublicVerificationDeps {
  readonly reports: ReportStore;
  readonly crypto: SealCrypto;
  /** Every published key (the JWKS). */
  readonly publicKeys: () => Promise<readonly PublishedKey[]>;
  readonly clock: Clock;
}

export interface PublicVerification {
  /** The report a token opens; null for any token that opens none (the caller answers 404 and nothing more). */
  byToken(token: string): Promise<PublicReportView | null>;
  /** The newest report of the same assessment, reached through an older report's token; null as above. */
  latestByToken(token: string): Promise<PublicReportView | null>;
  /** Compares a file with the sealed PDF the token opens. */
  checkFile(token: string, pdf: Uint8Array): Promise<FileCheck | null>;
}

/** Tokens are 43 base64url characters (256 bits); at least 22 (128 bits) is accepted, anything else opens nothing. */
const TOKEN = /^[A-Za-z0-9_-]{22,128}$/;

/** Keys are re-read at most this often when a seal names a key not yet known (a rotation in another process). */
const KEY_REFRESH_MS = 1000;
const SIGNATURE_CACHE_SIZE = 10_000;

/**
 * Public verification by token: no account, the token is the credential. A token is looked up by its SHA-256
 * (the only form stored), and the stored hash is compared in constant time with the token's. Unknown, malformed
 * and wrong tokens all give null, so a caller's answer cannot tell them apart.
 *
 * The signature is checked against the published keys on every view (a report's verified signature is remembered,
 * keyed by report and key, since neither can change); a seal naming a key not yet known re-reads the keys once.
 */
export const makePublicVerification = (deps: PublicVerificationDeps): PublicVerification => {
  let keys: readonly PublishedKey[] | null = null;
  let keysReadAt = Number.NEGATIVE_INFINITY;
  const verified = new Map<string, true>();

  const keysFor = async (kid: string): Promise<readonly PublishedKey[]> => {
    const now = deps.clock.monotonicMs();
    if (keys === null || (!keys.some((k) => k.kid === kid) && now - keysReadAt >= KEY_REFRESH_MS)) {
      keys = await deps.publicKeys();
      keysReadAt = now;
    }
    return keys;
  };

  const signatureOf = async (report: StoredReport): Promise<PublicReportView['signature']> => {
    const cacheKey = `${report.id}:${report.seal.kid}`;
    if (verified.has(cacheKey)) return { valid: true };
    const checked = checkSeal(deps.crypto, report.seal, await keysFor(report.seal.kid));
    if (!checked.ok) return { valid: false, code: checked.error.code };
    if (verified.size >= SIGNATURE_CACHE_SIZE) {
      const oldest = verified.keys().next();
      if (oldest.done !== true) verified.delete(oldest.value);
    }
    verified.set(cacheKey, true);
    return { valid: true };
  };

  const find = async (token: string): Promise<StoredReport | null> => {
    if (!TOKEN.test(token)) return null;
    const hash = deps.crypto.sha256Hex(token);
    const report = await deps.reports.findByTokenHash(hash);
    return report !== null && deps.crypto.sameDigest(report.tokenHash, hash) ? report : null;
  };

  const view = async (report: StoredReport): Promise<PublicReportView> => {
    const payload = parsePayload(report.seal.payload);
    const successor = report.supersededBy === null ? null : await deps.reports.latestSuccessorOf(report.id);
    return {
      status: report.revokedAt !== null ? 'revoked' : report.supersededBy !== null ? 'superseded' : 'valid',
      reportId: report.id,
      assessmentId: report.assessmentId,
      subject: payload?.subject ?? null,
      verdict: report.verdict,
      policyVersion: payload?.policyVersion ?? null,
      sealedAt: report.sealedAt,
      kid: report.seal.kid,
      alg: 'PS256',
      // The signed hash, not the row's copy: what the signature vouches for.
      pdfSha256: payload?.pdfSha256 ?? report.pdfSha256,
      seal: report.seal,
      signature: await signatureOf(report),
      supersededBy:
        successor === null
          ? null
          : { reportId: successor.id, sealedAt: successor.sealedAt, verdict: successor.verdict },
      revokedAt: report.revokedAt,
      revocationReason: report.revocationReason,
    };
  };

  return {
    byToken: async (token) => {
      const report = await find(token);
      return report === null ? null : view(report);
    },
    latestByToken: async (token) => {
      const report = await find(token);
      if (report === null) return null;
      return view((await deps.reports.latestSuccessorOf(report.id)) ?? report);
    },
    checkFile: async (token, pdf) => {
      const report = await find(token);
      if (report === null) return null;
      const pdfSha256 = deps.crypto.sha256Hex(pdf);
      const seen = await view(report);
      return { view: seen, match: seen.signature.valid && pdfSha256 === seen.pdfSha256, pdfSha256 };
    },
  };
};

const parsePayload = (text: string): SealPayload | null => {
  try {
    return JSON.parse(text) as SealPayload;
  } catch {
    return null;
  }
};
