import type { Signer } from '#app/application/ports/signer.ts';
import { createKmsSigner } from '#app/adapters/kms/signer.ts';
import { createLocalSigner } from '#app/adapters/local-crypto/signer.ts';
import { createPkcs11Signer } from '#app/adapters/pkcs11/signer.ts';
import type { Config } from '#app/config/config.ts';

export interface OpenSigner {
  readonly signer: Signer;
  close(): Promise<void>;
}

/** The configured report signer: a local key in the data directory, AWS KMS, or a PKCS#11 token. */
export const openSigner = async (config: Config): Promise<OpenSigner> => {
  const signing = config.signing;
  switch (signing.kind) {
    case 'local':
      return { signer: await createLocalSigner({ dir: signing.dir }), close: () => Promise.resolve() };
    case 'kms': {
      const signer = createKmsSigner({
        keyIds: signing.keyIds,
        region: signing.region,
        ...(signing.endpoint === null ? {} : { endpoint: signing.endpoint }),
      });
      return {
        signer,
        close: () => {
          signer.close();
          return Promise.resolve();
        },
      };
    }
    case 'pkcs11': {
      const signer = await createPkcs11Signer({
        library: signing.library,
        tokenLabel: signing.tokenLabel,
        pin: signing.pin,
      });
      return { signer, close: () => signer.close() };
    }
  }
};
