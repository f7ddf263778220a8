import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { servicesRequired } from './services.ts';

/** Where Debian's softhsm2 package puts the PKCS#11 module. */
export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';
const SOFTHSM_UTIL = '/usr/bin/softhsm2-util';

const run = promisify(execFile);

/** A token of its own on SoftHSM2, for one test file. */
export interface SoftHsmToken {
  readonly library: string;
  readonly tokenLabel: string;
  /** The user PIN. */
  readonly pin: string;
  /** The security officer's PIN. */
  readonly soPin: string;
  /** Deletes the token, and the token directory with the last one. */
  cleanup(): Promise<void>;
}

/**
 * The token directory of this process. One for the whole process because SoftHSM2 reads SOFTHSM2_CONF and scans
 * its token directory only in C_Initialize, once per process until the last C_Finalize: a token is visible to a
 * signer only if it was created before the library was first initialized (or while no signer had it open).
 */
let home: { readonly dir: string; readonly conf: string; tokens: number } | null = null;

const ensureHome = async (): Promise<{ readonly dir: string; readonly conf: string; tokens: number }> => {
  if (home !== null) return home;
  const dir = await mkdtemp(join(tmpdir(), 'vigilance-softhsm-'));
  const conf = join(dir, 'softhsm2.conf');
  await writeFile(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`, {
    mode: 0o600,
  });
  // SoftHSM2 reads the variable at C_Initialize, so it has to be set before any signer opens the library.
  process.env.SOFTHSM2_CONF = conf;
  home = { dir, conf, tokens: 0 };
  return home;
};

/** Why SoftHSM2 cannot be used here, or null when it can. */
export const softHsmUnavailableReason = (): string | null => {
  if (!existsSync(SOFTHSM_LIBRARY))
    return `SoftHSM2 is not installed (no ${SOFTHSM_LIBRARY}; apt-get install softhsm2)`;
  if (!existsSync(SOFTHSM_UTIL))
    return `SoftHSM2 is not installed (no ${SOFTHSM_UTIL}; apt-get install softhsm2)`;
  return null;
};

/**
 * Initializes a throwaway SoftHSM2 token (random label, user PIN and SO PIN) in a temporary token directory, with
 * SOFTHSM2_CONF pointing at it. Call it from `beforeAll`, before the test opens any PKCS#11 signer: SoftHSM2 does
 * not see a token created while this process has the library initialized.
 */
export const createSoftHsmToken = async (): Promise<SoftHsmToken> => {
  const reason = softHsmUnavailableReason();
  if (reason !== null) throw new Error(reason);
  const where = await ensureHome();
  const tokenLabel = `vigilance-test-${randomBytes(6).toString('hex')}`;
  const pin = `user-${randomBytes(8).toString('hex')}`;
  const soPin = `so-${randomBytes(8).toString('hex')}`;
  const env = { ...process.env, SOFTHSM2_CONF: where.conf };
  await run(
    SOFTHSM_UTIL,
    ['--init-token', '--free', '--label', tokenLabel, '--so-pin', soPin, '--pin', pin],
    { env },
  );
  where.tokens += 1;
  let cleaned = false;
  return {
    library: SOFTHSM_LIBRARY,
    tokenLabel,
    pin,
    soPin,
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      await run(SOFTHSM_UTIL, ['--delete-token', '--token', tokenLabel], { env });
      where.tokens -= 1;
      if (where.tokens === 0 && home === where) {
        home = null;
        await rm(where.dir, { recursive: true, force: true });
      }
    },
  };
};

/**
 * Declares a suite that needs SoftHSM2: run when it is installed; otherwise a visible skip naming the reason, and
 * a failure under REQUIRE_SERVICES=1 (CI installs softhsm2).
 */
export const describeOnSoftHsm = (name: string, body: () => void): void => {
  const reason = softHsmUnavailableReason();
  if (reason === null) {
    describe(name, body);
    return;
  }
  if (servicesRequired) throw new Error(`REQUIRE_SERVICES=1 but ${reason}.`);
  describe.skip(`${name} (skipped for a known reason: ${reason})`, body);
};
