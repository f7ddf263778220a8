import { loadConfig } from '#app/config/config.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, type App } from '#app/main/compose.ts';

export type { App };

/** The local account and user, as the CLI acts. */
export const LOCAL_CALLER = {
  accountId: LOCAL_ACCOUNT_ID,
  actorId: LOCAL_USER_ID,
  correlationId: 'test',
} as const;

/**
 * The whole application as configured for an installation in `dataDir` (embedded database, local key, files),
 * assessing against the built-in registry sandbox: reports sealed through it are truly sealed. The database takes
 * seconds to open.
 */
export const composeSandboxApp = async (dataDir: string, publicUrl: string): Promise<App> => {
  const config = loadConfig({
    VIGILANCE_REGISTRIES: 'sandbox',
    VIGILANCE_DATA_DIR: dataDir,
    VIGILANCE_PUBLIC_URL: publicUrl,
  });
  if (!config.ok) throw new Error(config.error.message);
  return compose(config.value);
};

export interface SealedReport {
  readonly token: string;
  readonly reportId: string;
  readonly pdf: Uint8Array;
}

/** Assesses a sandbox supplier and seals the assessment; the token is the one in the verification URL. */
export const sealSupplier = async (app: App, identifier: string): Promise<SealedReport> => {
  const assessed = await app.useCases.assessSupplier({ ...LOCAL_CALLER, identifier });
  if (!assessed.ok) throw new Error(assessed.error.code);
  const sealed = await app.useCases.sealReport({
    ...LOCAL_CALLER,
    assessmentId: assessed.value.assessmentId,
    lang: 'fr',
  });
  if (!sealed.ok) throw new Error(sealed.error.code);
  const token = /\/verify\/([A-Za-z0-9_-]+)$/.exec(sealed.value.verificationUrl ?? '')?.[1];
  if (token === undefined) throw new Error('The seal gave no verification URL.');
  return { token, reportId: sealed.value.report.id, pdf: sealed.value.pdf };
};
