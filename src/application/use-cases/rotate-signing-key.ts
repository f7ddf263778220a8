import type { Clock } from '../ports/clock.ts';
import type { Signer } from '../ports/signer.ts';
import type { UnitOfWork } from '../ports/unit-of-work.ts';

export interface RotateSigningKeyInput {
  readonly accountId: string | null;
  readonly actorId: string | null;
  readonly correlationId: string;
  readonly origin?: { readonly ip: string | null; readonly userAgent: string | null };
}

export interface Rotation {
  readonly previousKeyId: string;
  readonly currentKeyId: string;
  /** Every published key after the rotation, current first: reports sealed with the old keys stay verifiable. */
  readonly publishedKeyIds: readonly string[];
}

/**
 * Makes a new key the signing key; the old ones stay published. Audited as `signing_key.rotated` with the key ids
 * before and after (never key material). A signer that cannot rotate by itself (AWS KMS) refuses with
 * SIGNER_ROTATION_UNSUPPORTED and nothing is recorded.
 */
export const makeRotateSigningKey =
  (deps: { readonly signer: Signer; readonly unitOfWork: UnitOfWork; readonly clock: Clock }) =>
  async (input: RotateSigningKeyInput): Promise<Rotation> => {
    const previousKeyId = await deps.signer.currentKeyId();
    const currentKeyId = await deps.signer.rotate();
    const publishedKeyIds = (await deps.signer.publicKeys()).map((k) => k.kid);
    await deps.unitOfWork.run((stores) =>
      stores.audit.append({
        occurredAt: deps.clock.now().toISOString(),
        accountId: input.accountId,
        actorId: input.actorId,
        ip: input.origin?.ip ?? null,
        userAgent: input.origin?.userAgent ?? null,
        correlationId: input.correlationId,
        action: 'signing_key.rotated',
        entityType: 'signing_key',
        entityId: currentKeyId,
        before: { currentKeyId: previousKeyId },
        after: { currentKeyId, publishedKeyIds: [...publishedKeyIds] },
      }),
    );
    return { previousKeyId, currentKeyId, publishedKeyIds };
  };
