import { statSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeVerifySeal } from '#app/application/use-cases/verify-seal.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import { readLocalPublicKeys } from '#app/adapters/local-crypto/signer.ts';
import { openSigner } from './signer.ts';
import { parseCommand, USAGE, type Command } from '#app/cli/args.ts';
import {
  EXIT,
  runAssess,
  runAuditVerify,
  runHistory,
  runRevoke,
  runRotate,
  runSeal,
  runState,
  runSweep,
  runVerify,
  type Caller,
  type Output,
} from '#app/cli/run.ts';
import { loadConfig } from '#app/config/config.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox } from '#app/sandbox/server.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import { compose, LOCAL_ACCOUNT_ID, LOCAL_USER_ID, openConfiguredDatabase, type App } from './compose.ts';
import { createWorkerLogger, jobLogObserver, type WorkerLog } from './worker-log.ts';

/** The `vigilance` command's entry point: the only place that touches argv, the environment and exit codes. */
const main = async (argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> => {
  const io: Output = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
  const parsed = parseCommand(argv);
  if (!parsed.ok) {
    io.err(`vigilance: ${parsed.error.message}\n\n${USAGE}`);
    return EXIT.INVALID_INPUT;
  }
  const command = parsed.command;
  const dir =
    command.kind === 'sandbox'
      ? command.dir
      : command.kind === 'assess' || command.kind === 'worker'
        ? command.sandboxDir
        : null;
  if (dir !== null && !isDirectory(dir)) {
    io.err(
      `vigilance: CLI_USAGE: the sandbox fixture directory "${dir}" does not exist or is not a directory.`,
    );
    return EXIT.INVALID_INPUT;
  }
  switch (command.kind) {
    case 'help':
      io.out(USAGE);
      return EXIT.OK;
    case 'sandbox': {
      const sandbox = await startSandbox({
        dir: command.dir ?? BUILT_IN_FIXTURES_DIR,
        host: command.host,
        port: command.port,
      });
      io.out(`Registry sandbox listening on ${sandbox.baseUrl} (fixtures: ${command.dir ?? 'built-in'})`);
      for (const [name, url] of Object.entries(sandbox.urls)) io.out(`  ${name.padEnd(9)} ${url}`);
      io.out(`  control   ${sandbox.baseUrl}/_sandbox/faults`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await sandbox.close();
      return EXIT.OK;
    }
    case 'worker': {
      const config = loadConfig({
        ...env,
        ...(command.registries === null ? {} : { VIGILANCE_REGISTRIES: command.registries }),
        ...(command.sandboxDir === null ? {} : { VIGILANCE_SANDBOX_DIR: command.sandboxDir }),
      });
      if (!config.ok) return configProblem(config.error.message, io);
      const app = await compose(config.value);
      try {
        return await runWorker(command, app, createWorkerLogger(), io);
      } finally {
        await app.close();
      }
    }
    case 'keys-export': {
      const config = loadConfig(env);
      if (!config.ok) return configProblem(config.error.message, io);
      const opened = await openSigner(config.value);
      try {
        io.out(JSON.stringify({ keys: await opened.signer.publicKeys() }, null, 2));
        return EXIT.OK;
      } finally {
        await opened.close();
      }
    }
    case 'verify': {
      const config = loadConfig(env);
      if (!config.ok) return configProblem(config.error.message, io);
      const verifySeal = makeVerifySeal({ crypto: createSealCrypto() });
      return runVerify(
        command,
        verifySeal,
        {
          readFile: async (path) => new Uint8Array(await readFile(path)),
          keys: async (jwks) => {
            if (jwks === null && config.value.signing.kind === 'local') {
              // No JWKS given: this installation's own keys, read without creating one.
              return { keys: await readLocalPublicKeys({ dir: config.value.signing.dir }) };
            }
            if (jwks === null) {
              const opened = await openSigner(config.value);
              try {
                return { keys: await opened.signer.publicKeys() };
              } finally {
                await opened.close();
              }
            }
            if (/^https?:\/\//.test(jwks)) {
              const res = await fetch(jwks, { signal: AbortSignal.timeout(10_000) });
              return await res.json();
            }
            return JSON.parse(await readFile(jwks, 'utf8')) as unknown;
          },
        },
        io,
      );
    }
    case 'migrate': {
      const config = loadConfig(env);
      if (!config.ok) return configProblem(config.error.message, io);
      const { url, dataDir } = config.value.database;
      const db = await openConfiguredDatabase(config.value);
      try {
        const applied = await migrate(db);
        const created = await ensurePartitions(db, new Date());
        io.out(
          `${url === null ? `Embedded database in ${dataDir}` : 'PostgreSQL'}: ` +
            (applied.length === 0 ? 'schema up to date' : `applied ${applied.join(', ')}`) +
            (created.length === 0 ? '' : `; created partitions ${created.join(', ')}`),
        );
        return EXIT.OK;
      } finally {
        await db.close();
      }
    }
    case 'assess':
    case 'seal':
    case 'keys-rotate':
    case 'reports-revoke':
    case 'reports-sweep':
    case 'history':
    case 'state':
    case 'audit-verify': {
      const config = loadConfig({
        ...env,
        ...(command.kind === 'assess' && command.registries !== null
          ? { VIGILANCE_REGISTRIES: command.registries }
          : {}),
        ...(command.kind === 'assess' && command.sandboxDir !== null
          ? { VIGILANCE_SANDBOX_DIR: command.sandboxDir }
          : {}),
      });
      if (!config.ok) return configProblem(config.error.message, io);
      // Only assess talks to the registries: the other commands read what was stored.
      const app = await compose(
        command.kind === 'assess'
          ? config.value
          : { ...config.value, registries: { ...config.value.registries, mode: 'live' } },
      );
      try {
        return await runWithApp(command, app, io);
      } finally {
        await app.close();
      }
    }
  }
};

const runWithApp = (
  command: Extract<
    Command,
    {
      kind:
        | 'assess'
        | 'seal'
        | 'keys-rotate'
        | 'reports-revoke'
        | 'reports-sweep'
        | 'history'
        | 'state'
        | 'audit-verify';
    }
  >,
  app: App,
  io: Output,
): Promise<number> => {
  const caller: Caller = {
    accountId: LOCAL_ACCOUNT_ID,
    actorId: LOCAL_USER_ID,
    correlationId: app.ids.newId(),
  };
  switch (command.kind) {
    case 'assess':
      return runAssess(command, app.useCases, reportFiles, caller, io);
    case 'seal':
      return runSeal(command, app.useCases.sealReport, reportFiles, caller, io);
    case 'keys-rotate':
      return runRotate(command, app.useCases.rotateSigningKey, caller, io);
    case 'reports-revoke':
      return runRevoke(command, app.useCases.revokeReport, caller, io);
    case 'reports-sweep':
      return runSweep(command, app.useCases.sweepReportObjects, io);
    case 'history':
      return runHistory(command, app.useCases.listAssessments, caller, io);
    case 'state':
      return runState(command, app.useCases.getSupplierState, io);
    case 'audit-verify':
      return runAuditVerify(command, app.useCases.verifyAuditLog, io);
  }
};

/**
 * `vigilance worker`: runs the retry worker until SIGINT/SIGTERM, or one round with --once (then a last line that
 * says what it claimed and what is left). A JSON log line per job, with its correlation id.
 */
const runWorker = async (
  command: Extract<Command, { kind: 'worker' }>,
  app: App,
  log: WorkerLog,
  io: Output,
): Promise<number> => {
  const observer = jobLogObserver(log);
  if (command.once) {
    const claimed = await app.workerRound(observer);
    io.out(JSON.stringify({ claimed, queue: await app.queueDepth() }));
    return EXIT.OK;
  }
  const worker = app.startWorker({
    observer,
    onError: (error) => {
      log.error({ err: error }, 'retry worker round failed');
    },
  });
  log.info({ queue: await app.queueDepth() }, 'worker started');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await worker.stop();
  log.info({}, 'worker stopped');
  return EXIT.OK;
};

/** Report files are written whole or not at all: to a temporary name, then renamed over the target. */
const reportFiles = {
  write: async (path: string, bytes: Uint8Array): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const temporary = `${path}.${String(process.pid)}.tmp`;
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  },
};

const configProblem = (message: string, io: Output): number => {
  io.err(`vigilance: CONFIG_INVALID: ${message}`);
  return EXIT.INVALID_INPUT;
};

const isDirectory = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A known fault says what to do (DATABASE_LOCKED, DATABASE_NOT_MIGRATED...); anything else is a bug.
    const label = error instanceof InfrastructureError ? error.code : 'internal error';
    process.stderr.write(`vigilance: ${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.INTERNAL;
  },
);
