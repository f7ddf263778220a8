import type { AddressInfo } from 'node:net';
import { InfrastructureError } from '#app/application/ports/infrastructure-error.ts';
import { loadConfig } from '#app/config/config.ts';
import { compose, PARTITION_MAINTENANCE_INTERVAL_MS } from './compose.ts';
import { pino } from 'pino';
import { composeWeb } from './web.ts';
import { jobLogObserver, WORKER_LOG_NAME } from './worker-log.ts';

const EXIT = { OK: 0, CONFIG_INVALID: 2, INTERNAL: 3 } as const;

/**
 * `npm start`: the public verification pages, the API, login and the token endpoint. The only place of the server that touches the environment, the
 * signals and exit codes. Runs until SIGINT or SIGTERM, then stops taking requests, lets those in flight finish
 * and releases what compose opened.
 */
const main = async (env: NodeJS.ProcessEnv): Promise<number> => {
  const config = loadConfig(env);
  if (!config.ok) {
    process.stderr.write(`vigilance: CONFIG_INVALID: ${config.error.message}\n`);
    return EXIT.CONFIG_INVALID;
  }
  const { host, port } = config.value.server;
  // Listening from the start, so a signal during startup (the database takes seconds to open) still closes cleanly.
  const signal = { received: false };
  const stopped = new Promise<void>((resolve) => {
    const stop = (): void => {
      signal.received = true;
      // A second signal while closing gets the default behaviour: the process ends at once.
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  // Access lines are written asynchronously rather than one blocking write each (a fifth of a request's CPU under
  // load): lines that arrive while a write is under way go out together with the next one.
  const logStream = pino.destination({ dest: 1, sync: false });
  const app = await compose(
    config.value,
    {},
    { maintenanceIntervalMs: PARTITION_MAINTENANCE_INTERVAL_MS, processMetrics: config.value.server.metrics },
  );
  try {
    if (signal.received) return EXIT.OK;
    const server = await composeWeb(app, { logger: true, logStream, metrics: config.value.server.metrics });
    // The embedded default retries unavailable registries in this process; with PostgreSQL, `vigilance worker` does.
    if (config.value.worker.inline) {
      // The server's logger, so the worker's lines join the same stream: one JSON line per job.
      const log = server.log.child({ name: WORKER_LOG_NAME });
      app.startWorker({
        observer: jobLogObserver(log),
        onError: (error) => {
          log.error({ err: error }, 'retry worker round failed');
        },
      });
    }
    try {
      await server.listen({ host, port });
      const bound = (server.server.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      process.stdout.write(
        `Vigilance listening on http://${shownHost}:${String(bound)} ` +
          `(public verification: ${config.value.publicBaseUrl}/verify/<token>; ` +
          `API: ${config.value.publicBaseUrl}/api/v1, documented at ${config.value.publicBaseUrl}/docs)\n`,
      );
      await stopped;
    } finally {
      await server.close();
    }
  } finally {
    await app.close();
    try {
      logStream.flushSync();
    } catch {
      // Not open yet: nothing was written to it.
    }
  }
  return EXIT.OK;
};

main(process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // A known fault says what to do (DATABASE_LOCKED, SIGNER_UNAVAILABLE...); anything else is a bug.
    const label = error instanceof InfrastructureError ? error.code : 'internal error';
    process.stderr.write(`vigilance: ${label}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = EXIT.INTERNAL;
  },
);
