import { statSync } from 'node:fs';
import { parseCommand, USAGE } from '#app/cli/args.ts';
import { EXIT, runAssess, type Output } from '#app/cli/run.ts';
import { loadConfig } from '#app/config/config.ts';
import { BUILT_IN_FIXTURES_DIR, startSandbox } from '#app/sandbox/server.ts';
import { compose } from './compose.ts';

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
    command.kind === 'sandbox' ? command.dir : command.kind === 'assess' ? command.sandboxDir : null;
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
    case 'assess': {
      const config = loadConfig({
        ...env,
        ...(command.registries === null ? {} : { VIGILANCE_REGISTRIES: command.registries }),
        ...(command.sandboxDir === null ? {} : { VIGILANCE_SANDBOX_DIR: command.sandboxDir }),
      });
      if (!config.ok) {
        io.err(`vigilance: ${config.error.code}: ${config.error.message}`);
        return EXIT.INVALID_INPUT;
      }
      const app = await compose(config.value);
      try {
        return await runAssess(command, app.useCases.assessSupplier, app.ids.newId(), io);
      } finally {
        await app.close();
      }
    }
  }
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
    process.stderr.write(
      `vigilance: internal error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = EXIT.INTERNAL;
  },
);
