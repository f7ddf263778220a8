/**
 * Sealing and public verification, as the product runs them: sealReport with the local signer (RSA-3072), the
 * pdfkit renderer in its pool of worker threads and filesystem storage, on the embedded database (PGlite on disk) and on PostgreSQL. Prints seals
 * per second and the latency of each stage (render, hash, sign, store, persist) at 1 seal in flight and at
 * --in-flight seals, then public verification requests per second: autocannon against the real `npm start` server
 * (its own process) on PostgreSQL, GET /verify/<token> as JSON over --tokens sealed reports. Asserts nothing.
 * PostgreSQL runs in a throwaway database of DATABASE_URL's server (skipped when DATABASE_URL is not set).
 * Usage: npm run bench:seal [-- --count 300 --in-flight 4 --tokens 200 --duration 10 --connections 20]
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createFilesystemObjectStorage } from '#app/adapters/filesystem/object-storage.ts';
import { createLocalSigner } from '#app/adapters/local-crypto/signer.ts';
import { createPooledPdfRenderer } from '#app/adapters/pdf/worker-pool.ts';
import { openPgliteDatabase } from '#app/adapters/pglite/database.ts';
import { openPostgresDatabase } from '#app/adapters/postgres/database.ts';
import type { SqlDatabase } from '#app/adapters/sql/database.ts';
import { migrate } from '#app/adapters/sql/migrate.ts';
import { ensurePartitions } from '#app/adapters/sql/partitions.ts';
import { createSqlStores, createSqlUnitOfWork } from '#app/adapters/sql/unit-of-work.ts';
import { createSystemClock } from '#app/adapters/system/clock.ts';
import { createUuidGenerator } from '#app/adapters/system/id-generator.ts';
import { createSealCrypto } from '#app/adapters/system/seal-crypto.ts';
import type { SealCrypto } from '#app/application/ports/seal-crypto.ts';
import { makeSealReport, type SealReport } from '#app/application/use-cases/seal-report.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_USER_ID } from '#app/main/compose.ts';
import { red } from '../test/support/reports.ts';
import { percentile, positiveInteger, round, withThrowawayDatabase } from './support.ts';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '300' },
    'in-flight': { type: 'string', default: '4' },
    tokens: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '20' },
  },
});
const count = positiveInteger('count', values.count);
const inFlight = positiveInteger('in-flight', values['in-flight']);
const tokenCount = positiveInteger('tokens', values.tokens);
const duration = positiveInteger('duration', values.duration);
const connections = positiveInteger('connections', values.connections);
const databaseUrl = process.env.DATABASE_URL?.trim() ?? '';
const PUBLIC_URL = 'http://127.0.0.1:8080';

type Stage = 'render' | 'hash' | 'sign' | 'store' | 'persist';
const STAGES: readonly Stage[] = ['render', 'hash', 'sign', 'store', 'persist'];

interface Harness {
  readonly seal: SealReport;
  close(): Promise<void>;
  readonly stages: Record<Stage, number[]>;
  newAssessment(): Promise<string>;
}

/** sealReport with every stage's port wrapped in a stopwatch. */
const harness = async (db: SqlDatabase, dataDir: string): Promise<Harness> => {
  await ensurePartitions(db, new Date(red.assessedAt));
  await ensurePartitions(db, new Date());
  const ids = createUuidGenerator();
  const storeDeps = { newId: () => ids.newId(), driver: db.driver };
  const stores = createSqlStores(db, storeDeps);
  const unitOfWork = createSqlUnitOfWork(db, storeDeps);
  const signer = await createLocalSigner({ dir: join(dataDir, 'keys') });
  const storage = createFilesystemObjectStorage({
    dir: join(dataDir, 'objects'),
    linkSecret: randomBytes(32),
    baseUrl: PUBLIC_URL,
  });
  const renderer = createPooledPdfRenderer();
  const crypto = createSealCrypto();
  const stages: Record<Stage, number[]> = { render: [], hash: [], sign: [], store: [], persist: [] };
  const timed =
    <A extends unknown[], R>(stage: Stage, f: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await f(...args);
      } finally {
        stages[stage].push(performance.now() - started);
      }
    };
  /** Hashing and canonicalisation, summed per seal (a seal hashes four times and canonicalises three). */
  let hashing = 0;
  const timedSync =
    <A extends unknown[], R>(f: (...args: A) => R) =>
    (...args: A): R => {
      const started = performance.now();
      try {
        return f(...args);
      } finally {
        hashing += performance.now() - started;
      }
    };
  const timedCrypto: SealCrypto = {
    ...crypto,
    sha256Hex: timedSync((data: Uint8Array | string) => crypto.sha256Hex(data)),
    sha256: timedSync((data: Uint8Array | string) => crypto.sha256(data)),
    canonicalize: timedSync((value: Parameters<SealCrypto['canonicalize']>[0]) => crypto.canonicalize(value)),
  };
  const sealReport = makeSealReport({
    assessments: stores.assessments,
    reports: stores.reports,
    unitOfWork: { run: timed('persist', (work) => unitOfWork.run(work)) },
    renderer: { render: timed('render', (d) => renderer.render(d)) },
    signer: { ...signer, sign: timed('sign', (d) => signer.sign(d)) },
    storage: { ...storage, put: timed('store', (k, b, m) => storage.put(k, b, m)) },
    crypto: timedCrypto,
    clock: createSystemClock(),
    ids,
    publicBaseUrl: PUBLIC_URL,
  });
  return {
    stages,
    close: () => renderer.close(),
    // Hash time is only attributable per seal when one seal runs at a time; with several in flight it is a sum.
    seal: async (input) => {
      hashing = 0;
      const result = await sealReport(input);
      stages.hash.push(hashing);
      return result;
    },
    newAssessment: async () => {
      const id = randomUUID();
      await stores.uniqueness.reserve('assessment', id, id);
      await stores.assessments.save({
        id,
        accountId: LOCAL_ACCOUNT_ID,
        actorId: LOCAL_USER_ID,
        agentAccountId: null,
        createdAt: red.assessedAt,
        version: 1,
        state: 'COMPLETE',
        idempotencyKey: null,
        correlationId: null,
        assessment: red,
        evaluation: null,
      });
      return id;
    },
  };
};

interface PassFigures {
  readonly inFlight: number;
  readonly seals: number;
  readonly sealsPerSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly stagesP50Ms: Record<Stage, number>;
}

/** Seals `n` fresh assessments with `parallel` seals in flight; returns the tokens of the sealed reports. */
const pass = async (
  h: Harness,
  n: number,
  parallel: number,
): Promise<{ figures: PassFigures; tokens: string[] }> => {
  const assessments: string[] = [];
  for (let i = 0; i < n; i += 1) assessments.push(await h.newAssessment());
  for (const stage of STAGES) h.stages[stage].length = 0;
  const latencies: number[] = [];
  const tokens: string[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < assessments.length) {
      const assessmentId = assessments[next++] ?? '';
      const t0 = performance.now();
      const result = await h.seal({
        accountId: LOCAL_ACCOUNT_ID,
        actorId: LOCAL_USER_ID,
        assessmentId,
        lang: 'fr',
        correlationId: 'bench',
      });
      latencies.push(performance.now() - t0);
      if (!result.ok || result.value.verificationUrl === null) throw new Error('a seal failed');
      tokens.push(result.value.verificationUrl.slice(`${PUBLIC_URL}/verify/`.length));
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p50 = (xs: number[]) =>
    round(
      percentile(
        [...xs].sort((a, b) => a - b),
        50,
      ),
    );
  return {
    figures: {
      inFlight: parallel,
      seals: n,
      sealsPerSecond: round(n / elapsed),
      p50Ms: round(percentile(latencies, 50)),
      p95Ms: round(percentile(latencies, 95)),
      stagesP50Ms: Object.fromEntries(STAGES.map((s) => [s, p50(h.stages[s])])) as Record<Stage, number>,
    },
    tokens,
  };
};

const report = (label: string, f: PassFigures): void => {
  const stages = STAGES.map((s) => `${s} ${String(f.stagesP50Ms[s])}`).join(', ');
  console.log(
    `${label}, ${String(f.inFlight)} in flight: ${String(f.sealsPerSecond)} seals/s, p50 ${String(f.p50Ms)} ms, ` +
      `p95 ${String(f.p95Ms)} ms (stage p50 ms: ${stages})`,
  );
};

const sealPasses = async (label: string, db: SqlDatabase, dataDir: string) => {
  const h = await harness(db, dataDir);
  try {
    // Warm-up: both render workers started and their fonts parsed, the key loaded, the statements planned.
    await pass(h, Math.min(20, count), inFlight);
    const latency = await pass(h, count, 1);
    report(label, latency.figures);
    const throughput = await pass(h, count, inFlight);
    report(label, throughput.figures);
    return { latency: latency.figures, throughput: throughput.figures, tokens: throughput.tokens };
  } finally {
    await h.close();
  }
};

/** The real server (`npm start`) in its own process, on the given database and data directory. */
const startServer = async (env: Record<string, string>) => {
  const server = fileURLToPath(new URL('../src/main/server.ts', import.meta.url));
  const child = spawn(process.execPath, [server], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const baseUrl = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.stdout.setEncoding('utf8');
    const look = (chunk: string): void => {
      seen += chunk;
      const match = /listening on (http:\/\/[^\s]+)/.exec(seen);
      if (match?.[1] !== undefined) {
        // From here on the server's access log is drained unread: reading it would tax this process's CPU,
        // which autocannon needs.
        child.stdout.off('data', look);
        child.stdout.resume();
        resolve(match[1]);
      }
    };
    child.stdout.on('data', look);
    child.once('exit', (code) => {
      reject(new Error(`the server exited with code ${String(code)}`));
    });
  });
  return {
    baseUrl,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
};

const verificationRate = async (env: Record<string, string>, tokens: readonly string[]) => {
  const server = await startServer(env);
  try {
    const paths = tokens.slice(0, tokenCount).map((t) => `/verify/${t}`);
    const check = await fetch(`${server.baseUrl}${paths[0] ?? ''}`, {
      headers: { accept: 'application/json' },
    });
    if (!check.ok) throw new Error(`the verification route answered ${String(check.status)}`);
    let i = 0;
    const result = await autocannon({
      url: server.baseUrl,
      connections,
      duration,
      headers: { accept: 'application/json' },
      requests: [
        {
          setupRequest: (request) => ({ ...request, path: paths[i++ % paths.length] ?? '/' }),
        },
      ],
    });
    const figures = {
      requestsPerSecond: round(result.requests.average),
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors,
    };
    console.log(
      `Public verification (GET /verify/<token>, JSON, ${String(paths.length)} reports, ${String(connections)} connections, ` +
        `${String(duration)} s): ${String(figures.requestsPerSecond)} req/s, p50 ${String(figures.p50Ms)} ms, ` +
        `p99 ${String(figures.p99Ms)} ms, non-2xx ${String(figures.non2xx)}, errors ${String(figures.errors)}`,
    );
    return figures;
  } finally {
    await server.stop();
  }
};

const withPostgres = <T>(work: (db: SqlDatabase, url: string) => Promise<T>): Promise<T> =>
  withThrowawayDatabase(databaseUrl, async (url) => {
    const db = openPostgresDatabase({ url, maxConnections: 10 });
    try {
      await migrate(db);
      return await work(db, url);
    } finally {
      await db.close();
    }
  });

const main = async (): Promise<void> => {
  const figures: Record<string, unknown> = { count, inFlight };
  const embeddedDir = mkdtempSync(join(tmpdir(), 'vigilance-bench-seal-'));
  try {
    const db = await openPgliteDatabase({ dataDir: join(embeddedDir, 'db') });
    try {
      await migrate(db);
      const embedded = await sealPasses('Embedded (PGlite on disk)', db, embeddedDir);
      figures.embedded = { latency: embedded.latency, throughput: embedded.throughput };
    } finally {
      await db.close();
    }
  } finally {
    rmSync(embeddedDir, { recursive: true, force: true });
  }

  if (databaseUrl === '') {
    console.log('PostgreSQL: skipped (DATABASE_URL is not set)');
  } else {
    const pgDir = mkdtempSync(join(tmpdir(), 'vigilance-bench-seal-pg-'));
    try {
      await withPostgres(async (db, url) => {
        const sealed = await sealPasses('PostgreSQL', db, pgDir);
        figures.postgres = { latency: sealed.latency, throughput: sealed.throughput };
        figures.verification = await verificationRate(
          {
            DATABASE_URL: url,
            VIGILANCE_DATA_DIR: pgDir,
            VIGILANCE_PUBLIC_URL: PUBLIC_URL,
            // One client address makes every request here: the limiter stays in the path, with room for the load.
            VIGILANCE_VERIFY_PAGES_PER_MINUTE: '10000000',
          },
          sealed.tokens,
        );
      });
    } finally {
      rmSync(pgDir, { recursive: true, force: true });
    }
  }
  console.log(JSON.stringify(figures));
};

await main();
